// Metrics: the exposition passes promtool, and a real Prometheus scrapes the admin listener.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, signedPost, startServer, stopServer, waitFor } from './harness.mjs';


describe('metrics', () => {
  let server;
  before(async () => {
    server = await startServer();
    // Traffic on every kind of series before checking the exposition.
    const call = { CallSid: 'CA1', From: '+14155551212', To: '+18005550100' };
    await signedPost(server, '/api/voice/menu', { ...call, Digits: '1' });
    await signedPost(server, '/api/voice/status', { ...call, CallStatus: 'completed', CallDuration: '3' });
    await signedPost(server, '/api/voice/menu', { CallSid: 'CA1', Digits: '1' }, { token: 'wrong' });
    await fetch(`${server.base}/nope`);
  });
  after(async () => {
    await stopServer(server);
  });

  test('/metrics passes promtool check metrics, with the expected families', async () => {
    const res = await fetch(`${server.admin}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(out.trim(), '', `promtool complained: ${out}`);
    for (const family of [
      'switchboard_http_requests_total', 'switchboard_http_request_duration_seconds_bucket',
      'switchboard_http_requests_in_flight', 'switchboard_http_connections_open',
      'switchboard_tls_handshake_failures_total', 'switchboard_twilio_signature_failures_total',
      'switchboard_ivr_menu_selections_total', 'switchboard_call_status_callbacks_total',
      'switchboard_rate_limited_requests_total', 'switchboard_build_info', 'switchboard_ready',
      'process_resident_memory_bytes', 'process_cpu_seconds_total', 'process_open_fds',
      'process_start_time_seconds',
    ]) {
      assert.match(text, new RegExp(`^${family}`, 'm'), `${family} missing`);
    }
    // No unbounded label values: no SIDs or phone numbers in any label.
    assert.doesNotMatch(text, /CA1|\+1\d{6}/);
    const start = Number(/^process_start_time_seconds (\S+)$/m.exec(text)[1]);
    assert.ok(Math.abs(start - Date.now() / 1000) < 120, `process_start_time_seconds ${start} is not now`);
  });

  test('a real Prometheus scrapes the admin listener and sees the target up', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-prom-'));
    const promPort = await freePort();
    writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: switchboard',
      '    static_configs:', `      - targets: ['127.0.0.1:${server.adminPort}']`, '',
    ].join('\n'));
    const prom = spawn('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], { stdio: 'ignore' });
    try {
      const api = `http://127.0.0.1:${promPort}/api/v1`;
      const target = await waitFor(async () => {
        try {
          const body = await (await fetch(`${api}/targets`)).json();
          return body.data.activeTargets.find((t) => t.health === 'up');
        } catch {
          return undefined;
        }
      }, 30000, 'Prometheus to report the target up');
      assert.equal(target.labels.job, 'switchboard');
      const series = await waitFor(async () => {
        const body = await (await fetch(`${api}/query?query=${encodeURIComponent('switchboard_build_info')}`)).json();
        return body.data.result.length > 0 ? body.data.result : undefined;
      }, 15000, 'a switchboard series');
      assert.equal(series[0].value[1], '1');
      const selections = await (await fetch(`${api}/query?query=${encodeURIComponent('switchboard_ivr_menu_selections_total{menu="welcome",choice="1"}')}`)).json();
      assert.equal(selections.data.result[0].value[1], '1');
    } finally {
      prom.kill('SIGTERM');
      await new Promise((resolve) => prom.on('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
