// Outgrowing one pod: `switchboard store export` of a SQLite store with pending, delivered and
// dead deliveries, `switchboard store import` into an empty Redis, and a service on Redis that
// goes on where the SQLite one stopped: the pending deliveries are delivered (same webhook-id,
// verified with the subscriber's secret), the delivered ones are not delivered again, the dead
// letters are listed and replayable, and the call log, call details and stats answer the same.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import {
  ADMIN_TOKEN, adminFetch, BIN, freePort, sendStop, signedPost, startRedis, startServer, stopServer, waitFor,
} from './harness.mjs';

const ACCOUNT_SID = 'AC' + 'b'.repeat(32);
const JWT_SECRET = 'migrate-jwt-secret-0123456789abcdef0123';
const newSecret = () => 'whsec_' + randomBytes(32).toString('base64');
const sid = (p) => p + randomBytes(16).toString('hex');

// A subscriber endpoint: answers `status`, verifies every delivery with its secret.
async function sink(secret) {
  const port = await freePort();
  const s = {
    status: 200, received: [], port, url: `http://127.0.0.1:${port}/hook`,
    delivered() { return s.received.filter((r) => r.status < 300); },
  };
  const wh = new Webhook(secret);
  s.server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const event = wh.verify(body, req.headers); // throws on a bad signature: the test fails
      s.received.push({ id: req.headers['webhook-id'], event, status: s.status });
      res.writeHead(s.status).end();
    });
  });
  await new Promise((resolve) => s.server.listen(port, '127.0.0.1', resolve));
  s.close = () => new Promise((resolve) => { s.server.closeAllConnections(); s.server.close(resolve); });
  return s;
}

function subscribers(sinks, secrets, urls = {}) {
  return JSON.stringify([
    { name: 'crm', url: urls.crm ?? sinks.crm.url, secret: secrets.crm, events: ['*'] },
    { name: 'audit', url: urls.audit ?? sinks.audit.url, secret: secrets.audit, events: ['*'], max_attempts: 1 },
    // Down before the move (nothing listens): its deliveries stay pending, retried slowly.
    { name: 'later', url: urls.later ?? sinks.later.url, secret: secrets.later, events: ['*'],
      initial_delay_seconds: 0.05, max_delay_seconds: 0.5, max_attempts: 1000, max_age_seconds: 86400 },
  ]);
}

async function admin(server, p, init) {
  const res = await adminFetch(server, p, init);
  assert.equal(res.status, 200, `${p}: ${res.status}`);
  return res.json();
}

async function rows(server, name, state) {
  const body = await admin(server, `/admin/subscribers/${name}/deliveries?state=${state}&limit=1000`);
  return body.deliveries ?? body.rows ?? body;
}

// What the operator API answers about the call log: it must not change with the store.
async function callLog(server, callSids) {
  const token = await new SignJWT({ permissions: ['phone:view'] }).setProtectedHeader({ alg: 'HS256' })
    .setSubject('ops').setExpirationTime(Math.floor(Date.now() / 1000) + 600)
    .sign(new TextEncoder().encode(JWT_SECRET));
  const get = async (p) => {
    const res = await fetch(`${server.base}${p}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, `${p}: ${res.status}`);
    return res.json();
  };
  const stats = await get('/api/phone/stats');
  delete stats.generated_at; // (the time of the answer, if present)
  return {
    stats,
    history: await get('/api/phone/calls/history?limit=100'),
    details: await Promise.all(callSids.map((s) => get(`/api/phone/calls/${s}`))),
  };
}

function storeCommand(args, env) {
  return spawnSync(BIN, ['store', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
}

test('a SQLite store moves to Redis: deliveries resume, nothing delivered twice, the call log answers the same',
  { timeout: 120000 }, async (t) => {
    const secrets = { crm: newSecret(), audit: newSecret(), later: newSecret() };
    const sinks = { crm: await sink(secrets.crm), audit: await sink(secrets.audit), later: await sink(secrets.later) };
    sinks.audit.status = 500; // every attempt fails: max_attempts 1 makes each a dead letter
    const downPort = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-migrate-'));
    const dataDir = path.join(dir, 'data');
    const redis = await startRedis();
    let server;
    try {
      const sqliteEnv = {
        SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_JWT_SECRET: JWT_SECRET,
        SWITCHBOARD_SUBSCRIBERS: subscribers(sinks, secrets, { later: `http://127.0.0.1:${downPort}/hook` }),
      };
      server = await startServer({ env: sqliteEnv });
      // Calls with status callbacks and a menu choice, and two SMS: events of every kind.
      const calls = [sid('CA'), sid('CA'), sid('CA')];
      for (const [i, callSid] of calls.entries()) {
        for (const [seq, status] of ['ringing', 'in-progress', 'completed'].entries()) {
          const res = await signedPost(server, '/api/voice/status', {
            AccountSid: ACCOUNT_SID, CallSid: callSid, From: '+14155550100', To: '+18005550100', Direction: 'inbound',
            CallStatus: status, SequenceNumber: String(seq), ...(status === 'completed' ? { CallDuration: String(30 + i) } : {}) });
          assert.equal(res.status, 204);
        }
        const menu = await signedPost(server, '/api/voice/menu', { AccountSid: ACCOUNT_SID, CallSid: callSid, Digits: '1' });
        assert.equal(menu.status, 200);
      }
      for (let i = 0; i < 2; ++i) {
        const res = await signedPost(server, '/api/sms/incoming', {
          AccountSid: ACCOUNT_SID, MessageSid: sid('SM'), From: '+14155550100', To: '+18005550100', Body: `hello ${i}` });
        assert.equal(res.status, 200);
      }
      const EVENTS = calls.length * 4 + 2;
      await waitFor(() => new Set(sinks.crm.delivered().map((r) => r.id)).size === EVENTS, 10000, 'crm delivered');
      await waitFor(async () => (await rows(server, 'audit', 'dead')).length === EVENTS, 10000, 'audit dead');
      await waitFor(async () => (await rows(server, 'later', 'pending')).filter((r) => r.attempts >= 1).length
        === EVENTS, 10000, 'later pending, attempted');
      const before = {
        dead: (await rows(server, 'audit', 'dead')).map(({ event_id, type, attempts, last_status, last_error }) =>
          ({ event_id, type, attempts, last_status, last_error })),
        log: await callLog(server, calls),
      };
      t.diagnostic(`call log before the move: ${JSON.stringify(before.log).slice(0, 400)}`);
      assert.equal(before.log.stats.calls.total, 3);
      assert.equal(before.log.details.every((d) => d.events.length === 4), true, 'four events per call');
      // (A retry may be in flight at this moment: it is pending again once the service stops.)
      // Two reads, so a row may move between them: read until they agree.
      let pendingIds;
      await waitFor(async () => {
        pendingIds = new Set([...await rows(server, 'later', 'pending'), ...await rows(server, 'later', 'in_flight')]
          .map((r) => r.event_id));
        return pendingIds.size === EVENTS;
      }, 5000, 'every later delivery pending or in flight');

      // A subscriber stored through the API (paused) moves too.
      const storedSecret = newSecret();
      const made = await adminFetch(server, '/admin/subscribers', { method: 'POST',
        body: JSON.stringify({ name: 'stored', url: 'http://127.0.0.1:9/hook', secret: storedSecret, events: ['sms.*'] }) });
      assert.equal(made.status, 201);
      assert.equal((await adminFetch(server, '/admin/subscribers/stored/pause', { method: 'POST', body: '{}' })).status, 200);

      // Export beside the running service is possible; here the service stops first, as in a move.
      sendStop(server, 'SIGTERM');
      assert.equal((await server.exited).code, 0, server.stderr);
      server = null;
      const file = path.join(dir, 'store.ndjson');
      const exported = storeCommand(['export', '--output', file], sqliteEnv);
      assert.equal(exported.status, 0, exported.stderr);
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines[0].kind, 'header');
      assert.equal(lines[0].store, 'sqlite');
      assert.deepEqual(lines.at(-1),
        { kind: 'end', events: EVENTS, deliveries: 3 * EVENTS, calls: 3, messages: 2, numbers: 0, subscribers: 1 });
      assert.equal(lines.filter((l) => l.kind === 'subscriber').map((l) => l.name).join(), 'stored');
      const states = lines.filter((l) => l.kind === 'event').flatMap((e) => e.deliveries.map((d) => `${d.subscriber}:${d.state}`));
      assert.equal(states.filter((s) => s === 'crm:delivered').length, EVENTS);
      assert.equal(states.filter((s) => s === 'audit:dead').length, EVENTS);
      // A retry of the unreachable `later` may have been in flight when the service stopped:
      // exported in flight, due again after the move like a pending one.
      assert.equal(states.filter((s) => s === 'later:pending' || s === 'later:in_flight').length, EVENTS);

      const redisEnv = { SWITCHBOARD_STORE: redis.url, SWITCHBOARD_REDIS_KEY_PREFIX: 'moved:',
        SWITCHBOARD_SUBSCRIBERS: subscribers(sinks, secrets), SWITCHBOARD_JWT_SECRET: JWT_SECRET };
      // A damaged copy is refused whole: nothing is written.
      const cut = path.join(dir, 'cut.ndjson');
      writeFileSync(cut, readFileSync(file, 'utf8').split('\n').slice(0, 5).join('\n') + '\n');
      const refused = storeCommand(['import', cut], { ...redisEnv, SWITCHBOARD_REDIS_KEY_PREFIX: 'cut:' });
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, /no end line.*nothing was written/);
      assert.equal(redis.cli('--scan', '--pattern', 'cut:*'), '', 'no key written for a refused file');

      const imported = storeCommand(['import', file], redisEnv);
      assert.equal(imported.status, 0, imported.stderr);
      assert.match(imported.stdout, new RegExp(`${EVENTS} events, ${3 * EVENTS} deliveries, 3 calls, 2 messages`));
      const again = storeCommand(['import', file], redisEnv);
      assert.equal(again.status, 2, 'a second import into the same prefix is refused');
      assert.match(again.stderr, /already holds a store/);
      const checked = storeCommand(['check'], redisEnv);
      assert.match(checked.stdout, new RegExp(`^events: ${EVENTS}$`, 'm'));
      assert.match(checked.stdout, new RegExp(`^deliveries of crm: live 0, dead 0, delivered ${EVENTS}$`, 'm'));
      assert.match(checked.stdout, new RegExp(`^deliveries of audit: live 0, dead ${EVENTS}, delivered 0$`, 'm'));
      assert.match(checked.stdout, new RegExp(`^deliveries of later: live ${EVENTS}, dead 0, delivered 0$`, 'm'));

      // The service on Redis, with `later` reachable now.
      const crmBefore = sinks.crm.received.length;
      server = await startServer({ env: redisEnv });
      const moved = await (await adminFetch(server, '/admin/subscribers/stored')).json();
      assert.equal(moved.managed_by, 'api');
      assert.equal(moved.state, 'paused');
      assert.equal(moved.version, 2);
      await waitFor(() => new Set(sinks.later.delivered().map((r) => r.id)).size === EVENTS, 15000,
        'the pending deliveries delivered after the move');
      assert.deepEqual(new Set(sinks.later.delivered().map((r) => r.id)), pendingIds, 'the same events, same webhook-id');
      for (const r of sinks.later.delivered()) {
        assert.equal(r.event.id, r.id);
      }
      await waitFor(async () => (await rows(server, 'later', 'pending')).length === 0, 5000, 'later drained');
      assert.equal((await rows(server, 'later', 'delivered')).length, EVENTS);
      const after = {
        dead: (await rows(server, 'audit', 'dead')).map(({ event_id, type, attempts, last_status, last_error }) =>
          ({ event_id, type, attempts, last_status, last_error })),
        log: await callLog(server, calls),
      };
      assert.deepEqual(after.dead, before.dead, 'the dead letters, as they were');
      assert.deepEqual(after.log, before.log, 'the call log, call details and stats answer the same');

      // A dead letter replays on Redis; a new event is numbered after the imported ones.
      sinks.audit.status = 200;
      const replayed = await admin(server, `/admin/subscribers/audit/dead/${before.dead[0].event_id}/replay`, { method: 'POST' });
      t.diagnostic(`replay: ${JSON.stringify(replayed)}`);
      await waitFor(() => sinks.audit.delivered().some((r) => r.id === before.dead[0].event_id), 5000, 'the replayed dead letter');
      const fresh = sid('CA');
      const res = await signedPost(server, '/api/voice/status', {
        AccountSid: ACCOUNT_SID, CallSid: fresh, From: '+14155550100', To: '+18005550100', Direction: 'inbound',
        CallStatus: 'ringing', SequenceNumber: '0' });
      assert.equal(res.status, 204);
      await waitFor(() => sinks.crm.delivered().some((r) => r.event.data.call_sid === fresh), 5000, 'a new event delivered');
      // Nothing delivered before the move was delivered again: the only new crm delivery is the new event.
      const newCrm = sinks.crm.received.slice(crmBefore);
      assert.deepEqual(newCrm.map((r) => r.event.data.call_sid), [fresh]);
      const recheck = storeCommand(['check'], redisEnv);
      assert.match(recheck.stdout, new RegExp(`^events: ${EVENTS + 1}$`, 'm'));
    } finally {
      if (server) {
        await stopServer(server);
      }
      await Promise.all(Object.values(sinks).map((s) => s.close()));
      await redis.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
