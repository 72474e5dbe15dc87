// Twilio's REST API for the tests: Prism serving Twilio's official OpenAPI spec (answers
// validated against it), and a stub answering whatever Twilio error documents a test queues.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep } from './harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// Twilio's spec declares array form fields without `explode`, so Prism would refuse repeated
// keys (StatusCallbackEvent); declare them as Twilio sends them.
export function patchedTwilioSpec(dir) {
  const file = path.join(root, 'tests', 'node_modules', '@twilio-alpha', 'mcp', 'twilio-oai', 'spec', 'json',
    'twilio_api_v2010.json');
  const twilioSpec = JSON.parse(readFileSync(file, 'utf8'));
  for (const item of Object.values(twilioSpec.paths)) {
    for (const op of Object.values(item)) {
      const form = op?.requestBody?.content?.['application/x-www-form-urlencoded'];
      const props = form?.schema?.properties ?? {};
      const encoding = {};
      for (const [name, schema] of Object.entries(props)) {
        if (schema.type === 'array') {
          encoding[name] = { style: 'form', explode: true };
        }
      }
      if (Object.keys(encoding).length) {
        form.encoding = encoding;
      }
    }
  }
  const out = path.join(dir, 'twilio_api_v2010.json');
  writeFileSync(out, JSON.stringify(twilioSpec));
  return out;
}

export async function startPrism(dir) {
  const port = await freePort();
  const bin = path.join(root, 'tests', 'node_modules', '.bin', 'prism');
  const child = spawn(bin, ['mock', '-h', '127.0.0.1', '-p', String(port), patchedTwilioSpec(dir)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const requests = [];
  child.stdout.on('data', (c) => {
    log += c.toString();
  });
  child.stderr.on('data', (c) => {
    log += c.toString();
  });
  const deadline = Date.now() + 60000;
  while (!log.includes('Prism is listening')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`prism did not start: ${log.slice(-2000)}`);
    }
    await sleep(100);
  }
  return { child, url: `http://127.0.0.1:${port}`, log: () => log, requests };
}

// Answers each request with the next queued handler (else 500), recording what it received.
export async function startStub() {
  const stub = { requests: [], queue: [], hang: [] };
  stub.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      stub.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const next = stub.queue.shift();
      if (!next) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 20500, message: 'no answer queued in the test stub', status: 500 }));
        return;
      }
      next(req, res, body);
    });
  });
  await new Promise((resolve) => stub.server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${stub.server.address().port}`;
  stub.reply = (status, doc, headers = {}) => stub.queue.push((req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(doc));
  });
  stub.silence = () => stub.queue.push((req, res) => stub.hang.push(res));
  stub.reset = () => {
    stub.requests.length = 0;
    stub.queue.length = 0;
  };
  return stub;
}

// A Twilio REST error document.
export const twilioError = (status, code, message) => ({
  code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status,
});
