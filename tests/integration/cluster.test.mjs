// Scale-out on Redis: replicas of the real binary share one redis-server that this test starts
// on 127.0.0.1. Two replicas under load lose nothing when one is killed with SIGKILL, or when
// Redis itself restarts (append-only file on); Twilio retries and out-of-order callbacks landing
// on different replicas behave as on one; the call log and the rate limit are shared; while
// Redis is away webhooks answer 503, readiness is false, and the replicas recover by themselves;
// Redis passwords and ACL users authenticate.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import {
  adminFetch, freePort, scrape, signedPost, sleep, startRedis, startServer, stopServer, waitFor,
} from './harness.mjs';

const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
const callSid = () => 'CA' + randomBytes(16).toString('hex');
const newSecret = () => 'whsec_' + randomBytes(32).toString('base64');
const isTwoXX = (s) => s >= 200 && s < 300;
const JWT_SECRET = randomBytes(32).toString('base64url');

let redis;
let prefixes = 0;

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await redis?.remove();
});

// A subscriber that verifies every delivery's Standard Webhooks signature and records it by
// callback ("CallSid#SequenceNumber") and webhook-id.
async function createSubscriber(secret, { delayMs = 0 } = {}) {
  const port = await freePort();
  const verifier = new Webhook(secret);
  const sub = {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    deliveries: [], // { key, id, json }
    badSignatures: 0,
    byKey() {
      const m = new Map();
      for (const d of sub.deliveries) {
        if (!m.has(d.key)) {
          m.set(d.key, new Set());
        }
        m.get(d.key).add(d.id);
      }
      return m;
    },
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        verifier.verify(body, req.headers);
      } catch {
        sub.badSignatures += 1;
        res.writeHead(400).end();
        return;
      }
      const json = JSON.parse(body);
      sub.deliveries.push({
        key: `${json.data.call_sid}#${json.data.sequence_number ?? json.data.status}`, id: req.headers['webhook-id'], json,
        at: Date.now(),
      });
      if (delayMs > 0) {
        setTimeout(() => res.writeHead(204).end(), delayMs);
      } else {
        res.writeHead(204).end();
      }
    });
  });
  server.keepAliveTimeout = 30000;
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  sub.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return sub;
}

// Replicas of one deployment: the same Redis and key prefix, distinct consumer names.
function deployment(subscribers = [], extra = {}) {
  const prefix = `cluster${++prefixes}:`;
  let n = 0;
  return {
    prefix,
    start(more = {}) {
      return startServer({
        env: {
          SWITCHBOARD_STORE: redis.url,
          SWITCHBOARD_REDIS_KEY_PREFIX: prefix,
          SWITCHBOARD_REPLICA_NAME: `replica-${++n}`,
          SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subscribers),
          SWITCHBOARD_JWT_SECRET: JWT_SECRET,
          SWITCHBOARD_REDIS_TIMEOUT_SECONDS: '1',
          ...extra,
          ...more,
        },
      });
    },
  };
}

function subscriberConfig(url, secret) {
  // A short timeout lets the take-over time (which must exceed it by 5 s) be short too.
  return {
    name: 'sink', url, secret, events: ['call.*'], timeout_seconds: 1, concurrency: 8,
    initial_delay_seconds: 0.05, max_delay_seconds: 0.2,
  };
}

function statusParams(sid, status, seq) {
  return {
    AccountSid: ACCOUNT_SID, CallSid: sid, From: '+14155551212', To: '+18005550100', Direction: 'inbound',
    ApiVersion: '2010-04-01', CallStatus: status, SequenceNumber: String(seq),
  };
}

async function post(server, params) {
  const res = await signedPost(server, '/api/voice/status', params);
  await res.arrayBuffer();
  return res.status;
}

async function readyz(server) {
  const res = await fetch(`${server.admin}/readyz`);
  return { status: res.status, body: await res.json() };
}

function metric(m, name) {
  let total = 0;
  for (const [key, value] of Object.entries(m)) {
    if (key === name || key.startsWith(`${name}{`)) {
      total += value;
    }
  }
  return total;
}

async function queue(server) {
  const res = await adminFetch(server, '/admin/subscribers');
  return (await res.json()).subscribers.find((s) => s.name === 'sink');
}

function killed(server) {
  return server.child.exitCode !== null || server.child.signalCode !== null;
}

async function kill9(server) {
  if (!killed(server)) {
    server.child.kill('SIGKILL');
  }
  return server.exited;
}

// Load: `loops` concurrent callers, each walking its own calls through increasing sequence
// numbers, spread round-robin over `targets()` (replicas that are alive). Records what was
// acknowledged (2xx) and what was refused.
function load(targets, loops = 8) {
  const state = { acked: new Map(), refused: 0, failed: 0, stop: false, done: null };
  const one = async (i) => {
    let turn = i;
    while (!state.stop) {
      const sid = callSid();
      for (let seq = 1; seq <= 5 && !state.stop; ++seq) {
        const live = targets();
        if (live.length === 0) {
          await sleep(20);
          continue;
        }
        const server = live[turn++ % live.length];
        const params = statusParams(sid, seq === 5 ? 'completed' : 'in-progress', seq);
        try {
          const status = await post(server, params);
          if (isTwoXX(status)) {
            state.acked.set(`${sid}#${seq}`, params);
          } else {
            state.refused += 1;
            await sleep(20); // Twilio would retry later; move on to the next callback
          }
        } catch {
          state.failed += 1; // the replica died mid-request: outcome unknown, Twilio would retry
        }
      }
    }
  };
  state.done = Promise.all(Array.from({ length: loops }, (_, i) => one(i)));
  return state;
}

// Every acknowledged callback reached the subscriber, each under exactly one webhook-id.
async function assertAllDelivered(sub, acked, what) {
  await waitFor(() => [...acked.keys()].every((k) => sub.byKey().has(k)), 40000, `${what}: every acked callback`)
    .catch(() => {});
  const byKey = sub.byKey();
  const lost = [...acked.keys()].filter((k) => !byKey.has(k));
  const twoIds = [...byKey].filter(([, ids]) => ids.size > 1).map(([k, ids]) => `${k}: ${[...ids].join(' ')}`);
  const duplicates = sub.deliveries.length - byKey.size;
  assert.deepEqual(lost, [], `${what}: acknowledged callbacks never delivered`);
  assert.deepEqual(twoIds, [], `${what}: one callback delivered under two event ids`);
  assert.equal(sub.badSignatures, 0);
  return { acked: acked.size, delivered: byKey.size, duplicates };
}

describe('two replicas on one Redis', () => {
  test('kill -9 of one replica under load: every acknowledged event is delivered, one id each', { timeout: 90000 }, async (t) => {
    const secret = newSecret();
    const sub = await createSubscriber(secret);
    const d = deployment([subscriberConfig(sub.url, secret)], { SWITCHBOARD_REDIS_RECLAIM_SECONDS: '6' });
    const a = await d.start();
    const b = await d.start();
    try {
      const l = load(() => [a, b].filter((s) => !killed(s)));
      await sleep(2500);
      const before = { acked: l.acked.size, delivered: sub.deliveries.length };
      await kill9(a);
      await sleep(2500); // b alone takes the load, and A's in-flight deliveries once idle 6 s
      l.stop = true;
      await l.done;
      assert.equal(l.refused, 0, 'no callback refused');
      assert.ok(before.acked > 100, `load reached both replicas (${before.acked} acked before the kill)`);
      const r = await assertAllDelivered(sub, l.acked, 'replica kill');
      await waitFor(async () => {
        const q = await queue(b);
        return q.pending === 0 && q.in_flight === 0;
      }, 15000, 'an empty queue');
      const m = await scrape(b);
      t.diagnostic(`replica kill -9: acknowledged ${r.acked} (${before.acked} before the kill), delivered unique `
        + `${r.delivered}, duplicate deliveries (same id) ${r.duplicates}, requests cut by the kill ${l.failed}, `
        + `lost 0; replica B delivered ${metric(m, 'switchboard_deliveries_total')}`);
    } finally {
      await kill9(a);
      await stopServer(b);
      await sub.close();
    }
  });

  test('a dead replica\'s deliveries are taken over within the reclaim time plus seconds, the survivor busy', { timeout: 60000 }, async (t) => {
    const secret = newSecret();
    const sub = await createSubscriber(secret, { delayMs: 600 });
    const RECLAIM = 6;
    const d = deployment([{ ...subscriberConfig(sub.url, secret), concurrency: 4 }],
      { SWITCHBOARD_REDIS_RECLAIM_SECONDS: String(RECLAIM) });
    const a = await d.start();
    let b;
    try {
      const acked = new Map();
      for (let i = 0; i < 12; ++i) {
        const params = statusParams(callSid(), 'ringing', 1);
        assert.equal(await post(a, params), 204);
        acked.set(`${params.CallSid}#1`, params);
      }
      await waitFor(async () => (await queue(a)).in_flight >= 4, 5000, 'deliveries in flight at A');
      await kill9(a);
      const killedAt = Date.now();
      b = await d.start();
      // B stays busy all along: new events at about three quarters of what it can deliver.
      let stop = false;
      const trickle = (async () => {
        while (!stop) {
          const params = statusParams(callSid(), 'ringing', 1);
          if (isTwoXX(await post(b, params))) {
            acked.set(`${params.CallSid}#1`, params);
          }
          await sleep(200);
        }
      })();
      await waitFor(async () => metric(await scrape(b), 'switchboard_redis_reclaimed_total') >= 4, 30000,
        'the take-over');
      const took = (Date.now() - killedAt) / 1000;
      stop = true;
      await trickle;
      assert.ok(took <= RECLAIM + 4, `taken over ${took.toFixed(1)} s after the kill (reclaim ${RECLAIM} s)`);
      const line = b.logs.find((x) => x.msg === 'took over deliveries of a replica that stopped');
      assert.equal(line?.from_replica, 'replica-1');
      await assertAllDelivered(sub, acked, 'take-over');
      t.diagnostic(`take-over: ${took.toFixed(1)} s after the kill with SWITCHBOARD_REDIS_RECLAIM_SECONDS=${RECLAIM}`);
    } finally {
      await kill9(a);
      if (b) {
        await stopServer(b);
      }
      await sub.close();
    }
  });

  test('Redis restarted empty under load: the consumer groups are made again (logged), deliveries go on', { timeout: 60000 }, async () => {
    const own = await startRedis({ extra: ['--appendonly', 'no'] });
    const secret = newSecret();
    const sub = await createSubscriber(secret);
    const d = deployment([subscriberConfig(sub.url, secret)], { SWITCHBOARD_STORE: own.url });
    const a = await d.start();
    const b = await d.start();
    try {
      const l = load(() => [a, b], 4);
      await sleep(1000);
      await own.kill(); // no AOF: everything, the groups included, is gone
      await own.start();
      await sleep(1500);
      l.stop = true;
      await l.done;
      // After the restart both replicas take new events and deliver them.
      const after = [];
      for (const s of [a, b]) {
        const params = statusParams(callSid(), 'completed', 1);
        await waitFor(async () => isTwoXX(await post(s, params)), 10000, 'accepted again');
        after.push(`${params.CallSid}#1`);
      }
      await waitFor(() => after.every((k) => sub.byKey().has(k)), 15000, 'delivered after the empty restart');
      const lines = [a, b].flatMap((s) => s.logs).filter((x) => x.level === 'error'
        && /consumer group was missing/.test(x.msg));
      assert.ok(lines.length >= 1, 'the lost group is logged at error level');
      const made = metric(await scrape(a), 'switchboard_redis_groups_recreated_total')
        + metric(await scrape(b), 'switchboard_redis_groups_recreated_total');
      assert.ok(made >= 1);
    } finally {
      await stopServer(a);
      await stopServer(b);
      await sub.close();
      await own.remove();
    }
  });

  test('Redis restarted mid-load (AOF): 503 while down, nothing acknowledged is lost, both recover', { timeout: 90000 }, async (t) => {
    const secret = newSecret();
    const sub = await createSubscriber(secret);
    // A claim whose reply dies with the killed Redis (the AOF has it, the replica never read
    // it) leaves its entries pending under that replica's name until they are reclaimed: with
    // the default 60 s that is after this test's wait, so the test reclaims after 6 s (the
    // least its 1 s delivery timeout allows).
    const d = deployment([subscriberConfig(sub.url, secret)], { SWITCHBOARD_REDIS_RECLAIM_SECONDS: '6' });
    const a = await d.start();
    const b = await d.start();
    try {
      const l = load(() => [a, b]);
      await sleep(1500);
      const ackedBefore = l.acked.size;
      await redis.kill(); // SIGKILL: acknowledged writes are in the AOF (written before the reply)
      await sleep(300);
      // While Redis is away: not ready, store down, webhooks 503 with Retry-After.
      for (const s of [a, b]) {
        await waitFor(async () => (await readyz(s)).status === 503, 5000, 'readiness false');
        assert.deepEqual((await readyz(s)).body, { status: 'not ready', store: 'unavailable' });
        const res = await signedPost(s, '/api/voice/status', statusParams(callSid(), 'ringing', 1));
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '5');
        assert.equal((await scrape(s)).switchboard_store_up, 0);
      }
      const refusedWhileDown = l.refused;
      await sleep(1000);
      await redis.start();
      for (const s of [a, b]) {
        await waitFor(async () => (await readyz(s)).status === 200, 10000, 'readiness back');
        assert.equal((await scrape(s)).switchboard_store_up, 1);
      }
      await sleep(1500);
      l.stop = true;
      await l.done;
      const r = await assertAllDelivered(sub, l.acked, 'Redis restart');
      assert.ok(l.acked.size > ackedBefore, 'callbacks acknowledged again after Redis returned');
      const disconnects = metric(await scrape(a), 'switchboard_store_disconnects_total');
      assert.ok(disconnects >= 1);
      t.diagnostic(`Redis restart: acknowledged ${r.acked} (${ackedBefore} before the restart), delivered unique `
        + `${r.delivered}, duplicate deliveries (same id) ${r.duplicates}, answered 503 while down ${l.refused} `
        + `(${refusedWhileDown} by the time Redis was back), lost 0`);
    } finally {
      if (!redis.child || redis.child.exitCode !== null || redis.child.signalCode !== null) {
        await redis.start();
      }
      await stopServer(a);
      await stopServer(b);
      await sub.close();
    }
  });

  test('retries and out-of-order callbacks across replicas: one event each, terminal stays terminal', async () => {
    const secret = newSecret();
    const sub = await createSubscriber(secret);
    const d = deployment([subscriberConfig(sub.url, secret)]);
    const a = await d.start();
    const b = await d.start();
    try {
      const sid = callSid();
      // The same callback to both replicas at once, five times: one event.
      const same = statusParams(sid, 'ringing', 1);
      const answers = await Promise.all([0, 1, 2, 3, 4].flatMap(() => [post(a, same), post(b, same)]));
      assert.ok(answers.every(isTwoXX), answers.join());
      // completed (4) on A, then a late in-progress (3) on B: the call stays completed.
      assert.equal(await post(a, statusParams(sid, 'completed', 4)), 204);
      assert.equal(await post(b, statusParams(sid, 'in-progress', 3)), 204);
      await waitFor(() => sub.deliveries.length >= 3, 5000, 'three deliveries');
      await sleep(300);
      const ringing = sub.deliveries.filter((x) => x.json.data.status === 'ringing');
      assert.equal(ringing.length, 1, 'ten copies of one callback are one event');
      const late = sub.deliveries.find((x) => x.json.data.status === 'in-progress');
      assert.equal(late.json.data.current_status, 'completed');
      assert.equal(late.json.data.previous_status, 'completed');
      const published = metric(await scrape(a), 'switchboard_events_published_total')
        + metric(await scrape(b), 'switchboard_events_published_total');
      assert.equal(published, 3);
    } finally {
      await stopServer(a);
      await stopServer(b);
      await sub.close();
    }
  });

  test('one script run per callback on the replica that wrote the call last; two on the other', async () => {
    // No subscribers (no claims), no probe or retention pass during the test: the only scripts
    // that run are the appends'.
    const d = deployment([], { SWITCHBOARD_STORE_PROBE_SECONDS: '3600', SWITCHBOARD_RETENTION_INTERVAL_SECONDS: '3600' });
    const a = await d.start();
    const b = await d.start();
    const scripts = () => {
      const stats = redis.cli('INFO', 'commandstats');
      let n = 0;
      for (const m of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) n += Number(m[1]);
      return n;
    };
    try {
      await sleep(500); // start-up passes are over
      const sid = callSid();
      redis.cli('CONFIG', 'RESETSTAT');
      for (const [seq, status] of ['initiated', 'ringing'].entries()) {
        assert.equal(await post(a, statusParams(sid, status, seq)), 204);
      }
      assert.equal(scripts(), 2, 'a new call and its next callback on one replica: one write script each');
      // B never wrote this call: its guess (a new record) is refused with the record as it is,
      // and the write planned from that is stored.
      redis.cli('CONFIG', 'RESETSTAT');
      assert.equal(await post(b, { ...statusParams(sid, 'completed', 3), CallDuration: '42' }), 204);
      assert.equal(scripts(), 2);
      // A's guess is stale now (B wrote last): the same, and the record is right (a late
      // in-progress, sequence 2, after the completed 3).
      redis.cli('CONFIG', 'RESETSTAT');
      assert.equal(await post(a, statusParams(sid, 'in-progress', 2)), 204);
      assert.equal(scripts(), 2);
      const record = redis.cli('HGETALL', `${d.prefix}call:${sid}`).split('\n');
      const field = (name) => record[record.indexOf(name) + 1];
      assert.equal(field('status'), 'completed', 'a late in-progress never reopens a completed call');
      assert.equal(field('ver'), '4');
      // A retry of a callback A stored: answered from A's memory of the key, no script; on B
      // the store finds the duplicate, one script run. Either way nothing new is stored.
      const events = () => Number(redis.cli('HLEN', `${d.prefix}evid`));
      const stored = events();
      assert.equal(stored, 4);
      redis.cli('CONFIG', 'RESETSTAT');
      assert.equal(await post(a, statusParams(sid, 'ringing', 1)), 204);
      assert.equal(scripts(), 0);
      redis.cli('CONFIG', 'RESETSTAT');
      assert.equal(await post(b, statusParams(sid, 'ringing', 1)), 204);
      assert.equal(scripts(), 1);
      assert.equal(events(), stored);
      assert.equal(redis.cli('HGET', `${d.prefix}call:${sid}`, 'ver'), '4');
    } finally {
      await stopServer(a);
      await stopServer(b);
    }
  });

  test('the call log and stats answer the same from either replica', async () => {
    const d = deployment();
    const a = await d.start();
    const b = await d.start();
    try {
      const token = await new SignJWT({ permissions: ['phone:view'] }).setProtectedHeader({ alg: 'HS256' })
        .setSubject('ops@example.com').setExpirationTime(Math.floor(Date.now() / 1000) + 600)
        .sign(Buffer.from(JWT_SECRET));
      const get = async (s, p) => {
        const res = await fetch(`${s.base}${p}`, { headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, body: await res.json() };
      };
      const sids = [callSid(), callSid(), callSid()];
      for (const [i, sid] of sids.entries()) {
        const s = i % 2 ? b : a;
        assert.equal(await post(s, statusParams(sid, 'ringing', 1)), 204);
        await sleep(5); // distinct start times: a stable newest-first order
      }
      assert.equal(await post(b, { ...statusParams(sids[0], 'completed', 2), CallDuration: '61' }), 204);
      const fromA = await get(a, '/api/phone/calls/history?limit=10');
      const fromB = await get(b, '/api/phone/calls/history?limit=10');
      assert.equal(fromA.status, 200, JSON.stringify(fromA.body));
      assert.deepEqual(fromA.body, fromB.body);
      assert.deepEqual(fromA.body.calls.map((c) => c.sid), [...sids].reverse());
      const page = await get(b, '/api/phone/calls/history?limit=2');
      const rest = await get(a, `/api/phone/calls/history?limit=2&cursor=${encodeURIComponent(page.body.next_cursor)}`);
      assert.deepEqual([...page.body.calls, ...rest.body.calls].map((c) => c.sid), [...sids].reverse());
      const completed = await get(a, '/api/phone/calls/history?status=completed');
      assert.deepEqual(completed.body.calls.map((c) => c.sid), [sids[0]]);
      const detail = await get(b, `/api/phone/calls/${sids[0]}`);
      assert.equal(detail.status, 200, JSON.stringify(detail.body));
      assert.equal(detail.body.status, 'completed');
      assert.equal(detail.body.duration_seconds, 61);
      assert.deepEqual(detail.body.events.map((e) => e.data.status), ['ringing', 'completed']);
      const statsA = await get(a, '/api/phone/stats');
      const statsB = await get(b, '/api/phone/stats');
      assert.equal(statsA.status, 200, JSON.stringify(statsA.body));
      assert.deepEqual(statsA.body.calls, statsB.body.calls);
      assert.equal(statsA.body.calls.total, 3);
      assert.equal(statsA.body.calls.by_status.completed, 1);
      assert.equal(statsA.body.calls.by_status.ringing, 2);
      assert.equal(statsA.body.calls.total_duration_seconds, 61);
      assert.equal(statsA.body.calls.billed_minutes, 2);
    } finally {
      await stopServer(a);
      await stopServer(b);
    }
  });

  test('the rate limit is one budget across replicas', async () => {
    const d = deployment([], { SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '10' });
    const a = await d.start();
    const b = await d.start();
    try {
      const statuses = [];
      for (let i = 0; i < 20; ++i) {
        const res = await fetch(`${(i % 2 ? b : a).base}/api/voice/health`);
        await res.arrayBuffer();
        statuses.push(res.status);
      }
      // 10 per minute for this client in total (a per-replica budget would allow 20).
      assert.equal(statuses.filter((s) => s === 200).length, 10, statuses.join());
      assert.equal(statuses.filter((s) => s === 429).length, 10);
      const limited = metric(await scrape(a), 'switchboard_rate_limited_requests_total')
        + metric(await scrape(b), 'switchboard_rate_limited_requests_total');
      assert.equal(limited, 10);
    } finally {
      await stopServer(a);
      await stopServer(b);
    }
  });
});

describe('a subscriber\'s rate across replicas', () => {
  test('rate_per_second is one budget for every replica', { timeout: 30000 }, async () => {
    const secret = 'whsec_' + randomBytes(32).toString('base64');
    const sub = await createSubscriber(secret);
    const d = deployment([{ ...subscriberConfig(sub.url, secret), rate_per_second: 4 }]);
    const a = await d.start();
    const b = await d.start();
    try {
      const n = 16;
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) => post(i % 2 ? b : a, statusParams(callSid(), 'completed', 1))));
      assert.deepEqual(answers, Array(n).fill(204));
      await waitFor(() => sub.deliveries.length >= n, 20000, 'every delivery');
      const at = sub.deliveries.map((x) => x.at).sort((x, y) => x - y);
      // One bucket of 4 a second (a burst of 4) for both: 16 take 3 s at least. Two buckets, one
      // per replica, would let each send its 8 in 1 s.
      assert.ok(at[n - 1] - at[0] >= 2800, `16 deliveries at 4/s across two replicas took ${at[n - 1] - at[0]} ms`);
      assert.equal(sub.badSignatures, 0);
      const throttled = metric(await scrape(a), 'switchboard_delivery_throttled_total')
        + metric(await scrape(b), 'switchboard_delivery_throttled_total');
      assert.ok(throttled >= 1, `throttled ${throttled}`);
    } finally {
      await stopServer(a);
      await stopServer(b);
      await sub.close();
    }
  });
});

describe('Redis authentication', () => {
  test('password, ACL user, and a wrong password (not ready, a clear log line, recovers when fixed)', { timeout: 30000 }, async () => {
    const secured = await startRedis({ password: 'pa ss:w@rd/1' });
    try {
      // The least the README says an ACL user needs.
      secured.cli('ACL', 'SETUSER', 'switchboard', 'on', '>acl-secret', '~auth:*', '+@read', '+@write', '+@stream',
        '+@scripting', '+@connection', '+info', '+client|setname', '+select');
      const good = [
        { SWITCHBOARD_STORE: secured.url },
        { SWITCHBOARD_STORE: `redis://127.0.0.1:${secured.port}/0`, SWITCHBOARD_REDIS_PASSWORD: 'pa ss:w@rd/1' },
        { SWITCHBOARD_STORE: `redis://switchboard:acl-secret@127.0.0.1:${secured.port}/2` },
        // One field before '@' with the password given apart: the field is the ACL user.
        { SWITCHBOARD_STORE: `redis://switchboard@127.0.0.1:${secured.port}/1`, SWITCHBOARD_REDIS_PASSWORD: 'acl-secret' },
      ];
      for (const env of good) {
        const s = await startServer({ env: { ...env, SWITCHBOARD_REDIS_KEY_PREFIX: 'auth:' } });
        try {
          assert.equal((await readyz(s)).status, 200, JSON.stringify(env));
          assert.equal(await post(s, statusParams(callSid(), 'ringing', 1)), 204);
          const ready = s.logs.find((l) => l.msg === 'ready');
          assert.ok(!JSON.stringify(s.logs).includes('acl-secret') && !JSON.stringify(s.logs).includes('w@rd'),
            'no password in the logs');
          assert.match(ready.store, /^redis:\/\//);
        } finally {
          await stopServer(s);
        }
      }
      const wrong = await startServer({
        env: {
          SWITCHBOARD_STORE: `redis://switchboard:nope@127.0.0.1:${secured.port}/0`,
          SWITCHBOARD_REDIS_KEY_PREFIX: 'auth:',
          SWITCHBOARD_REDIS_TIMEOUT_SECONDS: '1',
        },
      });
      try {
        assert.equal((await readyz(wrong)).status, 503);
        assert.equal(await post(wrong, statusParams(callSid(), 'ringing', 1)), 503);
        const line = wrong.logs.find((l) => l.msg === 'cannot connect to Redis; retrying');
        assert.ok(line, JSON.stringify(wrong.logs));
        assert.match(line.error, /AUTH refused: WRONGPASS/);
        assert.ok(!line.redis.includes('nope'));
        // The operator fixes the ACL: the replica connects by itself.
        secured.cli('ACL', 'SETUSER', 'switchboard', 'resetpass', '>nope');
        await waitFor(async () => (await readyz(wrong)).status === 200, 10000, 'connected after the fix');
        assert.equal(await post(wrong, statusParams(callSid(), 'ringing', 1)), 204);
      } finally {
        await stopServer(wrong);
      }
    } finally {
      await secured.remove();
    }
  });

  test('a bad SWITCHBOARD_STORE refuses start-up with one clear line', async () => {
    for (const [store, re] of [
      ['rediss://127.0.0.1:6379', /TLS\) is not supported/],
      ['redis://127.0.0.1:99999', /port must be 1-65535/],
      ['redis://127.0.0.1:6379/x', /database number/],
      ['mysql://x', /scheme must be redis/],
    ]) {
      await assert.rejects(startServer({ env: { SWITCHBOARD_STORE: store } }), (e) => {
        assert.match(e.message, re);
        assert.match(e.message, /SWITCHBOARD_STORE/);
        return true;
      });
    }
  });
});
