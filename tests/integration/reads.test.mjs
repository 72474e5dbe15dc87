// Expensive reads (call statistics over a large call log, history, admin listings) run on the
// SQLite store's read connection: webhooks commit beside them instead of waiting behind them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { adminFetch, signedPost, startServer, stopServer, STORE } from './harness.mjs';

const JWT_SECRET = 'r'.repeat(40);
const ROWS = 300000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test('webhooks commit while /api/phone/stats scans a 300 000-call log', { skip: STORE === 'redis' && 'SQLite only',
  timeout: 120000 }, async (t) => {
  const env = { SWITCHBOARD_JWT_SECRET: JWT_SECRET, SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0' };
  let server = await startServer({ env });
  const dataDir = server.dataDir;
  server.dataDir = path.join(dataDir, 'kept'); // stopServer removes it: keep the store for the restart
  await stopServer(server);
  // The call log an established line has after a year or two.
  execFileSync('python3', ['-c', `
import sqlite3, sys, os
db = sqlite3.connect(sys.argv[1])
db.executemany("INSERT INTO calls (call_sid, status, direction, started_at_ms, updated_at_ms) VALUES (?,?,?,?,?)",
  (("CA%032x" % i, "completed", "inbound", i, i) for i in range(${ROWS})))
db.commit()
`, path.join(dataDir, 'switchboard.db')]);
  server = await startServer({ env: { ...env, SWITCHBOARD_DATA_DIR: dataDir } });
  try {
    const token = await new SignJWT({ permissions: ['phone:view'] }).setProtectedHeader({ alg: 'HS256' })
      .setSubject('ops').setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const reads = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const t0 = performance.now();
        const res = await fetch(`${server.base}/api/phone/stats`, { headers: { Authorization: `Bearer ${token}` } });
        assert.equal(res.status, 200, await res.text());
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
    t.diagnostic(`status callback median ${w.toFixed(1)} ms while /api/phone/stats took ${r.toFixed(1)} ms `
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
