// The admin listener: /metrics, /healthz and /readyz open; /admin/ only with the admin token,
// for Host names that cannot be rebound, and state changes only as application/json.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, adminApi, scrape, startServer, stopServer } from './harness.mjs';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const SUBSCRIBERS = JSON.stringify([{
  name: 'crm', url: 'http://127.0.0.1:9/hook?token=s3cret', secret: SECRET, rate_per_second: 2.5,
  headers: { Authorization: 'Bearer h3ader-s3cret' },
  previous_secrets: [{ secret: OLD_SECRET, expires_at: '2099-01-01T00:00:00Z' }, { secret: `whsec_${Buffer.alloc(32, 8).toString('base64')}`, expires_at: '2020-01-01T00:00:00Z' }],
}]);

// A request to the admin listener as given (no token added); the answer must be what
// service/ops/admin_openapi.yaml describes.
async function call(server, p, { method = 'GET', headers = {}, body } = {}) {
  const res = await fetch(`${server.admin}${p}`, { method, headers, body });
  const text = await res.text();
  adminApi.conforms(method, new URL(p, server.admin).pathname, res.status, res.headers.get('content-type'), text);
  return { status: res.status, text, json: text.startsWith('{') ? JSON.parse(text) : null, res };
}

describe('admin API without a configured token', () => {
  let server;
  before(async () => {
    server = await startServer({ env: { SWITCHBOARD_ADMIN_TOKEN: '', SWITCHBOARD_SUBSCRIBERS: SUBSCRIBERS } });
  });
  after(async () => {
    await stopServer(server);
  });

  test('/admin/ answers 403 saying how to enable it; metrics and probes stay open', async () => {
    const r = await call(server, '/admin/subscribers');
    assert.equal(r.status, 403);
    assert.equal(r.json.code, 'admin_disabled');
    assert.match(r.json.message, /SWITCHBOARD_ADMIN_TOKEN/);
    assert.doesNotMatch(r.text, /s3cret/);
    const replay = await call(server, '/admin/subscribers/crm/dead/replay', {
      method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    });
    assert.equal(replay.status, 403);
    for (const p of ['/metrics', '/healthz', '/readyz']) {
      assert.equal((await call(server, p)).status, 200, p);
    }
    const m = await scrape(server);
    assert.ok(m['switchboard_admin_auth_failures_total{reason="not_configured"}'] >= 2);
  });

  test('a token shorter than 32 characters is refused at start-up', async () => {
    await assert.rejects(startServer({ env: { SWITCHBOARD_ADMIN_TOKEN: 'short' } }),
      /SWITCHBOARD_ADMIN_TOKEN: must be at least 32 characters/);
  });
});

describe('admin API with a token', () => {
  let server;
  const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  before(async () => {
    server = await startServer({
      env: { SWITCHBOARD_SUBSCRIBERS: SUBSCRIBERS, SWITCHBOARD_ADMIN_HOSTS: 'Admin.Internal, ops.example.com' },
    });
  });
  after(async () => {
    await stopServer(server);
  });

  test('401 without a token or with a wrong one, 200 with the right one', async () => {
    let r = await call(server, '/admin/subscribers');
    assert.equal(r.status, 401);
    assert.match(r.res.headers.get('www-authenticate'), /^Bearer/);
    assert.doesNotMatch(r.text, /s3cret/);
    r = await call(server, '/admin/subscribers', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}x` } });
    assert.equal(r.status, 401);
    r = await call(server, '/admin/subscribers', { headers: { Authorization: ADMIN_TOKEN } });
    assert.equal(r.status, 401, 'the Bearer scheme is required');
    r = await call(server, '/admin/subscribers', { headers: { Authorization: `bearer ${ADMIN_TOKEN}` } });
    assert.equal(r.status, 200);
    assert.equal(r.json.subscribers[0].name, 'crm');
    assert.equal(r.json.subscribers[0].url, 'http://127.0.0.1:9/hook?token=REDACTED', 'query values are redacted');
    const m = await scrape(server);
    assert.ok(m['switchboard_admin_auth_failures_total{reason="missing"}'] >= 2);
    assert.ok(m['switchboard_admin_auth_failures_total{reason="wrong"}'] >= 1);
  });

  test('a subscriber\'s settings without its secrets or header values, in the list and by name', async () => {
    const list = await call(server, '/admin/subscribers', { headers: auth });
    assert.equal(list.status, 200);
    const one = await call(server, '/admin/subscribers/crm', { headers: auth });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.json, list.json.subscribers[0]);
    const crm = one.json;
    assert.equal(crm.managed_by, 'configuration');
    assert.equal(crm.rate_per_second, 2.5);
    assert.equal(crm.concurrency, 8);
    assert.equal(crm.max_attempts, 25);
    assert.match(one.text, /"timeout_seconds":10,/, 'whole numbers as people write them (not 1E1)');
    assert.deepEqual(crm.header_names, ['Authorization']);
    assert.deepEqual(crm.previous_secrets, [
      { expires_at: '2099-01-01T00:00:00.000Z', signing: true }, { expires_at: '2020-01-01T00:00:00.000Z', signing: false }]);
    assert.equal(crm.pending, 0);
    for (const secret of [SECRET, OLD_SECRET, 'h3ader-s3cret', 's3cret']) {
      assert.ok(!one.text.includes(secret) && !list.text.includes(secret), 'no credential in the admin API');
    }
    const missing = await call(server, '/admin/subscribers/nobody', { headers: auth });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'not_found');
  });

  test('cross-site requests are refused: state changes need application/json', async () => {
    for (const type of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const headers = { ...auth, Origin: 'https://evil.example', ...(type ? { 'Content-Type': type } : {}) };
      const r = await call(server, '/admin/subscribers/crm/dead/replay', { method: 'POST', headers, body: '' });
      assert.equal(r.status, 415, `${type}: ${r.text}`);
    }
    const ok = await call(server, '/admin/subscribers/crm/dead/replay', {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json; charset=utf-8' }, body: '{}',
    });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json, { replayed: 0 });
  });

  test('Host must be an IP address, localhost or a configured name (DNS rebinding)', async () => {
    const port = server.adminPort;
    const viaHost = (host) => new Promise((resolve, reject) => {
      // fetch() does not let a caller set Host: a raw request does.
      import('node:http').then(({ request }) => {
        const req = request({ host: '127.0.0.1', port, path: '/admin/subscribers', headers: { ...auth, Host: host } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
          });
        req.on('error', reject);
        req.end();
      });
    });
    assert.equal(await viaHost('rebind.evil.example'), 403);
    assert.equal(await viaHost('rebind.evil.example:9090'), 403);
    assert.equal(await viaHost(`localhost:${port}`), 200);
    assert.equal(await viaHost(`127.0.0.1:${port}`), 200);
    assert.equal(await viaHost(`[::1]:${port}`), 200);
    assert.equal(await viaHost('admin.internal'), 200);
    assert.equal(await viaHost('OPS.example.com:9090'), 200);
    const m = await scrape(server);
    assert.ok(m['switchboard_admin_auth_failures_total{reason="host"}'] >= 2);
  });
});
