// POST /admin/store/backup: a consistent copy of the SQLite store while webhooks commit (SQLite's
// online backup API), kept in the data directory's backups/ (?keep=N rotates them), and
// `switchboard store restore FILE`, which refuses a running store and gives back a store whose
// `store check` equals the one the copy was taken from. On Redis the endpoint says to use Redis'
// own persistence.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { adminFetch, BIN, scrape, signedPost, startRedis, startServer, stopServer, waitFor } from './harness.mjs';

const run = promisify(execFile);
const ACCOUNT_SID = 'AC' + 'a'.repeat(32);

function commandEnv(env) {
  const out = { PATH: process.env.PATH, ...env };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'TSAN_OPTIONS']) {
    if (process.env[k]) out[k] = process.env[k];
  }
  return out;
}

// store check's report without the lines that name the file or measure it.
async function report(env) {
  const { stdout } = await run(BIN, ['store', 'check'], { env });
  return stdout.split('\n').filter((l) => l && !/^(store|size): /.test(l)).join('\n');
}

async function feed(server, n) {
  for (let i = 0; i < n; ++i) {
    const res = await signedPost(server, '/api/voice/status', {
      AccountSid: ACCOUNT_SID, CallSid: `CA${randomBytes(16).toString('hex')}`, From: '+14155550100',
      To: '+14155551212', Direction: 'inbound', CallStatus: 'ringing', SequenceNumber: '1' });
    assert.equal(res.status, 204);
  }
}

test('SQLite: backup while webhooks commit, rotation, restore refused while running, restored store identical',
  { timeout: 120000 }, async () => {
    let delivered = 0;
    const hook = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { delivered += 1; res.writeHead(200).end(); });
    });
    await new Promise((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const subs = [
      { name: 'ok', url: `http://127.0.0.1:${hook.address().port}/h`, secret: `whsec_${randomBytes(32).toString('base64')}`,
        events: ['*'] },
      // Refused at once, retried in an hour: its rows stay pending (never in flight at the copy).
      { name: 'later', url: 'http://127.0.0.1:9/later', secret: `whsec_${randomBytes(32).toString('base64')}`,
        events: ['*'], initial_delay_seconds: 3600 },
    ];
    const dataDir = mkdtempSync(path.join(tmpdir(), 'switchboard-backup-'));
    const restoreDir = mkdtempSync(path.join(tmpdir(), 'switchboard-restore-'));
    try {
      const server = await startServer({ env: { SWITCHBOARD_DATA_DIR: dataDir,
        SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subs), SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0' } });
      const env = commandEnv(server.env);
      let last;
      try {
        // Copies taken while status callbacks commit are consistent and complete.
        const writing = feed(server, 300);
        const during = [];
        for (let i = 0; i < 3; ++i) {
          const res = await adminFetch(server, '/admin/store/backup?keep=2', { method: 'POST' });
          assert.equal(res.status, 200, await res.clone().text());
          during.push(await res.json());
          await new Promise((r) => setTimeout(r, 1100)); // the names carry the second
        }
        await writing;
        assert.ok(during.every((b) => b.bytes > 0 && b.file.startsWith(path.join(dataDir, 'backups'))));
        assert.deepEqual(during[2].removed, [path.basename(during[0].file)], 'keep=2 removed the oldest');
        assert.deepEqual(readdirSync(path.join(dataDir, 'backups')).sort(),
          [path.basename(during[1].file), path.basename(during[2].file)]);
        for (const b of during.slice(1)) {
          const { stdout } = await run('sqlite3', [b.file, 'PRAGMA integrity_check']);
          assert.equal(stdout.trim(), 'ok');
        }
        // Quiet now (every delivery to `ok` made, `later` pending): the copy is the store.
        await waitFor(() => delivered === 300, 20000, 'the deliveries to ok');
        await waitFor(async () => (await scrape(server))['switchboard_delivery_queue_depth{state="pending",subscriber="ok"}'] === 0,
          10000, 'the queue of ok to drain');
        const res = await adminFetch(server, '/admin/store/backup', { method: 'POST' });
        assert.equal(res.status, 200);
        last = (await res.json()).file;
        const bad = await adminFetch(server, '/admin/store/backup?keep=0', { method: 'POST' });
        assert.equal(bad.status, 400);
        const anonymous = await fetch(`${server.admin}/admin/store/backup`, { method: 'POST' });
        assert.equal(anonymous.status, 401);
        const m = await scrape(server);
        assert.equal(m['switchboard_store_backups_total{result="written"}'], 4);
        // Restore refuses a store a service is running on.
        const refused = await run(BIN, ['store', 'restore', last], { env }).catch((e) => e);
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(refused.stderr, /in use by a running service/);
      } finally {
        await stopServer(server);
        hook.close();
      }
      const original = await report(env);
      assert.match(original, /^events: 300$/m);
      assert.match(original, /delivered 300, dead 0/);

      // Into a new data directory, and over the original (which is kept beside it).
      const restoreEnv = { ...env, SWITCHBOARD_DATA_DIR: restoreDir };
      const restored = await run(BIN, ['store', 'restore', last], { env: restoreEnv });
      assert.match(restored.stdout, /^restored /m);
      assert.equal(await report(restoreEnv), original);
      const over = await run(BIN, ['store', 'restore', last], { env });
      assert.match(over.stdout, /previous store is kept as (\S+)/);
      const kept = over.stdout.match(/previous store is kept as (\S+)/)[1];
      assert.ok(existsSync(kept));
      assert.equal(await report(env), original);
      // A file that is not a database is refused, and nothing is replaced.
      const junk = await run(BIN, ['store', 'restore', path.join(restoreDir, 'switchboard.db.lock')],
        { env: restoreEnv }).catch((e) => e);
      assert.equal(junk.code, 1, junk.stderr);
      assert.equal(await report(restoreEnv), original);
      // A service starts on the restored store and still has the pending deliveries of `later`.
      const again = await startServer({ env: { ...server.env, SWITCHBOARD_DATA_DIR: restoreDir } });
      try {
        await waitFor(async () => (await scrape(again))['switchboard_delivery_queue_depth{state="pending",subscriber="later"}'] === 300,
          10000, 'the 300 pending deliveries of later');
      } finally {
        await stopServer(again);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(restoreDir, { recursive: true, force: true });
    }
  });

test('Redis: the backup endpoint points at Redis persistence', { timeout: 30000 }, async () => {
  const redis = await startRedis();
  const server = await startServer({ env: { SWITCHBOARD_STORE: redis.url, SWITCHBOARD_REDIS_KEY_PREFIX: 'bk:' } });
  try {
    const res = await adminFetch(server, '/admin/store/backup', { method: 'POST' });
    assert.equal(res.status, 409);
    assert.match((await res.json()).message, /Redis' own persistence/);
  } finally {
    await stopServer(server);
    await redis.stop?.();
  }
});
