// Starts the real switchboard binary on port 0 and talks to it over real sockets.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import twilio from 'twilio';
import { describedBy } from './openapi.mjs';

export const BIN = process.env.SWITCHBOARD_BIN;
if (!BIN) {
  throw new Error('SWITCHBOARD_BIN must name the switchboard executable (ctest sets it)');
}

export const TOKEN = 'test-auth-token-0123456789abcdef';
// The admin API's bearer token every test server gets (startServer; spawnServer callers add it).
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

// The admin API's description: every answer adminFetch gets is checked against it.
export const adminApi = describedBy('service/ops/admin_openapi.yaml');

// A request to the admin listener with the admin token (and, for writes, the JSON content type
// the admin API requires of requests that change state). The answer must be what
// service/ops/admin_openapi.yaml describes.
export async function adminFetch(server, p, init = {}) {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers ?? {}) };
  if (method !== 'GET' && method !== 'HEAD' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(`${server.admin}${p}`, { ...init, headers });
  const body = await res.clone().text();
  adminApi.conforms(method, new URL(p, server.admin).pathname, res.status, res.headers.get('content-type'), body);
  return res;
}

// One suite, two stores: with SWITCHBOARD_TEST_STORE=redis every server a test starts uses a
// redis-server that this process starts on 127.0.0.1 (each server under its own key prefix,
// unless the test shares one); otherwise the embedded SQLite store.
export const STORE = process.env.SWITCHBOARD_TEST_STORE === 'redis' ? 'redis' : 'sqlite';

// Starts redis-server on a free port in a temporary directory (append-only file on, fsync every
// second: what the README recommends). Resolves once it answers PING. `stop()` and `kill()` end
// it; `restart()` starts it again on the same port and directory (the AOF is replayed).
export async function startRedis({ password, extra = [] } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes',
    '--appendfsync', 'everysec', '--save', '', '--protected-mode', 'no', '--loglevel', 'warning',
    ...(password ? ['--requirepass', password] : []), ...extra];
  const redis = {
    port, dir, password, child: null, exited: null,
    url: password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}/0` : `redis://127.0.0.1:${port}/0`,
    cli(...cmd) {
      return execFileSync('redis-cli', ['-p', String(port), ...(password ? ['--no-auth-warning', '-a', password] : []),
        ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    },
    async start() {
      // Output to a file, and unref'd: a test process ends when its tests do, Redis or not.
      const logFile = path.join(dir, 'redis.log');
      const fd = openSync(logFile, 'a');
      this.child = spawn('redis-server', args, { stdio: ['ignore', fd, fd] });
      closeSync(fd);
      this.child.unref();
      this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
      const output = () => readFileSync(logFile, 'utf8');
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline) {
        try {
          const pong = this.cli('PING');
          if (pong === 'PONG') {
            // Loaded: the AOF replay of a restart is over once PING answers (LOADING before).
            return this;
          }
        } catch {
          // not listening yet
        }
        if (this.child.exitCode !== null) {
          break;
        }
        await sleep(50);
      }
      throw new Error(`redis-server did not start: ${output()}`);
    },
    async stop() {
      if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
        this.child.ref(); // waited for: keep the event loop alive until it exits
        this.child.kill('SIGTERM');
        await this.exited;
      }
    },
    async kill() {
      if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
        this.child.ref();
        this.child.kill('SIGKILL');
        await this.exited;
      }
    },
    async restart() {
      await this.stop();
      return this.start();
    },
    async remove() {
      await this.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  process.once('exit', () => {
    try {
      redis.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone already
    }
  });
  return redis;
}

let sharedRedis;
let prefixes = 0;

// The store settings for a new server: {} for SQLite; for Redis the shared test redis-server
// and a fresh key prefix (pass one to make several servers share a store).
export async function storeEnv(prefix) {
  if (STORE !== 'redis') {
    return {};
  }
  sharedRedis ??= await startRedis();
  return {
    SWITCHBOARD_STORE: sharedRedis.url,
    SWITCHBOARD_REDIS_KEY_PREFIX: prefix ?? `t${process.pid}-${++prefixes}:`,
  };
}

// Starts the binary with exactly `env` (plus PATH and the sanitizer options); resolves once it
// has announced both listeners and is ready. The result knows its ports, logs and stderr.
// `wrap` runs the binary under another command (e.g. ['prlimit', '--nofile=1024:4096', '--']).
export async function spawnServer(env, args = [], { wrap = [] } = {}) {
  const child = spawn(wrap.length ? wrap[0] : BIN, wrap.length ? [...wrap.slice(1), BIN, ...args] : args, {
    env: {
      PATH: process.env.PATH,
      ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? '',
      UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? '',
      TSAN_OPTIONS: process.env.TSAN_OPTIONS ?? '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = {
    child,
    logs: [],
    stderr: '',
    port: 0,
    adminPort: 0,
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk.toString();
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        server.logs.push(JSON.parse(line));
      } catch {
        server.logs.push({ unparsed: line });
      }
    }
  });
  child.stderr.on('data', (chunk) => {
    server.stderr += chunk.toString();
  });
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const pub = server.logs.find((l) => l.msg === 'listening' && l.listener === 'public');
    const adm = server.logs.find((l) => l.msg === 'listening' && l.listener === 'admin');
    if (pub && adm && server.logs.some((l) => l.msg === 'ready')) {
      server.port = pub.port;
      server.adminPort = adm.port;
      server.base = `http://127.0.0.1:${pub.port}`;
      server.admin = `http://127.0.0.1:${adm.port}`;
      return server;
    }
    if (child.exitCode !== null) {
      break;
    }
    await sleep(20);
  }
  child.kill('SIGKILL');
  await server.exited;
  throw new Error(`switchboard did not start (exit ${child.exitCode}): ${server.stderr}\n${JSON.stringify(server.logs)}`);
}

// Starts a server on port 0 with a temporary data dir and the test token; `env` overrides.
export async function startServer({ env = {}, args = [] } = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'switchboard-test-'));
  try {
    const full = {
      SWITCHBOARD_LISTEN: '127.0.0.1:0',
      SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
      SWITCHBOARD_DATA_DIR: dataDir,
      TWILIO_AUTH_TOKEN: TOKEN,
      ...(env.SWITCHBOARD_ADMIN_TOKEN_FILE ? {} : { SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN }),
      ...(env.SWITCHBOARD_STORE ? {} : await storeEnv()),
      ...env,
    };
    const server = await spawnServer(full, args);
    server.dataDir = dataDir; // removed by stopServer (a SWITCHBOARD_DATA_DIR passed in is the caller's)
    server.env = full; // what it ran with: the store commands and a restart on the same store use it
    return server;
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}

// Stops the server (SIGTERM unless the test already sent a stop signal) and requires a clean
// exit: a sanitizer report or a crash on the way out fails the test.
export async function stopServer(server, { allowFailure = false } = {}) {
  // A test may have stopped the server itself: a second stop signal would mean "cut now".
  if (!server.stopping && server.child.exitCode === null) {
    sendStop(server, 'SIGTERM');
  }
  const result = await server.exited;
  rmSync(server.dataDir, { recursive: true, force: true });
  if (!allowFailure && (result.code !== 0 || result.signal)) {
    throw new Error(`switchboard exited with ${result.code ?? result.signal}: ${server.stderr.slice(-4000)}`);
  }
  return result;
}

// Sends SIGTERM or SIGINT once, remembering it so stopServer does not send another.
export function sendStop(server, signal = 'SIGTERM') {
  server.stopping = true;
  server.child.kill(signal);
}

// A TCP port free on 127.0.0.1 right now (for servers the tests start themselves).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Waits until `predicate()` is truthy (polling), or fails after `ms`.
export async function waitFor(predicate, ms = 5000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await predicate();
    if (v) {
      return v;
    }
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Signs like Twilio (the official helper library) and POSTs a form to the server.
export async function signedPost(server, pathAndQuery, params, { token = TOKEN, headers = {}, url } = {}) {
  const fullUrl = url ?? `${server.base}${pathAndQuery}`;
  const signature = twilio.getExpectedTwilioSignature(token, fullUrl, params);
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      body.append(k, one);
    }
  }
  return fetch(`${server.base}${pathAndQuery}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8',
      'X-Twilio-Signature': signature,
      ...headers,
    },
    body: body.toString(),
  });
}

export async function signedGet(server, pathAndQuery, { token = TOKEN } = {}) {
  const fullUrl = `${server.base}${pathAndQuery}`;
  const signature = twilio.getExpectedTwilioSignature(token, fullUrl, {});
  return fetch(fullUrl, { headers: { 'X-Twilio-Signature': signature } });
}

// The admin /metrics text, parsed into { 'name{labels}': value }.
export async function scrape(server) {
  const text = await (await fetch(`${server.admin}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) {
      continue;
    }
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

// Sends raw bytes on a fresh socket and collects everything until the server closes it (or ms).
export function rawExchange(port, bytes, ms = 3000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ data, closed: false });
    }, ms);
    sock.on('data', (d) => {
      data += d.toString('latin1');
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      if (data) {
        resolve({ data, closed: true });
      } else {
        reject(e);
      }
    });
    sock.on('end', () => {
      clearTimeout(timer);
      resolve({ data, closed: true });
    });
    sock.write(bytes);
  });
}

export function statusOf(rawResponse) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(rawResponse);
  return m ? Number(m[1]) : 0;
}

export { twilio };
