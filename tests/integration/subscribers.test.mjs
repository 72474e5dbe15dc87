// The subscriber API against the real binary, on SQLite and (SWITCHBOARD_TEST_STORE=redis) on a
// real redis-server: create, read, change, pause, resume, rotate secrets and remove subscribers
// while the service runs; configured subscribers are read-only; every delivery is verified with
// the npm standardwebhooks library; on Redis a subscriber created on one replica receives the
// events another replica accepts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Webhook } from 'standardwebhooks';
import {
  adminFetch, freePort, scrape, signedPost, sleep, startServer, stopServer, STORE, storeEnv, waitFor,
} from './harness.mjs';

const callSid = () => 'CA' + randomBytes(16).toString('hex');
const newSecret = () => 'whsec_' + randomBytes(32).toString('base64');

// A receiver that records every delivery and answers `status`.
async function receiver() {
  const port = await freePort();
  const r = {
    status: 200,
    requests: [],
    url: `http://127.0.0.1:${port}/hook`,
    ok() {
      return r.requests.filter((q) => q.status >= 200 && q.status < 300);
    },
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = r.status;
      r.requests.push({ headers: req.headers, body, json: JSON.parse(body), status });
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end(String(status));
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  r.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return r;
}

// Verifies with standardwebhooks (throws when the signature does not verify with `secret`).
function verify(secret, request) {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': request.headers['webhook-id'],
    'webhook-timestamp': request.headers['webhook-timestamp'],
    'webhook-signature': request.headers['webhook-signature'],
  });
}

async function call(server, method, p, body, headers = {}) {
  const res = await adminFetch(server, p, {
    method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, etag: res.headers.get('etag') };
}

async function ringing(server, sid = callSid()) {
  const res = await signedPost(server, '/api/voice/status', {
    AccountSid: 'AC' + 'a'.repeat(32), CallSid: sid, From: '+14155551212', To: '+18005550100',
    Direction: 'inbound', ApiVersion: '2010-04-01', CallStatus: 'ringing', SequenceNumber: '0',
  });
  assert.ok(res.status >= 200 && res.status < 300, `status callback answered ${res.status}`);
  return sid;
}

const delivered = (r, sid) => r.ok().filter((q) => q.json.data?.call_sid === sid);
const quick = { initial_delay_seconds: 0.05, max_delay_seconds: 0.2, timeout_seconds: 5 };

describe(`subscriber API (${STORE})`, () => {
  const cleanup = [];
  after(async () => {
    for (const fn of cleanup.reverse()) {
      await fn();
    }
  });

  test('create, read, change and remove a subscriber while the service runs; it is delivered to at once', async () => {
    const rx = await receiver();
    cleanup.push(() => rx.close());
    const configured = { name: 'configured', url: rx.url + '?c=1', secret: newSecret(), events: ['sms.*'] };
    const server = await startServer({ env: { SWITCHBOARD_SUBSCRIBERS: JSON.stringify([configured]) } });
    cleanup.push(() => stopServer(server));

    // No secret given: one is made and shown once.
    const made = await call(server, 'POST', '/admin/subscribers', { name: 'crm', url: rx.url, events: ['call.*'], ...quick });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.match(made.body.secret, /^whsec_/);
    assert.equal(made.body.managed_by, 'api');
    assert.equal(made.body.state, 'active');
    assert.equal(made.body.version, 1);
    assert.equal(made.etag, '"1"');

    const sid = await ringing(server);
    await waitFor(() => delivered(rx, sid).length === 1, 10000, 'the delivery to the new subscriber');
    verify(made.body.secret, delivered(rx, sid)[0]);
    assert.throws(() => verify(newSecret(), delivered(rx, sid)[0]));

    // Reading it never shows the secret again.
    const read = await call(server, 'GET', '/admin/subscribers/crm');
    assert.equal(read.status, 200);
    assert.equal(read.body.secret, undefined);
    assert.equal(read.body.url, rx.url);
    const listed = await call(server, 'GET', '/admin/subscribers');
    assert.deepEqual(listed.body.subscribers.map((s) => [s.name, s.managed_by]),
      [['configured', 'configuration'], ['crm', 'api']]);
    assert.equal(listed.body.subscribers[0].url, rx.url + '?c=REDACTED');

    // A change names the version it replaces; a stale one is refused.
    const changed = await call(server, 'PATCH', '/admin/subscribers/crm', { max_attempts: 3 }, { 'If-Match': '"1"' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal(changed.body.max_attempts, 3);
    assert.equal(changed.body.version, 2);
    const stale = await call(server, 'PATCH', '/admin/subscribers/crm', { max_attempts: 4 }, { 'If-Match': '"1"' });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.equal((await call(server, 'GET', '/admin/subscribers/crm')).body.max_attempts, 3);

    // Removed: no delivery after that.
    const removed = await call(server, 'DELETE', '/admin/subscribers/crm');
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal((await call(server, 'GET', '/admin/subscribers/crm')).status, 404);
    const later = await ringing(server);
    await sleep(500);
    assert.equal(delivered(rx, later).length, 0);
  });

  test('validation is as strict as the configuration\'s and names the field; configured subscribers are read-only', async () => {
    const configured = { name: 'configured', url: 'http://127.0.0.1:9/hook', secret: newSecret() };
    const server = await startServer({ env: { SWITCHBOARD_SUBSCRIBERS: JSON.stringify([configured]) } });
    cleanup.push(() => stopServer(server));
    const cases = [
      [{ name: 'a', url: 'ftp://x/' }, /url/],
      [{ name: 'a', url: 'http://127.0.0.1:9/', secret: 'nope' }, /secret/],
      [{ name: 'a', url: 'http://127.0.0.1:9/', events: ['call.nothing'] }, /events/],
      [{ name: 'a', url: 'http://127.0.0.1:9/', concurrency: 0 }, /concurrency/],
      [{ name: 'a', url: 'http://127.0.0.1:9/', colour: 'red' }, /colour/],
      [{ name: 'Bad Name', url: 'http://127.0.0.1:9/' }, /name/],
      [{ name: 'a', url: 'http://127.0.0.1:9/', headers: { 'webhook-id': 'x' } }, /headers/],
      [{ name: 'a', url: 'http://127.0.0.1:9/', rate_per_second: -1 }, /rate_per_second/],
    ];
    for (const [body, field] of cases) {
      const r = await call(server, 'POST', '/admin/subscribers', body);
      assert.equal(r.status, 400, JSON.stringify([body, r.body]));
      assert.match(r.body.message, field, JSON.stringify(r.body));
    }
    assert.equal((await call(server, 'POST', '/admin/subscribers', { name: 'configured', url: 'http://127.0.0.1:9/' })).status, 409);
    const ro = await call(server, 'PATCH', '/admin/subscribers/configured', { max_attempts: 2 });
    assert.equal(ro.status, 409);
    assert.match(ro.body.message, /managed by configuration/);
    assert.equal((await call(server, 'DELETE', '/admin/subscribers/configured')).status, 409);
    assert.equal((await call(server, 'POST', '/admin/subscribers/configured/secrets', {})).status, 409);
    // Its state is not a setting: a configured subscriber can be paused and resumed.
    const paused = await call(server, 'POST', '/admin/subscribers/configured/pause', { reason: 'maintenance' });
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(paused.body.state, 'paused');
    assert.equal(paused.body.managed_by, 'configuration');
    assert.equal((await call(server, 'POST', '/admin/subscribers/configured/resume', {})).body.state, 'active');
    assert.equal((await call(server, 'PATCH', '/admin/subscribers/nobody', {})).status, 404);
    assert.equal((await call(server, 'PATCH', '/admin/subscribers/configured', {}, { 'If-Match': 'x' })).status, 400);
    // No subscriber of that was stored.
    const listed = await call(server, 'GET', '/admin/subscribers');
    assert.deepEqual(listed.body.subscribers.map((s) => s.name), ['configured']);
  });

  test('a paused subscriber\'s events queue up and are delivered on resume; removing it with deliveries pending needs ?force=true', async () => {
    const rx = await receiver();
    cleanup.push(() => rx.close());
    const server = await startServer();
    cleanup.push(() => stopServer(server));
    const secret = newSecret();
    assert.equal((await call(server, 'POST', '/admin/subscribers', { name: 'crm', url: rx.url, secret, ...quick })).status, 201);
    const paused = await call(server, 'POST', '/admin/subscribers/crm/pause', { reason: 'receiver maintenance' });
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(paused.body.state, 'paused');
    assert.equal(paused.body.state_reason, 'receiver maintenance');
    assert.equal(paused.body.delivering, false);

    const sids = [];
    for (let i = 0; i < 5; i++) {
      sids.push(await ringing(server));
    }
    await waitFor(async () => (await call(server, 'GET', '/admin/subscribers/crm')).body.pending === 5, 5000, '5 pending');
    await sleep(300);
    assert.equal(rx.requests.length, 0, 'nothing is delivered while paused');

    const resumed = await call(server, 'POST', '/admin/subscribers/crm/resume', {});
    assert.equal(resumed.status, 200);
    assert.equal(resumed.body.state, 'active');
    await waitFor(() => sids.every((s) => delivered(rx, s).length === 1), 10000, 'every queued event delivered');
    for (const q of rx.ok()) {
      verify(secret, q);
    }

    // Pending deliveries refuse a plain removal.
    await call(server, 'POST', '/admin/subscribers/crm/pause', {});
    await ringing(server);
    await ringing(server);
    await waitFor(async () => (await call(server, 'GET', '/admin/subscribers/crm')).body.pending === 2, 5000, '2 pending');
    const refused = await call(server, 'DELETE', '/admin/subscribers/crm');
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.message, /force=true/);
    const forced = await call(server, 'DELETE', '/admin/subscribers/crm?force=true');
    assert.equal(forced.status, 200, JSON.stringify(forced.body));
    assert.equal(forced.body.removed_deliveries, 2);
    // Made again under the same name, it starts empty.
    assert.equal((await call(server, 'POST', '/admin/subscribers', { name: 'crm', url: rx.url, secret })).status, 201);
    const fresh = await call(server, 'GET', '/admin/subscribers/crm');
    assert.equal(fresh.body.pending + fresh.body.in_flight + fresh.body.dead, 0);
  });

  test('a rotated secret signs beside the old one until the old one expires or is removed', async () => {
    const rx = await receiver();
    cleanup.push(() => rx.close());
    const server = await startServer();
    cleanup.push(() => stopServer(server));
    const old = newSecret();
    assert.equal((await call(server, 'POST', '/admin/subscribers', { name: 'crm', url: rx.url, secret: old, ...quick })).status, 201);

    const rotated = await call(server, 'POST', '/admin/subscribers/crm/secrets', {});
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const fresh = rotated.body.secret;
    assert.match(fresh, /^whsec_/);
    assert.equal(rotated.body.previous_secrets.length, 1);
    assert.equal(rotated.body.previous_secrets[0].signing, true);
    const overlap = Date.parse(rotated.body.previous_secrets[0].expires_at) - Date.now();
    assert.ok(overlap > 23.9 * 3600e3 && overlap <= 24 * 3600e3, `default overlap 24 h, got ${overlap} ms`);

    const both = await ringing(server);
    await waitFor(() => delivered(rx, both).length === 1, 10000, 'the delivery during the rotation');
    const during = delivered(rx, both)[0];
    assert.equal(during.headers['webhook-signature'].split(' ').length, 2);
    verify(old, during);
    verify(fresh, during);

    // Removing the previous secret ends the overlap: the old secret no longer verifies.
    const dropped = await call(server, 'DELETE', '/admin/subscribers/crm/secrets/previous');
    assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
    assert.deepEqual(dropped.body.previous_secrets, []);
    const later = await ringing(server);
    await waitFor(() => delivered(rx, later).length === 1, 10000, 'the delivery after the rotation');
    const last = delivered(rx, later)[0];
    verify(fresh, last);
    assert.throws(() => verify(old, last));

    // A given secret and a short overlap.
    const mine = newSecret();
    const given = await call(server, 'POST', '/admin/subscribers/crm/secrets', { secret: mine, previous_expires_in_seconds: 1 });
    assert.equal(given.status, 200, JSON.stringify(given.body));
    assert.equal(given.body.secret, undefined, 'a secret the caller gave is not echoed');
    await sleep(1200);
    const expired = await ringing(server);
    await waitFor(() => delivered(rx, expired).length === 1, 10000, 'the delivery after the overlap');
    verify(mine, delivered(rx, expired)[0]);
    assert.throws(() => verify(fresh, delivered(rx, expired)[0]));
    assert.equal((await call(server, 'POST', '/admin/subscribers/crm/secrets', { previous_expires_in_seconds: 0 })).status, 400);
  });

  test('per_call ordering: shuffled, concurrent callbacks of many calls reach the subscriber one at a time per call, in stored order, with retries in between', async () => {
    const server = await startServer();
    cleanup.push(() => stopServer(server));
    // The receiver holds each request 15 ms (so two of one call at once would overlap) and fails
    // the first attempt of about a third of the events.
    const port = await freePort();
    const seen = []; // {call, id, ok} in arrival order
    const busy = new Map(); // call -> event id being answered
    const overlaps = [];
    const failedOnce = new Set();
    const rx = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const ev = JSON.parse(body);
        const key = ev.data.call_sid;
        const id = req.headers['webhook-id'];
        if (busy.has(key)) {
          overlaps.push([key, busy.get(key), id]);
        }
        busy.set(key, id);
        const fail = !failedOnce.has(id) && parseInt(id.slice(-2), 16) % 3 === 0;
        if (fail) {
          failedOnce.add(id);
        }
        setTimeout(() => {
          busy.delete(key);
          seen.push({ call: key, id, ok: !fail, body, headers: req.headers });
          res.writeHead(fail ? 500 : 200);
          res.end();
        }, 15);
      });
    });
    await new Promise((resolve) => rx.listen(port, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => { rx.closeAllConnections(); rx.close(resolve); }));
    const secret = newSecret();
    const made = await call(server, 'POST', '/admin/subscribers', {
      name: 'timeline', url: `http://127.0.0.1:${port}/hook`, secret, ordering: 'per_call', concurrency: 16,
      events: ['call.status_changed'], ...quick,
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));

    const calls = Array.from({ length: 12 }, () => callSid());
    const statuses = ['queued', 'ringing', 'in-progress', 'completed'];
    const posts = calls.flatMap((sid) => statuses.map((status, i) => ({ sid, status, seq: i })));
    for (let i = posts.length - 1; i > 0; i--) { // shuffled
      const j = Math.floor(Math.random() * (i + 1));
      [posts[i], posts[j]] = [posts[j], posts[i]];
    }
    await Promise.all(posts.map(async ({ sid, status, seq }) => {
      const res = await signedPost(server, '/api/voice/status', {
        AccountSid: 'AC' + 'a'.repeat(32), CallSid: sid, From: '+14155551212', To: '+18005550100',
        Direction: 'inbound', ApiVersion: '2010-04-01', CallStatus: status, SequenceNumber: String(seq),
      });
      assert.ok(res.status >= 200 && res.status < 300, `status callback answered ${res.status}`);
    }));
    const total = posts.length;
    await waitFor(() => new Set(seen.filter((x) => x.ok).map((x) => x.id)).size === total, 30000,
      `all ${total} events delivered`);
    assert.ok(failedOnce.size > 0, 'some first attempts failed (retries in between)');
    assert.deepEqual(overlaps, [], 'no two events of one call were in flight at once');
    // The stored order: the delivered rows by position.
    const listed = await call(server, 'GET', '/admin/subscribers/timeline/deliveries?state=delivered&limit=1000');
    const position = new Map(listed.body.deliveries.map((d) => [d.event_id, d.seq]));
    for (const sid of calls) {
      const attempts = seen.filter((x) => x.call === sid);
      const firsts = [];
      for (const a of attempts) { // each event's attempts come together, the next only after a 2xx
        if (firsts.at(-1) !== a.id) {
          firsts.push(a.id);
        }
      }
      assert.equal(new Set(firsts).size, firsts.length, `call ${sid}: an event came back after a later one`);
      const stored = [...firsts].sort((x, y) => position.get(x) - position.get(y));
      assert.deepEqual(firsts, stored, `call ${sid} delivered in stored order`);
      for (const a of attempts.filter((x) => x.ok)) {
        verify(secret, a);
      }
    }
  });

  test('a subscriber failing for its disable_after is disabled and someone is told; operational events are opted into, validated and never about the receiver', async () => {
    const flaky = await receiver();
    flaky.status = 503;
    const ops = await receiver();
    const all = await receiver();
    const strict = await receiver();
    strict.status = 400;
    for (const r of [flaky, ops, all, strict]) {
      cleanup.push(() => r.close());
    }
    const opsSecret = newSecret();
    const server = await startServer({
      env: {
        SWITCHBOARD_SUBSCRIBERS: JSON.stringify([
          { name: 'ops', url: ops.url, secret: opsSecret, events: ['subscriber.*', 'delivery.dead_lettered'], ...quick },
          { name: 'all', url: all.url, secret: newSecret(), events: ['*'], ...quick },
        ]),
      },
    });
    cleanup.push(() => stopServer(server));
    const made = await call(server, 'POST', '/admin/subscribers', {
      name: 'flaky', url: flaky.url, events: ['call.*'], disable_after_seconds: 1, max_attempts: 1000, ...quick,
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.disable_after_seconds, 1);
    assert.equal((await call(server, 'POST', '/admin/subscribers', {
      name: 'strict', url: strict.url, events: ['call.*'], ...quick,
    })).status, 201);

    const first = await ringing(server);
    await waitFor(async () => (await call(server, 'GET', '/admin/subscribers/flaky')).body.state === 'disabled',
      15000, 'flaky disabled');
    const disabled = (await call(server, 'GET', '/admin/subscribers/flaky')).body;
    assert.match(disabled.state_reason, /every delivery attempt failed since .*HTTP 503/);
    assert.equal(disabled.delivering, false);
    const opEvents = (type) => ops.ok().filter((q) => q.json.type === type);
    await waitFor(() => opEvents('subscriber.disabled').length === 1, 5000, 'subscriber.disabled delivered');
    const note = opEvents('subscriber.disabled')[0];
    verify(opsSecret, note);
    assert.equal(note.json.data.subscriber, 'flaky');
    assert.equal(note.json.data.last_error, 'HTTP 503');
    assert.ok(Date.parse(note.json.data.failing_since) <= Date.now() - 1000);
    const m = await scrape(server);
    assert.equal(m['switchboard_subscriber_disabled_total{subscriber="flaky"}'], 1);
    // The strict subscriber's 400 dead-letters at once: delivery.dead_lettered names the event.
    await waitFor(() => opEvents('delivery.dead_lettered').length >= 1, 5000, 'delivery.dead_lettered delivered');
    const dead = opEvents('delivery.dead_lettered').find((q) => q.json.data.subscriber === 'strict');
    assert.ok(dead, 'the dead letter of strict');
    assert.equal(dead.json.data.event_type, 'call.status_changed');
    assert.equal(dead.json.data.attempts, 1);
    assert.equal(dead.json.data.last_status, 400);
    const deadRows = await call(server, 'GET', '/admin/subscribers/strict/deliveries?state=dead');
    assert.equal(dead.json.data.event_id, deadRows.body.deliveries[0].event_id);

    // Disabled, its events keep queueing; resumed with the receiver back, they are delivered
    // and subscriber.recovered follows.
    const second = await ringing(server);
    await waitFor(async () => (await call(server, 'GET', '/admin/subscribers/flaky')).body.pending === 2, 5000, '2 pending');
    const attemptsWhileDisabled = flaky.requests.length;
    await sleep(500);
    assert.equal(flaky.requests.length, attemptsWhileDisabled, 'no attempt while disabled');
    flaky.status = 200;
    const resumed = await call(server, 'POST', '/admin/subscribers/flaky/resume', {});
    assert.equal(resumed.body.state, 'active');
    await waitFor(() => delivered(flaky, first).length === 1 && delivered(flaky, second).length === 1, 10000,
      'the queued events delivered after the resume');
    await waitFor(() => opEvents('subscriber.recovered').length === 1, 5000, 'subscriber.recovered delivered');
    assert.equal(opEvents('subscriber.recovered')[0].json.data.subscriber, 'flaky');

    // "*" takes no operational event; every operational event matches the catalogue's schema.
    assert.equal(all.ok().filter((q) => /^(subscriber|delivery)\./.test(q.json.type)).length, 0);
    assert.ok(all.ok().length >= 2);
    const catalogue = (await call(server, 'GET', '/admin/event-types')).body;
    const ajv = new Ajv2020({ allErrors: true });
    addFormats(ajv);
    const validators = new Map(catalogue.event_types.map((t) => [t.type, ajv.compile(t.schema)]));
    for (const q of ops.ok()) {
      const validate = validators.get(q.json.type);
      assert.ok(validate(q.json), `${q.body}: ${ajv.errorsText(validate.errors)}`);
    }
  });

  test('stored subscribers survive a restart', async () => {
    const rx = await receiver();
    cleanup.push(() => rx.close());
    const env = await storeEnv();
    const first = await startServer({ env });
    const secret = newSecret();
    assert.equal((await call(first, 'POST', '/admin/subscribers', { name: 'kept', url: rx.url, secret, ...quick })).status, 201);
    assert.equal((await call(first, 'POST', '/admin/subscribers/kept/pause', {})).status, 200);
    const dataDir = first.dataDir;
    first.dataDir = '/nonexistent-keep'; // keep the data directory for the second process
    await stopServer(first);
    const second = await startServer({ env: { ...env, SWITCHBOARD_DATA_DIR: dataDir } });
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanup.push(() => stopServer(second));
    const read = await call(second, 'GET', '/admin/subscribers/kept');
    assert.equal(read.status, 200);
    assert.equal(read.body.state, 'paused');
    assert.equal((await call(second, 'POST', '/admin/subscribers/kept/resume', {})).status, 200);
    const sid = await ringing(second);
    await waitFor(() => delivered(rx, sid).length === 1, 10000, 'the delivery after the restart');
    verify(secret, delivered(rx, sid)[0]);
  });

  test('on Redis, a subscriber created on one replica receives the events the other accepts', { skip: STORE !== 'redis' }, async () => {
    const rx = await receiver();
    cleanup.push(() => rx.close());
    const env = await storeEnv(`replicas-${process.pid}-${Date.now()}:`);
    const a = await startServer({ env });
    cleanup.push(() => stopServer(a));
    const b = await startServer({ env });
    cleanup.push(() => stopServer(b));
    const secret = newSecret();
    assert.equal((await call(a, 'POST', '/admin/subscribers', { name: 'common', url: rx.url, secret, ...quick })).status, 201);
    const started = Date.now();
    await waitFor(async () => (await call(b, 'GET', '/admin/subscribers/common')).status === 200, 3000, 'replica B sees it');
    assert.ok(Date.now() - started < 2500, `seen by the other replica within the poll, took ${Date.now() - started} ms`);
    const sid = await ringing(b);
    await waitFor(() => delivered(rx, sid).length === 1, 10000, 'the delivery of B\'s event');
    verify(secret, delivered(rx, sid)[0]);

    // Paused on B: A stops delivering too; removed on A: B no longer lists it.
    assert.equal((await call(b, 'POST', '/admin/subscribers/common/pause', {})).status, 200);
    await sleep(1500);
    const queued = await ringing(a);
    await sleep(800);
    assert.equal(delivered(rx, queued).length, 0, 'paused on every replica');
    assert.equal((await call(a, 'POST', '/admin/subscribers/common/resume', {})).status, 200);
    await waitFor(() => delivered(rx, queued).length === 1, 10000, 'delivered after the resume');
    assert.equal((await call(a, 'DELETE', '/admin/subscribers/common')).status, 200);
    await waitFor(async () => (await call(b, 'GET', '/admin/subscribers/common')).status === 404, 3000, 'B forgets it');
    const gone = await ringing(b);
    await sleep(800);
    assert.equal(delivered(rx, gone).length, 0);
  });
});
