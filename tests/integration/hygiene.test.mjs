// Security hygiene against the real binary: log lines that always parse and never show a phone
// number, one rate budget per IPv6 /64, TwiML within Twilio's limit, subscriber secrets long
// enough, warnings for plain-http subscribers and a Host-derived signing URL, the --dev token
// file created 0600 without following links, and `sign` reading its token from a file or stdin.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  BIN, TOKEN, rawExchange, signedPost, spawnServer, startServer, statusOf, stopServer, twilio, waitFor,
} from './harness.mjs';
import { startStub, twilioError } from './twilio_peer.mjs';

const ACCOUNT_SID = 'AC' + 'c'.repeat(32);
const SENDER = '+14155550100';
const JWT_SECRET = randomBytes(32).toString('base64url');
const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'switchboard-phone';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

let dir;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-hygiene-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

// Everything the server writes on stdout from now on, as bytes (the harness decodes its copy,
// which would turn stray bytes into U+FFFD and hide them).
function rawStdout(server) {
  const chunks = [];
  server.child.stdout.on('data', (c) => chunks.push(c));
  return () => Buffer.concat(chunks);
}

const warnings = (server) => server.logs.filter((l) => l.level === 'warn');

describe('logs', () => {
  test('a request target with bytes 0x80-0xFF still gives an access log line of valid UTF-8 JSON', async () => {
    const server = await startServer();
    try {
      const bytes = rawStdout(server);
      const request = Buffer.concat([Buffer.from('GET /'), Buffer.from([0xff, 0xfe]),
        Buffer.from('/caf\u00e9 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')]);
      const { data } = await rawExchange(server.port, request);
      assert.ok(statusOf(data) >= 400, data);
      const line = await waitFor(() => server.logs.find((l) => l.msg === 'request' && l.path?.startsWith('/')
        && l.path !== '/' && l.path.includes('caf')), 3000, 'the access log line');
      assert.equal(line.path, '/\ufffd\ufffd/caf\u00e9');
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes()); // throws on stray bytes
      for (const l of text.split('\n').filter(Boolean)) {
        JSON.parse(l);
      }
    } finally {
      await stopServer(server);
    }
  });
});

describe('a stalled log consumer', () => {
  test('costs dropped (and counted) log lines, never a stalled request', async () => {
    const server = await startServer({ env: { SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0' } });
    try {
      // Stop reading the server's stdout: the pipe (64 KiB) fills, then the 4 MiB log queue.
      server.child.stdout.pause();
      // A 404 with a 6000-byte path is an access line of about 6 KB: 1600 of them are twice
      // the queue's 4 MiB (few requests, so the sanitizer builds run it quickly too).
      const long = `/${'x'.repeat(6000)}`;
      const missing = () => fetch(`${server.base}${long}`, { signal: AbortSignal.timeout(10000) })
        .then(async (r) => { await r.arrayBuffer(); return r.status; });
      let answered = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 200; i++) {
          const status = await missing(); // (not `answered += await …`: that reads answered before the await)
          answered += status === 404 ? 1 : 0;
        }
      }));
      assert.equal(answered, 1600, 'every request answered while nobody read the log');
      const health = await fetch(`${server.admin}/healthz`, { signal: AbortSignal.timeout(5000) });
      assert.equal(health.status, 200);
      const signed = await signedPost(server, '/api/voice/incoming',
        { CallSid: 'CA' + 'a'.repeat(32), From: '+14155550100', To: '+14155550199' },
        { headers: {} });
      assert.equal(signed.status, 200);
      const metrics = await (await fetch(`${server.admin}/metrics`)).text();
      const dropped = Number(/^switchboard_log_lines_dropped_total (\d+)/m.exec(metrics)?.[1]);
      assert.ok(dropped > 0, `dropped lines are counted (${dropped})`);
      // Reading again: the stream says how many lines it lost, and goes on.
      server.child.stdout.resume();
      await waitFor(() => server.logs.some((l) => l.msg?.startsWith('log lines dropped')), 10000);
      const note = server.logs.find((l) => l.msg?.startsWith('log lines dropped'));
      const total = Number(/^switchboard_log_lines_dropped_total (\d+)/m
        .exec(await (await fetch(`${server.admin}/metrics`)).text())?.[1]);
      assert.ok(note.dropped >= dropped && note.dropped <= total, `${JSON.stringify(note)}: ${dropped}..${total}`);
      assert.ok(server.logs.every((l) => !l.unparsed), 'every line that was written is whole JSON');
    } finally {
      server.child.stdout.resume();
      await stopServer(server);
    }
  });
});

describe('rate limit', () => {
  test('IPv6 clients share one budget per /64; IPv4 and IPv4-mapped stay per address', async () => {
    const server = await startServer({
      env: { SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '3', SWITCHBOARD_TRUSTED_PROXIES: '127.0.0.1' },
    });
    try {
      const from = async (client) => (await fetch(`${server.base}/api/voice/health`,
        { headers: { 'X-Forwarded-For': client } })).status;
      const codes = [];
      for (const client of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:abcd:ef01:2345:6789']) {
        codes.push(await from(client));
      }
      codes.push(await from('2001:db8:1:2:ffff::9'));
      assert.deepEqual(codes, [200, 200, 200, 429], 'one /64, one budget');
      assert.equal(await from('2001:db8:1:3::1'), 200, 'the next /64 has its own');
      for (let i = 0; i < 3; i++) {
        assert.equal(await from('198.51.100.7'), 200);
      }
      assert.equal(await from('::ffff:198.51.100.7'), 429, 'IPv4-mapped is the same IPv4 client');
      assert.equal(await from('198.51.100.8'), 200, 'the next IPv4 address has its own');
    } finally {
      await stopServer(server);
    }
  });

  test('a verified bearer token pays from its subject\'s budget, not its address\'s', async () => {
    const server = await startServer({
      env: { SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '3', SWITCHBOARD_JWT_SECRET: JWT_SECRET },
    });
    try {
      const mint = (sub) => new SignJWT({ permissions: ['phone:view'] }).setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(JWT_SECRET));
      const stats = async (token) => (await fetch(`${server.base}/api/phone/stats`,
        { headers: token ? { authorization: `Bearer ${token}` } : {} })).status;
      // Unauthenticated requests (no token, a forged one) use up this address's budget...
      const anonymous = [await stats(), await stats('a.b.c'), await stats(), await stats()];
      assert.deepEqual(anonymous, [401, 401, 401, 429]);
      // ...but the operator's token, from the same address, has its own.
      const ops = await mint('ops@example.com');
      assert.deepEqual([await stats(ops), await stats(ops), await stats(ops), await stats(ops)], [200, 200, 200, 429]);
      assert.equal(await stats(await mint('oncall@example.com')), 200, 'another subject, another budget');
    } finally {
      await stopServer(server);
    }
  });
});

describe('operator phone API', () => {
  let stub;
  let server;
  let token;
  before(async () => {
    stub = await startStub();
    server = await startServer({
      env: {
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_API_BASE_URL: stub.url,
        SWITCHBOARD_TWILIO_PHONE_NUMBER: SENDER,
        SWITCHBOARD_PUBLIC_URL: 'https://voice.example.com',
        SWITCHBOARD_JWT_SECRET: JWT_SECRET,
        SWITCHBOARD_JWT_ISSUER: ISSUER,
        SWITCHBOARD_JWT_AUDIENCE: AUDIENCE,
        SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0',
        SWITCHBOARD_TWILIO_TIMEOUT_SECONDS: '2',
      },
    });
    token = await new SignJWT({ permissions: ['phone:call', 'phone:sms'] }).setProtectedHeader({ alg: 'HS256' })
      .setSubject('ops@example.com').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('10m')
      .sign(new TextEncoder().encode(JWT_SECRET));
  });
  after(async () => {
    await (server && stopServer(server));
    await new Promise((resolve) => (stub ? stub.server.close(resolve) : resolve()));
  });

  const post = async (p, body) => {
    const res = await fetch(`${server.base}${p}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };

  test('Twilio\'s error messages are logged with the phone number they quote masked', async () => {
    stub.reset();
    const quoted = "The 'To' number +14155551212 is not a valid phone number.";
    stub.reply(400, twilioError(400, 21211, quoted));
    stub.reply(400, twilioError(400, 21211, quoted));
    const call = await post('/api/phone/call', { to: '+14155551212', message: 'hello' });
    assert.equal(call.status, 400, JSON.stringify(call.json));
    assert.equal(call.json.twilio_code, 21211);
    const sms = await post('/api/phone/sms', { to: '+14155551212', message: 'hello' });
    assert.equal(sms.status, 400, JSON.stringify(sms.json));
    const failed = await waitFor(() => {
      const lines = server.logs.filter((l) => l.msg === 'Twilio request failed');
      return lines.length >= 2 && lines;
    }, 3000, 'the two failure lines');
    for (const l of failed) {
      assert.equal(l.twilio_message, "The 'To' number +1********12 is not a valid phone number.");
    }
    const leaked = server.logs.filter((l) => JSON.stringify(l).includes('4155551212'));
    assert.deepEqual(leaked, [], 'no log line shows the number');
  });

  test('a call message whose TwiML exceeds Twilio\'s 4000 characters is a 400 naming message', async () => {
    stub.reset();
    // Within the field's 4000 characters, but <Say> and the XML prolog make the TwiML longer.
    for (const message of ['x'.repeat(4000), '&'.repeat(1000)]) {
      const r = await post('/api/phone/call', { to: '+14155551212', message });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.code, 'invalid_parameter');
      assert.match(r.json.message, /^message is too long: Twilio accepts at most 4000 characters of TwiML/);
    }
    assert.equal(stub.requests.length, 0, 'nothing reached Twilio');
    stub.reply(201, { sid: 'CA' + 'd'.repeat(32), status: 'queued' });
    const fits = await post('/api/phone/call', { to: '+14155551212', message: 'x'.repeat(3800) });
    assert.equal(fits.status, 201, JSON.stringify(fits.json));
    const twiml = new URLSearchParams(stub.requests[0].body).get('Twiml');
    assert.ok(twiml.length <= 4000 && twiml.includes('x'.repeat(3800)));
  });
});

describe('subscribers', () => {
  const subscriber = (name, url, secret = SECRET) => ({ name, url, secret, events: ['*'] });

  test('a secret with fewer than 24 bytes of key stops start-up with a clear message', async () => {
    for (const [secret, bytes] of [['whsec_AQ==', '1 byte'], [`whsec_${randomBytes(23).toString('base64')}`,
      '23 bytes']]) {
      const subs = JSON.stringify([subscriber('crm', 'https://crm.example.com/hooks', secret)]);
      await assert.rejects(startServer({ env: { SWITCHBOARD_SUBSCRIBERS: subs } }), (e) => {
        assert.match(e.message, new RegExp(`SWITCHBOARD_SUBSCRIBERS\\[0\\] \\(crm\\): secret decodes to ${bytes} of `
          + 'key; at least 24 are required'));
        assert.ok(!e.message.includes(secret.slice(6)), 'the secret is not in the message');
        return true;
      });
    }
    const ok = `whsec_${randomBytes(24).toString('base64')}`;
    const server = await startServer({
      env: { SWITCHBOARD_SUBSCRIBERS: JSON.stringify([subscriber('crm', 'https://crm.example.com/h', ok)]) },
    });
    await stopServer(server);
  });

  test('an http:// subscriber is warned about at start-up by name; loopback and https ones are not', async () => {
    const subs = [subscriber('crm', 'http://crm.example.com/hooks?token=s3cret'),
      subscriber('local', 'http://127.0.0.1:9/hook'), subscriber('named', 'http://localhost:9/hook'),
      subscriber('six', 'http://[::1]:9/hook'), subscriber('tls', 'https://crm.example.com/hooks')];
    const server = await startServer({
      env: { SWITCHBOARD_SUBSCRIBERS: JSON.stringify(subs), SWITCHBOARD_PUBLIC_URL: 'https://voice.example.com' },
    });
    try {
      const plain = warnings(server).filter((l) => l.setting === 'SWITCHBOARD_SUBSCRIBERS');
      assert.deepEqual(plain.map((l) => l.subscriber), ['crm']);
      assert.match(plain[0].msg, /plain http.*unencrypted/);
      assert.ok(!JSON.stringify(plain).includes('s3cret'), 'the url (and its token) is not logged');
    } finally {
      await stopServer(server);
    }
  });
});

describe('signing URL', () => {
  test('without SWITCHBOARD_PUBLIC_URL start-up warns once that signatures follow the Host header', async () => {
    const bare = await startServer();
    try {
      const w = warnings(bare).filter((l) => l.setting === 'SWITCHBOARD_PUBLIC_URL');
      assert.equal(w.length, 1, JSON.stringify(warnings(bare)));
      assert.match(w[0].msg, /Host header/);
      assert.match(w[0].msg, /another deployment on the same Twilio account/);
      assert.match(w[0].msg, /set SWITCHBOARD_PUBLIC_URL/);
      // It still starts and serves, signatures checked against the Host view.
      assert.equal((await signedPost(bare, '/api/voice/incoming', { CallSid: 'CA1' })).status, 200);
      assert.equal(warnings(bare).filter((l) => l.setting === 'SWITCHBOARD_PUBLIC_URL').length, 1);
    } finally {
      await stopServer(bare);
    }
    const configured = await startServer({ env: { SWITCHBOARD_PUBLIC_URL: 'https://voice.example.com' } });
    try {
      assert.deepEqual(warnings(configured).filter((l) => l.setting === 'SWITCHBOARD_PUBLIC_URL'), []);
    } finally {
      await stopServer(configured);
    }
  });
});

describe('tokens on the command line', () => {
  test('--dev writes dev-auth-token 0600, replacing a planted symlink instead of writing through it', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'dev-'));
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'keep me\n', { mode: 0o644 });
    const tokenFile = path.join(dataDir, 'dev-auth-token');
    symlinkSync(victim, tokenFile);
    const server = await spawnServer({
      SWITCHBOARD_LISTEN: '127.0.0.1:0', SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0', SWITCHBOARD_DATA_DIR: dataDir,
    }, ['--dev']);
    server.dataDir = dataDir;
    try {
      const st = lstatSync(tokenFile);
      assert.ok(st.isFile(), 'a regular file, not the link');
      assert.equal(st.mode & 0o777, 0o600);
      assert.equal(readFileSync(victim, 'utf8'), 'keep me\n');
      assert.equal(lstatSync(victim).mode & 0o777, 0o644);
      const devToken = readFileSync(tokenFile, 'utf8').trim();
      assert.match(devToken, /^[0-9a-f]{32}$/);
      assert.match(server.stderr, /sign --token-file \S*dev-auth-token/);
      // The file signs requests the instance accepts.
      const url = `${server.base}/api/voice/incoming`;
      const sig = execFileSync(BIN, ['sign', '--token-file', tokenFile, '--url', url, 'CallSid=CA1'],
        { encoding: 'utf8' }).trim();
      const res = await fetch(url, { method: 'POST', headers: { 'X-Twilio-Signature': sig,
        'Content-Type': 'application/x-www-form-urlencoded' }, body: 'CallSid=CA1' });
      assert.equal(res.status, 200);
    } finally {
      await stopServer(server);
    }
  });

  test('sign takes the token from --token-file or from standard input with --token -', () => {
    const url = 'https://voice.example.com/api/voice/menu?x=1';
    const expected = twilio.getExpectedTwilioSignature(TOKEN, url, { CallSid: 'CA1', Digits: '1' });
    const file = path.join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
    const sign = (args, input) => spawnSync(BIN, ['sign', ...args, '--url', url, 'CallSid=CA1', 'Digits=1'],
      { encoding: 'utf8', input, env: { PATH: process.env.PATH } });
    for (const [args, input] of [[['--token-file', file]], [['--token', '-'], `${TOKEN}\n`],
      [['--token', '-'], TOKEN], [['--token', TOKEN]]]) {
      const r = sign(args, input);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), expected, args.join(' '));
    }
    const missing = sign(['--token-file', path.join(dir, 'nope')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read a token from/);
    assert.equal(sign(['--token', '-'], '').status, 2, 'empty standard input is no token');
    assert.equal(sign(['--token', TOKEN, '--token-file', file]).status, 2);
  });
});
