// TLS on the webhook listener: TLS 1.2+ only, certificate reloaded on SIGHUP without dropping
// the connections that are open.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { TOKEN, scrape, startServer, stopServer, twilio, waitFor } from './harness.mjs';

function makeCert(dir, name, cn) {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn},IP:127.0.0.1`],
  { stdio: 'ignore' });
  return { cert, key };
}

function connect(port, options = {}) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => resolve(sock));
    sock.once('error', reject);
  });
}

// One HTTP/1.1 request on an existing TLS socket (keep-alive), resolving to the raw response.
function requestOn(sock, pathAndQuery) {
  return new Promise((resolve) => {
    let data = '';
    const onData = (d) => {
      data += d.toString();
      const m = /Content-Length: (\d+)\r\n/i.exec(data);
      const end = data.indexOf('\r\n\r\n');
      if (m && end >= 0 && data.length >= end + 4 + Number(m[1])) {
        sock.off('data', onData);
        resolve(data);
      }
    };
    sock.on('data', onData);
    sock.write(`GET ${pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

describe('TLS listener', () => {
  let dir;
  let server;
  let first;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-tls-'));
    first = makeCert(dir, 'first', 'first.test');
    // The server reads fixed paths; a reload swaps the files behind them.
    renameSync(first.cert, path.join(dir, 'live.crt'));
    renameSync(first.key, path.join(dir, 'live.key'));
    server = await startServer({
      env: { SWITCHBOARD_TLS_CERT: path.join(dir, 'live.crt'), SWITCHBOARD_TLS_KEY: path.join(dir, 'live.key') },
    });
  });
  after(async () => {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves signed webhooks over HTTPS', async () => {
    const url = `https://127.0.0.1:${server.port}/api/voice/menu`;
    const params = { CallSid: 'CA1', Digits: '9' };
    const body = new URLSearchParams(params).toString();
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, params);
    const res = await new Promise((resolve, reject) => {
      const req = https.request(url, {
        method: 'POST', rejectUnauthorized: false,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature, 'Content-Length': body.length },
      }, (r) => {
        let data = '';
        r.on('data', (d) => { data += d; });
        r.on('end', () => resolve({ status: r.statusCode, data }));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res.status, 200);
    assert.match(res.data, /Thank you for calling Job Match\. Goodbye!/);
  });

  test('TLS 1.2 and 1.3 are accepted', async () => {
    for (const version of ['TLSv1.2', 'TLSv1.3']) {
      const sock = await connect(server.port, { minVersion: version, maxVersion: version });
      assert.equal(sock.getProtocol(), version);
      sock.destroy();
    }
  });

  test('TLS 1.1 is refused by the server', async () => {
    const before = await scrape(server);
    await assert.rejects(connect(server.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
    await waitFor(async () => {
      const after = await scrape(server);
      return after.switchboard_tls_handshake_failures_total > before.switchboard_tls_handshake_failures_total;
    }, 3000, 'the handshake failure metric');
  });

  test('SIGHUP reloads the certificate; open connections keep working', async () => {
    const old = await connect(server.port);
    assert.equal(old.getPeerCertificate().subject.CN, 'first.test');
    assert.match(await requestOn(old, '/api/voice/health'), /200 OK/);

    const second = makeCert(dir, 'second', 'second.test');
    renameSync(second.cert, path.join(dir, 'live.crt'));
    renameSync(second.key, path.join(dir, 'live.key'));
    server.child.kill('SIGHUP');
    await waitFor(() => server.logs.some((l) => l.msg === 'TLS certificate reloaded'), 3000, 'the reload log line');

    const fresh = await connect(server.port);
    assert.equal(fresh.getPeerCertificate().subject.CN, 'second.test');
    fresh.destroy();
    // The connection opened before the reload is still served.
    assert.match(await requestOn(old, '/api/voice/health'), /200 OK/);
    old.destroy();
  });

  test('a broken certificate on SIGHUP is refused and the old one stays live', async () => {
    writeFileSync(path.join(dir, 'live.crt'), 'not a certificate');
    server.child.kill('SIGHUP');
    await waitFor(() => server.logs.some((l) => l.msg.startsWith('TLS reload refused')), 3000, 'the refusal log line');
    const sock = await connect(server.port);
    assert.equal(sock.getPeerCertificate().subject.CN, 'second.test');
    sock.destroy();
    const m = await scrape(server);
    assert.equal(m.switchboard_tls_reload_failures_total, 1);
  });
});

test('a client that never completes the handshake is cut at the handshake deadline', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-tls-'));
  const { cert, key } = makeCert(dir, 'hs', 'hs.test');
  const server = await startServer({
    env: { SWITCHBOARD_TLS_CERT: cert, SWITCHBOARD_TLS_KEY: key, SWITCHBOARD_HANDSHAKE_TIMEOUT_SECONDS: '0.3' },
  });
  try {
    const started = Date.now();
    const closedAfter = await new Promise((resolve, reject) => {
      const sock = net.connect(server.port, '127.0.0.1');
      sock.on('close', () => resolve(Date.now() - started));
      sock.on('error', () => {});
      setTimeout(() => reject(new Error('not closed')), 5000);
    });
    assert.ok(closedAfter >= 250 && closedAfter < 3000, `closed after ${closedAfter} ms`);
    await waitFor(async () => (await scrape(server)).switchboard_tls_handshake_failures_total >= 1, 3000, 'the failure metric');
  } finally {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('startup fails clearly when the key does not match the certificate', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-tls-'));
  try {
    const a = makeCert(dir, 'a', 'a.test');
    const b = makeCert(dir, 'b', 'b.test');
    await assert.rejects(startServer({ env: { SWITCHBOARD_TLS_CERT: a.cert, SWITCHBOARD_TLS_KEY: b.key } }), /cannot load private key .*key values mismatch/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
