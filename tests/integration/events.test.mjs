// The durable event pipeline against the real binary: webhooks become stored events, each
// matching subscriber gets a signed delivery (at least once, same webhook-id on every retry),
// faults are retried or dead-lettered, nothing acknowledged is lost (not even to kill -9), and a
// full disk is refused with 503 instead of acknowledged.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Webhook } from 'standardwebhooks';
import {
  ADMIN_TOKEN, adminFetch, BIN, freePort, scrape, sendStop, signedPost, sleep, spawnServer, startRedis, startServer, stopServer, STORE, storeEnv, TOKEN, twilio,
  waitFor,
} from './harness.mjs';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
const FROM = '+14155551212';
const TO = '+18005550100';

const callSid = () => 'CA' + randomBytes(16).toString('hex');
const messageSid = () => 'SM' + randomBytes(16).toString('hex');
const newSecret = () => 'whsec_' + randomBytes(32).toString('base64');
const isTwoXX = (s) => s >= 200 && s < 300;


function makeTempDir(prefix) {
  return mkdtempSync(path.join(tmpdir(), `switchboard-events-${prefix}-`));
}

// A subscriber endpoint on a fixed port (so the service can be pointed at it before it listens).
// Its behaviour is switchable: `status` is what it answers, `delayMs` how long it waits first.
// Every request is recorded; `delivered()` is what it acknowledged in time (2xx, no delay).
async function createSubscriber({ tlsOptions } = {}) {
  const port = await freePort();
  const timers = new Set();
  const sub = {
    port,
    status: 200,
    delayMs: 0,
    requests: [],
    listening: false,
    url(p = '/hook') {
      return `${tlsOptions ? 'https' : 'http'}://127.0.0.1:${port}${p}`;
    },
    // Answered 2xx without delay: what the service may count as delivered.
    delivered(p) {
      return sub.requests.filter((r) => isTwoXX(r.status) && !r.late && (!p || r.path === p));
    },
    uniqueIds(p) {
      return new Set(sub.delivered(p).map((r) => r.id));
    },
    async listen() {
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      sub.listening = true;
    },
    async close() {
      for (const t of timers) {
        clearTimeout(t);
      }
      if (sub.listening) {
        sub.listening = false;
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json = null;
      try {
        json = JSON.parse(body);
      } catch { /* recorded as is */ }
      const entry = {
        path: req.url, method: req.method, headers: req.headers, body, json,
        id: req.headers['webhook-id'], status: sub.status, late: sub.delayMs > 0,
        key: json?.data ? `${json.data.call_sid ?? json.data.message_sid}#${json.data.sequence_number ?? json.data.status}` : null,
      };
      sub.requests.push(entry);
      const answer = () => {
        res.writeHead(entry.status, { 'Content-Type': 'text/plain' });
        res.end(String(entry.status));
      };
      if (sub.delayMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          answer();
        }, sub.delayMs);
        timers.add(t);
      } else {
        answer();
      }
    });
  };
  const server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  server.keepAliveTimeout = 30000;
  return sub;
}

// One subscriber entry for SWITCHBOARD_SUBSCRIBERS, with quick retries.
function subscriberConfig(name, url, extra = {}) {
  return {
    name, url, secret: newSecret(), events: ['*'], timeout_seconds: 5,
    initial_delay_seconds: 0.05, max_delay_seconds: 0.2, ...extra,
  };
}

function startWithSubscribers(subscribers, env = {}) {
  return startServer({ env: { SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subscribers), ...env } });
}

// Sum of the series of `name` whose labels include `labels` (order of labels does not matter).
function metric(m, name, labels = {}) {
  let total = 0;
  for (const [key, value] of Object.entries(m)) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) {
      continue;
    }
    const have = Object.fromEntries(
      [...(brace < 0 ? '' : key.slice(brace)).matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      total += value;
    }
  }
  return total;
}

async function adminJson(server, p, init) {
  const res = await adminFetch(server, p, init);
  return { status: res.status, body: await res.json() };
}

async function queueOf(server, name) {
  const { body } = await adminJson(server, '/admin/subscribers');
  return body.subscribers.find((s) => s.name === name);
}

async function deliveries(server, name, state) {
  const { status, body } = await adminJson(server, `/admin/subscribers/${name}/deliveries?state=${state}&limit=1000`);
  assert.equal(status, 200, JSON.stringify(body));
  return body.deliveries;
}

// The store holds nothing pending or in flight for the subscriber.
async function drained(server, name) {
  const q = await queueOf(server, name);
  return q.pending === 0 && q.in_flight === 0;
}

function statusParams(sid, status, seq, extra = {}) {
  return {
    AccountSid: ACCOUNT_SID, CallSid: sid, From: FROM, To: TO, Direction: 'inbound', ApiVersion: '2010-04-01',
    CallStatus: status, ...(seq === undefined ? {} : { SequenceNumber: String(seq) }), ...extra,
  };
}

async function postStatus(server, params, headers = {}) {
  const res = await signedPost(server, '/api/voice/status', params, { headers });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers };
}

// Runs the binary to its exit (for startup failures); kills it if it does not exit in time.
function runToExit(env, ms = 10000) {
  return new Promise((resolve) => {
    const child = spawn(BIN, [], {
      env: {
        PATH: process.env.PATH,
        ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? '',
        UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? '',
        TSAN_OPTIONS: process.env.TSAN_OPTIONS ?? '',
        TWILIO_AUTH_TOKEN: TOKEN,
        SWITCHBOARD_LISTEN: '127.0.0.1:0',
        SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
        SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
    SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', (code, signal) => { // after stdout and stderr are drained
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// Writes `file` until the file system has no byte left.
function fillDisk(file) {
  const fd = openSync(file, 'w');
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (e) {
          if (e.code !== 'ENOSPC') {
            throw e;
          }
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// 1-5: events, their schema, signatures, filters, de-duplication, ordering, validation
// ---------------------------------------------------------------------------------------------

describe('events from webhooks', () => {
  let sub;
  let server;
  const all = subscriberConfig('all', '', { events: ['*'] });
  const sms = subscriberConfig('sms-only', '', { events: ['sms.*'] });
  const SMS_PATH = '/sms?via=switchboard'; // a query in the URL is part of the request target

  before(async () => {
    sub = await createSubscriber();
    await sub.listen();
    all.url = sub.url('/all');
    sms.url = sub.url(SMS_PATH);
    server = await startWithSubscribers([all, sms]);
  });
  after(async () => {
    try {
      await stopServer(server);
    } finally {
      await sub.close();
    }
  });

  // Waits until `name` has nothing pending or in flight and the subscriber saw `count` deliveries on `p`.
  async function settle(name, p, count) {
    await waitFor(async () => sub.delivered(p).length >= count && await drained(server, name), 10000,
      `${count} deliveries on ${p}`);
  }

  test('a status callback is delivered once, with the documented body and a valid signature', async () => {
    const sid = callSid();
    const before = sub.requests.length;
    const res = await postStatus(server, statusParams(sid, 'completed', 3, { CallDuration: '42' }));
    assert.equal(res.status, 204);
    assert.equal(res.text, '');

    await settle('all', '/all', 1); // nothing pending or in flight: a second delivery would be here by now
    const got = sub.requests.slice(before).filter((r) => r.path === '/all');
    assert.equal(got.length, 1, 'exactly one delivery');
    const [d] = got;
    assert.equal(d.method, 'POST');
    assert.equal(d.headers.host, `127.0.0.1:${sub.port}`);
    assert.match(d.headers['content-type'], /^application\/json/);

    // Standard Webhooks: verifies with the subscriber's secret, not with another one.
    const verified = new Webhook(all.secret).verify(d.body, d.headers);
    assert.deepEqual(verified, d.json);
    assert.throws(() => new Webhook(sms.secret).verify(d.body, d.headers));
    assert.match(d.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
    assert.ok(Math.abs(Number(d.headers['webhook-timestamp']) - Date.now() / 1000) < 60);

    // The body.
    const e = d.json;
    assert.deepEqual(Object.keys(e).sort(), ['data', 'id', 'occurred_at_ms', 'timestamp', 'type']);
    assert.match(e.id, /^evt_[0-9a-f]{32}$/);
    assert.equal(e.id, d.headers['webhook-id']);
    assert.equal(e.type, 'call.status_changed');
    assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(Date.parse(e.timestamp), e.occurred_at_ms);
    assert.ok(Math.abs(e.occurred_at_ms - Date.now()) < 60000);
    assert.deepEqual(e.data, {
      call_sid: sid, account_sid: ACCOUNT_SID, from: FROM, to: TO, direction: 'inbound', status: 'completed',
      current_status: 'completed', sequence_number: 3, duration_seconds: 42,
    }, 'a first callback for a call has no previous_status');

    // The request's log line names the stored event.
    const line = await waitFor(() => server.logs.find((l) => l.msg === 'request' && l.call_sid === sid), 3000,
      'the access log line');
    assert.equal(line.event_id, e.id);
  });

  test('a subscriber filtered to sms.* gets SMS events only', async () => {
    const sid = messageSid();
    const res = await signedPost(server, '/api/sms/incoming', {
      AccountSid: ACCOUNT_SID, MessageSid: sid, From: FROM, To: TO, Body: 'hi',
    });
    assert.equal(res.status, 200);
    await settle('sms-only', SMS_PATH, 1);
    await settle('all', '/all', 2);
    // The store is the proof: the call event above never got a delivery row for sms-only.
    const rows = [];
    for (const state of ['pending', 'in_flight', 'delivered', 'dead']) {
      rows.push(...await deliveries(server, 'sms-only', state));
    }
    assert.deepEqual(rows.map((r) => r.type), ['sms.received']);
    assert.deepEqual(sub.requests.filter((r) => r.path === SMS_PATH).map((r) => r.json.type), ['sms.received']);
  });

  test('retries and replays: the natural key decides, never the unsigned idempotency token', async () => {
    const m0 = await scrape(server);
    const start = sub.requests.length;
    const a = callSid();
    const b = callSid();
    const token = (t) => ({ 'I-Twilio-Idempotency-Token': `idem-${t}-${randomBytes(8).toString('hex')}` });
    const used = token('used');
    // A Twilio retry repeats the callback and its token: one event.
    assert.equal((await postStatus(server, statusParams(a, 'ringing', 1), used)).status, 204);
    assert.equal((await postStatus(server, statusParams(a, 'ringing', 1), used)).status, 204);
    // A captured request replayed with fresh tokens (the header is not signed): no new event.
    for (let i = 0; i < 3; ++i) {
      assert.equal((await postStatus(server, statusParams(a, 'ringing', 1), token(`replay${i}`))).status, 204);
    }
    // A different callback that arrives with a used token is not dropped.
    assert.equal((await postStatus(server, statusParams(a, 'completed', 3), used)).status, 204);
    // No token: (CallSid, SequenceNumber) is the key.
    for (let i = 0; i < 3; ++i) {
      assert.equal((await postStatus(server, statusParams(b, 'ringing', 5))).status, 204);
    }

    const m1 = await scrape(server);
    const delta = (name) => metric(m1, name, { type: 'call.status_changed' })
      - metric(m0, name, { type: 'call.status_changed' });
    assert.equal(delta('switchboard_events_published_total'), 3);
    assert.equal(delta('switchboard_events_duplicates_total'), 6);

    // A barrier event; once it is delivered and nothing is pending or in flight, every delivery
    // of the events above has been made.
    const barrier = callSid();
    assert.equal((await postStatus(server, statusParams(barrier, 'queued', 0))).status, 204);
    await waitFor(() => sub.delivered('/all').some((r) => r.json.data.call_sid === barrier), 5000, 'the barrier');
    await settle('all', '/all', 0);

    const got = sub.requests.slice(start).filter((r) => r.path === '/all' && r.json.data.call_sid !== barrier);
    assert.equal(got.length, 3, `one delivery per unique event, got ${got.map((r) => r.key).join(', ')}`);
    assert.equal(new Set(got.map((r) => r.id)).size, 3);
    const ofA = got.filter((r) => r.json.data.call_sid === a).map((r) => [r.json.data.status, r.json.data.sequence_number]);
    assert.deepEqual(ofA.sort(), [['completed', 3], ['ringing', 1]]);
    assert.ok(got.some((r) => r.json.data.call_sid === b && r.json.data.sequence_number === 5));
  });

  test('SMS and message status replayed with fresh tokens stay one event each', async () => {
    const m0 = await scrape(server);
    const sid = messageSid();
    const params = { AccountSid: ACCOUNT_SID, MessageSid: sid, From: FROM, To: TO, Body: 'hi' };
    for (let i = 0; i < 3; ++i) {
      const res = await signedPost(server, '/api/sms/incoming', params,
        { headers: { 'I-Twilio-Idempotency-Token': `sms-${i}-${randomBytes(4).toString('hex')}` } });
      assert.equal(res.status, 200);
    }
    for (let i = 0; i < 3; ++i) {
      const res = await signedPost(server, '/api/sms/status', { ...params, MessageStatus: 'delivered' },
        { headers: { 'I-Twilio-Idempotency-Token': `st-${i}-${randomBytes(4).toString('hex')}` } });
      assert.equal(res.status, 204);
    }
    const m1 = await scrape(server);
    const delta = (name, type) => metric(m1, name, { type }) - metric(m0, name, { type });
    assert.equal(delta('switchboard_events_published_total', 'sms.received'), 1);
    assert.equal(delta('switchboard_events_duplicates_total', 'sms.received'), 2);
    assert.equal(delta('switchboard_events_published_total', 'sms.status_changed'), 1);
    assert.equal(delta('switchboard_events_duplicates_total', 'sms.status_changed'), 2);
  });

  test('out-of-order callbacks: late ones carry the call record (terminal stays terminal)', async () => {
    const sid = callSid();
    for (const [seq, status] of [[1, 'ringing'], [3, 'completed'], [2, 'in-progress'], [4, 'ringing']]) {
      assert.equal((await postStatus(server, statusParams(sid, status, seq))).status, 204);
    }
    await waitFor(() => sub.delivered('/all').filter((r) => r.json.data.call_sid === sid).length >= 4, 5000,
      'four deliveries');
    const bySeq = Object.fromEntries(sub.delivered('/all').filter((r) => r.json.data.call_sid === sid)
      .map((r) => [r.json.data.sequence_number, r.json.data]));
    assert.deepEqual(Object.keys(bySeq).sort(), ['1', '2', '3', '4']);
    assert.equal(bySeq[1].status, 'ringing');
    assert.equal(bySeq[1].current_status, 'ringing');
    assert.equal(bySeq[1].previous_status, undefined);
    assert.equal(bySeq[3].status, 'completed');
    assert.equal(bySeq[3].previous_status, 'ringing');
    assert.equal(bySeq[3].current_status, 'completed');
    for (const late of [2, 4]) {
      assert.equal(bySeq[late].sequence_number, late);
      assert.equal(bySeq[late].current_status, 'completed', `seq ${late} after completed`);
      assert.equal(bySeq[late].previous_status, 'completed', `seq ${late} previous_status`);
    }
    assert.equal(bySeq[2].status, 'in-progress', 'status is as reported');
    assert.equal(bySeq[4].status, 'ringing', 'status is as reported');
  });

  test('garbage fields are 400 naming the field, and nothing is stored', async () => {
    const m0 = await scrape(server);
    const health0 = await (await fetch(`${server.base}/api/voice/health`)).json();
    const start = sub.requests.length;
    const good = callSid();
    const cases = [
      ['/api/voice/status', { CallSid: 'CA1', CallStatus: 'ringing' }, /CallSid/],
      ['/api/voice/status', statusParams(good, 'exploded', 1), /CallStatus/],
      ['/api/voice/status', statusParams(good, 'ringing', 'x'), /SequenceNumber/],
      ['/api/voice/status', statusParams(good, 'completed', 2, { CallDuration: '4.5' }), /CallDuration/],
      ['/api/voice/status', { CallSid: good, From: FROM }, /CallStatus/],
      ['/api/sms/incoming', { MessageSid: 'SM123', From: FROM, To: TO, Body: 'x' }, /MessageSid/],
      ['/api/sms/status', { MessageSid: 'XX' + 'a'.repeat(32), MessageStatus: 'sent' }, /MessageSid/],
      ['/api/sms/status', { MessageSid: messageSid(), MessageStatus: 'exploded' }, /MessageStatus/],
    ];
    for (const [route, params, field] of cases) {
      const res = await signedPost(server, route, params);
      const what = `${route} ${JSON.stringify(params)}`;
      assert.equal(res.status, 400, what);
      assert.match(res.headers.get('content-type'), /^application\/json/, what);
      const body = await res.json();
      assert.match(body.code, /^(invalid|missing)_parameter$/, what);
      assert.match(body.message, field, what);
    }
    const m1 = await scrape(server);
    assert.equal(metric(m1, 'switchboard_events_published_total'), metric(m0, 'switchboard_events_published_total'));
    assert.equal(metric(m1, 'switchboard_events_duplicates_total'), metric(m0, 'switchboard_events_duplicates_total'));
    const health1 = await (await fetch(`${server.base}/api/voice/health`)).json();
    assert.equal(health1.events_published, health0.events_published);

    // A barrier event: once it is delivered, anything queued before it would have shown up.
    const barrier = callSid();
    assert.equal((await postStatus(server, statusParams(barrier, 'queued', 0))).status, 204);
    await waitFor(() => sub.delivered('/all').some((r) => r.json.data.call_sid === barrier), 5000, 'the barrier');
    await settle('all', '/all', 0);
    await settle('sms-only', SMS_PATH, 0);
    assert.deepEqual(sub.requests.slice(start).map((r) => r.json.data.call_sid), [barrier]);
    // The good CallSid of the garbage requests never made a call record either.
    const later = await postStatus(server, statusParams(good, 'ringing', 1));
    assert.equal(later.status, 204);
    await waitFor(() => sub.delivered('/all').some((r) => r.json.data.call_sid === good), 5000, 'the good one');
    const g = sub.delivered('/all').find((r) => r.json.data.call_sid === good).json.data;
    assert.equal(g.previous_status, undefined, 'a refused callback must not have touched the call record');
  });

  test('a menu choice and SMS (incoming, status) become events with the right fields', async () => {
    const sid = callSid();
    const menuParams = {
      AccountSid: ACCOUNT_SID, CallSid: sid, From: FROM, To: TO, Direction: 'inbound', CallStatus: 'in-progress',
    };
    let res = await signedPost(server, '/api/voice/menu', { ...menuParams, Digits: '2' });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Our AI assistant is available/);
    res = await signedPost(server, '/api/voice/menu?attempt=1', { ...menuParams, Digits: '7' });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /not a valid option/);
    // Twilio retrying the same choice: still one event.
    res = await signedPost(server, '/api/voice/menu', { ...menuParams, Digits: '2' });
    assert.equal(res.status, 200);

    const inbound = messageSid();
    const text = 'Héllo & <bye> "quoted" \\ back\nslash ✓ 🎉'; // JSON and XML escaping, multi-byte UTF-8
    res = await signedPost(server, '/api/sms/incoming', {
      AccountSid: ACCOUNT_SID, MessageSid: inbound, From: FROM, To: TO, Body: text, NumMedia: '0',
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/xml/);
    assert.equal(await res.text(), new twilio.twiml.MessagingResponse().toString());

    const outbound = messageSid();
    res = await signedPost(server, '/api/sms/status', {
      AccountSid: ACCOUNT_SID, MessageSid: outbound, From: TO, To: FROM, MessageStatus: 'sent',
    });
    assert.equal(res.status, 204);
    res = await signedPost(server, '/api/sms/status', {
      AccountSid: ACCOUNT_SID, MessageSid: outbound, From: TO, To: FROM, MessageStatus: 'undelivered', ErrorCode: '30003',
    });
    assert.equal(res.status, 204);

    const mine = () => sub.delivered('/all').map((r) => r.json)
      .filter((e) => e.data.call_sid === sid || e.data.message_sid === inbound || e.data.message_sid === outbound);
    await waitFor(() => mine().length >= 5, 5000, 'five events');
    await settle('all', '/all', 0);
    const events = mine();
    assert.equal(events.length, 5, JSON.stringify(events.map((e) => e.type)));

    const menus = events.filter((e) => e.type === 'call.menu_selected').sort((x, y) => x.data.attempt - y.data.attempt);
    assert.equal(menus.length, 2);
    assert.deepEqual(menus.map((e) => [e.data.digits, e.data.attempt]), [['2', 0], ['7', 1]]);
    for (const e of menus) {
      assert.equal(e.data.call_sid, sid);
      assert.equal(e.data.from, FROM);
      assert.equal(e.data.to, TO);
      assert.equal(e.data.status, 'in-progress');
    }

    const received = events.find((e) => e.type === 'sms.received');
    assert.deepEqual(received.data, {
      message_sid: inbound, account_sid: ACCOUNT_SID, from: FROM, to: TO, direction: 'inbound', status: 'received',
      current_status: 'received', body: text, num_media: 0,
    });
    // Only the SMS subscriber's copy of it went to /sms.
    await waitFor(() => sub.delivered(SMS_PATH).some((r) => r.json.data.message_sid === inbound), 5000, 'the sms copy');

    const statuses = events.filter((e) => e.type === 'sms.status_changed');
    const sent = statuses.find((e) => e.data.status === 'sent');
    const undelivered = statuses.find((e) => e.data.status === 'undelivered');
    assert.ok(sent && undelivered, JSON.stringify(statuses));
    assert.equal(sent.data.message_sid, outbound);
    assert.equal(sent.data.current_status, 'sent');
    assert.equal(sent.data.previous_status, undefined);
    assert.equal(undelivered.data.previous_status, 'sent');
    assert.equal(undelivered.data.current_status, 'undelivered');
    assert.equal(undelivered.data.error_code, '30003');
    assert.equal(undelivered.data.from, TO);
  });

  test('every delivery matches its type in the event catalogue (GET /admin/event-types, events schema)', async () => {
    const res = await adminFetch(server, '/admin/event-types');
    assert.equal(res.status, 200);
    const catalogue = await res.json();
    assert.equal((await fetch(`${server.admin}/admin/event-types`)).status, 401, 'admin credentials');
    assert.deepEqual(JSON.parse(execFileSync(BIN, ['events', 'schema'], { encoding: 'utf8' })), catalogue);
    assert.deepEqual(catalogue.event_types.map((t) => t.type), [
      'call.status_changed', 'call.menu_selected', 'sms.received', 'sms.status_changed', 'call.voicemail',
      'call.assistant_ended', 'subscriber.disabled', 'subscriber.recovered', 'delivery.dead_lettered']);
    const ajv = new Ajv2020({ allErrors: true });
    addFormats(ajv);
    const validators = new Map(catalogue.event_types.map((t) => [t.type, ajv.compile(t.schema)]));

    // Each kind of event at least once (the tests above sent status callbacks, menu choices and
    // SMS; the caller webhooks add a voicemail and an assistant's end).
    const sid = callSid();
    await callerWebhooks(server, sid);
    assert.equal((await signedPost(server, '/api/voice/status', {
      AccountSid: ACCOUNT_SID, CallSid: sid, From: FROM, To: TO, Direction: 'inbound', CallStatus: 'completed',
      SequenceNumber: '9', CallDuration: '33' })).status, 204);
    await waitFor(() => sub.delivered('/all').filter((r) => r.json.data.call_sid === sid).length >= 4, 5000,
      'the call\'s four events');
    await settle('all', '/all', 0);
    const seen = new Set();
    for (const r of sub.delivered()) {
      const validate = validators.get(r.json.type);
      assert.ok(validate, `${r.json.type}: not in the catalogue`);
      assert.ok(validate(r.json), `${r.json.type} ${JSON.stringify(r.json)}: ${ajv.errorsText(validate.errors)}`);
      seen.add(r.json.type);
    }
    // Every phone-line type (the operational ones, subscriber.* and delivery.*, are
    // integration_subscribers'): '*' takes no operational event.
    const phoneTypes = [...validators.keys()].filter((t) => !/^(subscriber|delivery)\./.test(t));
    assert.deepEqual([...seen].sort(), phoneTypes.sort(), 'every type was delivered and checked');
    // The schemas are strict: a member a type does not carry is refused.
    const menu = sub.delivered('/all').find((r) => r.json.type === 'call.menu_selected').json;
    assert.equal(validators.get('call.menu_selected')({ ...menu, data: { ...menu.data, recording_url: 'x' } }), false);
    assert.equal(validators.get('call.voicemail')({ ...menu, type: 'call.voicemail' }), false);
  });
});

// ---------------------------------------------------------------------------------------------
// 6-7: delivery faults, retries, dead letters and replay
// ---------------------------------------------------------------------------------------------

describe('delivery faults', () => {
  test('subscriber down, then 500, then too slow, then fine: every event arrives once acknowledged', { timeout: 60000 }, async () => {
    const sub = await createSubscriber(); // not listening yet: connection refused
    const cfg = subscriberConfig('flaky', sub.url('/hook'), {
      timeout_seconds: 0.3, max_attempts: 1000, concurrency: 2,
    });
    const server = await startWithSubscribers([cfg]);
    try {
      const sids = Array.from({ length: 6 }, callSid);
      for (const sid of sids) {
        assert.equal((await postStatus(server, statusParams(sid, 'completed', 1))).status, 204);
      }
      const attempts = async (result) => metric(await scrape(server), 'switchboard_delivery_attempts_total',
        { subscriber: 'flaky', result });

      await waitFor(async () => await attempts('connect_error') >= 2, 10000, 'connection refused attempts');
      sub.status = 500;
      await sub.listen();
      await waitFor(async () => await attempts('5xx') >= 2, 10000, '5xx attempts');
      sub.status = 200;
      sub.delayMs = 1000;
      await waitFor(async () => await attempts('timeout') >= 2, 10000, 'timed out attempts');
      sub.delayMs = 0;

      await waitFor(() => sids.every((sid) => sub.delivered().some((r) => r.json.data.call_sid === sid)), 15000,
        'every event delivered');
      await waitFor(() => drained(server, 'flaky'), 5000, 'an empty queue');

      const m = await scrape(server);
      assert.equal(sub.uniqueIds().size, sids.length, 'one unique webhook-id per event');
      assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'flaky', outcome: 'delivered' }), sids.length);
      assert.ok(metric(m, 'switchboard_deliveries_total', { subscriber: 'flaky', outcome: 'retry' }) > 0);
      assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'flaky', outcome: 'dead_lettered' }), 0);
      for (const result of ['connect_error', '5xx', 'timeout']) {
        assert.ok(metric(m, 'switchboard_delivery_attempts_total', { subscriber: 'flaky', result }) > 0, result);
      }
      // Retries reuse the event id: every request about one call carried the same webhook-id.
      for (const sid of sids) {
        const ids = new Set(sub.requests.filter((r) => r.json.data.call_sid === sid).map((r) => r.id));
        assert.equal(ids.size, 1, `${sid} was sent under ${[...ids].join(', ')}`);
      }
      const q = await queueOf(server, 'flaky');
      assert.equal(q.dead, 0);
      assert.ok(q.retried > 0);
      assert.equal(q.delivered, sids.length);
      const rows = await deliveries(server, 'flaky', 'delivered');
      assert.equal(rows.length, sids.length);
      assert.ok(rows.some((r) => r.attempts > 1), 'delivered rows record their attempts');
    } finally {
      await stopServer(server);
      await sub.close();
    }
  });

  test('410 dead-letters at once; replay one, replay all; unknown ids are 404', { timeout: 30000 }, async () => {
    const sub = await createSubscriber();
    sub.status = 410;
    await sub.listen();
    // 'limited' points at a port nothing listens on: retried, then dead after max_attempts.
    const closedPort = await freePort();
    const server = await startWithSubscribers([
      subscriberConfig('gone', sub.url('/hook'), { max_attempts: 50 }),
      subscriberConfig('limited', `http://127.0.0.1:${closedPort}/hook`, { max_attempts: 3, events: ['call.*'] }),
    ]);
    try {
      const sids = Array.from({ length: 3 }, callSid);
      for (const sid of sids) {
        assert.equal((await postStatus(server, statusParams(sid, 'completed', 1))).status, 204);
      }
      const dead = await waitFor(async () => {
        const rows = await deliveries(server, 'gone', 'dead');
        return rows.length === 3 && rows;
      }, 5000, 'three dead letters');
      for (const row of dead) {
        assert.equal(row.attempts, 1, 'a 410 is not retried');
        assert.equal(row.last_status, 410);
        assert.match(row.last_error, /410/);
        assert.equal(row.type, 'call.status_changed');
      }
      assert.equal(sub.requests.length, 3, 'one attempt per event');
      let m = await scrape(server);
      assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'gone', outcome: 'dead_lettered' }), 3);
      assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'gone', outcome: 'retry' }), 0);
      assert.equal(metric(m, 'switchboard_delivery_attempts_total', { subscriber: 'gone', result: '4xx' }), 3);
      let q = await queueOf(server, 'gone');
      assert.equal(q.dead, 3);
      assert.equal(q.pending, 0);

      const exhausted = await waitFor(async () => {
        const rows = await deliveries(server, 'limited', 'dead');
        return rows.length === 3 && rows;
      }, 10000, 'dead letters after max_attempts');
      for (const row of exhausted) {
        assert.equal(row.attempts, 3, 'retried up to max_attempts');
        assert.equal(row.last_status, undefined);
        assert.match(row.last_error, /connect/i);
      }
      m = await scrape(server);
      assert.equal(metric(m, 'switchboard_delivery_attempts_total', { subscriber: 'limited', result: 'connect_error' }), 9);
      assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'limited', outcome: 'retry' }), 6);
      assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'limited', outcome: 'dead_lettered' }), 3);

      sub.status = 200;
      const [one, ...rest] = dead.map((r) => r.event_id);
      let r = await adminJson(server, `/admin/subscribers/gone/dead/${one}/replay`, { method: 'POST' });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { replayed: 1 });
      await waitFor(() => sub.uniqueIds().has(one), 5000, 'the replayed event');
      await waitFor(async () => (await deliveries(server, 'gone', 'dead')).length === 2, 5000, 'two dead letters left');
      assert.ok(!sub.uniqueIds().has(rest[0]) && !sub.uniqueIds().has(rest[1]), 'only the replayed one was sent');

      r = await adminJson(server, '/admin/subscribers/gone/dead/replay', { method: 'POST' });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { replayed: 2 });
      await waitFor(() => dead.every((d) => sub.uniqueIds().has(d.event_id)), 5000, 'all replayed events');
      await waitFor(() => drained(server, 'gone'), 5000, 'an empty queue');
      assert.deepEqual(await deliveries(server, 'gone', 'dead'), []);
      const delivered = await deliveries(server, 'gone', 'delivered');
      assert.deepEqual(delivered.map((d) => d.event_id).sort(), dead.map((d) => d.event_id).sort());
      for (const d of delivered) {
        assert.equal(d.attempts, 1, 'a replay starts the attempts again');
      }
      // The same webhook-id as the dead-lettered attempt.
      for (const d of dead) {
        assert.equal(sub.requests.filter((x) => x.id === d.event_id).length, 2);
      }

      r = await adminJson(server, '/admin/subscribers/gone/dead/replay', { method: 'POST' });
      assert.deepEqual(r.body, { replayed: 0 });
      r = await adminJson(server, `/admin/subscribers/gone/dead/evt_${'0'.repeat(32)}/replay`, { method: 'POST' });
      assert.equal(r.status, 404);
      assert.equal(r.body.code, 'not_found');
      r = await adminJson(server, `/admin/subscribers/gone/dead/${one}/replay`, { method: 'POST' });
      assert.equal(r.status, 404, 'a delivered event is not a dead letter');
      r = await adminJson(server, '/admin/subscribers/nobody/dead/replay', { method: 'POST' });
      assert.equal(r.status, 404);
      r = await adminJson(server, '/admin/subscribers/nobody/deliveries?state=dead');
      assert.equal(r.status, 404);
      r = await adminJson(server, '/admin/subscribers/gone/deliveries?state=lost');
      assert.equal(r.status, 400);

      m = await scrape(server);
      assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'gone', outcome: 'delivered' }), 3);
      q = await queueOf(server, 'gone');
      assert.equal(q.dead, 0);
    } finally {
      await stopServer(server);
      await sub.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 8: kill -9 under load
// ---------------------------------------------------------------------------------------------

test('kill -9 under load: every acknowledged callback is delivered after restart', { timeout: 60000 }, async (t) => {
  const sub = await createSubscriber();
  await sub.listen();
  const dataDir = makeTempDir('kill');
  const env = {
    SWITCHBOARD_LISTEN: '127.0.0.1:0',
    SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
    SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
    SWITCHBOARD_DATA_DIR: dataDir,
    TWILIO_AUTH_TOKEN: TOKEN,
    SWITCHBOARD_SUBSCRIBERS: JSON.stringify([subscriberConfig('sink', sub.url('/hook'), { concurrency: 8 })]),
    // Redis: the restarted process is a new consumer; it takes over what the killed one held.
    ...(await storeEnv()),
    ...(STORE === 'redis' ? { SWITCHBOARD_REDIS_RECLAIM_SECONDS: '10' } : {}),
  };
  let first;
  let second;
  try {
    first = await spawnServer(env);
    const acked = new Map(); // "CallSid#seq" -> the params that got a 2xx
    const lastAcked = [];
    let refused = 0;
    let failed = 0;
    let stop = false;
    const loop = async (i) => {
      const sid = callSid();
      for (let seq = 1; !stop; ++seq) {
        const params = statusParams(sid, seq === 1 ? 'ringing' : 'in-progress', seq);
        try {
          const res = await signedPost(first, '/api/voice/status', params);
          await res.arrayBuffer();
          if (isTwoXX(res.status)) {
            acked.set(`${sid}#${seq}`, params);
            lastAcked[i] = params;
          } else {
            refused += 1;
          }
        } catch {
          failed += 1; // the process is gone: this one's outcome is unknown (Twilio would retry)
          return;
        }
      }
    };
    const loops = Array.from({ length: 8 }, (_, i) => loop(i));
    await sleep(2000);
    const underLoad = await scrape(first); // group commit: operations per committed batch, for the record
    first.child.kill('SIGKILL');
    const exit = await first.exited;
    stop = true;
    await Promise.all(loops);
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(acked.size > 0, 'the load generator got acknowledgements');
    assert.equal(refused, 0, 'no callback was refused under load');

    second = await spawnServer(env);
    second.dataDir = dataDir;
    const deliveredKeys = () => new Set(sub.delivered().map((r) => r.key));
    await waitFor(() => {
      const have = deliveredKeys();
      return [...acked.keys()].every((k) => have.has(k));
    }, 30000, 'every acknowledged callback delivered').catch(() => {});
    // Deliveries the killed replica had delivered but not yet recorded are taken over only after
    // SWITCHBOARD_REDIS_RECLAIM_SECONDS (10) of idleness, then delivered again: wait longer than that.
    await waitFor(() => drained(second, 'sink'), 30000, 'an empty queue').catch(() => {});

    const have = deliveredKeys();
    const lost = [...acked.keys()].filter((k) => !have.has(k));
    const delivered = sub.delivered();
    const duplicates = delivered.length - have.size;
    const storedUnacked = [...have].filter((k) => !acked.has(k)).length;
    const summary = `acknowledged ${acked.size}, delivered unique ${have.size}, duplicate deliveries ${duplicates}, `
      + `lost ${lost.length}, stored but unacknowledged ${storedUnacked}, requests cut by the kill ${failed}`;
    const batches = metric(underLoad, 'switchboard_store_batch_size_count');
    const ops = metric(underLoad, 'switchboard_store_batch_size_sum');
    assert.ok(batches > 0 && ops >= batches, 'switchboard_store_batch_size observed the commits');
    t.diagnostic(`kill -9: ${summary}; before the kill: ${ops} store operations in ${batches} commits`);
    assert.deepEqual(lost, [], 'acknowledged callbacks were lost');
    assert.ok(await drained(second, 'sink'), 'nothing left pending or in flight after the restart');

    // At least once, never as a new event: every copy of one callback carries one webhook-id.
    const idsByKey = new Map();
    for (const r of delivered) {
      assert.equal(r.json.id, r.id);
      if (!idsByKey.has(r.key)) {
        idsByKey.set(r.key, new Set());
      }
      idsByKey.get(r.key).add(r.id);
    }
    for (const [key, ids] of idsByKey) {
      assert.equal(ids.size, 1, `${key} was delivered under ${[...ids].join(', ')}`);
    }

    // Twilio retrying after the restart: recognised from disk, no new event.
    const m0 = await scrape(second);
    const retried = lastAcked.filter(Boolean);
    for (const params of retried) {
      const res = await postStatus(second, params);
      assert.equal(res.status, 204);
    }
    const m1 = await scrape(second);
    assert.equal(metric(m1, 'switchboard_events_duplicates_total') - metric(m0, 'switchboard_events_duplicates_total'),
      retried.length);
    assert.equal(metric(m1, 'switchboard_events_published_total') - metric(m0, 'switchboard_events_published_total'), 0);
  } finally {
    if (first && first.child.exitCode === null && first.child.signalCode === null) {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    if (second) {
      await stopServer(second); // removes dataDir
    }
    rmSync(dataDir, { recursive: true, force: true });
    await sub.close();
  }
});

// ---------------------------------------------------------------------------------------------
// 9: the data directory: full disk, unusable path
// ---------------------------------------------------------------------------------------------

// Mounts a small tmpfs (root only; skips otherwise), runs `fn(mountPoint)`, always unmounts.
async function withTmpfs(t, fn) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    t.skip('needs root to mount a small tmpfs');
    return;
  }
  const mnt = makeTempDir('tmpfs');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (e) {
    rmSync(mnt, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs: ${String(e.stderr ?? e.message).trim()}`);
    return;
  }
  try {
    await fn(mnt);
  } finally {
    try {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', mnt], { stdio: 'pipe' }); // busy: detach it anyway
    }
    rmSync(mnt, { recursive: true, force: true });
  }
}

// Starts the binary on `dataDir` (kept by the caller) with these subscribers.
async function spawnOn(dataDir, subscribers, env = {}) {
  const server = await spawnServer({
    SWITCHBOARD_LISTEN: '127.0.0.1:0',
    SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
    SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
    SWITCHBOARD_DATA_DIR: dataDir,
    TWILIO_AUTH_TOKEN: TOKEN,
    SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subscribers),
    ...env,
  });
  server.dataDir = dataDir;
  return server;
}

describe('data directory', { skip: STORE === 'redis' && 'the SQLite data directory (Redis outages: cluster.test.mjs)' }, () => {
  test('a full disk is refused with 503 (nothing acknowledged that is not stored), then recovers', { timeout: 60000 }, (t) => withTmpfs(t, async (mnt) => {
    const sub = await createSubscriber();
    await sub.listen();
    const dataDir = path.join(mnt, 'data');
    const filler = path.join(mnt, 'filler');
    let server;
    try {
      // Without the spill the caller-facing routes are refused too (the spill: "callers first").
      server = await spawnOn(dataDir, [subscriberConfig('disk', sub.url('/hook'))], { SWITCHBOARD_SPILL_EVENTS: '0' });
      const first = callSid();
      assert.equal((await postStatus(server, statusParams(first, 'ringing', 1))).status, 204);
      await waitFor(() => sub.delivered().some((r) => r.json.data.call_sid === first), 5000, 'the first delivery');
      await waitFor(() => drained(server, 'disk'), 5000, 'an empty queue');

      fillDisk(filler);
      const m0 = await scrape(server);
      const answers = new Map(); // CallSid -> what was answered while the disk was full
      const during = Array.from({ length: 4 }, callSid);
      for (const sid of during) {
        const res = await postStatus(server, statusParams(sid, 'completed', 2));
        answers.set(sid, res.status);
        assert.ok(res.status === 204 || res.status === 503, `unexpected ${res.status}: ${res.text}`);
        if (res.status === 503) {
          assert.equal(JSON.parse(res.text).code, 'store_unavailable');
          assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
        }
      }
      const refusedCount = [...answers.values()].filter((s) => s === 503).length;
      t.diagnostic(`answers while the disk was full: ${[...answers.values()].join(', ')}`);
      assert.ok(refusedCount > 0, `a full disk must be refused: answers ${[...answers.values()]}`);
      // Menu choices (with SWITCHBOARD_SPILL_EVENTS=0) and SMS are refused the same way.
      const menu = await signedPost(server, '/api/voice/menu', { CallSid: callSid(), Digits: '1' });
      assert.equal(menu.status, 503);
      const smsRes = await signedPost(server, '/api/sms/incoming', { MessageSid: messageSid(), From: FROM, To: TO, Body: 'x' });
      assert.equal(smsRes.status, 503);
      const m1 = await scrape(server);
      assert.equal(metric(m1, 'switchboard_events_refused_total') - metric(m0, 'switchboard_events_refused_total'),
        refusedCount + 2);
      assert.equal(metric(m1, 'switchboard_events_published_total') - metric(m0, 'switchboard_events_published_total'),
        during.length - refusedCount);
      assert.ok(metric(m1, 'switchboard_store_commit_failures_total') > 0);
      assert.equal(metric(m1, 'switchboard_store_up'), 0, 'the store says it cannot take writes');
      assert.equal(metric(m1, 'switchboard_store_writable'), 0, 'and the capacity gauge too');

      // Space again: Twilio's retries are accepted. What was acknowledged while full must have
      // been stored (its retry is a duplicate); what was refused is new now.
      rmSync(filler);
      for (const sid of during) {
        const res = await postStatus(server, statusParams(sid, 'completed', 2));
        assert.equal(res.status, 204, `after freeing space: ${res.status} ${res.text}`);
      }
      const m2 = await scrape(server);
      assert.equal(metric(m2, 'switchboard_store_up'), 1, 'and again when it can');
      assert.equal(metric(m2, 'switchboard_store_writable'), 1);
      assert.equal(metric(m2, 'switchboard_events_published_total') - metric(m1, 'switchboard_events_published_total'),
        refusedCount);
      assert.equal(metric(m2, 'switchboard_events_duplicates_total') - metric(m1, 'switchboard_events_duplicates_total'),
        during.length - refusedCount);
      const later = callSid();
      assert.equal((await postStatus(server, statusParams(later, 'ringing', 1))).status, 204);
      await waitFor(() => [...during, later].every((sid) => sub.delivered().some((r) => r.json.data.call_sid === sid)),
        10000, 'deliveries after the disk recovered');
      await waitFor(() => drained(server, 'disk'), 5000, 'an empty queue');
      for (const sid of [...during, later]) {
        const ids = new Set(sub.delivered().filter((r) => r.json.data.call_sid === sid).map((r) => r.id));
        assert.equal(ids.size, 1, `${sid}: one event`);
      }

      // A restart onto a full disk is refused at startup, in one line, not at the first webhook.
      sendStop(server, 'SIGTERM');
      assert.equal((await server.exited).code, 0, server.stderr);
      server = null;
      fillDisk(filler);
      const r = await runToExit({ SWITCHBOARD_DATA_DIR: dataDir });
      assert.equal(r.signal, null, 'it exits, it is not killed');
      assert.notEqual(r.code, 0);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
      assert.match(lines[0], /event store|SWITCHBOARD_DATA_DIR/);
    } finally {
      try {
        if (server) {
          await stopServer(server);
        }
      } finally {
        await sub.close();
      }
    }
  }));

  // The deliverer retries recording an attempt's outcome for about 6 s (200 ms doubling, 5
  // retries). A full disk that lasts longer must not strand the delivery: once the store takes
  // writes again, the event still has to reach the subscriber, without a restart.
  test('an attempt whose outcome could not be stored during a long full disk is retried afterwards', { timeout: 60000 }, (t) => withTmpfs(t, async (mnt) => {
    const sub = await createSubscriber();
    sub.status = 500;
    sub.delayMs = 300; // the answer comes after the disk is full
    await sub.listen();
    const dataDir = path.join(mnt, 'data');
    const filler = path.join(mnt, 'filler');
    let server;
    try {
      server = await spawnOn(dataDir, [subscriberConfig('stranded', sub.url('/hook'))]);
      const sid = callSid();
      assert.equal((await postStatus(server, statusParams(sid, 'completed', 1))).status, 204);
      await waitFor(() => sub.requests.length >= 1, 5000, 'the first attempt');
      fillDisk(filler);
      // Full for longer than the deliverer retries recording the outcome (today it logs when it
      // gives up; a build that never gives up just keeps the disk full for the whole 10 s).
      await waitFor(() => server.logs.some((l) => /cannot record a delivery outcome/.test(l.msg ?? '')), 10000,
        'the deliverer giving up on recording the outcome').catch(() => {});
      rmSync(filler);
      sub.status = 200;
      sub.delayMs = 0;

      const delivered = await waitFor(() => sub.delivered().some((r) => r.json.data.call_sid === sid), 8000,
        'the delivery after the disk recovered').then(() => true, () => false);
      const q = await queueOf(server, 'stranded');
      assert.ok(delivered, `the acknowledged event was never delivered after the disk recovered (no restart): `
        + `queue ${JSON.stringify(q)}, subscriber saw ${sub.requests.length} request(s)`);
      await waitFor(() => drained(server, 'stranded'), 5000, 'an empty queue');
    } finally {
      try {
        if (server) {
          await stopServer(server);
        }
      } finally {
        await sub.close();
      }
    }
  }));

  test('a data directory that cannot be created refuses startup with one clear line', async () => {
    const dir = makeTempDir('notadir');
    try {
      writeFileSync(path.join(dir, 'file'), 'a regular file\n');
      const dataDir = path.join(dir, 'file', 'data');
      const r = await runToExit({ SWITCHBOARD_DATA_DIR: dataDir });
      assert.equal(r.signal, null, 'it exits, it is not killed');
      assert.notEqual(r.code, 0);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
      assert.match(lines[0], /SWITCHBOARD_DATA_DIR|cannot create/);
      assert.ok(lines[0].includes(dataDir), lines[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 10: https subscribers
// ---------------------------------------------------------------------------------------------

// A throwaway CA in `dir` (ca.crt, ca.key); returns issue(name, extensions), which writes
// name.key and name.crt signed by it (CN=name).
function testCa(dir) {
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key',
    '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Switchboard Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return (name, ext) => {
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`,
      '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    writeFileSync(path.join(dir, `${name}.cnf`), ext);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.cnf`]);
  };
}
const SERVER_EXT = 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n';

describe('https subscriber', () => {
  let dir;
  let sub;
  let server;
  let trusted;
  before(async () => {
    dir = makeTempDir('tls');
    // For 127.0.0.1 only (IP SAN): https://localhost/ reaches the same server under a name the
    // certificate does not carry.
    testCa(dir)('server', SERVER_EXT);
    sub = await createSubscriber({
      tlsOptions: { key: readFileSync(path.join(dir, 'server.key')), cert: readFileSync(path.join(dir, 'server.crt')) },
    });
    await sub.listen();
    trusted = subscriberConfig('trusted', sub.url('/trusted'), { ca_file: path.join(dir, 'ca.crt') });
    server = await startWithSubscribers([
      trusted,
      subscriberConfig('untrusted', sub.url('/untrusted'), { max_attempts: 1000 }),
      subscriberConfig('wronghost', `https://localhost:${sub.port}/wronghost`,
        { ca_file: path.join(dir, 'ca.crt'), max_attempts: 1000 }),
    ]);
  });
  after(async () => {
    try {
      if (server) {
        await stopServer(server);
      }
    } finally {
      await sub?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('verified with ca_file; without it, or for another host name: tls_error, nothing sent', { timeout: 20000 }, async () => {
    const sid = callSid();
    assert.equal((await postStatus(server, statusParams(sid, 'completed', 1))).status, 204);
    await waitFor(() => sub.delivered('/trusted').some((r) => r.json.data.call_sid === sid), 5000, 'the https delivery');
    for (const name of ['untrusted', 'wronghost']) {
      await waitFor(async () => metric(await scrape(server), 'switchboard_delivery_attempts_total',
        { subscriber: name, result: 'tls_error' }) >= 2, 5000, `tls_error attempts for ${name}`);
    }

    const m = await scrape(server);
    assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'trusted', outcome: 'delivered' }), 1);
    assert.equal(metric(m, 'switchboard_delivery_attempts_total', { subscriber: 'trusted', result: 'tls_error' }), 0);
    const [d] = sub.delivered('/trusted');
    assert.deepEqual(new Webhook(trusted.secret).verify(d.body, d.headers), d.json);
    for (const name of ['untrusted', 'wronghost']) {
      assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: name, outcome: 'delivered' }), 0);
      assert.equal(sub.requests.filter((r) => r.path === `/${name}`).length, 0, `${name}: no request over unverified TLS`);
      const q = await queueOf(server, name); // one consistent snapshot
      assert.equal(q.pending + q.in_flight, 1, `${name}: still queued, to be retried`);
      assert.equal(q.dead, 0);
      // Between attempts the row is pending, with the TLS failure as its last error.
      const [row] = await waitFor(async () => {
        const rows = await deliveries(server, name, 'pending');
        return rows.length === 1 && rows;
      }, 5000, `${name}: a pending row`);
      assert.ok(row.attempts >= 1);
      assert.match(row.last_error, /TLS|certificate|verify/i);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 11: bad subscriber configuration
// ---------------------------------------------------------------------------------------------

test('bad subscriber configuration refuses startup with one message per problem', async () => {
  const dir = makeTempDir('badcfg');
  try {
    const ok = { url: 'http://127.0.0.1:9/hook', secret: newSecret() };
    const subscribers = [
      { name: 'badurl', ...ok, url: 'ftp://example.com/hook' },
      { name: 'badsecret', ...ok, secret: 'whsec_!!! not base64 !!!' },
      { name: 'typo', ...ok, colour: 'red' },
      { name: 'twice', ...ok },
      { name: 'twice', ...ok },
      { name: 'smuggle', ...ok, headers: { 'X-Tenant': 'a\r\nX-Injected: 1' } },
      { name: 'ours', ...ok, headers: { 'Webhook-Signature': 'v1,forged' } },
      { name: 'halfcert', ...ok, url: 'https://127.0.0.1:9/hook', client_cert_file: '/etc/hostname' },
      { name: 'plaincert', ...ok, client_cert_file: '/etc/hostname', client_key_file: '/etc/hostname' },
      { name: 'oldsame', ...ok, previous_secrets: [{ secret: ok.secret, expires_at: '2030-01-01T00:00:00Z' }] },
      { name: 'oldwhen', ...ok, previous_secrets: [{ secret: newSecret(), expires_at: 'tomorrow' }] },
      { name: 'backwards', ...ok, rate_per_second: -1 },
    ];
    const r = await runToExit({
      SWITCHBOARD_DATA_DIR: path.join(dir, 'data'), SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subscribers),
    });
    assert.equal(r.signal, null);
    assert.notEqual(r.code, 0);
    const problems = r.stderr.split('\n').filter((l) => l.includes('SWITCHBOARD_SUBSCRIBERS'));
    const expect = [/\(badurl\): url/, /\(badsecret\): secret/, /unknown key 'colour'/, /'twice' is used twice/,
      /\(smuggle\): headers: header 'X-Tenant' must be visible ASCII/, /\(ours\): headers: header 'Webhook-Signature' is written by Switchboard/,
      /\(halfcert\): client_cert_file and client_key_file go together/, /\(plaincert\): client_cert_file needs an https:\/\/ url/,
      /\(oldsame\): previous_secrets\[0\]\.secret is the subscriber's secret/, /\(oldwhen\): previous_secrets\[0\]\.expires_at must be an RFC 3339 time/,
      /\(backwards\): rate_per_second must be a number of deliveries a second from 0/];
    assert.equal(problems.length, expect.length, `one line per problem:\n${r.stderr}`);
    for (const re of expect) {
      assert.equal(problems.filter((l) => re.test(l)).length, 1, `${re} in:\n${r.stderr}`);
    }
    assert.ok(!r.stderr.includes(ok.secret), 'a secret reached stderr');

    const notJson = await runToExit({ SWITCHBOARD_DATA_DIR: path.join(dir, 'data'), SWITCHBOARD_SUBSCRIBERS: '{"name":' });
    assert.notEqual(notJson.code, 0);
    assert.match(notJson.stderr, /SWITCHBOARD_SUBSCRIBERS: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('mutual TLS and custom headers', () => {
  let dir;
  let receiver;
  let server;
  const requests = [];
  let port;
  const mtls = subscriberConfig('mtls', '', { headers: { Authorization: 'Bearer receiver-token', 'X-Tenant': 't-1' } });
  const nocert = subscriberConfig('nocert', '');
  before(async () => {
    dir = makeTempDir('mtls');
    const issue = testCa(dir);
    issue('receiver', SERVER_EXT);
    issue('switchboard-client', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    // A receiver that authenticates its callers: a client certificate from its CA, else 401.
    receiver = https.createServer({
      key: readFileSync(path.join(dir, 'receiver.key')), cert: readFileSync(path.join(dir, 'receiver.crt')),
      ca: readFileSync(path.join(dir, 'ca.crt')), requestCert: true, rejectUnauthorized: false,
    }, (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const peer = req.socket.getPeerCertificate();
        const entry = { path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'),
          authorized: req.socket.authorized, cn: peer?.subject?.CN };
        requests.push(entry);
        res.writeHead(entry.authorized ? 200 : 401).end();
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = receiver.address().port;
    Object.assign(mtls, { url: `https://127.0.0.1:${port}/mtls`, ca_file: path.join(dir, 'ca.crt'),
      client_cert_file: path.join(dir, 'switchboard-client.crt'), client_key_file: path.join(dir, 'switchboard-client.key') });
    Object.assign(nocert, { url: `https://127.0.0.1:${port}/nocert`, ca_file: path.join(dir, 'ca.crt') });
    server = await startWithSubscribers([mtls, nocert]);
  });
  after(async () => {
    try {
      if (server) {
        await stopServer(server);
      }
    } finally {
      receiver?.closeAllConnections();
      await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a client certificate and the subscriber\'s own headers reach the receiver; without the certificate, 401', { timeout: 20000 }, async () => {
    const sid = callSid();
    assert.equal((await postStatus(server, statusParams(sid, 'completed', 1))).status, 204);
    await waitFor(() => requests.some((r) => r.path === '/mtls') && requests.some((r) => r.path === '/nocert'), 5000,
      'both deliveries');
    const [withCert] = requests.filter((r) => r.path === '/mtls');
    assert.equal(withCert.authorized, true);
    assert.equal(withCert.cn, 'switchboard-client');
    assert.equal(withCert.headers.authorization, 'Bearer receiver-token');
    assert.equal(withCert.headers['x-tenant'], 't-1');
    assert.equal(new Webhook(mtls.secret).verify(withCert.body, withCert.headers).data.call_sid, sid);
    const [without] = requests.filter((r) => r.path === '/nocert');
    assert.equal(without.authorized, false);
    assert.equal(without.headers.authorization, undefined, 'one subscriber\'s headers are its own');
    await waitFor(async () => (await queueOf(server, 'nocert')).dead === 1, 5000, 'the 401 dead-lettered');
    const m = await scrape(server);
    assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'mtls', outcome: 'delivered' }), 1);
  });

  test('a key that is not the certificate\'s refuses start-up naming the subscriber', async () => {
    const bad = { ...mtls, client_key_file: path.join(dir, 'receiver.key') };
    const r = await runToExit({ SWITCHBOARD_DATA_DIR: path.join(dir, 'data-bad'), SWITCHBOARD_SUBSCRIBERS: JSON.stringify([bad]) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /subscriber mtls: cannot load client_key_file '[^']*receiver\.key': key values mismatch/);
  });
});

test('secret rotation: both signatures until the previous secret expires, then the new one only', { timeout: 30000 }, async () => {
  const sub = await createSubscriber();
  await sub.listen();
  const oldSecret = newSecret();
  const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const expiresMs = (Math.ceil(Date.now() / 1000) + 4) * 1000;
  const rotating = subscriberConfig('rotating', sub.url('/rotating'),
    { previous_secrets: [{ secret: oldSecret, expires_at: rfc3339(expiresMs) }] });
  const expired = subscriberConfig('expired', sub.url('/expired'),
    { previous_secrets: [{ secret: newSecret(), expires_at: '2020-01-01T00:00:00Z' }] });
  const server = await startWithSubscribers([rotating, expired]);
  try {
    const deliver = async (seq) => {
      const sid = callSid();
      assert.equal((await postStatus(server, statusParams(sid, 'completed', seq))).status, 204);
      const mine = (p) => sub.delivered(p).find((r) => r.json.data.call_sid === sid);
      await waitFor(() => mine('/rotating') && mine('/expired'), 5000, 'both deliveries');
      return [mine('/rotating'), mine('/expired')];
    };
    const verifies = (secret, r) => {
      try {
        new Webhook(secret).verify(r.body, r.headers);
        return true;
      } catch {
        return false;
      }
    };
    let [during, plain] = await deliver(1);
    assert.ok(Date.now() < expiresMs, 'the first delivery came before the expiry (a slow machine makes this test moot)');
    assert.equal(during.headers['webhook-signature'].split(' ').length, 2);
    assert.ok(verifies(rotating.secret, during), 'the new secret verifies');
    assert.ok(verifies(oldSecret, during), 'the previous secret verifies until it expires');
    assert.equal(plain.headers['webhook-signature'].split(' ').length, 1, 'an expired previous secret signs nothing');
    assert.ok(verifies(expired.secret, plain));

    await sleep(Math.max(0, expiresMs - Date.now()) + 200);
    [during, plain] = await deliver(2);
    assert.equal(during.headers['webhook-signature'].split(' ').length, 1);
    assert.ok(verifies(rotating.secret, during));
    assert.ok(!verifies(oldSecret, during), 'the previous secret no longer verifies');
  } finally {
    await stopServer(server);
    await sub.close();
  }
});

// A receiver on a free port that records when each request came and answers what `answer`
// says: [status, headers].
async function timedReceiver(answer = () => [200, {}]) {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const entry = { path: req.url, at: Date.now(), json: JSON.parse(body) };
      got.push(entry);
      const [status, headers] = answer(entry, got);
      res.writeHead(status, headers).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    got,
    url: (p) => `http://127.0.0.1:${server.address().port}${p}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('pacing', () => {
  test('rate_per_second paces one subscriber; another beside it is not held back', { timeout: 30000 }, async () => {
    const rx = await timedReceiver();
    const server = await startWithSubscribers([
      subscriberConfig('paced', rx.url('/paced'), { rate_per_second: 5 }),
      subscriberConfig('free', rx.url('/free')),
    ]);
    try {
      const n = 15;
      const answers = await Promise.all(
        Array.from({ length: n }, () => postStatus(server, statusParams(callSid(), 'completed', 1))));
      assert.deepEqual(answers.map((r) => r.status), Array(n).fill(204));
      const of = (p) => rx.got.filter((r) => r.path === p);
      await waitFor(() => of('/paced').length >= n && of('/free').length >= n, 15000, 'every delivery');
      const paced = of('/paced').map((r) => r.at);
      const spread = paced[n - 1] - paced[0];
      // A burst of 5, then one every 200 ms: the last of 15 comes 2 s after the first at the
      // earliest (a slow machine only makes it later).
      assert.ok(spread >= 1800, `15 deliveries at 5/s took ${spread} ms`);
      // A token bucket's bound: k deliveries in a row span at least (k - 5) × 200 ms (less 100
      // ms for how requests travel).
      for (let i = 0; i < n; ++i) {
        for (let j = i + 5; j < n; ++j) {
          const k = j - i + 1;
          assert.ok(paced[j] - paced[i] >= (k - 5) * 200 - 100, `${k} deliveries within ${paced[j] - paced[i]} ms`);
        }
      }
      const m = await scrape(server);
      assert.ok(metric(m, 'switchboard_delivery_throttled_total', { subscriber: 'paced', reason: 'rate_limit' }) >= 1);
      // The other subscriber's deliveries never waited for a token.
      assert.equal(metric(m, 'switchboard_delivery_throttled_total', { subscriber: 'free', reason: 'rate_limit' }), 0);
    } finally {
      await stopServer(server);
      await rx.close();
    }
  });

  test('a 429 with Retry-After holds every delivery to that subscriber, and only to it', { timeout: 30000 }, async () => {
    let refused = 0;
    const rx = await timedReceiver((entry) => {
      if (entry.path === '/busy' && refused === 0) {
        refused = 1;
        return [429, { 'Retry-After': '2' }];
      }
      return [200, {}];
    });
    const server = await startWithSubscribers([
      subscriberConfig('busy', rx.url('/busy'), { max_delay_seconds: 10 }),
      subscriberConfig('other', rx.url('/other')),
    ]);
    try {
      assert.equal((await postStatus(server, statusParams(callSid(), 'completed', 1))).status, 204);
      const of = (p) => rx.got.filter((r) => r.path === p);
      await waitFor(() => of('/busy').length === 1, 5000, 'the refused delivery');
      const refusedAt = of('/busy')[0].at;
      for (let i = 0; i < 3; ++i) {
        assert.equal((await postStatus(server, statusParams(callSid(), 'completed', 1))).status, 204);
      }
      await waitFor(() => of('/other').length === 4, 5000, 'the other subscriber\'s four');
      await waitFor(() => of('/busy').length === 5, 10000, 'the held subscriber\'s five (one retried)');
      const after = of('/busy').slice(1).map((r) => r.at - refusedAt);
      assert.ok(Math.min(...after) >= 1900, `a delivery went ${Math.min(...after)} ms after a Retry-After of 2 s`);
      assert.ok(of('/other')[3].at < refusedAt + Math.min(...after), 'the other subscriber was not held');
      const m = await scrape(server);
      assert.equal(metric(m, 'switchboard_delivery_throttled_total', { subscriber: 'busy', reason: 'retry_after' }), 1);
      assert.equal(metric(m, 'switchboard_deliveries_total', { subscriber: 'busy', outcome: 'delivered' }), 4);
    } finally {
      await stopServer(server);
      await rx.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 10: callers first: while the store refuses writes the IVR keeps answering
// ---------------------------------------------------------------------------------------------

// The three caller-facing webhooks that store an event, for one call: a menu choice, a
// voicemail, the end of an assistant session. Each must be answered with TwiML.
async function callerWebhooks(server, sid) {
  const answers = [
    await signedPost(server, '/api/voice/menu', { AccountSid: ACCOUNT_SID, CallSid: sid, From: FROM, To: TO, Digits: '1' }),
    await signedPost(server, '/api/voice/recording', {
      AccountSid: ACCOUNT_SID, CallSid: sid, From: FROM, To: TO, RecordingSid: 'RE' + randomBytes(16).toString('hex'),
      RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/RE1`, RecordingDuration: '7' }),
    await signedPost(server, '/api/voice/assistant', {
      AccountSid: ACCOUNT_SID, CallSid: sid, From: FROM, To: TO, SessionId: 'VX' + randomBytes(16).toString('hex'),
      SessionStatus: 'ended', SessionDuration: '12' }),
  ];
  for (const res of answers) {
    const text = await res.text();
    assert.equal(res.status, 200, `${res.url}: ${res.status} ${text}`);
    assert.match(res.headers.get('content-type'), /xml/);
    assert.match(text, /^<\?xml[^>]*>\s*<Response>[\s\S]*<\/Response>\s*$/);
  }
}

const CALLER_TYPES = ['call.menu_selected', 'call.voicemail', 'call.assistant_ended'];

// The event ids of log lines with this message (and reason, if given).
function loggedIds(server, msg, reason) {
  return server.logs.filter((l) => l.msg === msg && (!reason || l.reason === reason)).map((l) => l.event_id);
}

// Runs the callers-first scenario against a started server whose store can be made to refuse
// writes (`full()`) and take them again (`room()`): the spill holds `capacity` events.
async function callersFirst(t, server, sub, { full, room, capacity }) {
  const warm = callSid();
  assert.equal((await postStatus(server, statusParams(warm, 'ringing', 1))).status, 204);
  await waitFor(() => sub.delivered().some((r) => r.json.data.call_sid === warm), 5000, 'the first delivery');

  await full();
  // The store refuses: a status callback is answered 503 (Twilio retries it).
  let refused = 0;
  for (let i = 0; i < 20 && refused === 0; ++i) {
    if ((await postStatus(server, statusParams(callSid(), 'completed', 2))).status === 503) {
      ++refused;
    }
  }
  assert.equal(refused, 1, 'the store refuses writes');
  const m0 = await scrape(server);
  const calls = [callSid(), callSid()];
  for (const sid of calls) {
    await callerWebhooks(server, sid); // TwiML every time: the caller hears the menu
  }
  const acted = Date.now();
  const m1 = await scrape(server);
  const SPILLED = 'event spilled: the store refused it; the caller hears the answer and the event is stored when the store takes writes again';
  const LOST = 'caller event lost: it could not be stored';
  await waitFor(() => loggedIds(server, SPILLED).length === capacity
    && loggedIds(server, LOST, 'spill_full').length === 6 - capacity, 5000, 'a log line per spilled and dropped event');
  const spilledIds = loggedIds(server, SPILLED);
  const dropped = loggedIds(server, LOST, 'spill_full');
  assert.equal(metric(m1, 'switchboard_events_spilled_total') - metric(m0, 'switchboard_events_spilled_total'), capacity);
  assert.equal(metric(m1, 'switchboard_events_spill_depth'), capacity);
  assert.equal(metric(m1, 'switchboard_events_dropped_total', { reason: 'spill_full' })
    - metric(m0, 'switchboard_events_dropped_total', { reason: 'spill_full' }), 6 - capacity);
  assert.equal(metric(m1, 'switchboard_events_published_total') - metric(m0, 'switchboard_events_published_total'), 0);
  assert.equal(new Set([...spilledIds, ...dropped]).size, 6, 'six distinct events');
  // Status callbacks are still refused while the spill waits.
  assert.equal((await postStatus(server, statusParams(callSid(), 'completed', 2))).status, 503);

  await room();
  await waitFor(async () => metric(await scrape(server), 'switchboard_events_spill_depth') === 0, 10000,
    'the spill drained');
  await waitFor(() => spilledIds.every((id) => sub.delivered().some((r) => r.id === id)), 10000,
    'every spilled event delivered');
  await waitFor(() => drained(server, 'spill'), 5000, 'an empty queue');
  const m2 = await scrape(server);
  assert.equal(metric(m2, 'switchboard_events_published_total') - metric(m1, 'switchboard_events_published_total'),
    capacity, 'the spilled events are stored once the store takes writes');
  const delivered = sub.delivered().filter((r) => calls.includes(r.json.data.call_sid));
  assert.deepEqual([...new Set(delivered.map((r) => r.id))].sort(), [...spilledIds].sort(),
    'the spilled events, and not the dropped ones, reached the subscriber');
  for (const r of delivered) {
    assert.ok(CALLER_TYPES.includes(r.json.type), r.json.type);
    // The time the caller acted, not the time the store took it.
    assert.ok(Date.parse(r.json.timestamp) <= acted, `${r.json.timestamp} is when the caller acted`);
  }
  // In the order the callers acted: the spill is stored oldest first.
  const order = delivered.filter((r, i, all) => all.findIndex((x) => x.id === r.id) === i).map((r) => r.id);
  assert.deepEqual(order, spilledIds, 'stored and delivered in the order they were spilled');
  const m3 = await scrape(server);
  assert.equal(metric(m3, 'switchboard_events_dropped_total', { reason: 'shutdown' }), 0);

  // Refused again, then stopped: what is still spilled is dropped, counted and logged.
  await full();
  const last = callSid();
  const menu = await signedPost(server, '/api/voice/menu', { AccountSid: ACCOUNT_SID, CallSid: last, From: FROM, To: TO, Digits: '2' });
  assert.equal(menu.status, 200, await menu.text());
  sendStop(server, 'SIGTERM');
  assert.equal((await server.exited).code, 0, server.stderr);
  const lost = server.logs.filter((l) => l.msg === 'caller event lost: it could not be stored' && l.reason === 'shutdown');
  assert.equal(lost.length, 1, 'the event the store never took is logged at shutdown');
  assert.equal(lost[0].call_sid, last);
  assert.equal(lost[0].level, 'error');
  assert.equal(lost[0].type, 'call.menu_selected');
  assert.equal(lost[0].digits, '2');
  assert.ok(!JSON.stringify(lost[0]).includes(FROM), 'no phone number in the log line');
  await room();
}

describe('callers first', () => {
  test('SQLite: a full disk keeps the IVR answering; the spill is stored once there is room, in order',
    { timeout: 90000, skip: STORE === 'redis' && 'the SQLite data directory' }, (t) => withTmpfs(t, async (mnt) => {
      const sub = await createSubscriber();
      await sub.listen();
      const dataDir = path.join(mnt, 'data');
      const filler = path.join(mnt, 'filler');
      let server;
      try {
        server = await spawnOn(dataDir, [subscriberConfig('spill', sub.url('/hook'), { concurrency: 1 })],
          { SWITCHBOARD_SPILL_EVENTS: '4', SWITCHBOARD_DRAIN_TIMEOUT_SECONDS: '2' });
        await callersFirst(t, server, sub, {
          capacity: 4, full: async () => fillDisk(filler), room: async () => rmSync(filler, { force: true }),
        });
        server = null;
      } finally {
        if (server) {
          await stopServer(server);
        }
        await sub.close();
      }
    }));

  test('Redis: at maxmemory the IVR keeps answering; the spill is stored once there is room, in order',
    { timeout: 90000, skip: STORE !== 'redis' && 'runs with the Redis store' }, async (t) => {
      const sub = await createSubscriber();
      await sub.listen();
      const redis = await startRedis({ extra: ['--maxmemory-policy', 'noeviction'] });
      let server;
      try {
        server = await startServer({ env: {
          SWITCHBOARD_STORE: redis.url, SWITCHBOARD_REDIS_KEY_PREFIX: 'spill:',
          SWITCHBOARD_SUBSCRIBERS: JSON.stringify([subscriberConfig('spill', sub.url('/hook'), { concurrency: 1 })]),
          SWITCHBOARD_SPILL_EVENTS: '4', SWITCHBOARD_DRAIN_TIMEOUT_SECONDS: '2',
        } });
        await callersFirst(t, server, sub, {
          capacity: 4,
          full: async () => redis.cli('CONFIG', 'SET', 'maxmemory', '1'),
          room: async () => redis.cli('CONFIG', 'SET', 'maxmemory', '0'),
        });
        rmSync(server.dataDir, { recursive: true, force: true });
        server = null;
      } finally {
        if (server) {
          await stopServer(server);
        }
        await sub.close();
        await redis.remove();
      }
    });
});
