// Hostile input and long operation: every byte a client sends before its request is complete
// counts against a limit, connections are capped globally and per client, a silent connection
// is closed at its first-byte deadline, the request framing is strict, and 100-continue is
// answered only once the route accepted the headers. All against the real binary over sockets.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  rawExchange, scrape, signedPost, sleep, spawnServer, startServer, statusOf, stopServer, TOKEN, twilio, waitFor,
} from './harness.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The sanitizer builds keep freed memory in quarantine and shadow every byte: memory bounds are
// for the release build.
const SANITIZED = Boolean(process.env.ASAN_OPTIONS || process.env.TSAN_OPTIONS);
const CALL = `CA${'a'.repeat(32)}`;

function rssMiB(metrics) {
  return metrics.process_resident_memory_bytes / 2 ** 20;
}

// Opens a connection, sends `head`, then `pad` as fast as the socket takes it until the server
// closes the connection or `ms` pass. Resolves with what the server answered and when it closed.
function flood(port, head, pad, ms) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const started = Date.now();
    let data = '';
    let sent = 0;
    let done = false;
    const finish = (closed) => {
      if (done) {
        return;
      }
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ closed, afterMs: Date.now() - started, sent, data });
    };
    const timer = setTimeout(() => finish(false), ms);
    sock.on('data', (d) => {
      data += d.toString('latin1');
    });
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    const blob = Buffer.alloc(1 << 16, pad);
    const pump = () => {
      while (!done && sock.writable) {
        sent += blob.length;
        if (!sock.write(blob)) {
          sock.once('drain', pump);
          return;
        }
      }
    };
    sock.on('connect', () => {
      sock.write(head);
      pump();
    });
  });
}

// Opens `n` connections that send nothing; resolves once all are connected.
async function silentConnections(port, n, host = '127.0.0.1') {
  const socks = [];
  const batch = 500;
  for (let i = 0; i < n; i += batch) {
    const round = [];
    for (let j = i; j < Math.min(n, i + batch); ++j) {
      round.push(new Promise((resolve) => {
        const s = net.connect({ port, host });
        s.on('error', () => resolve(s));
        s.on('connect', () => resolve(s));
        s.on('close', () => {
          s.closedAt = Date.now();
        });
        socks.push(s);
      }));
    }
    await Promise.all(round);
  }
  return socks;
}

function closeAll(socks) {
  for (const s of socks) {
    s.destroy();
  }
}

const statusParams = (sid, seq = 1) => ({ CallSid: sid, CallStatus: 'ringing', SequenceNumber: String(seq) });

describe('request limits', () => {
  let server;
  before(async () => {
    server = await startServer({ env: { SWITCHBOARD_HEADER_LIMIT_BYTES: '8192' } });
  });
  after(async () => {
    await stopServer(server);
  });

  test('endless chunk extensions and trailers are cut at the header limit, and memory stays flat', async () => {
    const before = rssMiB(await scrape(server));
    const head = 'POST /api/voice/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
    const results = await Promise.all([
      flood(server.port, `${head}1;`, 'e', 5000), // a chunk extension that never ends
      flood(server.port, `${head}0\r\nX-Pad: `, 'p', 5000), // a trailer that never ends
      flood(server.port, `${head}1;`, 'e', 5000),
      flood(server.port, `${head}${'f'.repeat(4)}`, '0', 5000), // a chunk-size line of zeros
    ]);
    for (const r of results) {
      assert.ok(r.closed, `the connection was cut (sent ${r.sent} bytes in ${r.afterMs} ms)`);
      assert.ok(r.afterMs < 2000, `cut at once, not at the read deadline: ${r.afterMs} ms`);
      assert.ok(r.sent < 64 << 20, `the server stopped reading early: ${r.sent} bytes sent`);
      if (r.data) {
        assert.ok([400, 431].includes(statusOf(r.data)), r.data.slice(0, 80));
      }
    }
    const grown = rssMiB(await scrape(server)) - before;
    if (!SANITIZED) {
      assert.ok(grown < 32, `resident memory grew by ${grown.toFixed(1)} MiB`);
    }
    // Still serving.
    const res = await signedPost(server, '/api/voice/status', statusParams(`CA${'b'.repeat(32)}`));
    assert.equal(res.status, 204);
  });

  test('an over-long chunk line is answered 431 and the connection closed', async () => {
    const r = await rawExchange(server.port,
      `POST /api/voice/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;${'x'.repeat(9000)}`);
    assert.equal(statusOf(r.data), 431);
    assert.ok(r.closed);
  });

  test('a legitimate chunked body with extensions and a trailer still works', async () => {
    const body = new URLSearchParams(statusParams(`CA${'c'.repeat(32)}`)).toString();
    const url = `${server.base}/api/voice/status`;
    const sig = twilio.getExpectedTwilioSignature(TOKEN, url, Object.fromEntries(new URLSearchParams(body)));
    const half = Math.floor(body.length / 2);
    const chunk = (s) => `${s.length.toString(16)};ext=1\r\n${s}\r\n`;
    const r = await rawExchange(server.port,
      `POST /api/voice/status HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n`
      + `Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: ${sig}\r\n`
      + `Transfer-Encoding: chunked\r\n\r\n${chunk(body.slice(0, half))}${chunk(body.slice(half))}0\r\nX-T: 1\r\n\r\n`);
    assert.equal(statusOf(r.data), 204, r.data);
  });

  test('a Transfer-Encoding whose last coding is not chunked is 400 and closes (no desync)', async () => {
    for (const te of ['identity', 'gzip', 'chunked, identity']) {
      const r = await rawExchange(server.port,
        `GET /api/voice/health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${te}\r\n\r\n`
        + 'GET /api/voice/health HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal(statusOf(r.data), 400, `${te}: ${r.data}`);
      assert.equal(r.data.match(/^HTTP\/1\.1 /gm).length, 1, `${te}: one answer, the rest is not a request`);
      assert.ok(r.closed);
    }
  });

  test('an HTTP/1.1 request without Host is 400', async () => {
    const r = await rawExchange(server.port, 'GET /api/voice/health HTTP/1.1\r\n\r\n');
    assert.equal(statusOf(r.data), 400);
  });

  test('Expect: 100-continue is matched in any case, only for HTTP/1.1, and only after the headers pass', async () => {
    const sid = `CA${'d'.repeat(32)}`;
    const body = new URLSearchParams(statusParams(sid)).toString();
    const url = `${server.base}/api/voice/status`;
    const sig = twilio.getExpectedTwilioSignature(TOKEN, url, Object.fromEntries(new URLSearchParams(body)));
    const head = (extra, version = '1.1') => `POST /api/voice/status HTTP/${version}\r\nHost: 127.0.0.1:${server.port}\r\n`
      + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n${extra}\r\n`;
    // Signed: invited at once, then answered.
    let r = await rawExchange(server.port, head(`X-Twilio-Signature: ${sig}\r\nExpect: 100-Continue\r\n`), 500);
    assert.match(r.data, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    // No signature: the final answer, without inviting the body, and the connection closes.
    r = await rawExchange(server.port, head('Expect: 100-continue\r\n'), 1500);
    assert.equal(statusOf(r.data), 403, r.data);
    assert.doesNotMatch(r.data, /100 Continue/);
    assert.ok(r.closed);
    // An unknown route: 404 before the body.
    r = await rawExchange(server.port,
      `POST /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n`, 1500);
    assert.equal(statusOf(r.data), 404);
    // HTTP/1.0 clients never get the interim answer.
    r = await rawExchange(server.port, head(`X-Twilio-Signature: ${sig}\r\nExpect: 100-continue\r\n`, '1.0'), 500);
    assert.equal(r.data, '');
  });
});

describe('connection caps and deadlines', () => {
  test('a silent connection is closed at the first-byte deadline; a kept-alive one waits for the idle timeout',
    async () => {
      const server = await startServer({
        env: { SWITCHBOARD_FIRST_BYTE_TIMEOUT_SECONDS: '0.5', SWITCHBOARD_IDLE_TIMEOUT_SECONDS: '60' },
      });
      try {
        const [silent] = await silentConnections(server.port, 1);
        const kept = net.connect(server.port, '127.0.0.1');
        let answered = '';
        kept.on('data', (d) => {
          answered += d.toString();
        });
        await new Promise((resolve) => kept.on('connect', resolve));
        kept.write('GET /api/voice/health HTTP/1.1\r\nHost: a\r\n\r\n');
        const opened = Date.now();
        await waitFor(() => silent.closedAt, 3000, 'the silent connection to be closed');
        const after = silent.closedAt - opened;
        assert.ok(after >= 300 && after < 2500, `closed after ${after} ms`);
        await sleep(1000);
        assert.match(answered, /^HTTP\/1\.1 200/);
        assert.equal(kept.closedAt, undefined, 'the kept-alive connection is still open');
        kept.destroy();
      } finally {
        await stopServer(server);
      }
    });

  test('per client: silent connections beyond the cap make room for new ones; authenticated ones stay',
    async () => {
      const server = await startServer({ env: { SWITCHBOARD_MAX_CONNECTIONS_PER_CLIENT: '5' } });
      try {
        // An authenticated keep-alive connection (a validly signed request) is not counted.
        const agent = net.connect(server.port, '127.0.0.1');
        let agentData = '';
        agent.on('data', (d) => {
          agentData += d.toString();
        });
        await new Promise((resolve) => agent.on('connect', resolve));
        const body = new URLSearchParams(statusParams(`CA${'e'.repeat(32)}`)).toString();
        const sig = twilio.getExpectedTwilioSignature(TOKEN, `${server.base}/api/voice/status`,
          Object.fromEntries(new URLSearchParams(body)));
        agent.write(`POST /api/voice/status HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n`
          + `Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: ${sig}\r\n`
          + `Content-Length: ${body.length}\r\n\r\n${body}`);
        await waitFor(() => agentData.includes('204'), 3000, 'the signed request');

        const socks = await silentConnections(server.port, 40);
        await sleep(300);
        const m = await scrape(server);
        const open = m['switchboard_http_connections_open{listener="public"}'];
        assert.ok(open <= 5 + 1 + 1, `at most the cap plus the authenticated one: ${open}`);
        assert.ok(m['switchboard_http_connections_evicted_total{listener="public"}'] >= 34);
        assert.ok(socks.filter((s) => s.closedAt).length >= 34, 'the oldest silent ones were closed');
        assert.equal(agent.closedAt, undefined, 'the authenticated connection survives the flood');
        // A fresh signed webhook from the same address is answered promptly.
        const t0 = Date.now();
        const res = await signedPost(server, '/api/voice/status', statusParams(`CA${'f'.repeat(32)}`));
        assert.equal(res.status, 204);
        assert.ok(Date.now() - t0 < 1000);
        closeAll(socks);
        agent.destroy();
      } finally {
        await stopServer(server);
      }
    });

  test('global: at the cap new connections are closed at once and counted; the admin listener answers',
    async () => {
      const server = await startServer({
        env: { SWITCHBOARD_MAX_CONNECTIONS: '10', SWITCHBOARD_MAX_CONNECTIONS_PER_CLIENT: '0' },
      });
      try {
        const socks = await silentConnections(server.port, 25);
        await waitFor(async () => (await scrape(server))[
          'switchboard_http_connections_refused_total{listener="public",reason="global_cap"}'] >= 15, 3000,
        'refusals to be counted');
        const m = await scrape(server);
        assert.equal(m['switchboard_http_connections_open{listener="public"}'], 10);
        assert.equal(m['switchboard_http_connections_limit{listener="public"}'], 10);
        assert.equal(socks.filter((s) => s.closedAt).length, 15);
        assert.equal((await fetch(`${server.admin}/healthz`)).status, 200);
        closeAll(socks);
        // Room again once they are gone.
        await waitFor(async () => (await scrape(server))['switchboard_http_connections_open{listener="public"}'] === 0,
          3000, 'the connections to close');
        const res = await signedPost(server, '/api/voice/status', statusParams(`CA${'1'.repeat(32)}`));
        assert.equal(res.status, 204);
      } finally {
        await stopServer(server);
      }
    });

  test('10 000 idle connections with a soft open-file limit of 1024: webhooks and /healthz still answer',
    async () => {
      // This process needs descriptors for its own 10 000 sockets.
      const hard = Number(execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--raw',
        '--noheadings', '-o', 'HARD'], { encoding: 'utf8' }).trim()) || 1048576;
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${Math.min(hard, 65536)}:${hard}`]);
      const dataDir = mkdtempSync(path.join(tmpdir(), 'switchboard-fd-'));
      // The binary under a shell's usual limits (soft 1024, hard high), through prlimit.
      const server = await spawnServer({
        SWITCHBOARD_LISTEN: '127.0.0.1:0',
        SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
        SWITCHBOARD_DATA_DIR: dataDir,
        TWILIO_AUTH_TOKEN: TOKEN,
        SWITCHBOARD_MAX_CONNECTIONS_PER_CLIENT: '0', // hold all of them: the memory is the point
        SWITCHBOARD_FIRST_BYTE_TIMEOUT_SECONDS: '120',
      }, [], { wrap: ['prlimit', `--nofile=1024:${hard}`, '--'] });
      server.dataDir = dataDir;
      try {
        const limit = server.logs.find((l) => l.msg === 'open-file limit');
        assert.equal(limit.soft_at_start, 1024);
        assert.ok(limit.soft > 11000, `raised to ${limit.soft}`);
        const socks = await silentConnections(server.port, 10000);
        await waitFor(async () => (await scrape(server))['switchboard_http_connections_open{listener="public"}']
          >= 10000, 10000, '10 000 open connections');
        // The best of three fresh requests: what the server can do, not the noise of other
        // suites sharing the two cores.
        let took = Infinity;
        for (let i = 0; i < 3; ++i) {
          const t0 = performance.now();
          const res = await signedPost(server, '/api/voice/status', statusParams(CALL, i + 1),
            { headers: { Connection: 'close' } });
          took = Math.min(took, performance.now() - t0);
          assert.equal(res.status, 204);
        }
        if (!SANITIZED) {
          assert.ok(took < 100, `a fresh signed webhook took ${took.toFixed(1)} ms`);
        }
        assert.equal((await fetch(`${server.admin}/healthz`)).status, 200);
        const m = await scrape(server);
        if (!SANITIZED) {
          assert.ok(rssMiB(m) < 150, `resident memory ${rssMiB(m).toFixed(1)} MiB`);
        }
        closeAll(socks);
      } finally {
        await stopServer(server);
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
});
