// The operator console in a real browser: Debian's chromium, driven headless by npm
// playwright-core, against the real binary. Load the page, connect with the admin token, see a
// dead letter with its last error, click Replay and see the subscriber receive it; pause a
// subscriber from the page; see the recent call with its menu choice, the menu graph and the
// event catalogue. SWITCHBOARD_SCREENSHOTS=DIR saves screenshots (the README's).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import {
  ADMIN_TOKEN, adminFetch, freePort, signedPost, startServer, stopServer, waitFor,
} from './harness.mjs';

const CHROMIUM = process.env.SWITCHBOARD_CHROMIUM ?? '/usr/bin/chromium';
const shots = process.env.SWITCHBOARD_SCREENSHOTS;

async function receiver() {
  const port = await freePort();
  const r = { status: 400, requests: [], url: `http://127.0.0.1:${port}/hook` };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      r.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: r.status });
      res.writeHead(r.status);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  r.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });
  return r;
}

const cleanup = [];
after(async () => {
  for (const fn of cleanup.reverse()) {
    await fn();
  }
});

test('the console shows a dead letter, replays it with a click, and the subscriber receives it', async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: deploy/install-deps.sh --with-test-tools installs chromium`);
  const rx = await receiver();
  cleanup.push(() => rx.close());
  const secret = 'whsec_' + randomBytes(32).toString('base64');
  const server = await startServer({
    env: {
      SWITCHBOARD_SUBSCRIBERS: JSON.stringify([{ name: 'crm', url: rx.url, secret, events: ['call.*'] }]),
    },
  });
  cleanup.push(() => stopServer(server));

  // The page itself holds no data: it loads without the token, under a strict CSP; the API it
  // calls does not.
  const page0 = await fetch(`${server.admin}/admin/console`);
  assert.equal(page0.status, 200);
  assert.match(page0.headers.get('content-security-policy'), /script-src 'self'/);
  assert.match(await page0.text(), /<title>Switchboard console<\/title>/);
  assert.equal((await fetch(`${server.admin}/admin/calls`)).status, 401);

  // A call that chose a menu option, and a status callback the subscriber refuses (400: dead at once).
  const sid = 'CA' + randomBytes(16).toString('hex');
  const form = {
    AccountSid: 'AC' + 'a'.repeat(32), CallSid: sid, From: '+14155551212', To: '+18005550100',
    Direction: 'inbound', ApiVersion: '2010-04-01', CallStatus: 'in-progress',
  };
  assert.equal((await signedPost(server, '/api/voice/incoming', form)).status, 200);
  const chose = await signedPost(server, '/api/voice/menu', { ...form, Digits: '1' });
  assert.equal(chose.status, 200);
  assert.equal((await signedPost(server, '/api/voice/status', { ...form, CallStatus: 'completed', SequenceNumber: '3' })).status, 204);
  await waitFor(async () => {
    const q = await (await adminFetch(server, '/admin/subscribers/crm')).json();
    return q.dead >= 1;
  }, 10000, 'a dead letter');
  const dead = (await (await adminFetch(server, '/admin/subscribers/crm/deliveries?state=dead')).json()).deliveries;
  const target = dead[0].event_id;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  cleanup.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    // A refused request is shown in the page's status line (and the test fails on what it
    // needs); a script error is what this catches.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(m.text());
    }
  });
  await page.goto(`${server.admin}/admin/console`);
  await page.fill('#token', ADMIN_TOKEN);
  await page.click('#connect');

  const row = page.locator(`#dead tr[data-event="${target}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.match(await row.textContent(), /HTTP 400/);
  await page.locator('#subscribers tr[data-subscriber="crm"]').waitFor();
  await page.locator('#graph svg').waitFor({ timeout: 10000 });
  assert.ok(await page.locator('#graph svg text').count() > 3, 'the menu graph has its nodes');
  assert.equal(await page.locator('#catalogue tbody tr').count(), 9);
  const call = page.locator('#calls tbody tr', { hasText: sid });
  await call.waitFor({ timeout: 10000 });
  assert.match(await call.locator('td').nth(5).textContent(), /\S+: \S+/, 'the call shows its menu choice');
  if (shots) {
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'console.png'), fullPage: true });
  }

  // Replay: the subscriber now accepts, and receives the event, signed.
  rx.status = 200;
  const before = rx.requests.length;
  await row.locator('button', { hasText: /^Replay$/ }).click();
  await waitFor(() => rx.requests.slice(before).some((r) => r.headers['webhook-id'] === target && r.status === 200),
    10000, 'the replayed delivery');
  const got = rx.requests.slice(before).find((r) => r.headers['webhook-id'] === target);
  new Webhook(secret).verify(got.body, got.headers);
  await row.waitFor({ state: 'detached', timeout: 10000 });

  // Pause from the page: the API says paused; resume again.
  await page.locator('#subscribers tr[data-subscriber="crm"] button', { hasText: 'Pause' }).click();
  await waitFor(async () => (await (await adminFetch(server, '/admin/subscribers/crm')).json()).state === 'paused',
    5000, 'paused from the console');
  await page.locator('#subscribers tr[data-subscriber="crm"] button', { hasText: 'Resume' }).waitFor();
  if (shots) {
    await page.screenshot({ path: path.join(shots, 'console-paused.png'), fullPage: true });
  }
  await page.locator('#subscribers tr[data-subscriber="crm"] button', { hasText: 'Resume' }).click();
  await waitFor(async () => (await (await adminFetch(server, '/admin/subscribers/crm')).json()).state === 'active',
    5000, 'resumed from the console');
  assert.deepEqual(problems, [], `no script error in the page (status line: ${await page.locator('#status').textContent()})`);
});
