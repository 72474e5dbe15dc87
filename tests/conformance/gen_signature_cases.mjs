// Generates fresh X-Twilio-Signature cases with the official twilio helper library: random URLs
// (ports, query strings, characters URL normalisation rewrites), random form bodies (unicode,
// empty values, repeated names, '+' and '%' encodings) and JSON bodies with bodySHA256, each
// signed over one of the URL forms Twilio may use and sometimes tampered with. The expected
// verdict is twilio.validateRequest's (or validateRequestWithBody's).
//
// usage: node gen_signature_cases.mjs OUT.json [COUNT]   (SIGNATURE_SEED=n to replay a run)
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import querystring from 'node:querystring';
import twilio from 'twilio';

const out = process.argv[2];
const count = Number(process.argv[3] ?? 600);
if (!out) {
  console.error('usage: node gen_signature_cases.mjs OUT.json [COUNT]');
  process.exit(2);
}

let seed = Number(process.env.SIGNATURE_SEED ?? (Date.now() % 2147483647));
console.log(`signature cases: seed ${seed} (SIGNATURE_SEED=${seed} replays this run)`);
function random() {
  // Park–Miller: small, deterministic, good enough for test data.
  seed = (seed * 48271) % 2147483647;
  return seed / 2147483647;
}
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const chance = (p) => random() < p;
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

const ALPHABET = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ' ', '+', '%', '&', '=', '-', '_', '.', '~', '!', '*', "'", '(', ')', '/', '?', '#', ':', '@', ',', ';', '"', '<', '>',
  'é', 'ñ', 'ü', '✓', '€', '中', '文', '😀', '𝄞', '\uE000', '\uFFFD', '\t', '\n',
];
const NAMES = ['CallSid', 'AccountSid', 'From', 'To', 'Digits', 'CallStatus', 'Body', 'a', 'B', 'a.b', 'aB', 'a_b', 'b',
  'MediaUrl0', 'StatusCallbackEvent', 'Caller', '1', '10', '01', 'ÄÖ', 'é', 'z', 'Z', '_', 'x y', 'a+b', 'k%25'];

function randomText(max) {
  let s = '';
  const n = int(0, max);
  for (let i = 0; i < n; i++) {
    s += pick(ALPHABET);
  }
  return s;
}

// Percent-encodes for a form body, choosing between the encodings real clients use.
function encodeComponent(s) {
  const style = pick(['uri', 'form', 'lower']);
  if (style === 'form') {
    return new URLSearchParams([['', s]]).toString().slice(1);
  }
  const enc = encodeURIComponent(s);
  return style === 'lower' ? enc.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()) : enc;
}

const PATH_CHARS = [...'abcxyz019-._~', "'", '{', '}', '|', '^', '`', '"', '%41', '%2e', '%2F', '!', '$', '(', ')', '*', ',', ';', '=', ':', '@'];
function randomUrl() {
  const scheme = pick(['https', 'http', 'HTTPS']);
  const host = pick(['example.com', 'Example.COM', 'hooks.example.org', 'localhost', '127.0.0.1']);
  const port = pick(['', '', '', ':443', ':80', ':8443', ':3000', ':0443']);
  const segments = [];
  for (let i = int(1, 4); i > 0; i--) {
    let seg = '';
    for (let j = int(0, 6); j > 0; j--) {
      seg += pick(PATH_CHARS);
    }
    segments.push(chance(0.15) ? pick(['.', '..', '%2e', '%2E%2e', '.b', 'b.', '..b', '.$']) : seg);
  }
  let url = `${scheme}://${host}${port}/${segments.join('/')}`;
  if (chance(0.6)) {
    const pairs = [];
    for (let i = int(1, 4); i > 0; i--) {
      const key = pick(['tenant', 'a', 'b', 'x', '1', 'q', 'attempt']);
      const value = pick(['1', 'a b', 'a+b', 'a%20b', "it's", '%27', '"q"', '<x>', '{}', 'é', '%C3%A9', '%zz', '', '%', 'x=y']);
      pairs.push(chance(0.1) ? key : `${key}=${value}`);
    }
    url += `?${pairs.join('&')}`;
  }
  return url;
}

function urlVariants(url) {
  const variants = [url];
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/i.exec(url);
  if (m) {
    const hostOnly = m[2].replace(/:\d*$/, '');
    variants.push(m[1] + hostOnly + m[3]);
    if (!/:\d*$/.test(m[2])) {
      variants.push(m[1] + m[2] + (m[1].toLowerCase() === 'https://' ? ':443' : ':80') + m[3]);
    }
  }
  try {
    variants.push(new URL(url).toString());
  } catch {
    // not parseable by WHATWG: only the raw forms
  }
  return variants;
}

function verdict(fn) {
  try {
    return fn();
  } catch {
    return false; // the helper library throws on URLs it cannot parse: not valid
  }
}

const TOKENS = ['12345', 'a'.repeat(32), '0123456789abcdef0123456789abcdef', 'tøken'];
const cases = [];
for (let i = 0; i < count; i++) {
  const token = pick(TOKENS);
  const kind = pick(['form', 'form', 'form', 'get', 'json']);
  let url = randomUrl();
  let body = '';
  let params = {};
  if (kind === 'form') {
    const pieces = [];
    for (let n = int(0, 8); n > 0; n--) {
      const name = chance(0.85) ? pick(NAMES) : randomText(4);
      const values = chance(0.15) ? [randomText(5), randomText(5), pick(['1', '2'])] : [randomText(12)];
      for (const v of values) {
        pieces.push(chance(0.05) ? encodeComponent(name) : `${encodeComponent(name)}=${encodeComponent(v)}`);
      }
    }
    if (chance(0.05)) {
      pieces.push('', 'bad=%E0%A4', 'bare%zz=x');
    }
    body = pieces.join('&');
    params = querystring.parse(body); // what express.urlencoded({extended: false}) hands the library
  } else if (kind === 'json') {
    body = JSON.stringify({ text: randomText(20), n: int(0, 1000) });
    url += `${url.includes('?') ? '&' : '?'}bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
  }

  // Twilio connection overrides (#ct=…&rc=…) on the configured URL: Twilio does not send the
  // fragment and signs the URL without it; sometimes the validator is handed the configured URL
  // with its fragment, or the signer kept it.
  let fragment = '';
  if (kind !== 'json' && chance(0.25)) {
    fragment = '#' + pick(['rc=2', 'ct=2000&rc=3&rp=ct,rt,5xx', 'rt=5000&rc=2&rp=ct,rt,5xx', 'e=frankfurt&sni=y', 'tt=15000']);
  }
  const fragmentMode = fragment ? pick(['stripped', 'stripped', 'received', 'signed']) : 'none';
  if (fragmentMode === 'received') {
    url += fragment; // the validator sees it and so does the signer
  }
  let signedUrl = pick(urlVariants(url));
  if (fragmentMode === 'signed') {
    signedUrl += fragment; // signed with the fragment, received without: refused
  }
  const signedParams = kind === 'form' ? params : {};
  let signature = twilio.getExpectedTwilioSignature(token, signedUrl, signedParams);
  const tamper = pick(['none', 'none', 'none', 'signature', 'token', 'body', 'url', 'port']);
  let sentBody = body;
  let sentUrl = url;
  if (tamper === 'signature') {
    const c = signature[int(0, signature.length - 2)];
    signature = signature.replace(c, c === 'A' ? 'B' : 'A');
  } else if (tamper === 'token') {
    signature = twilio.getExpectedTwilioSignature(token + 'x', signedUrl, signedParams);
  } else if (tamper === 'body') {
    sentBody = kind === 'json' ? body.replace('"n":', '"n" :') : `${body}${body ? '&' : ''}Extra=1`;
  } else if (tamper === 'port') {
    // Signed for another port than the one the request names.
    signature = twilio.getExpectedTwilioSignature(token, signedUrl.replace(/^([a-z]+:\/\/[^/?#:]*)(:\d*)?/i, '$1:9999'), signedParams);
  } else if (tamper === 'url') {
    sentUrl = url.replace(/\/([^/]*)$/, '/x$1');
  }
  const sentParams = kind === 'form' ? querystring.parse(sentBody) : {};
  const expected = kind === 'json'
    ? verdict(() => twilio.validateRequestWithBody(token, signature, sentUrl, sentBody))
    : verdict(() => twilio.validateRequest(token, signature, sentUrl, sentParams));
  cases.push({ token, url: sentUrl, signature, kind, body: sentBody, tamper, fragment: fragmentMode, expected });
}

writeFileSync(out, JSON.stringify({ seed, cases }, null, 1));
const valid = cases.filter((c) => c.expected).length;
console.log(`signature cases: ${cases.length} written to ${out} (${valid} valid, ${cases.length - valid} invalid)`);
