// A subscriber whose DNS name never answers: its attempts end at their deadline, and nobody
// else waits for it (the Twilio client, other subscribers). The server runs in a mount
// namespace of its own whose /etc/resolv.conf points at a name server on 127.0.0.2 that
// receives queries and never answers (loopback only).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { scrape, signedPost, spawnServer, stopServer, TOKEN, waitFor } from './harness.mjs';
import { startStub } from './twilio_peer.mjs';

const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const JWT_SECRET = 'k'.repeat(40);
const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;

// Mount namespaces need root (CI and the development machines run as root).
const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;

describe('slow DNS', { skip: !canUnshare && 'unshare -m is not permitted here' }, () => {
  let blackhole;
  let stub;
  let server;
  let dir;
  let queries = 0;
  before(async () => {
    blackhole = dgram.createSocket('udp4');
    blackhole.on('message', () => {
      queries += 1; // and never answer
    });
    await new Promise((resolve, reject) => {
      blackhole.once('error', reject);
      blackhole.bind(53, '127.0.0.2', resolve);
    });
    stub = await startStub();
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-dns-'));
    const resolv = path.join(dir, 'resolv.conf');
    writeFileSync(resolv, 'nameserver 127.0.0.2\noptions timeout:5 attempts:2\n');
    server = await spawnServer({
      SWITCHBOARD_LISTEN: '127.0.0.1:0',
      SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
      SWITCHBOARD_DATA_DIR: path.join(dir, 'data'),
      TWILIO_AUTH_TOKEN: TOKEN,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      // A name from /etc/hosts: it needs a lookup, but not the name server.
      TWILIO_API_BASE_URL: stub.url.replace('127.0.0.1', 'localhost'),
      SWITCHBOARD_TWILIO_PHONE_NUMBER: '+18005550199',
      SWITCHBOARD_PUBLIC_URL: 'http://127.0.0.1',
      SWITCHBOARD_JWT_SECRET: JWT_SECRET,
      SWITCHBOARD_TWILIO_TIMEOUT_SECONDS: '2',
      SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0',
      SWITCHBOARD_SUBSCRIBERS: JSON.stringify([{ name: 'slow', url: 'https://hooks.slow-dns.example/x', secret: SECRET,
        timeout_seconds: 1, initial_delay_seconds: 1, max_delay_seconds: 1 }]),
    }, [], { wrap: ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv] });
    server.dataDir = path.join(dir, 'data');
  });
  after(async () => {
    try {
      if (server) {
        await stopServer(server);
      }
    } finally {
      blackhole?.close();
      stub?.server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a subscriber attempt ends at its timeout; the Twilio client is not delayed by it', async () => {
    for (let i = 0; i < 20; ++i) {
      const res = await signedPost(server, '/api/voice/status', {
        CallSid: `CA${i.toString(16).padStart(32, '0')}`, CallStatus: 'ringing', SequenceNumber: '1' },
      { url: `http://127.0.0.1/api/voice/status` });
      assert.equal(res.status, 204);
    }
    // The deliveries are waiting for the name now.
    await waitFor(() => queries > 0, 5000, 'a DNS query');
    const token = await new SignJWT({ permissions: ['phone:sms'] }).setProtectedHeader({ alg: 'HS256' })
      .setSubject('ops').setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(new TextEncoder().encode(JWT_SECRET));
    stub.reply(201, { sid: `SM${'1'.repeat(32)}`, status: 'queued' });
    const t0 = Date.now();
    const res = await fetch(`${server.base}/api/phone/sms`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ to: '+14155551212', message: 'hi' }),
    });
    const took = Date.now() - t0;
    assert.equal(res.status, 201, await res.text());
    assert.ok(took < 2000, `the SMS took ${took} ms behind the slow name`);
    // Each attempt ended at its 1 s deadline as a timeout, well before the name server's 10 s.
    await waitFor(async () => (await scrape(server))[
      'switchboard_delivery_attempts_total{result="timeout",subscriber="slow"}'] >= 2, 6000, 'timed-out attempts');
  });
});
