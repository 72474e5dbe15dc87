// The store's capacity gauges on both stores: switchboard_store_writable (a write probe every
// SWITCHBOARD_STORE_PROBE_SECONDS, and every commit), _size_bytes, _capacity_bytes,
// _free_bytes and _rows{kind}; on Redis a maxmemory that is reached turns writable to 0 (and
// webhooks to 503) until there is room again; SQLite's online backup beside the running service
// (README "Data and capacity") restores to the same store. The full-disk case is in events.test.mjs.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BIN, scrape, signedPost, startRedis, startServer, stopServer, STORE, waitFor } from './harness.mjs';

const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
const callSid = () => `CA${randomBytes(16).toString('hex')}`;
const messageSid = () => `SM${randomBytes(16).toString('hex')}`;

function metric(m, name, labels = '') {
  return m[`${name}${labels}`];
}

// Two subscribers that never answer (port 9, discard: refused): every delivery stays queued.
const subscribers = ['crm', 'analytics'].map((name) => ({
  name, url: `http://127.0.0.1:9/${name}`, secret: `whsec_${randomBytes(32).toString('base64')}`, events: ['*'],
  timeout_seconds: 1, initial_delay_seconds: 30,
}));

async function feed(server, calls, messages) {
  for (let i = 0; i < calls; ++i) {
    const res = await signedPost(server, '/api/voice/status', {
      AccountSid: ACCOUNT_SID, CallSid: callSid(), From: '+14155550100', To: '+14155551212', Direction: 'inbound',
      CallStatus: 'ringing', SequenceNumber: '1' });
    assert.equal(res.status, 204, await res.text());
  }
  for (let i = 0; i < messages; ++i) {
    const res = await signedPost(server, '/api/sms/incoming', {
      AccountSid: ACCOUNT_SID, MessageSid: messageSid(), From: '+14155550100', To: '+14155551212', Body: 'hi' });
    assert.equal(res.status, 200, await res.text());
  }
}

async function gaugesSettle(server, calls, messages) {
  let m;
  await waitFor(async () => {
    m = await scrape(server);
    return metric(m, 'switchboard_store_rows', '{kind="events"}') === calls + messages;
  }, 10000, 'the row gauges to count what was stored');
  assert.equal(metric(m, 'switchboard_store_rows', '{kind="calls"}'), calls);
  assert.equal(metric(m, 'switchboard_store_rows', '{kind="messages"}'), messages);
  assert.equal(metric(m, 'switchboard_store_rows', '{kind="deliveries"}'), (calls + messages) * subscribers.length);
  assert.equal(metric(m, 'switchboard_store_writable'), 1);
  assert.ok(metric(m, 'switchboard_store_size_bytes') > 0, 'a size');
  return m;
}

test('SQLite: rows, file sizes and the data volume\'s room', { skip: STORE === 'redis' && 'SQLite only' },
  async () => {
    const server = await startServer({ env: {
      SWITCHBOARD_STORE_PROBE_SECONDS: '0.2', SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subscribers) } });
    try {
      await feed(server, 7, 3);
      const m = await gaugesSettle(server, 7, 3);
      const capacity = metric(m, 'switchboard_store_capacity_bytes');
      const free = metric(m, 'switchboard_store_free_bytes');
      assert.ok(capacity > 0 && free > 0 && free <= capacity, `capacity ${capacity}, free ${free}`);
      // The database holds at least its schema's pages and the WAL the events went through.
      assert.ok(metric(m, 'switchboard_store_size_bytes') >= 16384, `size ${metric(m, 'switchboard_store_size_bytes')}`);
    } finally {
      await stopServer(server);
    }
  });

test('Redis: used_memory against maxmemory; writable turns 0 at maxmemory and back',
  { skip: STORE === 'redis' && 'run once, by the SQLite pass (it starts its own redis-server)', timeout: 60000 },
  async () => {
    const redis = await startRedis({ extra: ['--maxmemory-policy', 'noeviction'] });
    let server;
    try {
      server = await startServer({ env: {
        SWITCHBOARD_STORE: redis.url, SWITCHBOARD_REDIS_KEY_PREFIX: 'cap:', SWITCHBOARD_STORE_PROBE_SECONDS: '0.2',
        SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subscribers) } });
      // Without maxmemory there is no limit to report.
      await feed(server, 4, 2);
      let m = await gaugesSettle(server, 4, 2);
      assert.equal(metric(m, 'switchboard_store_capacity_bytes'), 0);
      assert.equal(metric(m, 'switchboard_store_free_bytes'), 0);

      redis.cli('CONFIG', 'SET', 'maxmemory', String(256 * 1024 * 1024));
      await waitFor(async () => {
        m = await scrape(server);
        return metric(m, 'switchboard_store_capacity_bytes') === 256 * 1024 * 1024;
      }, 5000, 'maxmemory as the capacity');
      const used = Number(/used_memory:(\d+)/.exec(redis.cli('INFO', 'memory'))[1]);
      const free = metric(m, 'switchboard_store_free_bytes');
      // used_memory moves a little between the two reads.
      assert.ok(Math.abs(256 * 1024 * 1024 - used - free) < 1024 * 1024, `free ${free}, used ${used}`);

      // Full: Redis refuses writes (OOM with noeviction), the probe says so, webhooks get 503.
      redis.cli('CONFIG', 'SET', 'maxmemory', '1');
      await waitFor(async () => metric(await scrape(server), 'switchboard_store_writable') === 0, 5000,
        'writable 0 at maxmemory');
      const refused = await signedPost(server, '/api/voice/status', {
        AccountSid: ACCOUNT_SID, CallSid: callSid(), CallStatus: 'ringing', SequenceNumber: '1' });
      assert.equal(refused.status, 503);
      redis.cli('CONFIG', 'SET', 'maxmemory', '0');
      await waitFor(async () => metric(await scrape(server), 'switchboard_store_writable') === 1, 5000,
        'writable again with room');
      await feed(server, 1, 0);
      // store check reads the same store (appendonly yes: exit 0).
      await waitFor(async () => metric(await scrape(server), 'switchboard_store_rows', '{kind="events"}') === 7, 5000,
        'the seventh event counted');
      const checked = execFileSync(BIN, ['store', 'check'], { encoding: 'utf8', env: { PATH: process.env.PATH,
        SWITCHBOARD_STORE: redis.url, SWITCHBOARD_REDIS_KEY_PREFIX: 'cap:',
        SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subscribers) } });
      assert.match(checked, /^persistence: appendonly yes/m);
      assert.match(checked, /^events: 7$/m);
      assert.match(checked, /^calls: 5$/m);
      assert.match(checked, /^deliveries of crm: live 7, dead 0, delivered 0$/m);
    } finally {
      if (server) {
        await stopServer(server);
      }
      await redis.stop();
    }
  });

// SQLite's online backup API (what `sqlite3 DB ".backup FILE"` runs), through Python's module,
// a page at a time with a pause between steps so that commits land while it copies.
function backup(from, to) {
  return promisify(execFile)('python3', ['-c', `
import sqlite3, sys
src = sqlite3.connect(sys.argv[1])
dst = sqlite3.connect(sys.argv[2])
src.backup(dst, pages=1, sleep=0.002)
dst.close()
`, from, to]);
}

// `switchboard store check` with only these settings; its output without the lines that name
// the file or its size (a restored copy lives elsewhere and its WAL differs).
function storeCheck(env) {
  const out = execFileSync(BIN, ['store', 'check'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  return out.split('\n').filter((l) => l && !l.startsWith('store:') && !l.startsWith('size:')).join('\n');
}

function query(db, sql) {
  return execFileSync('python3', ['-c', `
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])
`, db, sql], { encoding: 'utf8' }).trim();
}

test('SQLite: an online backup taken while webhooks commit restores to the same store',
  { skip: STORE === 'redis' && 'SQLite only', timeout: 60000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-backup-'));
    const copy = path.join(dir, 'copy.db');
    let server = await startServer({ env: {
      SWITCHBOARD_STORE_PROBE_SECONDS: '0.2', SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subscribers) } });
    try {
      await feed(server, 20, 5);
      await gaugesSettle(server, 20, 5);
      // The backup runs while more callbacks commit: it is a snapshot of one moment.
      await Promise.all([feed(server, 30, 0), backup(path.join(server.dataDir, 'switchboard.db'), copy)]);
      assert.equal(query(copy, 'PRAGMA integrity_check'), 'ok');
      const events = Number(query(copy, 'SELECT count(*) FROM events'));
      const calls = Number(query(copy, 'SELECT count(*) FROM calls'));
      const deliveries = Number(query(copy, 'SELECT count(*) FROM deliveries'));
      assert.ok(events >= 25 && events <= 55, `${events} events in the copy`);
      assert.equal(deliveries, events * subscribers.length, 'each event with its delivery rows');
      await stopServer(server);
      server = undefined;
      const copyDir = path.join(dir, 'copy');
      execFileSync('mkdir', ['-p', copyDir]);
      execFileSync('cp', [copy, path.join(copyDir, 'switchboard.db')]);
      const checked = storeCheck({ SWITCHBOARD_DATA_DIR: copyDir });
      assert.match(checked, /^schema version: (\d+) \(this build: \1\)$/m);
      assert.match(checked, /^integrity: ok$/m);
      assert.match(checked, new RegExp(`^events: ${events}$`, 'm'));

      // Restore: the copy as switchboard.db of a fresh data directory.
      const restored = path.join(dir, 'restored');
      execFileSync('mkdir', ['-p', restored]);
      execFileSync('cp', [copy, path.join(restored, 'switchboard.db')]);
      server = await startServer({ env: {
        SWITCHBOARD_DATA_DIR: restored, SWITCHBOARD_STORE_PROBE_SECONDS: '0.2',
        SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subscribers) } });
      let m;
      await waitFor(async () => {
        m = await scrape(server);
        return metric(m, 'switchboard_store_rows', '{kind="events"}') === events;
      }, 10000, 'the restored store to hold the copy\'s events');
      assert.equal(metric(m, 'switchboard_store_rows', '{kind="calls"}'), calls);
      assert.equal(metric(m, 'switchboard_store_rows', '{kind="deliveries"}'), deliveries);
      // store check beside the running service says the same of the restored store as of the copy,
      // but that deliveries in flight when the copy was taken are pending again (a service that
      // opens a store makes them due: at least once).
      const dueAgain = checked.replace(/pending (\d+), in flight (\d+)/,
        (_, pending, inFlight) => `pending ${Number(pending) + Number(inFlight)}, in flight 0`);
      assert.equal(storeCheck({ SWITCHBOARD_DATA_DIR: restored }), dueAgain);
      // And it takes writes.
      await feed(server, 1, 0);
    } finally {
      if (server) {
        await stopServer(server);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
