// The JobMatch IVR over real sockets: signed webhooks get the TwiML the official helper library
// would build; unsigned or tampered ones get 403 and change nothing.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  TOKEN, rawExchange, scrape, signedGet, signedPost, startServer, statusOf, stopServer, twilio, waitFor,
} from './harness.mjs';

const VOICE = { voice: 'Polly.Joanna' };
const SEED = {
  welcome: 'Welcome to Job Match dot zip, the AI-powered job matching platform for LLC owners. Press 1 to learn about our services. Press 2 to speak with our AI assistant. Press 3 to schedule a callback. Press 9 to end this call.',
  1: 'Job Match helps LLC owners find perfect job matches using AI. We analyze your skills, experience, and goals to match you with opportunities. Visit jobmatch dot zip to get started. Goodbye!',
  2: 'Our AI assistant is available on our website at jobmatch dot zip. You can chat with our intelligent matching system 24/7. Visit us online to get started. Goodbye!',
  3: 'To schedule a callback, please visit jobmatch dot zip and fill out our contact form. Our team will reach out within 24 hours. Goodbye!',
  9: 'Thank you for calling Job Match. Goodbye!',
};
const OPTIONS = 'Press 1 to learn about our services. Press 2 to speak with our AI assistant. Press 3 to schedule a callback. Press 9 to end this call.';

const CALL = {
  AccountSid: 'AC' + 'a'.repeat(32),
  CallSid: 'CA' + '0123456789abcdef'.repeat(2),
  From: '+14155551212',
  To: '+18005550100',
  CallStatus: 'in-progress',
  Direction: 'inbound',
  ApiVersion: '2010-04-01',
};

function gatherPrompt(text, action, before) {
  const r = new twilio.twiml.VoiceResponse();
  if (before) {
    r.say(VOICE, before);
  }
  r.gather({ numDigits: 1, action, method: 'POST', timeout: 10 }).say(VOICE, text);
  r.redirect({ method: 'POST' }, action);
  return r.toString();
}

function sayAndHangUp(text) {
  const r = new twilio.twiml.VoiceResponse();
  r.say(VOICE, text);
  r.hangup();
  return r.toString();
}

describe('JobMatch IVR', () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    const { code } = await stopServer(server);
    assert.equal(code, 0);
  });

  test('incoming call (POST) answers the welcome menu, as VoiceResponse builds it', async () => {
    const res = await signedPost(server, '/api/voice/incoming', { ...CALL, CallStatus: 'ringing' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/xml; charset=utf-8');
    const body = await res.text();
    assert.equal(body, gatherPrompt(SEED.welcome, '/api/voice/menu'));
    assert.ok(body.includes('<Gather numDigits="1" action="/api/voice/menu" method="POST" timeout="10"><Say voice="Polly.Joanna">'));
  });

  test('incoming call (GET, parameters in the signed query) answers the same menu', async () => {
    const q = new URLSearchParams({ ...CALL, CallStatus: 'ringing' }).toString();
    const res = await signedGet(server, `/api/voice/incoming?${q}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), gatherPrompt(SEED.welcome, '/api/voice/menu'));
  });

  for (const digit of ['1', '2', '3', '9']) {
    test(`menu digit ${digit} says the seed text and hangs up`, async () => {
      const before = await scrape(server);
      const res = await signedPost(server, '/api/voice/menu', { ...CALL, Digits: digit, FinishedOnKey: '' });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), sayAndHangUp(SEED[digit]));
      const after = await scrape(server);
      const key = `switchboard_ivr_menu_selections_total{choice="${digit}",menu="welcome"}`;
      assert.equal((after[key] ?? 0) - (before[key] ?? 0), 1);
    });
  }

  test('an invalid digit re-prompts twice (attempt carried in the action URL), then says goodbye', async () => {
    let res = await signedPost(server, '/api/voice/menu', { ...CALL, Digits: '5' });
    assert.equal(await res.text(), gatherPrompt(OPTIONS, '/api/voice/menu?attempt=1', 'Sorry, that is not a valid option.'));
    res = await signedPost(server, '/api/voice/menu?attempt=1', { ...CALL, Digits: '7' });
    assert.equal(await res.text(), gatherPrompt(OPTIONS, '/api/voice/menu?attempt=2', 'Sorry, that is not a valid option.'));
    res = await signedPost(server, '/api/voice/menu?attempt=2', { ...CALL, Digits: '0' });
    assert.equal(await res.text(), sayAndHangUp('We did not receive a valid selection. Thank you for calling Job Match. Goodbye!'));
  });

  test('no input (the Redirect after Gather, without Digits) re-prompts, never silence', async () => {
    const res = await signedPost(server, '/api/voice/menu', CALL);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), gatherPrompt(OPTIONS, '/api/voice/menu?attempt=1', "Sorry, we didn't receive your selection."));
    const m = await scrape(server);
    assert.ok(m['switchboard_ivr_menu_selections_total{choice="none",menu="welcome"}'] >= 1);
  });

  test('a correct choice after a retry still works', async () => {
    const res = await signedPost(server, '/api/voice/menu?attempt=1', { ...CALL, Digits: '3' });
    assert.equal(await res.text(), sayAndHangUp(SEED[3]));
  });

  test('status callback: 204, counted, tracked, logged with masked numbers', async () => {
    const before = await scrape(server);
    const healthBefore = await (await fetch(`${server.base}/api/voice/health`)).json();
    const sid = 'CA' + 'f'.repeat(32);
    const res = await signedPost(server, '/api/voice/status', {
      ...CALL, CallSid: sid, CallStatus: 'completed', CallDuration: '42', SequenceNumber: '3',
      Timestamp: 'Sat, 21 Nov 2026 14:00:00 +0000', CallbackSource: 'call-progress-events',
    });
    assert.equal(res.status, 204);
    const after = await scrape(server);
    const key = 'switchboard_call_status_callbacks_total{status="completed"}';
    assert.equal((after[key] ?? 0) - (before[key] ?? 0), 1);
    const health = await (await fetch(`${server.base}/api/voice/health`)).json();
    assert.equal(health.status, 'ok');
    assert.equal(health.events_published - healthBefore.events_published, 1, 'the callback was published');
    const line = await waitFor(() => server.logs.find((l) => l.msg === 'request' && l.call_sid === sid), 3000, 'access log line');
    assert.equal(line.call_status, 'completed');
    assert.equal(line.duration_seconds, 42);
    assert.equal(line.sequence_number, 3);
    assert.equal(line.from, '+1********12');
    assert.ok(!JSON.stringify(server.logs).includes('4155551212'), 'a full phone number reached the logs');
    assert.ok(!JSON.stringify(server.logs).includes(TOKEN), 'the auth token reached the logs');
  });

  test('status callback without CallStatus is a 400, not a crash', async () => {
    const res = await signedPost(server, '/api/voice/status', { CallSid: 'CA1' });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).code, 'missing_parameter');
  });

  test('unknown parameters Twilio may add are accepted (and covered by the signature)', async () => {
    const res = await signedPost(server, '/api/voice/menu', { ...CALL, Digits: '9', StirVerstat: 'TN-Validation-Passed-A', NewThing: 'x' });
    assert.equal(res.status, 200);
  });
});

describe('signature enforcement', () => {
  let server;
  before(async () => {
    server = await startServer({ env: { SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '1000' } });
  });
  after(async () => {
    await stopServer(server);
  });

  test('wrong token, tampered body, missing header: 403 with no side effect', async () => {
    const before = await scrape(server);
    const healthBefore = await (await fetch(`${server.base}/api/voice/health`)).json();

    const wrong = await signedPost(server, '/api/voice/menu', { ...CALL, Digits: '1' }, { token: 'not-the-token' });
    assert.equal(wrong.status, 403);
    assert.equal((await wrong.json()).code, 'signature_invalid');

    // Signed for Digits=1, sent with Digits=2.
    const sig = twilio.getExpectedTwilioSignature(TOKEN, `${server.base}/api/voice/menu`, { ...CALL, Digits: '1' });
    const tampered = await fetch(`${server.base}/api/voice/menu`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig },
      body: new URLSearchParams({ ...CALL, Digits: '2' }).toString(),
    });
    assert.equal(tampered.status, 403);

    const missing = await fetch(`${server.base}/api/voice/status`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...CALL, CallStatus: 'completed', CallSid: 'CA' + '9'.repeat(32) }).toString(),
    });
    assert.equal(missing.status, 403);

    const after = await scrape(server);
    const healthAfter = await (await fetch(`${server.base}/api/voice/health`)).json();
    assert.equal(healthAfter.events_published, healthBefore.events_published);
    for (const digit of ['1', '2']) {
      const key = `switchboard_ivr_menu_selections_total{choice="${digit}",menu="welcome"}`;
      assert.equal(after[key] ?? 0, before[key] ?? 0, `selection ${digit} was counted for a refused request`);
    }
    const mismatch = 'switchboard_twilio_signature_failures_total{reason="mismatch"}';
    const absent = 'switchboard_twilio_signature_failures_total{reason="missing"}';
    assert.equal((after[mismatch] ?? 0) - (before[mismatch] ?? 0), 2);
    assert.equal((after[absent] ?? 0) - (before[absent] ?? 0), 1);
    // Log lines are written by a background thread: the line may follow the answer.
    await waitFor(() => server.logs.some((l) => l.msg === 'twilio signature refused' && l.reason === 'missing'),
      5000, 'the refusal logged');
  });

  test('a URL signed with the default port (:80) is accepted, as twilio-node accepts it', async () => {
    const url = `${server.base}/api/voice/menu`.replace(`:${server.port}`, '');
    // The server sees Host 127.0.0.1:PORT; a signature over another port must fail...
    const bad = await signedPost(server, '/api/voice/menu', { ...CALL, Digits: '1' }, { url: `${url.replace('127.0.0.1', '127.0.0.1:1')}` });
    assert.equal(bad.status, 403);
    // ...while the port-less form of the received URL is one of the accepted forms.
    const res = await signedPost(server, '/api/voice/menu', { ...CALL, Digits: '1' }, { url });
    assert.equal(res.status, 200);
  });
});

describe('public URL, proxies and token rotation', () => {
  test('SWITCHBOARD_PUBLIC_URL: signatures are over the public URL (with or without :443)', async () => {
    const server = await startServer({ env: { SWITCHBOARD_PUBLIC_URL: 'https://jobmatch.example/' } });
    try {
      const pub = await signedPost(server, '/api/voice/incoming', CALL, { url: 'https://jobmatch.example/api/voice/incoming' });
      assert.equal(pub.status, 200);
      const port = await signedPost(server, '/api/voice/incoming', CALL, { url: 'https://jobmatch.example:443/api/voice/incoming' });
      assert.equal(port.status, 200);
      const local = await signedPost(server, '/api/voice/incoming', CALL);
      assert.equal(local.status, 403);
    } finally {
      await stopServer(server);
    }
  });

  test('X-Forwarded-Proto/Host count only from trusted proxies', async () => {
    const headers = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'hooks.example' };
    const url = 'https://hooks.example/api/voice/incoming';
    const trusting = await startServer({ env: { SWITCHBOARD_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1' } });
    const untrusting = await startServer({ env: { SWITCHBOARD_TRUSTED_PROXIES: '10.0.0.0/8' } });
    try {
      assert.equal((await signedPost(trusting, '/api/voice/incoming', CALL, { url, headers })).status, 200);
      assert.equal((await signedPost(untrusting, '/api/voice/incoming', CALL, { url, headers })).status, 403);
    } finally {
      await stopServer(trusting);
      await stopServer(untrusting);
    }
  });

  test('a secondary auth token is accepted during rotation; others are not', async () => {
    const server = await startServer({ env: { TWILIO_AUTH_TOKEN_SECONDARY: 'the-next-token' } });
    try {
      assert.equal((await signedPost(server, '/api/voice/incoming', CALL)).status, 200);
      assert.equal((await signedPost(server, '/api/voice/incoming', CALL, { token: 'the-next-token' })).status, 200);
      assert.equal((await signedPost(server, '/api/voice/incoming', CALL, { token: 'an-old-token' })).status, 403);
    } finally {
      await stopServer(server);
    }
  });
});

describe('HTTP edges', () => {
  let server;
  before(async () => {
    server = await startServer({ env: { SWITCHBOARD_BODY_LIMIT_BYTES: '2048', SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '1000' } });
  });
  after(async () => {
    await stopServer(server);
  });

  test('404 for an unknown path, 405 with Allow for a known path', async () => {
    const nf = await fetch(`${server.base}/nope`);
    assert.equal(nf.status, 404);
    assert.equal((await nf.json()).code, 'not_found');
    const menu = await fetch(`${server.base}/api/voice/menu`);
    assert.equal(menu.status, 405);
    assert.equal(menu.headers.get('allow'), 'POST');
    const incoming = await fetch(`${server.base}/api/voice/incoming`, { method: 'DELETE' });
    assert.equal(incoming.status, 405);
    assert.equal(incoming.headers.get('allow'), 'POST, GET');
  });

  test('413 for a body over the limit', async () => {
    const body = 'Digits=1&Pad=' + 'x'.repeat(4096);
    const { data } = await rawExchange(server.port,
      `POST /api/voice/menu HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.equal(statusOf(data), 413);
    assert.match(data, /body_too_large/);
  });

  test('431 for headers over the limit', async () => {
    const { data } = await rawExchange(server.port, `GET /api/voice/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(10000)}\r\n\r\n`);
    assert.equal(statusOf(data), 431);
  });

  test('400 for a malformed request', async () => {
    const { data, closed } = await rawExchange(server.port, 'GARBAGE\x01 / HTTP/1.1\r\n\r\n');
    assert.equal(statusOf(data), 400);
    assert.ok(closed);
  });

  test('keep-alive: pipelined requests on one connection are all answered', async () => {
    const req = 'GET /api/voice/health HTTP/1.1\r\nHost: x\r\n\r\n';
    const { data } = await rawExchange(server.port, req + req + req.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
    assert.equal((data.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 3);
  });

  test('HTTP/1.0 is answered in kind and the connection closed', async () => {
    const { data, closed } = await rawExchange(server.port, 'GET /api/voice/health HTTP/1.0\r\n\r\n');
    assert.match(data, /^HTTP\/1\.0 200 OK\r\n/);
    assert.ok(closed);
  });

  test('X-Request-Id: a sane one is echoed, anything else replaced', async () => {
    const ok = await fetch(`${server.base}/api/voice/health`, { headers: { 'X-Request-Id': 'abc-123.DEF_4' } });
    assert.equal(ok.headers.get('x-request-id'), 'abc-123.DEF_4');
    const bad = await fetch(`${server.base}/api/voice/health`, { headers: { 'X-Request-Id': 'no spaces "or" quotes' } });
    assert.match(bad.headers.get('x-request-id'), /^[0-9a-f]{8}-[0-9a-f]{12}$/);
    await waitFor(() => server.logs.some((l) => l.msg === 'request' && l.request_id === 'abc-123.DEF_4'), 3000, 'the access log line');
  });

  test('Expect: 100-continue gets an interim 100 before the body is sent', async () => {
    const body = new URLSearchParams({ ...CALL, Digits: '1' }).toString();
    const sig = twilio.getExpectedTwilioSignature(TOKEN, `http://x/api/voice/menu`, { ...CALL, Digits: '1' });
    const sock = net.connect(server.port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => { data += d.toString(); });
    sock.write(`POST /api/voice/menu HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\nX-Twilio-Signature: ${sig}\r\n`
      + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`);
    await waitFor(() => data.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), 3000, 'the interim 100');
    sock.write(body);
    await waitFor(() => /HTTP\/1\.1 200 OK[\s\S]*<\/Response>/.test(data), 3000, 'the final 200');
    sock.destroy();
  });
});

describe('rate limiting', () => {
  test('per client IP; 429 with Retry-After; signed Twilio requests never throttled; bad signatures count', async () => {
    const server = await startServer({ env: { SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '5' } });
    try {
      const codes = [];
      for (let i = 0; i < 6; i++) {
        codes.push((await fetch(`${server.base}/api/voice/health`)).status);
      }
      assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
      const limited = await fetch(`${server.base}/api/voice/health`);
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      // The same address, validly signed: never throttled.
      for (let i = 0; i < 10; i++) {
        assert.equal((await signedPost(server, '/api/voice/menu', { ...CALL, Digits: '1' })).status, 200);
      }
      // A failed signature from a throttled address: 429, not 403.
      assert.equal((await signedPost(server, '/api/voice/menu', CALL, { token: 'guess' })).status, 429);
      const m = await scrape(server);
      assert.ok(m.switchboard_rate_limited_requests_total >= 3);
    } finally {
      await stopServer(server);
    }
  });

  test('failed signatures spend the budget', async () => {
    const server = await startServer({ env: { SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '3' } });
    try {
      const codes = [];
      for (let i = 0; i < 4; i++) {
        codes.push((await signedPost(server, '/api/voice/menu', CALL, { token: 'guess' })).status);
      }
      assert.deepEqual(codes, [403, 403, 403, 429]);
    } finally {
      await stopServer(server);
    }
  });
});

describe('deadlines', () => {
  test('an idle keep-alive connection is closed after the idle timeout', async () => {
    const server = await startServer({ env: { SWITCHBOARD_IDLE_TIMEOUT_SECONDS: '0.3' } });
    try {
      const started = Date.now();
      const { data, closed } = await rawExchange(server.port, 'GET /api/voice/health HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
      assert.equal(statusOf(data), 200);
      assert.ok(closed, 'the server must close the idle connection');
      assert.ok(Date.now() - started < 3000);
    } finally {
      await stopServer(server);
    }
  });

  test('a request trickling in is cut at the read deadline, however often bytes arrive', async () => {
    const server = await startServer({ env: { SWITCHBOARD_READ_TIMEOUT_SECONDS: '0.6' } });
    try {
      const sock = net.connect(server.port, '127.0.0.1');
      let closedAt = 0;
      sock.on('close', () => { closedAt = Date.now(); });
      sock.on('error', () => {});
      const started = Date.now();
      const header = 'GET /api/voice/health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
      for (let i = 0; i < header.length && !closedAt && Date.now() - started < 4000; i++) {
        sock.write(header[i]);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await waitFor(() => closedAt, 3000, 'the connection to be closed');
      const elapsed = closedAt - started;
      assert.ok(elapsed >= 500 && elapsed < 2500, `closed after ${elapsed} ms, expected about 600`);
      sock.destroy();
    } finally {
      await stopServer(server);
    }
  });
});
