// The operator phone API against the real binary: JWTs minted by `jose` (HS256, RS256, ES256,
// and every way a token must be refused), the permission matrix, input validation that never
// reaches Twilio, every endpoint end to end against Prism serving Twilio's official OpenAPI
// spec, Twilio's error answers from a small stub, the Samsaek webhooks signed by the `twilio`
// library, and every response checked against service/phone/openapi.yaml.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { describedBy } from './openapi.mjs';
import { STORE, scrape, signedPost, sleep, startServer, stopServer, storeEnv, twilio, waitFor } from './harness.mjs';
import { startPrism, startStub, twilioError } from './twilio_peer.mjs';

const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
const SENDER = '+14155550100';
const PUBLIC_URL = 'https://voice.example.com';
const SECRET = randomBytes(32).toString('base64url');
const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'switchboard-phone';
const ALL = ['phone:view', 'phone:call', 'phone:sms', 'phone:admin'];


// ---------------------------------------------------------------------------------------------
// The OpenAPI description of this API: every response below is checked against it.
// ---------------------------------------------------------------------------------------------

const { conforms, checks: conformanceChecks } = describedBy('service/phone/openapi.yaml');

// A call to the API; the answer is checked against the description.
async function api(server, method, pathAndQuery, { token, body, raw, headers = {} } = {}) {
  const h = { ...headers };
  if (token !== undefined) {
    h.authorization = token.startsWith('Basic ') || token === '' ? token : `Bearer ${token}`;
  }
  let payload;
  if (raw !== undefined) {
    payload = raw;
    h['content-type'] = 'application/json';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  const res = await fetch(`${server.base}${pathAndQuery}`, { method, headers: h, body: payload });
  const text = await res.text();
  conforms(method, new URL(pathAndQuery, server.base).pathname, res.status, res.headers.get('content-type'), text);
  let json = null;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
    json = JSON.parse(text);
  }
  return { status: res.status, headers: res.headers, json, text };
}

// ---------------------------------------------------------------------------------------------
// Token minting with jose
// ---------------------------------------------------------------------------------------------

const keys = {};

async function makeKeys(dir) {
  const rsa = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const stranger = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const strangerEc = await generateKeyPair('ES256', { extractable: true });
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', use: 'sig', alg: 'RS256' };
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', use: 'sig' };
  const jwks = path.join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [rsaJwk, ecJwk] }));
  Object.assign(keys, {
    jwks,
    HS256: { key: new TextEncoder().encode(SECRET), kid: undefined },
    RS256: { key: rsa.privateKey, kid: 'rsa-1', publicPem: await exportSPKI(rsa.publicKey) },
    ES256: { key: ec.privateKey, kid: 'ec-1', publicPem: await exportSPKI(ec.publicKey) },
    strangerRS256: { key: stranger.privateKey, kid: 'rsa-1' },
    strangerES256: { key: strangerEc.privateKey, kid: 'ec-1' },
  });
}

const now = () => Math.floor(Date.now() / 1000);

async function mint(alg = 'HS256', { claims = {}, exp = now() + 600, nbf, iss = ISSUER, aud = AUDIENCE,
  permissions = ALL, scope, signer, kid } = {}) {
  const body = { ...claims };
  if (scope !== undefined) {
    body.scope = scope;
  } else if (permissions !== undefined) {
    body.permissions = permissions;
  }
  const jwt = new SignJWT(body).setProtectedHeader({ alg, kid: kid ?? keys[alg]?.kid })
    .setSubject(claims.sub ?? 'ops@example.com');
  // null leaves a claim out (undefined would take the default).
  if (exp !== null) {
    jwt.setExpirationTime(exp);
  }
  if (nbf !== undefined) {
    jwt.setNotBefore(nbf);
  }
  if (iss !== null) {
    jwt.setIssuer(iss);
  }
  if (aud !== null) {
    jwt.setAudience(aud);
  }
  return jwt.sign(signer ?? keys[alg].key);
}

const b64u = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

// A token signed with HMAC-SHA256 under an arbitrary key (jose refuses to misuse keys, which is
// exactly what an attacker would do by hand).
function handmade(header, payload, hmacKey) {
  const input = `${b64u(header)}.${b64u(payload)}`;
  if (hmacKey === undefined) {
    return `${input}.`;
  }
  const { createHmac } = awaitCrypto;
  return `${input}.${createHmac('sha256', hmacKey).update(input).digest('base64url')}`;
}
const awaitCrypto = await import('node:crypto');

// A Twilio call resource, as the stub answers it (Prism and the stub: twilio_peer.mjs).
const twilioCall = (sid, status) => ({
  sid, account_sid: ACCOUNT_SID, status, direction: 'outbound-api', from: SENDER, to: '+14155551212',
  start_time: null, end_time: null, duration: null, price: null, price_unit: 'USD',
});

// ---------------------------------------------------------------------------------------------

let dir;
let prism;
let stub;
let main; // against Prism
let failing; // against the stub

function phoneEnv(baseUrl, extra = {}) {
  return {
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_API_BASE_URL: baseUrl,
    SWITCHBOARD_TWILIO_PHONE_NUMBER: SENDER,
    SWITCHBOARD_PUBLIC_URL: PUBLIC_URL,
    SWITCHBOARD_JWT_SECRET: SECRET,
    SWITCHBOARD_JWT_JWKS_FILE: keys.jwks,
    SWITCHBOARD_JWT_ISSUER: ISSUER,
    SWITCHBOARD_JWT_AUDIENCE: AUDIENCE,
    SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0',
    ...extra,
  };
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-phone-'));
  await makeKeys(dir);
  [prism, stub] = await Promise.all([startPrism(dir), startStub()]);
  main = await startServer({ env: phoneEnv(prism.url) });
  failing = await startServer({
    env: phoneEnv(stub.url, { SWITCHBOARD_TWILIO_TIMEOUT_SECONDS: '2', SWITCHBOARD_TWILIO_MAX_PAGES: '3' }),
  });
});

after(async () => {
  for (const res of stub?.hang ?? []) {
    res.destroy();
  }
  await Promise.all([main && stopServer(main), failing && stopServer(failing)]);
  prism?.child.kill('SIGTERM');
  await new Promise((resolve) => (stub ? stub.server.close(resolve) : resolve()));
  rmSync(dir, { recursive: true, force: true });
  console.log(`# responses checked against service/phone/openapi.yaml: ${conformanceChecks()}`);
});

// ---------------------------------------------------------------------------------------------

describe('JWT', () => {
  test('the matrix: accepted and refused tokens for HS256, RS256 and ES256', async () => {
    const accepted = [];
    for (const alg of ['HS256', 'RS256', 'ES256']) {
      accepted.push([`${alg} permissions claim`, await mint(alg)]);
      accepted.push([`${alg} scope claim`, await mint(alg, { scope: 'phone:view phone:sms' })]);
      accepted.push([`${alg} aud array`, await mint(alg, { aud: ['other', AUDIENCE] })]);
      accepted.push([`${alg} expired within the leeway`, await mint(alg, { exp: now() - 5 })]);
      accepted.push([`${alg} living 24 h`, await mint(alg, { exp: now() + 86400, claims: { iat: now() } })]);
    }
    const refused = [];
    for (const alg of ['HS256', 'RS256', 'ES256']) {
      refused.push([`${alg} expired`, await mint(alg, { exp: now() - 120 }), 'expired']);
      refused.push([`${alg} without exp`, await mint(alg, { exp: null }), 'missing_exp']);
      refused.push([`${alg} not yet valid`, await mint(alg, { nbf: now() + 300 }), 'not_yet_valid']);
      refused.push([`${alg} wrong issuer`, await mint(alg, { iss: 'https://evil.example.com' }), 'wrong_issuer']);
      refused.push([`${alg} no issuer`, await mint(alg, { iss: null }), 'wrong_issuer']);
      refused.push([`${alg} wrong audience`, await mint(alg, { aud: 'someone-else' }), 'wrong_audience']);
      refused.push([`${alg} valid for a year`, await mint(alg, { exp: now() + 366 * 86400 }), 'too_long_lived']);
      refused.push([`${alg} issued for 48 h`, await mint(alg, { exp: now() + 600, claims: { iat: now() - 47 * 3600 } }),
        'too_long_lived']);
      const good = await mint(alg);
      const [h, p, s] = good.split('.');
      const forged = b64u({ ...JSON.parse(Buffer.from(p, 'base64url')), permissions: ALL, sub: 'mallory' });
      refused.push([`${alg} tampered payload`, `${h}.${forged}.${s}`, 'bad_signature']);
    }
    refused.push(['HS256 wrong secret', await mint('HS256', { signer: new TextEncoder().encode('x'.repeat(32)) }),
      'bad_signature']);
    refused.push(['RS256 signed by an unknown key', await mint('RS256', { signer: keys.strangerRS256.key }),
      'bad_signature']);
    refused.push(['ES256 signed by an unknown key', await mint('ES256', { signer: keys.strangerES256.key }),
      'bad_signature']);
    refused.push(['RS256 with an unknown kid', await mint('RS256', { kid: 'nope' }), 'no_matching_key']);
    const [, rsPayload, rsSignature] = (await mint('RS256')).split('.');
    refused.push(['RS384 (no such key)', `${b64u({ alg: 'RS384', kid: 'rsa-1' })}.${rsPayload}.${rsSignature}`,
      'no_matching_key']);
    const claims = { sub: 'mallory', permissions: ALL, exp: now() + 600, iss: ISSUER, aud: AUDIENCE };
    refused.push(['alg none', handmade({ alg: 'none', typ: 'JWT' }, claims), 'no_matching_key']);
    refused.push(['alg none with a signature', `${handmade({ alg: 'none' }, claims)}c2ln`, 'no_matching_key']);
    refused.push(['HS256 keyed with the RSA public key (algorithm confusion)',
      handmade({ alg: 'HS256', kid: 'rsa-1' }, claims, keys.RS256.publicPem), 'bad_signature']);
    refused.push(['HS256 keyed with the EC public key (algorithm confusion)',
      handmade({ alg: 'HS256', kid: 'ec-1' }, claims, keys.ES256.publicPem), 'bad_signature']);
    refused.push(['exp as a string', handmade({ alg: 'HS256' }, { ...claims, exp: 'tomorrow' }, SECRET), 'malformed']);
    refused.push(['two segments', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0', 'malformed']);
    refused.push(['not base64url', 'a.b.c', 'malformed']);
    refused.push(['header is not JSON', `${b64u('nope')}.${b64u(claims)}.sig`, 'malformed']);
    refused.push(['garbage', 'not-a-token', 'malformed']);

    for (const [name, token] of accepted) {
      const r = await api(main, 'GET', '/api/phone/balance', { token });
      assert.equal(r.status, 200, `${name}: ${r.text}`);
    }
    const before = await scrape(main);
    for (const [name, token] of refused) {
      const r = await api(main, 'GET', '/api/phone/balance', { token });
      assert.equal(r.status, 401, `${name}: ${r.text}`);
      assert.equal(r.json.code, 'unauthorized', name);
      assert.equal(r.json.message, 'a valid bearer token is required', `${name}: no detail leaks`);
      assert.match(r.headers.get('www-authenticate'), /^Bearer realm="switchboard", error="invalid_token"$/, name);
    }
    for (const [name, header] of [['no header', undefined], ['Basic auth', 'Basic b3BzOnB3'], ['empty', '']]) {
      const r = await api(main, 'GET', '/api/phone/balance', { token: header });
      assert.equal(r.status, 401, name);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="switchboard"', name);
    }
    const afterScrape = await scrape(main);
    const delta = (reason) => (afterScrape[`switchboard_api_auth_failures_total{reason="${reason}"}`] ?? 0)
      - (before[`switchboard_api_auth_failures_total{reason="${reason}"}`] ?? 0);
    for (const reason of ['expired', 'missing_exp', 'not_yet_valid', 'wrong_issuer', 'wrong_audience',
      'too_long_lived']) {
      assert.equal(delta(reason), reason === 'wrong_issuer' || reason === 'too_long_lived' ? 6 : 3, reason);
    }
    assert.equal(delta('missing'), 3);
    console.log(`# JWT matrix: ${accepted.length} accepted, ${refused.length + 3} refused`);
  });

  test('a bearer route without configured keys answers 503, not 401', async () => {
    const bare = await startServer({ env: { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_API_BASE_URL: prism.url } });
    try {
      const r = await api(bare, 'GET', '/api/phone/balance', { token: await mint('HS256') });
      assert.equal(r.status, 503);
      assert.equal(r.json.code, 'not_configured');
    } finally {
      await stopServer(bare);
    }
  });

  test('unusable key material stops startup with a message', async () => {
    const bad = path.join(dir, 'bad-jwks.json');
    writeFileSync(bad, JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'tiny' }] }));
    for (const [env, message] of [
      [{ SWITCHBOARD_JWT_JWKS_FILE: bad, SWITCHBOARD_JWT_AUDIENCE: AUDIENCE }, /shorter than 2048 bits/],
      [{ SWITCHBOARD_JWT_JWKS_FILE: keys.jwks }, /SWITCHBOARD_JWT_AUDIENCE.*is required with SWITCHBOARD_JWT_JWKS_FILE/],
      [{ SWITCHBOARD_JWT_SECRET: 'short' }, /at least 32 bytes/],
    ]) {
      await assert.rejects(startServer({ env }), message);
    }
  });
});

// Every bearer route, with what it needs and a body that would pass validation.
const routes = [
  ['GET', '/api/phone/numbers/search?area_code=415', 'phone:view'],
  ['POST', '/api/phone/numbers/purchase', 'phone:admin', { phone_number: '+14155550199' }],
  ['PATCH', `/api/phone/numbers/PN${'a'.repeat(32)}`, 'phone:admin', { friendly_name: 'Main line' }],
  ['POST', '/api/phone/call', 'phone:call', { to: '+14155551212', message: 'hello' }],
  ['POST', '/api/phone/sms', 'phone:sms', { to: '+14155551212', message: 'hello' }],
  ['GET', '/api/phone/balance', 'phone:view'],
  ['GET', '/api/phone/calls/history', 'phone:view'],
  ['GET', `/api/phone/calls/CA${'a'.repeat(32)}`, 'phone:view'],
  ['POST', `/api/phone/calls/CA${'a'.repeat(32)}/hangup`, 'phone:call'],
  ['GET', '/api/phone/health', 'phone:view'],
  ['GET', '/api/phone/stats', 'phone:view'],
];

describe('permissions', () => {
  test('each endpoint refuses a token without its permission (403) and accepts phone:admin', async () => {
    let checked = 0;
    for (const [method, url, needed, body] of routes) {
      const others = ['phone:view', 'phone:call', 'phone:sms'].filter((p) => p !== needed);
      for (const alg of ['HS256', 'ES256']) {
        const r = await api(main, method, url, { token: await mint(alg, { permissions: others }), body });
        assert.equal(r.status, 403, `${method} ${url} without ${needed}: ${r.text}`);
        assert.equal(r.json.code, 'forbidden');
        assert.match(r.json.message, new RegExp(needed));
        checked++;
      }
      const admin = await api(main, method, url, { token: await mint('RS256', { permissions: ['phone:admin'] }), body });
      assert.notEqual(admin.status, 401, `${method} ${url} with phone:admin`);
      assert.notEqual(admin.status, 403, `${method} ${url} with phone:admin: ${admin.text}`);
    }
    console.log(`# permission matrix: ${checked} refusals, ${routes.length} admin acceptances`);
  });
});

describe('input validation (no Twilio request is made)', () => {
  test('E.164 numbers and JSON bodies: 400 naming the field', async () => {
    stub.reset();
    const token = await mint('HS256');
    const badNumbers = ['4155551212', '+0123456789', '+1234567', '+1234567890123456', '+1 415 555 1212',
      '+1415555121a', '', '++14155551212', '＋14155551212'];
    const cases = [];
    for (const n of badNumbers) {
      cases.push(['/api/phone/call', { to: n, message: 'hi' }, /to must be an E\.164 number|to must not be empty/]);
      cases.push(['/api/phone/sms', { to: n, message: 'hi' }, /to must be an E\.164 number|to must not be empty/]);
      cases.push(['/api/phone/numbers/purchase', { phone_number: n },
        /phone_number must be an E\.164 number|phone_number must not be empty/]);
    }
    cases.push(['/api/phone/call', { to: 14155551212, message: 'hi' }, /to must be a string/]);
    cases.push(['/api/phone/call', { to: '+14155551212' }, /message is required/]);
    cases.push(['/api/phone/call', { to: '+14155551212', message: '   ' }, /message must not be empty/]);
    cases.push(['/api/phone/call', { to: '+14155551212', message: 'hi', record: 'yes' }, /record must be true or false/]);
    cases.push(['/api/phone/call', { to: '+14155551212', message: 'hi', voice: 'robot' }, /voice must be/]);
    cases.push(['/api/phone/call', { to: '+14155551212', message: 'hi', language: 'english' }, /language must/]);
    cases.push(['/api/phone/call', { to: '+14155551212', message: 'hi', colour: 'red' }, /unknown field 'colour'/]);
    cases.push(['/api/phone/call', { to: '+14155551212', message: 'x'.repeat(4001) }, /longer than 4000/]);
    cases.push(['/api/phone/sms', { to: '+14155551212', message: 'é'.repeat(1601) }, /longer than 1600/]);
    cases.push(['/api/phone/sms', { to: '+14155551212', message: 'hi', agent_name: 'a'.repeat(101) },
      /agent_name is longer/]);
    cases.push(['/api/phone/numbers/purchase', { phone_number: '+14155551212', webhook_url: 'ftp://x' },
      /webhook_url must be/]);
    for (const [url, body, message] of cases) {
      const r = await api(failing, 'POST', url, { token, body });
      assert.equal(r.status, 400, `${url} ${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
      assert.match(r.json.message, message);
    }
    for (const raw of ['not json', '[]', '{', '"text"', '{"to": "+14155551212", "message": "hi"', '']) {
      for (const url of ['/api/phone/call', '/api/phone/sms', '/api/phone/numbers/purchase']) {
        const r = await api(failing, 'POST', url, { token, raw });
        assert.equal(r.status, 400, `${url} ${JSON.stringify(raw)}`);
        assert.equal(r.json.code, 'malformed_json');
      }
    }
    for (const q of ['area_code=41', 'area_code=abc', 'country=usa', 'limit=0', 'limit=51', 'sms_enabled=yes',
      'contains=%24%24', 'colour=red']) {
      const r = await api(failing, 'GET', `/api/phone/numbers/search?${q}`, { token });
      assert.equal(r.status, 400, q);
    }
    for (const q of ['limit=0', 'limit=201', 'status=lost', 'direction=sideways', 'cursor=abc', 'source=crm',
      `source=twilio&cursor=1.CA${'a'.repeat(32)}`]) {
      const r = await api(failing, 'GET', `/api/phone/calls/history?${q}`, { token });
      assert.equal(r.status, 400, q);
    }
    for (const sid of ['CA123', 'XX' + 'a'.repeat(32), 'CA' + 'g'.repeat(32)]) {
      assert.equal((await api(failing, 'GET', `/api/phone/calls/${sid}`, { token })).status, 400);
      assert.equal((await api(failing, 'POST', `/api/phone/calls/${sid}/hangup`, { token })).status, 400);
    }
    assert.equal(stub.requests.length, 0, 'no request reached Twilio');
    console.log(`# validation matrix: ${cases.length + 18 + 8 + 7 + 6} bad inputs, 0 Twilio requests`);
  });
});

describe('against Twilio\'s OpenAPI spec (Prism)', () => {
  test('every endpoint end to end', async () => {
    const token = await mint('ES256', { permissions: ['phone:admin'] });
    const search = await api(main, 'GET', '/api/phone/numbers/search?area_code=415&sms_enabled=true&limit=5',
      { token });
    assert.equal(search.status, 200, search.text);
    assert.ok(search.json.numbers.length >= 1);
    assert.match(search.json.numbers[0].phone_number, /^\+\d+$/);

    const bought = await api(main, 'POST', '/api/phone/numbers/purchase',
      { token, body: { phone_number: '+14155550199', friendly_name: 'Samsaek line' } });
    assert.equal(bought.status, 201, bought.text);
    assert.match(bought.json.sid, /^PN/);
    assert.equal(bought.json.voice_url, `${PUBLIC_URL}/api/phone/webhook/call`);
    assert.equal(bought.json.sms_url, `${PUBLIC_URL}/api/phone/webhook/sms`);
    assert.equal(bought.json.recorded, true);

    const call = await api(main, 'POST', '/api/phone/call', {
      token,
      body: { to: '+14155551212', message: 'Your <interview> is at 3 & 4', agent_name: 'Ada', record: true,
        voice: 'Polly.Matthew-Neural', language: 'en-GB', call_purpose: 'interview-reminder', workflow_id: 'wf-42' },
    });
    assert.equal(call.status, 201, call.text);
    assert.match(call.json.sid, /^CA[0-9a-f]{32}$/i);
    // With the default connection overrides: Twilio retries a slow or failing status callback.
    assert.equal(call.json.status_callback, `${PUBLIC_URL}/api/phone/webhook/status#rt=5000&rc=2&rp=ct,rt,5xx`);
    assert.equal(call.json.recorded, true);

    const sms = await api(main, 'POST', '/api/phone/sms',
      { token, body: { to: '+14155551212', message: 'See you at 3 ✓', agent_name: 'Ada' } });
    assert.equal(sms.status, 201, sms.text);
    assert.match(sms.json.sid, /^(SM|MM)/);

    const balance = await api(main, 'GET', '/api/phone/balance', { token });
    assert.equal(balance.status, 200);
    assert.deepEqual(Object.keys(balance.json).sort(), ['account_sid', 'balance', 'currency']);

    // Twilio's status callback for the placed call: the event carries the API's fields.
    const sid = call.json.sid;
    const cb = await signedPost(main, '/api/phone/webhook/status', {
      AccountSid: ACCOUNT_SID, CallSid: sid, CallStatus: 'ringing', SequenceNumber: '1', From: SENDER,
      To: '+14155551212', Direction: 'outbound-api', CallbackSource: 'call-progress-events',
    }, { url: `${PUBLIC_URL}/api/phone/webhook/status` });
    assert.equal(cb.status, 204);

    const detail = await api(main, 'GET', `/api/phone/calls/${sid}`, { token });
    assert.equal(detail.status, 200, detail.text);
    assert.equal(detail.json.recorded, true);
    assert.equal(detail.json.call_purpose, 'interview-reminder');
    assert.equal(detail.json.workflow_id, 'wf-42');
    assert.equal(detail.json.agent_name, 'Ada');
    const event = detail.json.events.find((e) => e.type === 'call.status_changed');
    assert.ok(event, JSON.stringify(detail.json.events));
    assert.equal(event.data.call_purpose, 'interview-reminder');
    assert.equal(event.data.workflow_id, 'wf-42');
    assert.ok(detail.json.twilio, 'refreshed from Twilio');

    const history = await api(main, 'GET', '/api/phone/calls/history?limit=10', { token });
    assert.equal(history.status, 200);
    assert.ok(history.json.calls.some((c) => c.sid === sid));
    const remote = await api(main, 'GET', '/api/phone/calls/history?source=twilio&limit=1', { token });
    assert.equal(remote.status, 200, remote.text);
    assert.equal(remote.json.calls.length, 1);

    // Prism's example call is completed: nothing to hang up.
    const hang = await api(main, 'POST', `/api/phone/calls/${sid}/hangup`, { token });
    assert.equal(hang.status, 409, hang.text);
    assert.equal(hang.json.code, 'conflict');

    const health = await api(main, 'GET', '/api/phone/health', { token });
    assert.equal(health.status, 200, health.text);
    assert.equal(health.json.status, 'ok');
    assert.equal(health.json.twilio.credentials_valid, true);

    const stats = await api(main, 'GET', '/api/phone/stats', { token });
    assert.equal(stats.status, 200);
    assert.ok(stats.json.calls.total >= 1);
    assert.ok(stats.json.sms.sent >= 1);
    assert.ok(stats.json.phone_numbers >= 2, 'the bought number and the sending number');
    assert.match(stats.json.estimated_cost.total, /^\d+\.\d{4}$/);

    const metrics = await scrape(main);
    for (const op of ['search_numbers', 'purchase_number', 'create_call', 'send_sms', 'fetch_balance', 'fetch_call',
      'list_calls', 'fetch_account']) {
      assert.ok(metrics[`switchboard_twilio_api_requests_total{operation="${op}",result="2xx"}`] >= 1, op);
    }
  });
});

describe('Twilio errors and retries (stub)', () => {
  const auth = 'Basic ' + Buffer.from(`${ACCOUNT_SID}:test-auth-token-0123456789abcdef`).toString('base64');

  test('a refused create: 400 with Twilio\'s code, sent once, form-encoded as Twilio expects', async () => {
    stub.reset();
    stub.reply(400, twilioError(400, 21211, "The 'To' number +14155551212 is not a valid phone number."));
    const r = await api(failing, 'POST', '/api/phone/call',
      { token: await mint('HS256'), body: { to: '+14155551212', message: 'Tom & Jerry <3' } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.code, 'twilio_rejected');
    assert.equal(r.json.twilio_code, 21211);
    assert.equal(r.json.more_info, 'https://www.twilio.com/docs/errors/21211');
    assert.equal(stub.requests.length, 1);
    const sent = stub.requests[0];
    assert.equal(sent.method, 'POST');
    assert.equal(sent.url, `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`);
    assert.equal(sent.headers.authorization, auth);
    assert.match(sent.headers['content-type'], /^application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(sent.body);
    assert.deepEqual(form.getAll('StatusCallbackEvent'), ['initiated', 'ringing', 'answered', 'completed']);
    assert.equal(form.get('StatusCallback'), `${PUBLIC_URL}/api/phone/webhook/status#rt=5000&rc=2&rp=ct,rt,5xx`);
    assert.equal(form.get('From'), SENDER);
    const expected = new twilio.twiml.VoiceResponse();
    expected.say({ voice: 'Polly.Joanna', language: 'en-US' }, 'Tom & Jerry <3');
    assert.equal(form.get('Twiml'), expected.toString());
  });

  test('a create is never retried after 5xx or a timeout', async () => {
    stub.reset();
    stub.reply(503, twilioError(503, 20503, 'Service unavailable'));
    stub.reply(201, twilioCall('CA' + 'b'.repeat(32), 'queued'));
    const token = await mint('HS256');
    const r = await api(failing, 'POST', '/api/phone/sms', { token, body: { to: '+14155551212', message: 'x' } });
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.code, 'twilio_failed');
    assert.equal(r.json.twilio_code, 20503);
    assert.equal(stub.requests.length, 1, 'not sent twice');

    stub.reset();
    stub.silence();
    const started = Date.now();
    const t = await api(failing, 'POST', '/api/phone/call', { token, body: { to: '+14155551212', message: 'x' } });
    assert.equal(t.status, 504, t.text);
    assert.equal(t.json.code, 'twilio_timeout');
    assert.ok(Date.now() - started < 5000);
    assert.equal(stub.requests.length, 1, 'not sent twice');
  });

  test('429 is retried after Retry-After, GETs after 5xx; Twilio\'s auth refusal is a 502', async () => {
    const token = await mint('HS256');
    stub.reset();
    stub.reply(429, twilioError(429, 20429, 'Too many requests'), { 'retry-after': '1' });
    stub.reply(201, { sid: 'SM' + 'c'.repeat(32), status: 'queued', num_segments: '1' });
    const started = Date.now();
    const r = await api(failing, 'POST', '/api/phone/sms', { token, body: { to: '+14155551212', message: 'x' } });
    assert.equal(r.status, 201, r.text);
    assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
    assert.equal(stub.requests.length, 2);

    stub.reset();
    stub.reply(502, { message: 'bad gateway' });
    stub.reply(200, { account_sid: ACCOUNT_SID, balance: '12.34', currency: 'USD' });
    const b = await api(failing, 'GET', '/api/phone/balance', { token });
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.balance, '12.34');
    assert.equal(stub.requests.length, 2);

    stub.reset();
    for (let i = 0; i < 3; ++i) {
      stub.reply(429, twilioError(429, 20429, 'Too many requests'), { 'retry-after': '30' });
    }
    const limited = await api(failing, 'GET', '/api/phone/balance', { token });
    assert.equal(limited.status, 429, limited.text);
    assert.equal(limited.headers.get('retry-after'), '30');
    assert.equal(stub.requests.length, 1, 'a Retry-After beyond the deadline is not waited for');

    stub.reset();
    stub.reply(401, twilioError(401, 20003, 'Authenticate'));
    const denied = await api(failing, 'GET', '/api/phone/balance', { token });
    assert.equal(denied.status, 502);
    assert.equal(denied.json.twilio_code, 20003);

    const metrics = await scrape(failing);
    assert.ok(metrics['switchboard_twilio_api_requests_total{operation="fetch_balance",result="429"}'] >= 1);
    assert.ok(metrics['switchboard_twilio_api_requests_total{operation="send_sms",result="5xx"}'] >= 1);
    assert.ok(metrics['switchboard_twilio_api_requests_total{operation="create_call",result="timeout"}'] >= 1);
  });

  test('hang up: canceled when ringing, completed when live, 409 when Twilio says it cannot', async () => {
    const token = await mint('HS256');
    const sid = 'CA' + 'd'.repeat(32);
    for (const [status, requested] of [['ringing', 'canceled'], ['queued', 'canceled'], ['in-progress', 'completed']]) {
      stub.reset();
      stub.reply(200, twilioCall(sid, status));
      stub.reply(200, twilioCall(sid, requested));
      const r = await api(failing, 'POST', `/api/phone/calls/${sid}/hangup`, { token });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.requested_status, requested);
      assert.equal(stub.requests[1].method, 'POST');
      assert.equal(new URLSearchParams(stub.requests[1].body).get('Status'), requested);
    }
    stub.reset();
    stub.reply(200, twilioCall(sid, 'in-progress'));
    stub.reply(400, twilioError(400, 21220, 'Call is not in-progress. Cannot redirect.'));
    const r = await api(failing, 'POST', `/api/phone/calls/${sid}/hangup`, { token });
    assert.equal(r.status, 409);
    assert.equal(r.json.twilio_code, 21220);

    stub.reset();
    stub.reply(404, twilioError(404, 20404, 'The requested resource was not found'));
    const missing = await api(failing, 'POST', `/api/phone/calls/${sid}/hangup`, { token });
    assert.equal(missing.status, 404);
    stub.reply(404, twilioError(404, 20404, 'The requested resource was not found'));
    const unknown = await api(failing, 'GET', `/api/phone/calls/${sid}`, { token });
    assert.equal(unknown.status, 404);
  });

  test('an API key authenticates REST calls instead of the auth token', async () => {
    const keySid = 'SK' + 'e'.repeat(32);
    const server = await startServer({
      env: phoneEnv(stub.url, { TWILIO_API_KEY_SID: keySid, TWILIO_API_KEY_SECRET: 'key-secret-value' }),
    });
    try {
      stub.reset();
      stub.reply(200, { account_sid: ACCOUNT_SID, balance: '1.00', currency: 'USD' });
      const r = await api(server, 'GET', '/api/phone/balance', { token: await mint('HS256') });
      assert.equal(r.status, 200, r.text);
      assert.equal(stub.requests[0].headers.authorization,
        'Basic ' + Buffer.from(`${keySid}:key-secret-value`).toString('base64'));
      assert.equal(stub.requests[0].url, `/2010-04-01/Accounts/${ACCOUNT_SID}/Balance.json`, 'the path names the account');
    } finally {
      await stopServer(server);
    }
  });

  test('listing follows next_page_uri up to the page cap', async () => {
    const token = await mint('HS256');
    stub.reset();
    for (let page = 0; page < 5; ++page) {
      stub.reply(200, {
        calls: [twilioCall('CA' + String(page).repeat(32), 'completed')],
        next_page_uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json?PageSize=1&Page=${page + 1}&PageToken=PA${page}`,
        page, page_size: 1,
      });
    }
    const r = await api(failing, 'GET', '/api/phone/calls/history?source=twilio&limit=50', { token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.pages, 3, 'SWITCHBOARD_TWILIO_MAX_PAGES');
    assert.equal(r.json.truncated, true);
    assert.equal(r.json.calls.length, 3);
    assert.equal(stub.requests.length, 3);
    assert.equal(stub.requests[1].url, `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json?PageSize=1&Page=1&PageToken=PA0`);
  });

  test('a Twilio outage makes /health degraded (503) with the reason', async () => {
    stub.reset();
    stub.reply(500, { message: 'down' });
    stub.reply(500, { message: 'down' });
    stub.reply(500, { message: 'down' });
    const r = await api(failing, 'GET', '/api/phone/health', { token: await mint('HS256') });
    assert.equal(r.status, 503);
    assert.equal(r.json.status, 'degraded');
    assert.equal(r.json.twilio.error, 'twilio_failed');
    assert.equal(r.json.store.ok, true);
  });
});

describe('buying a number (the Samsaek seed)', () => {
  const seed = { phone_number: '+14155550123', friendly_name: 'Samsaek Main Line',
    webhook_url: 'https://yourdomain.com/api/phone/webhook' };

  test('webhook_url is the base: voice {base}/call, SMS {base}/sms, status {base}/status, all POST', async () => {
    const token = await mint('HS256', { permissions: ['phone:admin'] });
    // Prism checks the form against Twilio's spec...
    const bought = await api(main, 'POST', '/api/phone/numbers/purchase', { token, body: seed });
    assert.equal(bought.status, 201, bought.text);
    assert.equal(bought.json.voice_url, 'https://yourdomain.com/api/phone/webhook/call');
    assert.equal(bought.json.sms_url, 'https://yourdomain.com/api/phone/webhook/sms');
    assert.equal(bought.json.status_callback, 'https://yourdomain.com/api/phone/webhook/status#rt=5000&rc=2&rp=ct,rt,5xx');
    // ...and the stub shows exactly what Twilio receives.
    stub.reset();
    stub.reply(201, { sid: 'PN' + 'a'.repeat(32), phone_number: seed.phone_number, friendly_name: seed.friendly_name });
    const recorded = await api(failing, 'POST', '/api/phone/numbers/purchase', { token, body: seed });
    assert.equal(recorded.status, 201, recorded.text);
    assert.equal(stub.requests.length, 1);
    assert.equal(stub.requests[0].url, `/2010-04-01/Accounts/${ACCOUNT_SID}/IncomingPhoneNumbers.json`);
    const form = Object.fromEntries(new URLSearchParams(stub.requests[0].body));
    assert.deepEqual(form, {
      PhoneNumber: '+14155550123', FriendlyName: 'Samsaek Main Line',
      VoiceUrl: 'https://yourdomain.com/api/phone/webhook/call', VoiceMethod: 'POST',
      SmsUrl: 'https://yourdomain.com/api/phone/webhook/sms', SmsMethod: 'POST',
      StatusCallback: 'https://yourdomain.com/api/phone/webhook/status#rt=5000&rc=2&rp=ct,rt,5xx',
      StatusCallbackMethod: 'POST',
      // Fallbacks: the JobMatch seed's handlers on this service, by default.
      VoiceFallbackUrl: `${PUBLIC_URL}/api/voice/incoming`, VoiceFallbackMethod: 'POST',
      SmsFallbackUrl: `${PUBLIC_URL}/api/sms/incoming`, SmsFallbackMethod: 'POST',
    });
    assert.equal(recorded.json.voice_fallback_url, `${PUBLIC_URL}/api/voice/incoming`);
    // The voice webhook it was given is a route of ours: a call signed for it is answered.
    const call = await signedPost(main, '/api/phone/webhook/call',
      { AccountSid: ACCOUNT_SID, CallSid: 'CA' + randomBytes(16).toString('hex'), From: '+14155550001',
        To: seed.phone_number, CallStatus: 'ringing' }, { url: `${PUBLIC_URL}/api/phone/webhook/call` });
    assert.equal(call.status, 200);
  });

  test('explicit URLs, the configured base and its Samsaek alias; https only', async () => {
    const token = await mint('HS256', { permissions: ['phone:admin'] });
    const configured = await startServer({
      env: phoneEnv(stub.url, { SAMSAEK_TWILIO_WEBHOOK_URL: 'https://hooks.example.com/samsaek/',
        SWITCHBOARD_TWILIO_VOICE_FALLBACK_URL: 'https://backup.example.com/voice',
        SWITCHBOARD_TWILIO_SMS_FALLBACK_URL: 'none' }),
    });
    try {
      const buy = async (body) => {
        stub.reset();
        stub.reply(201, { sid: 'PN' + 'b'.repeat(32), phone_number: '+14155550124' });
        const r = await api(configured, 'POST', '/api/phone/numbers/purchase', { token, body });
        return { r, form: stub.requests[0] ? Object.fromEntries(new URLSearchParams(stub.requests[0].body)) : null };
      };
      let { r, form } = await buy({ phone_number: '+14155550124' });
      assert.equal(r.status, 201, r.text);
      assert.equal(form.VoiceUrl, 'https://hooks.example.com/samsaek/call');
      assert.equal(form.StatusCallback, 'https://hooks.example.com/samsaek/status#rt=5000&rc=2&rp=ct,rt,5xx');
      assert.equal(form.VoiceFallbackUrl, 'https://backup.example.com/voice', 'the configured fallback');
      assert.equal(form.SmsFallbackUrl, undefined, 'none: no SMS fallback');
      ({ r, form } = await buy({ phone_number: '+14155550124', voice_fallback_url: 'https://other.example.com/v' }));
      assert.equal(form.VoiceFallbackUrl, 'https://other.example.com/v', 'the request\'s fallback wins');
      ({ r, form } = await buy({ phone_number: '+14155550124', voice_url: 'https://ivr.example.com/api/voice/incoming' }));
      assert.equal(form.VoiceUrl, 'https://ivr.example.com/api/voice/incoming');
      assert.equal(form.SmsUrl, 'https://hooks.example.com/samsaek/sms');
      for (const [body, field] of [
        [{ phone_number: '+14155550124', webhook_url: 'http://yourdomain.com/api/phone/webhook' }, 'webhook_url'],
        [{ phone_number: '+14155550124', sms_url: 'http://yourdomain.com/sms' }, 'sms_url'],
        [{ phone_number: '+14155550124', voice_fallback_url: 'http://yourdomain.com/v' }, 'voice_fallback_url'],
        [{ phone_number: '+14155550124', webhook_url: 'http://localhost:8080/api/phone/webhook' }, 'webhook_url'],
      ]) {
        ({ r, form } = await buy(body));
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.match(r.json.message, new RegExp(`^${field} must be an https:// URL`));
        assert.equal(form, null, 'nothing sent to Twilio');
      }
    } finally {
      await stopServer(configured);
    }
    await assert.rejects(startServer({ env: phoneEnv(stub.url, { SWITCHBOARD_TWILIO_WEBHOOK_URL: 'http://x.example' }) }),
      /SWITCHBOARD_TWILIO_WEBHOOK_URL: must be an https:\/\/ URL/);
  });
});

describe('re-pointing a number the account owns', () => {
  test('PATCH /api/phone/numbers/{sid}: the seed\'s base, explicit URLs, only what changes', async () => {
    const token = await mint('HS256', { permissions: ['phone:admin'] });
    const sid = 'PN' + 'c'.repeat(32);
    // Prism: the update form is one Twilio's spec accepts, and the answer conforms to ours.
    const updated = await api(main, 'PATCH', `/api/phone/numbers/${sid}`,
      { token, body: { webhook_url: 'https://yourdomain.com/api/phone/webhook', friendly_name: 'Samsaek Main Line' } });
    assert.equal(updated.status, 200, updated.text);
    assert.match(updated.json.sid, /^PN/); // (api() checks every answer against service/phone/openapi.yaml)
    // The stub: exactly what Twilio receives.
    const sent = async (body) => {
      stub.reset();
      stub.reply(200, { sid, phone_number: '+14155550123', friendly_name: 'x', voice_url: 'v', sms_url: 's',
        status_callback: 'st' });
      const r = await api(failing, 'PATCH', `/api/phone/numbers/${sid}`, { token, body });
      assert.equal(r.status, 200, r.text);
      assert.equal(stub.requests.length, 1);
      assert.equal(stub.requests[0].method, 'POST');
      assert.equal(stub.requests[0].url, `/2010-04-01/Accounts/${ACCOUNT_SID}/IncomingPhoneNumbers/${sid}.json`);
      return Object.fromEntries(new URLSearchParams(stub.requests[0].body));
    };
    assert.deepEqual(await sent({ webhook_url: 'https://yourdomain.com/api/phone/webhook/' }), {
      VoiceUrl: 'https://yourdomain.com/api/phone/webhook/call', VoiceMethod: 'POST',
      SmsUrl: 'https://yourdomain.com/api/phone/webhook/sms', SmsMethod: 'POST',
      StatusCallback: 'https://yourdomain.com/api/phone/webhook/status#rt=5000&rc=2&rp=ct,rt,5xx',
      StatusCallbackMethod: 'POST',
    });
    assert.deepEqual(await sent({ voice_url: 'https://jobmatch.zip/api/voice/incoming' }),
      { VoiceUrl: 'https://jobmatch.zip/api/voice/incoming', VoiceMethod: 'POST' }, 'only what changes');
    assert.deepEqual(await sent({ friendly_name: 'Line 2' }), { FriendlyName: 'Line 2' });

    stub.reset();
    for (const [url, body, status, pattern] of [
      [`/api/phone/numbers/${sid}`, {}, 400, /nothing to change/],
      [`/api/phone/numbers/${sid}`, { webhook_url: 'http://yourdomain.com/w' }, 400, /^webhook_url must be an https/],
      [`/api/phone/numbers/${sid}`, { sms_url: 'ftp://x' }, 400, /^sms_url/],
      [`/api/phone/numbers/${sid}`, { voice_urll: 'https://a.example' }, 400, /voice_urll/],
      ['/api/phone/numbers/PN123', { friendly_name: 'x' }, 400, /PN followed by 32/],
    ]) {
      const r = await api(failing, 'PATCH', url, { token, body });
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.json.message, pattern);
    }
    assert.equal(stub.requests.length, 0, 'nothing invalid reaches Twilio');
    stub.reply(404, twilioError(404, 20404, 'The requested resource was not found'));
    const missing = await api(failing, 'PATCH', `/api/phone/numbers/${sid}`, { token, body: { friendly_name: 'x' } });
    assert.equal(missing.status, 404, missing.text);
  });
});

describe('connection overrides on the URLs handed to Twilio', () => {
  test('configured fragments on webhooks, fallbacks and status callbacks; a request\'s own fragment kept', async () => {
    const token = await mint('HS256', { permissions: ['phone:admin'] });
    const sid = 'PN' + 'd'.repeat(32);
    // Prism: Twilio's spec accepts fallbacks and fragment URLs on an update.
    const viaPrism = await api(main, 'PATCH', `/api/phone/numbers/${sid}`, { token, body: {
      voice_fallback_url: 'https://jobmatch.zip/api/voice/incoming#ct=2000', sms_fallback_url: 'https://jobmatch.zip/api/sms/incoming',
      status_callback_url: 'https://jobmatch.zip/api/voice/status' } });
    assert.equal(viaPrism.status, 200, viaPrism.text);
    const server = await startServer({ env: phoneEnv(stub.url, {
      SWITCHBOARD_TWILIO_WEBHOOK_OVERRIDES: 'rc=3&ct=2000&e=frankfurt',
      SWITCHBOARD_TWILIO_STATUS_CALLBACK_OVERRIDES: '#tt=12000' }) });
    try {
      const sent = async (method, url, body, reply) => {
        stub.reset();
        stub.reply(reply[0], reply[1]);
        const r = await api(server, method, url, { token, body });
        assert.equal(r.status, reply[0] === 200 ? 200 : 201, r.text);
        return { r, form: Object.fromEntries(new URLSearchParams(stub.requests[0].body)) };
      };
      let { r, form } = await sent('POST', '/api/phone/numbers/purchase',
        { phone_number: '+14155550125', sms_url: 'https://own.example.com/sms#rc=0' },
        [201, { sid, phone_number: '+14155550125' }]);
      assert.equal(form.VoiceUrl, `${PUBLIC_URL}/api/phone/webhook/call#ct=2000&rc=3&e=frankfurt`);
      assert.equal(form.SmsUrl, 'https://own.example.com/sms#rc=0', 'the request\'s fragment wins');
      assert.equal(form.StatusCallback, `${PUBLIC_URL}/api/phone/webhook/status#tt=12000`);
      assert.equal(form.VoiceFallbackUrl, `${PUBLIC_URL}/api/voice/incoming#ct=2000&rc=3&e=frankfurt`);
      assert.equal(form.SmsFallbackUrl, `${PUBLIC_URL}/api/sms/incoming#ct=2000&rc=3&e=frankfurt`);
      assert.equal(r.json.voice_url, form.VoiceUrl, 'the answer shows what Twilio got');
      ({ form } = await sent('PATCH', `/api/phone/numbers/${sid}`,
        { voice_fallback_url: 'https://backup.example.com/v', sms_fallback_url: 'https://backup.example.com/s' },
        [200, { sid, voice_fallback_url: 'https://backup.example.com/v#ct=2000&rc=3&e=frankfurt' }]));
      assert.deepEqual(form, {
        VoiceFallbackUrl: 'https://backup.example.com/v#ct=2000&rc=3&e=frankfurt', VoiceFallbackMethod: 'POST',
        SmsFallbackUrl: 'https://backup.example.com/s#ct=2000&rc=3&e=frankfurt', SmsFallbackMethod: 'POST',
      });
      ({ r, form } = await sent('POST', '/api/phone/sms', { to: '+14155551212', message: 'hi' },
        [201, { sid: 'SM' + 'e'.repeat(32), status: 'queued' }]));
      assert.equal(form.StatusCallback, `${PUBLIC_URL}/api/phone/webhook/status#tt=12000`);
      assert.equal(r.json.status_callback, form.StatusCallback);
      stub.reset();
      for (const [body, pattern] of [
        [{ phone_number: '+14155550125', voice_url: 'https://own.example.com/v#top' }, /^voice_url: unknown connection override 'top'/],
        [{ phone_number: '+14155550125', voice_fallback_url: 'https://own.example.com/v#rc=9' }, /^voice_fallback_url: rc \(retry count\) must be a whole number from 0 to 5/],
      ]) {
        const bad = await api(server, 'POST', '/api/phone/numbers/purchase', { token, body });
        assert.equal(bad.status, 400, bad.text);
        assert.match(bad.json.message, pattern);
      }
      assert.equal(stub.requests.length, 0, 'nothing invalid reaches Twilio');
    } finally {
      await stopServer(server);
    }
    await assert.rejects(startServer({ env: phoneEnv(stub.url, { SWITCHBOARD_TWILIO_STATUS_CALLBACK_OVERRIDES: 'rp=sometimes' }) }),
      /SWITCHBOARD_TWILIO_STATUS_CALLBACK_OVERRIDES: rp \(retry policy\) must be a comma list of 4xx, 5xx, ct, rt, all/);
  });
});

describe('Idempotency-Key on creates', () => {
  test('a repeat replays the first answer (from any replica) without calling Twilio; 422, 409, per subject', async () => {
    // Two replicas sharing one store on Redis; on SQLite one process owns the store.
    const prefix = `idem${process.pid}:`;
    const env = async () => ({ ...phoneEnv(stub.url), ...(await storeEnv(prefix)) });
    const a = await startServer({ env: await env() });
    const b = STORE === 'redis' ? await startServer({ env: await env() }) : a;
    try {
      const token = await mint('HS256');
      const create = (server, key, body, { path = '/api/phone/call', as = token } = {}) =>
        api(server, 'POST', path, { token: as, body, headers: key === undefined ? {} : { 'idempotency-key': key } });
      const body = { to: '+14155551212', message: 'Your interview is at 3' };
      stub.reset();
      stub.reply(201, twilioCall('CA' + '1'.repeat(32), 'queued'));
      const first = await create(a, 'order-42', body);
      assert.equal(first.status, 201, first.text);
      assert.equal(first.headers.get('idempotent-replayed'), null);
      const again = await create(b, 'order-42', body);
      assert.equal(again.status, 201, again.text);
      assert.equal(again.text, first.text, 'the first answer, byte for byte');
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(stub.requests.length, 1, 'Twilio was called once');
      // A quoted key (the draft's Structured Field form) is the same key.
      assert.equal((await create(a, '"order-42"', body)).headers.get('idempotent-replayed'), 'true');

      const other = await create(b, 'order-42', { ...body, message: 'Your interview is at 4' });
      assert.equal(other.status, 422, other.text);
      assert.equal(other.json.code, 'idempotency_key_reused');
      const sms = await create(a, 'order-42', body, { path: '/api/phone/sms' });
      assert.equal(sms.status, 422, 'a key serves one request: not another route');
      assert.equal(stub.requests.length, 1);

      // Keys are per token subject: another operator's order-42 is their own.
      stub.reply(201, twilioCall('CA' + '2'.repeat(32), 'queued'));
      const theirs = await create(a, 'order-42', body, { as: await mint('HS256', { claims: { sub: 'other@example.com' } }) });
      assert.equal(theirs.status, 201, theirs.text);
      assert.equal(theirs.json.sid, 'CA' + '2'.repeat(32));
      assert.equal(stub.requests.length, 2);

      // While the first request waits for Twilio, a repeat is refused with 409.
      stub.queue.push((req, res) => setTimeout(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify(twilioCall('CA' + '3'.repeat(32), 'queued')));
      }, 800));
      const slow = create(a, 'order-43', body);
      await waitFor(() => stub.requests.length === 3, 5000, 'the first request to reach Twilio');
      const busy = await create(b, 'order-43', body);
      assert.equal(busy.status, 409, busy.text);
      assert.equal(busy.json.code, 'idempotency_key_in_use');
      assert.equal((await slow).status, 201);
      assert.equal((await create(b, 'order-43', body)).json.sid, 'CA' + '3'.repeat(32));

      // A Twilio failure may still have placed the call: it is kept, and a repeat gets the
      // same 502 instead of a second call.
      stub.reply(500, twilioError(500, 20500, 'Internal Server Error'));
      const failed = await create(a, 'order-44', body);
      assert.equal(failed.status, 502, failed.text);
      const failedAgain = await create(b, 'order-44', body);
      assert.equal(failedAgain.status, 502);
      assert.equal(failedAgain.headers.get('idempotent-replayed'), 'true');
      assert.equal(stub.requests.length, 4);

      // A purchase takes a key too.
      stub.reply(201, { sid: 'PN' + 'f'.repeat(32), phone_number: '+14155550177' });
      const buy = { phone_number: '+14155550177' };
      const bought = await create(a, 'buy-1', buy, { path: '/api/phone/numbers/purchase' });
      assert.equal(bought.status, 201, bought.text);
      assert.equal((await create(b, 'buy-1', buy, { path: '/api/phone/numbers/purchase' })).text, bought.text);
      assert.equal(stub.requests.length, 5);

      // Against Twilio's spec (Prism): the create it validated is replayed, not sent again.
      const viaPrism = await create(main, 'prism-1', body);
      assert.equal(viaPrism.status, 201, viaPrism.text);
      const replayed = await create(main, 'prism-1', body);
      assert.equal(replayed.text, viaPrism.text);
      assert.equal(replayed.headers.get('idempotent-replayed'), 'true');

      for (const key of ['', 'a b', 'x'.repeat(256), 'é']) {
        const bad = await create(a, key, body);
        assert.equal(bad.status, 400, `${JSON.stringify(key)}: ${bad.text}`);
        assert.match(bad.json.message, /^Idempotency-Key must be 1 to 255 visible ASCII characters/);
      }
      assert.equal(stub.requests.length, 5, 'nothing invalid reaches Twilio');
      const metrics = await scrape(a);
      assert.ok(metrics['switchboard_idempotency_requests_total{outcome="replayed"}'] >= 1);
      assert.ok(metrics['switchboard_idempotency_requests_total{outcome="invalid"}'] >= 4);
    } finally {
      await stopServer(a);
      if (b !== a) {
        await stopServer(b);
      }
    }
  });
});

describe('the call log', () => {
  test('history pages newest first by cursor and filters by status and direction', async () => {
    const token = await mint('HS256');
    const server = await startServer({ env: phoneEnv(prism.url) });
    try {
      const sids = [];
      for (let i = 0; i < 7; ++i) {
        const sid = 'CA' + createHash('md5').update(String(i)).digest('hex');
        sids.push(sid);
        const status = i % 2 ? 'completed' : 'ringing';
        const params = {
          AccountSid: ACCOUNT_SID, CallSid: sid, CallStatus: status, SequenceNumber: '0', From: '+14155550001',
          To: SENDER, Direction: i < 4 ? 'inbound' : 'outbound-api',
        };
        if (status === 'completed') {
          params.CallDuration = String(30 * i);
        }
        const r = await signedPost(server, '/api/voice/status', params, { url: `${PUBLIC_URL}/api/voice/status` });
        assert.equal(r.status, 204);
        await sleep(3);
      }
      const seen = [];
      let cursor = '';
      for (let pages = 0; pages < 10; ++pages) {
        const r = await api(server, 'GET', `/api/phone/calls/history?limit=3${cursor}`, { token });
        assert.equal(r.status, 200);
        seen.push(...r.json.calls.map((c) => c.sid));
        if (!r.json.next_cursor) {
          break;
        }
        cursor = `&cursor=${encodeURIComponent(r.json.next_cursor)}`;
      }
      assert.deepEqual(seen, [...sids].reverse(), 'every call once, newest first');
      const completed = await api(server, 'GET', '/api/phone/calls/history?status=completed', { token });
      assert.deepEqual(completed.json.calls.map((c) => c.sid).sort(), [sids[1], sids[3], sids[5]].sort());
      const outbound = await api(server, 'GET', '/api/phone/calls/history?direction=outbound', { token });
      assert.deepEqual(outbound.json.calls.map((c) => c.sid).sort(), sids.slice(4).sort());

      const stats = await api(server, 'GET', '/api/phone/stats', { token });
      assert.equal(stats.json.calls.total, 7);
      assert.deepEqual(stats.json.calls.by_status, { completed: 3, ringing: 4 });
      assert.deepEqual(stats.json.calls.by_direction, { inbound: 4, 'outbound-api': 3 });
      assert.equal(stats.json.calls.total_duration_seconds, 30 + 90 + 150);
      assert.equal(stats.json.calls.average_duration_seconds, 90);
      assert.equal(stats.json.calls.billed_minutes, 1 + 2 + 3);
      assert.equal(stats.json.estimated_cost.voice, '0.0510');
      assert.equal(stats.json.phone_numbers, 1, 'the sending number');
      assert.equal(stats.json.estimated_cost.total, '1.0510');
    } finally {
      await stopServer(server);
    }
  });
});

describe('the Samsaek webhooks (signed by the twilio library)', () => {
  test('call, SMS (with auto-reply) and status answer like Twilio expects', async () => {
    const server = await startServer({
      env: phoneEnv(prism.url, { SWITCHBOARD_PHONE_GREETING: 'Welcome to Samsaek & friends.',
        SWITCHBOARD_SMS_AUTO_REPLY: 'Thanks! We will call you back.' }),
    });
    try {
      const at = (p) => ({ url: `${PUBLIC_URL}${p}` });
      const callSid = 'CA' + randomBytes(16).toString('hex');
      const call = await signedPost(server, '/api/phone/webhook/call',
        { AccountSid: ACCOUNT_SID, CallSid: callSid, From: '+14155550001', To: SENDER, CallStatus: 'ringing' },
        at('/api/phone/webhook/call'));
      assert.equal(call.status, 200);
      conforms('POST', '/api/phone/webhook/call', 200, call.headers.get('content-type'), '');
      const say = new twilio.twiml.VoiceResponse();
      say.say({ voice: 'Polly.Joanna', language: 'en-US' }, 'Welcome to Samsaek & friends.');
      say.hangup();
      assert.equal(await call.text(), say.toString());

      const sms = await signedPost(server, '/api/phone/webhook/sms', {
        AccountSid: ACCOUNT_SID, MessageSid: 'SM' + randomBytes(16).toString('hex'), From: '+14155550001', To: SENDER,
        Body: 'call me', NumMedia: '0', SmsStatus: 'received',
      }, at('/api/phone/webhook/sms'));
      assert.equal(sms.status, 200);
      const reply = new twilio.twiml.MessagingResponse();
      reply.message('Thanks! We will call you back.');
      assert.equal(await sms.text(), reply.toString());

      const status = await signedPost(server, '/api/phone/webhook/status', {
        AccountSid: ACCOUNT_SID, MessageSid: 'SM' + randomBytes(16).toString('hex'), MessageStatus: 'delivered',
        From: SENDER, To: '+14155550001',
      }, at('/api/phone/webhook/status'));
      assert.equal(status.status, 204);
      const callStatus = await signedPost(server, '/api/phone/webhook/status', {
        AccountSid: ACCOUNT_SID, CallSid: callSid, CallStatus: 'completed', CallDuration: '61', SequenceNumber: '3',
      }, at('/api/phone/webhook/status'));
      assert.equal(callStatus.status, 204);
      const bad = await signedPost(server, '/api/phone/webhook/status', {
        AccountSid: ACCOUNT_SID, CallSid: 'CA-nope', CallStatus: 'completed',
      }, at('/api/phone/webhook/status'));
      assert.equal(bad.status, 400);
      conforms('POST', '/api/phone/webhook/status', 400, bad.headers.get('content-type'), await bad.text());

      const unsigned = await fetch(`${server.base}/api/phone/webhook/call`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'CallSid=CA1',
      });
      assert.equal(unsigned.status, 403);
      conforms('POST', '/api/phone/webhook/call', 403, unsigned.headers.get('content-type'), await unsigned.text());

      const token = await mint('HS256');
      const detail = await api(server, 'GET', `/api/phone/calls/${callSid}`, { token });
      assert.equal(detail.status, 200);
      assert.equal(detail.json.status, 'completed');
      assert.equal(detail.json.duration_seconds, 61);
      const stats = await api(server, 'GET', '/api/phone/stats', { token });
      assert.equal(stats.json.sms.received, 1);
    } finally {
      await stopServer(server);
    }
  });

  test('without a greeting the IVR menu answers', async () => {
    const r = await signedPost(main, '/api/phone/webhook/call',
      { AccountSid: ACCOUNT_SID, CallSid: 'CA' + randomBytes(16).toString('hex'), From: '+14155550001', To: SENDER },
      { url: `${PUBLIC_URL}/api/phone/webhook/call` });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /<Gather[^>]*action="\/api\/voice\/menu"/);
  });
});
