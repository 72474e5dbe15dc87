// Every delivery signed by Switchboard must verify with the npm `standardwebhooks` library, and
// the same delivery with its body, id or timestamp changed must not.
// usage: node verify_webhook_cases.mjs CASES.json
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let passed = 0;
let failed = 0;
function check(ok, what, c) {
  if (ok) {
    passed += 1;
  } else {
    failed += 1;
    console.error(`FAIL ${what}: ${JSON.stringify(c)}`);
  }
}
function verifies(wh, body, headers) {
  try {
    wh.verify(body, headers);
    return true;
  } catch {
    return false;
  }
}
for (const c of cases) {
  const wh = new Webhook(c.secret);
  const headers = { 'webhook-id': c.id, 'webhook-timestamp': String(c.timestamp), 'webhook-signature': c.signature };
  check(verifies(wh, c.body, headers), 'valid delivery refused', c);
  check(!verifies(wh, `${c.body} `, headers), 'tampered body accepted', c);
  check(!verifies(wh, c.body, { ...headers, 'webhook-id': `${c.id}x` }), 'other id accepted', c);
  check(!verifies(wh, c.body, { ...headers, 'webhook-timestamp': String(c.timestamp - 1) }), 'other timestamp accepted', c);
}
console.log(`standardwebhooks verification of ${cases.length} deliveries`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
