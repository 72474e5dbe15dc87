// Retention on the store the suite runs on (SQLite, or Redis with SWITCHBOARD_TEST_STORE=redis):
// `switchboard store prune --as-of TIME` applies the configured periods as of a given time (the
// time is injected: no test waits for days), removing exactly what has expired and nothing
// pending; the service's own job does the same continuously (short periods), counts it in
// switchboard_retention_removed_total, and on SQLite the database file stops growing under a
// steady load because retention frees pages that are reused and given back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { BIN, scrape, signedPost, startServer, stopServer, STORE, waitFor } from './harness.mjs';

const run = promisify(execFile);
const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
const DAY = 86400000;

// A subscriber endpoint answering `status` to every delivery.
async function receiver(status) {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      res.writeHead(status).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/hook`, received: () => received };
}

function subscriber(name, url, events = ['*']) {
  return { name, url, secret: `whsec_${randomBytes(32).toString('base64')}`, events, timeout_seconds: 2 };
}

function sum(m, name, filter = () => true) {
  let total = 0;
  for (const [key, value] of Object.entries(m)) {
    if (key.startsWith(`${name}{`) && filter(key)) {
      total += value;
    }
  }
  return total;
}

async function feed(server, calls, messages) {
  for (let i = 0; i < calls; ++i) {
    const res = await signedPost(server, '/api/voice/status', {
      AccountSid: ACCOUNT_SID, CallSid: `CA${randomBytes(16).toString('hex')}`, From: '+14155550100',
      To: '+14155551212', Direction: 'inbound', CallStatus: 'ringing', SequenceNumber: '1' });
    assert.equal(res.status, 204, await res.text());
  }
  for (let i = 0; i < messages; ++i) {
    const res = await signedPost(server, '/api/sms/incoming', {
      AccountSid: ACCOUNT_SID, MessageSid: `SM${randomBytes(16).toString('hex')}`, From: '+14155550100',
      To: '+14155551212', Body: 'hi' });
    assert.equal(res.status, 200, await res.text());
  }
}

// The environment the server ran with, for the store commands (they refuse unknown settings
// just as the service does).
function commandEnv(env) {
  const out = { PATH: process.env.PATH, ...env };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'TSAN_OPTIONS']) {
    if (process.env[k]) out[k] = process.env[k];
  }
  return out;
}

async function prune(env, asOfMs) {
  const { stdout } = await run(BIN, ['store', 'prune', '--as-of', new Date(asOfMs).toISOString().replace(/\.\d+Z$/, 'Z')],
    { env });
  const m = stdout.match(/removed: events (\d+), delivered (\d+), dead (\d+), calls (\d+), messages (\d+)/);
  assert.ok(m, stdout);
  const [events, delivered, dead, calls, messages] = m.slice(1).map(Number);
  return { events, delivered, dead, calls, messages };
}

async function check(env) {
  const { stdout } = await run(BIN, ['store', 'check'], { env }).catch((e) => e); // Redis without AOF exits 1
  const count = (label) => Number(stdout.match(new RegExp(`^${label}: (\\d+)`, 'm'))?.[1]);
  return { events: count('events'), calls: count('calls'), messages: count('messages'), text: stdout };
}

test('store prune --as-of removes exactly what has expired, never what is pending', { timeout: 90000 }, async () => {
  const ok = await receiver(200);
  const gone = await receiver(410); // given up at once: a dead letter
  // Calls go to `ok` and `gone`; messages to `ok` and to `later`, whose endpoint refuses
  // connections and retries in 30 s: its deliveries stay pending for the whole test.
  const subs = [subscriber('ok', ok.url), subscriber('gone', gone.url, ['call.*']),
    { ...subscriber('later', 'http://127.0.0.1:9/later', ['sms.*']), initial_delay_seconds: 30 }];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'switchboard-retention-'));
  const env = {
    SWITCHBOARD_DATA_DIR: dataDir,
    SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subs),
    SWITCHBOARD_RETENTION_DELIVERED_DAYS: '30',
    SWITCHBOARD_RETENTION_DEAD_DAYS: '60',
    SWITCHBOARD_RETENTION_LOG_DAYS: '400',
    SWITCHBOARD_STORE_PROBE_SECONDS: '0.2',
  };
  try {
    const server = await startServer({ env });
    const cmd = commandEnv(server.env);
    try {
      await feed(server, 6, 4);
      await waitFor(async () => {
        const m = await scrape(server);
        return sum(m, 'switchboard_deliveries_total', (k) => k.includes('outcome="delivered"')) === 10
          && sum(m, 'switchboard_deliveries_total', (k) => k.includes('outcome="dead_lettered"')) === 6;
      }, 20000, 'call events delivered to ok and dead-lettered by gone, messages delivered to ok');
    } finally {
      await stopServer(server); // SQLite: the store commands need the service stopped
      ok.server.close();
      gone.server.close();
    }
    const now = Date.now();
    const none = { events: 0, delivered: 0, dead: 0, calls: 0, messages: 0 };
    assert.deepEqual(await prune(cmd, now + 29 * DAY), none);
    // 31 days on: the delivered rows go; every event still has a dead letter or a pending delivery.
    assert.deepEqual(await prune(cmd, now + 31 * DAY), { ...none, delivered: 10 });
    let c = await check(cmd);
    assert.equal(c.events, 10, c.text);
    // 61 days on: the dead letters go, and the call events with them; the message events stay
    // for their pending deliveries, however old.
    assert.deepEqual(await prune(cmd, now + 61 * DAY), { ...none, events: 6, dead: 6 });
    c = await check(cmd);
    assert.deepEqual([c.events, c.calls, c.messages], [4, 6, 4], c.text);
    // 401 days on: the call and message log goes too.
    assert.deepEqual(await prune(cmd, now + 401 * DAY), { ...none, calls: 6, messages: 4 });
    c = await check(cmd);
    assert.deepEqual([c.events, c.calls, c.messages], [4, 0, 0], c.text);
    assert.deepEqual(await prune(cmd, now + 9000 * DAY), none, 'nothing else is due, however late');

    // The pending deliveries were kept: a service started on the store still has them to make.
    const again = await startServer({ env: server.env });
    try {
      await waitFor(async () => (await scrape(again))['switchboard_store_rows{kind="deliveries"}'] === 4, 5000,
        'the four pending deliveries, still stored');
      const m = await scrape(again);
      assert.equal(m['switchboard_store_rows{kind="events"}'], 4);
    } finally {
      await stopServer(again);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the service applies retention by itself and counts it', { timeout: 60000 }, async () => {
  const ok = await receiver(200);
  // About 0.9 s: what is delivered now has expired a second from now.
  const server = await startServer({ env: {
    SWITCHBOARD_SUBSCRIBERS: JSON.stringify([subscriber('ok', ok.url)]),
    SWITCHBOARD_RETENTION_DELIVERED_DAYS: '0.00001',
    SWITCHBOARD_RETENTION_LOG_DAYS: '0.00001',
    SWITCHBOARD_RETENTION_INTERVAL_SECONDS: '0.2',
    SWITCHBOARD_STORE_PROBE_SECONDS: '0.2',
  } });
  try {
    await feed(server, 5, 3);
    let m;
    await waitFor(async () => {
      m = await scrape(server);
      return m['switchboard_retention_removed_total{kind="events"}'] === 8
        && m['switchboard_retention_removed_total{kind="calls"}'] === 5
        && m['switchboard_retention_removed_total{kind="messages"}'] === 3
        && m['switchboard_store_rows{kind="events"}'] === 0;
    }, 15000, 'retention to remove the 8 events, their deliveries, 5 calls and 3 messages');
    assert.equal(m['switchboard_retention_removed_total{kind="delivered"}'], 8);
    assert.equal(m['switchboard_retention_removed_total{kind="dead"}'], 0);
    assert.equal(m['switchboard_retention_failures_total'], 0);
    assert.ok(m['switchboard_retention_last_run_timestamp_seconds'] > Date.now() / 1000 - 60);
    await waitFor(() => server.logs.some((l) => l.msg === 'retention removed old records' && l.events > 0), 5000,
      'the run logged');
    if (STORE === 'redis') {
      // Nothing of the records is left in Redis: no event, delivery, call or message key, and the
      // hashes that index events are empty again (memory stays flat under a steady load).
      const prefix = server.env.SWITCHBOARD_REDIS_KEY_PREFIX;
      const url = server.env.SWITCHBOARD_STORE;
      const { stdout } = await run('redis-cli', ['-u', url, '--scan', '--pattern', `${prefix}*`]);
      const left = stdout.split('\n').filter(Boolean).map((k) => k.slice(prefix.length)).sort();
      assert.deepEqual(left.filter((k) => /^(ev|d|call|msg|subject):/.test(k)), [], left.join(' '));
      for (const hash of ['dedupe', 'evid']) {
        const { stdout: n } = await run('redis-cli', ['-u', url, 'HLEN', `${prefix}${hash}`]);
        assert.equal(Number(n.trim()), 0, `${hash} entries left`);
      }
    }
  } finally {
    await stopServer(server);
    ok.server.close();
  }
});

test('SQLite: under a steady load with retention on, the database file stops growing',
  { skip: STORE === 'redis' && 'SQLite only', timeout: 120000 }, async () => {
    const ok = await receiver(200);
    const server = await startServer({ env: {
      SWITCHBOARD_SUBSCRIBERS: JSON.stringify([subscriber('ok', ok.url)]),
      SWITCHBOARD_RETENTION_DELIVERED_DAYS: '0.00001',
      SWITCHBOARD_RETENTION_LOG_DAYS: '0.00001',
      SWITCHBOARD_RETENTION_INTERVAL_SECONDS: '0.2',
      SWITCHBOARD_STORE_PROBE_SECONDS: '0.2',
    } });
    try {
      // The database's size as SQLite sees it (its pages, WAL included), from store check beside
      // the running service: the file itself only changes at checkpoints.
      const pages = async () => {
        const { stdout } = await run(BIN, ['store', 'check'], { env: commandEnv(server.env) });
        return Number(stdout.match(/^size: (\d+) bytes in pages/m)[1]);
      };
      const sizes = [];
      let removed = 0;
      for (let round = 1; round <= 8; ++round) {
        await feed(server, 300, 0);
        removed += 600; // each call: one event and its call record
        await waitFor(async () => {
          const m = await scrape(server);
          return m['switchboard_retention_removed_total{kind="events"}']
            + m['switchboard_retention_removed_total{kind="calls"}'] >= removed;
        }, 20000, `round ${round}: retention to catch up`);
        sizes.push(await pages());
      }
      // Each round stores 300 events and retention removes them: the pages they held are reused
      // by the next round (and incremental vacuum gives the rest back), so rounds 4 to 8 stay at
      // the size the first rounds reached.
      const early = Math.max(...sizes.slice(0, 3));
      const late = Math.max(...sizes.slice(3));
      assert.ok(late <= early, `database size by round: ${sizes.join(', ')}`);
      assert.ok(early > 0);
    } finally {
      await stopServer(server);
      ok.server.close();
    }
  });
