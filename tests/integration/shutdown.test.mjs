// Graceful shutdown: SIGTERM turns readiness off, stops accepting, closes idle keep-alive
// connections, lets in-flight requests finish (bounded by the drain timeout), then exits 0.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { TOKEN, sendStop, sleep, startServer, stopServer, twilio, waitFor } from './harness.mjs';

function open(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
    sock.once('error', reject);
  });
}

function collect(sock) {
  const state = { data: '', ended: false };
  sock.on('data', (d) => { state.data += d.toString(); });
  sock.on('end', () => { state.ended = true; });
  sock.on('close', () => { state.ended = true; });
  sock.on('error', () => { state.ended = true; });
  return state;
}

test('SIGTERM during a slow request lets it finish, closes idle connections, exits 0', async () => {
  const server = await startServer({ env: { SWITCHBOARD_DRAIN_TIMEOUT_SECONDS: '10' } });
  // An idle keep-alive connection that has already been served once.
  const idle = await open(server.port);
  const idleState = collect(idle);
  idle.write('GET /api/voice/health HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => idleState.data.includes('200 OK'), 3000, 'the first response');

  // A request whose body is still arriving when SIGTERM comes.
  const params = { CallSid: 'CA' + '1'.repeat(32), Digits: '2' };
  const body = new URLSearchParams(params).toString();
  const signature = twilio.getExpectedTwilioSignature(TOKEN, `http://127.0.0.1:${server.port}/api/voice/menu`, params);
  const slow = await open(server.port);
  const slowState = collect(slow);
  slow.write(`POST /api/voice/menu HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Twilio-Signature: ${signature}\r\n`
    + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
  await sleep(100);

  sendStop(server, 'SIGTERM');
  await waitFor(() => idleState.ended, 3000, 'the idle connection to be closed');
  const ready = await fetch(`${server.admin}/readyz`);
  assert.equal(ready.status, 503, 'readiness must be false while draining');
  await assert.rejects(open(server.port), /ECONNREFUSED/, 'the listener must stop accepting');

  await sleep(300);
  slow.write(body.slice(10));
  await waitFor(() => slowState.ended, 5000, 'the slow response');
  assert.match(slowState.data, /^HTTP\/1\.1 200 OK/);
  assert.match(slowState.data, /Connection: close/i);
  assert.match(slowState.data, /Our AI assistant is available/);

  const { code } = await stopServer(server);
  assert.equal(code, 0);
  const drained = server.logs.find((l) => l.msg === 'drained');
  assert.equal(drained.connections_cut, 0);
});

test('a request that outlives the drain timeout is cut, and the process still exits 0', async () => {
  const server = await startServer({ env: { SWITCHBOARD_DRAIN_TIMEOUT_SECONDS: '0.5' } });
  const stuck = await open(server.port);
  collect(stuck);
  stuck.write('POST /api/voice/menu HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
  await sleep(100);
  const started = Date.now();
  sendStop(server, 'SIGTERM');
  const { code } = await stopServer(server);
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 5000, 'drain must be bounded by its timeout');
  assert.equal(server.logs.find((l) => l.msg === 'drained').connections_cut, 1);
  stuck.destroy();
});

test('SIGINT drains too', async () => {
  const server = await startServer();
  sendStop(server, 'SIGINT');
  const { code } = await server.exited;
  assert.equal(code, 0);
  assert.ok(server.logs.some((l) => l.msg === 'draining' && l.signal === 'SIGINT'));
  await stopServer(server);
});

test('without an auth token the service refuses to start (fail closed)', async () => {
  await assert.rejects(startServer({ env: { TWILIO_AUTH_TOKEN: '' } }), /TWILIO_AUTH_TOKEN: required/);
});

test('invalid configuration: one clear message per bad key, exit 2', async () => {
  const err = await startServer({
    env: { SWITCHBOARD_THREADS: 'many', SWITCHBOARD_LISTEN: 'nowhere', SWITCHBOARD_TRUSTED_PROXIES: '10.0.0.0/99', SWITCHBOARD_TYPO: '1' },
  }).catch((e) => e);
  assert.ok(err instanceof Error);
  for (const name of ['SWITCHBOARD_THREADS', 'SWITCHBOARD_LISTEN', 'SWITCHBOARD_TRUSTED_PROXIES', 'SWITCHBOARD_TYPO']) {
    assert.match(err.message, new RegExp(`${name}: `));
  }
});
