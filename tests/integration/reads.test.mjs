// Expensive reads (a history filter over a large call log, admin listings) run on the SQLite
// store's read connection: webhooks commit beside them instead of waiting behind them. The
// statistics read running totals kept with every write (schema 6 fills them in for a log that
// predates them). On Redis, one history read examines a bounded number of index entries.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { adminFetch, signedPost, startRedis, startServer, stopServer, STORE } from './harness.mjs';

const JWT_SECRET = 'r'.repeat(40);
const ROWS = 300000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test('webhooks commit while a history read scans a 300 000-call log; stats come from the totals', { skip: STORE === 'redis' && 'SQLite only',
  timeout: 120000 }, async (t) => {
  // The generated calls started in 1970: the call log's retention is off, or it would remove them.
  const env = { SWITCHBOARD_JWT_SECRET: JWT_SECRET, SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0',
    SWITCHBOARD_RETENTION_LOG_DAYS: '0' };
  let server = await startServer({ env });
  const dataDir = server.dataDir;
  server.dataDir = path.join(dataDir, 'kept'); // stopServer removes it: keep the store for the restart
  await stopServer(server);
  // The call log an established line has after a year or two, as schema 5 kept it (no totals):
  // the restart's migration adds them up.
  execFileSync('python3', ['-c', `
import sqlite3, sys, os
db = sqlite3.connect(sys.argv[1])
db.executemany("INSERT INTO calls (call_sid, status, direction, started_at_ms, updated_at_ms, duration_seconds) "
  "VALUES (?,?,?,?,?,?)",
  (("CA%032x" % i, "completed", "inbound", i, i, i % 120) for i in range(${ROWS})))
db.execute("DROP TABLE totals")
db.execute("ALTER TABLE events DROP COLUMN deliveries_left")
db.execute("DROP TABLE subscribers")
db.execute("DROP INDEX deliveries_ordered")
db.execute("ALTER TABLE deliveries DROP COLUMN subject")
db.execute("PRAGMA user_version=5")
db.commit()
`, path.join(dataDir, 'switchboard.db')]);
  server = await startServer({ env: { ...env, SWITCHBOARD_DATA_DIR: dataDir } });
  try {
    const token = await new SignJWT({ permissions: ['phone:view'] }).setProtectedHeader({ alg: 'HS256' })
      .setSubject('ops').setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const auth = { headers: { Authorization: `Bearer ${token}` } };
    const stats = await (await fetch(`${server.base}/api/phone/stats`, auth)).json();
    assert.equal(stats.calls.total, ROWS);
    assert.deepEqual(stats.calls.by_status, { completed: ROWS });
    // i % 120 seconds: per 120 calls 0..119 s, billed 0, then 1 minute for 1..60, 2 for 61..119.
    const cycles = ROWS / 120;
    assert.equal(stats.calls.total_duration_seconds, cycles * (119 * 120 / 2));
    assert.equal(stats.calls.billed_minutes, cycles * (60 + 59 * 2));
    const reads = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const t0 = performance.now();
        // No outbound call in the log: the filter walks all of it.
        const res = await fetch(`${server.base}/api/phone/calls/history?direction=outbound`, auth);
        const body = await res.text();
        assert.equal(res.status, 200, body);
        assert.equal(JSON.parse(body).calls.length, 0);
        reads.push(performance.now() - t0);
      }
    })();
    const writes = [];
    // Writes for as long as it takes three scans (at least 20 writes).
    for (let i = 0; i < 5000 && (reads.length < 3 || writes.length < 20); ++i) {
      const t0 = performance.now();
      const res = await signedPost(server, '/api/voice/status', {
        CallSid: `CA${randomBytes(16).toString('hex')}`, CallStatus: 'ringing', SequenceNumber: '1' });
      assert.equal(res.status, 204);
      writes.push(performance.now() - t0);
    }
    reading = false;
    await reader;
    const w = median(writes);
    const r = median(reads);
    t.diagnostic(`status callback median ${w.toFixed(1)} ms while the history scan took ${r.toFixed(1)} ms `
      + `(median of ${reads.length})`);
    // Behind the scans (one connection for both) a commit waits about half a scan; beside them
    // it waits for its own fsync only.
    assert.ok(w < r / 4, `a commit waited ${w.toFixed(1)} ms next to ${r.toFixed(1)} ms reads`);
    // The admin listing reads the same way.
    assert.equal((await adminFetch(server, '/admin/subscribers')).status, 200);
  } finally {
    await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('Redis call history: bounded reads, every call exactly once, ties and selective filters included',
  { skip: STORE === 'redis' && 'run once, by the SQLite pass (it starts its own redis-server)', timeout: 120000 },
  async () => {
    const redis = await startRedis();
    const prefix = 'hist:';
    const N = 30000;
    // The log: three calls per millisecond, one millisecond shared by 450 calls (more than a
    // script page), one call in a thousand failed, directions alternating.
    redis.cli('EVAL', `
local p, n = ARGV[1], tonumber(ARGV[2])
for i = 0, n - 1 do
  local sid = string.format('CA%032d', i)
  local started = 1700000000000 + math.floor(i / 3)
  if i >= 10000 and i < 10450 then started = 1700000005000 end
  local status = (i % 1000 == 7) and 'failed' or 'completed'
  local direction = (i % 2 == 0) and 'inbound' or 'outbound-api'
  redis.call('HSET', p .. 'call:' .. sid, 'status', status, 'direction', direction, 'started', started,
    'updated', started, 'account', 'AC1', 'from', '+14155550100', 'to', '+14155550199')
  redis.call('ZADD', p .. 'calls', started, sid)
  redis.call('ZADD', p .. 'calls:s:' .. status, started, sid)
  redis.call('ZADD', p .. 'calls:d:' .. direction, started, sid)
  if direction ~= 'inbound' then redis.call('ZADD', p .. 'calls:outbound', started, sid) end
end
return n`, '0', prefix, String(N));
    // The calls started in November 2023: the call log's retention (400 days) is off here.
    const server = await startServer({ env: { SWITCHBOARD_STORE: redis.url, SWITCHBOARD_REDIS_KEY_PREFIX: prefix,
      SWITCHBOARD_JWT_SECRET: JWT_SECRET, SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0', SWITCHBOARD_RETENTION_LOG_DAYS: '0' } });
    try {
      const token = await new SignJWT({ permissions: ['phone:view'] }).setProtectedHeader({ alg: 'HS256' })
        .setSubject('ops').setExpirationTime(Math.floor(Date.now() / 1000) + 600)
        .sign(new TextEncoder().encode(JWT_SECRET));
      const walk = async (query, limit) => {
        const sids = [];
        let cursor = '';
        let pages = 0;
        let shortWithMore = 0;
        for (;;) {
          const res = await fetch(`${server.base}/api/phone/calls/history?limit=${limit}${query}` +
            (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''), { headers: { Authorization: `Bearer ${token}` } });
          assert.equal(res.status, 200);
          const body = await res.json();
          pages += 1;
          sids.push(...body.calls.map((c) => c.sid));
          if (body.next_cursor === null) {
            break;
          }
          shortWithMore += body.count < limit ? 1 : 0;
          cursor = body.next_cursor;
          assert.ok(pages < 1000, 'the walk ends');
        }
        return { sids, pages, shortWithMore };
      };
      const expect = (keep) => Array.from({ length: N }, (_, i) => i).filter(keep)
        .map((i) => ({ i, started: i >= 10000 && i < 10450 ? 1700000005000 : 1700000000000 + Math.floor(i / 3) }))
        .sort((a, b) => b.started - a.started || (b.i - a.i))
        .map(({ i }) => `CA${String(i).padStart(32, '0')}`);

      const all = await walk('', 200);
      assert.equal(new Set(all.sids).size, N, 'no call twice');
      assert.deepEqual(all.sids, expect(() => true), 'newest first, every call, ties by SID');

      // 30 failed calls among 30 000 (all outbound-api): the status index holds 30, the direction
      // is checked per row; one read is enough...
      const failedOutbound = await walk('&status=failed&direction=outbound', 10);
      assert.deepEqual(failedOutbound.sids, expect((i) => i % 1000 === 7 && i % 2 === 1));
      // ...but a direction that matches none of the 29 970 completed calls is read in bounded
      // steps (2000 index entries each), each an empty page with a cursor, never one long scan.
      const none = await walk('&status=completed&direction=outbound-dial', 50);
      assert.deepEqual(none.sids, []);
      assert.ok(none.pages >= Math.floor(29970 / 2000), `bounded reads: ${none.pages} pages`);
      assert.ok(none.shortWithMore > 0, 'an empty page with a cursor, not a long scan');
      console.log(`# Redis history: ${all.pages} pages of 200; a filter matching nothing took ${none.pages} reads`);
    } finally {
      await stopServer(server);
      await redis.remove();
    }
  });
