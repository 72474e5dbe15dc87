// IVR menus as data against the real binary: every action's TwiML equals what the official
// `twilio` VoiceResponse builds, whole calls played by `switchboard simulate` (events to a
// subscriber, the SMS follow-up against Prism and a Twilio error), `menu check`/`menu graph`,
// and hot reload (SIGHUP, file watch, a reload storm under load never yields a mixed document).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { BIN, TOKEN, scrape, signedPost, sleep, startServer, stopServer, twilio, waitFor } from './harness.mjs';
import { startPrism, startStub, twilioError } from './twilio_peer.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const EX = JSON.parse(readFileSync(path.join(root, 'deploy', 'menus', 'lines.example.json'), 'utf8'));
const JOBMATCH = '+18005550100';
const SAMSAEK = '+18005550199';
const LAB = '+18005550177';
const CALLER = '+14155551212';
const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
const J = { voice: 'Polly.Joanna' };
const HOSTILE = `<b>"Tom" & 'Jerry'</b> é 한국어`;
const CHIME = 'https://cdn.example.com/chime.mp3?v=1&x=2';
// For the binary's CLI modes, as the harness passes it to servers.
const CLI_ENV = { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? '',
  UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? '', TSAN_OPTIONS: process.env.TSAN_OPTIONS ?? '' };

let dir;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-ivr-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------------------------

const act = (menu, i) => EX.menus[menu].options[i].action;

// The example with the Samsaek line always open (or always closed): no clock in the tests.
// `lab` adds a line for what the example does not use: play, pause, loop, speech-only input,
// redirect, reject, an sms followed by a menu, and words that need XML escaping.
function sample({ open = true, lab = false } = {}) {
  const d = structuredClone(EX);
  const always = Object.fromEntries(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].map((day) => [day, ['00:00-24:00']]));
  Object.assign(d.lines.samsaek.hours, { weekly: open ? always : {}, holidays: [] });
  if (lab) {
    d.lines.lab = { numbers: [LAB], menu: 'lab' };
    d.menus.lab = {
      prompt: [{ play: CHIME, loop: 2 }, { pause: 2 }, { say: HOSTILE, voice: 'Polly.Seoyeon', language: 'ko-KR', loop: 3 }],
      input: 'speech',
      timeout: 7,
      speech: { hints: ['Tom & Jerry', '<b>"quoted"</b>', '한국어'], language: 'ko-KR', timeout: 3 },
      options: [
        { keywords: ['forward'], action: { type: 'redirect', url: 'https://other.example.com/twiml?a=1&b=2' } },
        { keywords: ['fetch'], action: { type: 'redirect', url: '/api/voice/incoming', method: 'GET' } },
        { keywords: ['busy'], action: { type: 'reject', reason: 'busy' } },
        { keywords: ['go away'], action: { type: 'reject' } },
        { keywords: ['keys'], label: 'keypad', action: { type: 'menu', menu: 'lab_keys', say: 'Keys & more.' } },
      ],
      retries: 0,
      give_up: { type: 'hangup', say: { say: HOSTILE, voice: 'alice', language: 'en-GB' } },
    };
    d.menus.lab_keys = { prompt: 'Enter your code, then press star.', num_digits: 4, finish_on_key: '*', options: [
      { digits: '1234', action: { type: 'sms', body: 'Code & link', say: 'Sent.', failed: 'Not sent.', then: { type: 'menu', menu: 'lab' } } },
      { digits: '0', action: { type: 'back' } }] };
  }
  return d;
}

// A one-line definition whose words all carry `word`: the reload tests tell definitions apart by it.
function small(word, { sub = true } = {}) {
  const start = { prompt: `Welcome ${word}. Press 1 or 2.`, num_digits: 1, timeout: 5, options: [
    { digits: '1', action: sub ? { type: 'menu', menu: 'sub' } : { type: 'hangup' } },
    { digits: '2', action: { type: 'hangup', say: `Bye ${word}.` } }] };
  const menus = sub ? { start, sub: { prompt: `Sub ${word}.`, options: [
    { digits: '1', action: { type: 'hangup', say: `Sub bye ${word}.` } }] } } : { start };
  return { version: 1, voice: 'Polly.Joanna', lines: { main: { default: true, menu: 'start' } }, menus };
}

// Written whole (rename), so a reload never reads half a file.
function writeDef(file, def) {
  writeFileSync(`${file}.tmp`, typeof def === 'string' ? def : JSON.stringify(def, null, 2));
  renameSync(`${file}.tmp`, file);
  return file;
}

// ---------------------------------------------------------------------------------------------
// Expected TwiML, built with VoiceResponse
// ---------------------------------------------------------------------------------------------

function twiml(build) {
  const r = new twilio.twiml.VoiceResponse();
  build(r);
  return r.toString();
}

// Words, then `next` (default: hang up).
const sayThen = (words, next = (r) => r.hangup(), voice = J) => (r) => {
  r.say(voice, words);
  next(r);
};

function gather(r, attrs, prompt) {
  prompt(r.gather(attrs));
  r.redirect({ method: 'POST' }, attrs.action);
}

function samsaekMain(r, action, { reprompt = false } = {}) {
  gather(r, { input: 'dtmf speech', numDigits: 1, action, method: 'POST', timeout: 6, speechTimeout: 'auto',
    hints: 'sales, support, message', language: 'en-US' }, (g) => {
    if (reprompt) {
      g.say(J, EX.menus.samsaek_main.reprompt);
      return;
    }
    g.say({ voice: 'Polly.Matthew' }, 'Welcome to Samsaek.');
    g.pause({ length: 1 });
    g.say(J, EX.menus.samsaek_main.prompt[2]);
  });
}

const sales = (r, action) => gather(r, { numDigits: 1, action, method: 'POST', timeout: 8 }, (g) => g.say(J, EX.menus.sales.prompt));

function lab(r, action) {
  gather(r, { input: 'speech', action, method: 'POST', timeout: 7, speechTimeout: '3',
    hints: 'Tom & Jerry, <b>"quoted"</b>, 한국어', language: 'ko-KR' }, (g) => {
    g.play({ loop: 2 }, CHIME);
    g.pause({ length: 2 });
    g.say({ voice: 'Polly.Seoyeon', language: 'ko-KR', loop: 3 }, HOSTILE);
  });
}

const smallStart = (d) => twiml((r) => gather(r, { numDigits: 1, action: '/api/voice/menu', method: 'POST', timeout: 5 },
  (g) => g.say(J, d.menus.start.prompt)));
const sayBye = (words) => twiml(sayThen(words));

// ---------------------------------------------------------------------------------------------
// Talking to the service
// ---------------------------------------------------------------------------------------------

async function webhook(server, pathAndQuery, to, extra = {}) {
  const res = await signedPost(server, pathAndQuery, {
    AccountSid: ACCOUNT_SID, CallSid: 'CA' + '0123456789abcdef'.repeat(2), From: CALLER, To: to,
    CallStatus: 'in-progress', Direction: 'inbound', ApiVersion: '2010-04-01', ...extra,
  });
  return { status: res.status, body: await res.text() };
}

// How each of `keys` changed since `before` (a scrape).
async function changes(server, before, keys) {
  const now = await scrape(server);
  return keys.map((k) => (now[k] ?? 0) - (before[k] ?? 0));
}

const count = (server, prefix) => server.logs.filter((l) => l.msg?.startsWith(prefix)).length;

// Sends SIGHUP and waits for the reload's verdict in the log.
async function reload(server) {
  const [ok, refused] = [count(server, 'menu definition live'), count(server, 'menu reload refused')];
  server.child.kill('SIGHUP');
  await waitFor(() => count(server, 'menu definition live') > ok || count(server, 'menu reload refused') > refused,
    5000, 'the reload');
}

// One call played by `switchboard simulate`; the transcript after its first line, as lines.
function simulate(server, to, inputs) {
  const sid = 'CA' + randomBytes(16).toString('hex');
  const child = spawn(BIN, ['simulate', '--url', server.base, '--token', TOKEN, '--from', CALLER, '--to', to,
    '--call-sid', sid, ...inputs.flatMap((i) => ['--input', i])], { env: CLI_ENV });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.shift(), `call ${sid} from ${CALLER} to ${to} at ${server.base}`);
    resolve({ code, stdout, stderr, lines, sid });
  }));
}

// Transcript lines.
const said = (words, voice = 'Polly.Joanna') => `  say (${voice}): ${words}`;
const hit = (p) => `POST ${p} -> 200`;
const welcomeHeard = (words = [EX.menus.welcome.prompt]) => [...words.map((w) => said(w)), '  gather: dtmf, 1 digit(s)'];
const mainHeard = [said('Welcome to Samsaek.', 'Polly.Matthew'), '  pause: 1 s', said(EX.menus.samsaek_main.prompt[2]),
  '  gather: dtmf speech, 1 digit(s), hints: sales, support, message'];
const ended = ['  hangup', 'call ended by the IVR'];

// A subscriber endpoint keeping the events whose Standard Webhooks signature verifies.
async function startReceiver() {
  const secret = 'whsec_' + randomBytes(32).toString('base64');
  const rx = { events: [], bad: 0 };
  rx.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      try {
        rx.events.push(new Webhook(secret).verify(body, req.headers));
      } catch {
        rx.bad++;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => rx.server.listen(0, '127.0.0.1', resolve));
  rx.config = [{ name: 'rx', url: `http://127.0.0.1:${rx.server.address().port}/hook`, secret, events: ['*'],
    timeout_seconds: 5, initial_delay_seconds: 0.05, max_delay_seconds: 0.2 }];
  return rx;
}

// ---------------------------------------------------------------------------------------------

describe('every action, as VoiceResponse builds it', () => {
  let server;
  before(async () => {
    server = await startServer({ env: { SWITCHBOARD_MENU_FILE: writeDef(path.join(dir, 'lab.json'), sample({ lab: true })) } });
  });
  after(() => stopServer(server));

  const M = '/api/voice/menu';
  const S = '/api/voice/menu?menu=sales&trail=samsaek_main';
  const DIAL = '/api/voice/dial?menu=samsaek_main&at=o1';
  const record = (words, action, maxLength) => sayThen(words,
    (r) => r.record({ action, method: 'POST', maxLength, playBeep: 'true', finishOnKey: '#' }));
  const dial = (words, action, number, extra = {}) => sayThen(words,
    (r) => r.dial({ action, method: 'POST', timeout: 20, ...extra }, number));
  const recording = { RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1', RecordingSid: 'RE1',
    RecordingDuration: '7' };
  // [what, path, To, parameters, expected]
  const steps = [
    ['incoming: the start menu (speech and keys)', '/api/voice/incoming', SAMSAEK, {}, (r) => samsaekMain(r, M)],
    ['menu: a submenu, the trail gains the menu', M, SAMSAEK, { Digits: '1' }, (r) => sales(r, S)],
    ['menu by a spoken keyword', M, SAMSAEK, { SpeechResult: 'I want to buy something', Confidence: '0.9' }, (r) => sales(r, S)],
    // Coming back to a state starts the next round: the same choice made again is a new event.
    ['repeat: its words, then the same menu (next round)', S, SAMSAEK, { Digits: '2' },
      sayThen(act('sales', 1).say, (r) => sales(r, `${S}&round=1`))],
    ['back: the previous menu (next round)', S, SAMSAEK, { Digits: '9' }, (r) => samsaekMain(r, `${M}?round=1`)],
    ['invalid: the invalid words, the prompt again (attempt 1)', S, SAMSAEK, { Digits: '5' },
      sayThen(EX.menus.sales.invalid, (r) => sales(r, `${S}&attempt=1`))],
    ['give up (back) after the retries', `${S}&attempt=1`, SAMSAEK, {},
      sayThen('Let us start again.', (r) => samsaekMain(r, `${M}?round=1`))],
    ['dial with caller id; the action URL addresses the option', M, SAMSAEK, { Digits: '2' },
      dial(act('samsaek_main', 1).say, DIAL, '+14155550111', { callerId: SAMSAEK })],
    ['dial completed: hang up', DIAL, SAMSAEK, { DialCallStatus: 'completed' }, (r) => r.hangup()],
    ['dial answered: hang up', DIAL, SAMSAEK, { DialCallStatus: 'answered' }, (r) => r.hangup()],
    ['dial no-answer: the voicemail fallback', DIAL, SAMSAEK, { DialCallStatus: 'no-answer' },
      record(act('samsaek_main', 1).no_answer.say, '/api/voice/recording?menu=samsaek_main&at=o1.n', 120)],
    ['recording done: the after words, hang up', '/api/voice/recording?menu=samsaek_main&at=o1.n', SAMSAEK, recording,
      sayThen(act('samsaek_main', 1).no_answer.after)],
    ['voicemail', M, SAMSAEK, { Digits: '0' }, record(act('samsaek_main', 3).say, '/api/voice/recording?menu=samsaek_main&at=o3', 180)],
    ['sms without TWILIO_ACCOUNT_SID: the failed words', M, SAMSAEK, { Digits: '3' }, sayThen(act('samsaek_main', 2).failed)],
    ['no input: the no_input words and the reprompt', `${M}?attempt=1`, SAMSAEK, {},
      sayThen(EX.menus.samsaek_main.no_input, (r) => samsaekMain(r, `${M}?attempt=2`, { reprompt: true }))],
    ['give up (dial, no caller id) after the retries', `${M}?attempt=2`, SAMSAEK, { SpeechResult: 'gibberish' },
      dial('Let me connect you to a person.', '/api/voice/dial?menu=samsaek_main&at=g', '+14155550100')],
    ['the give-up dial busy: its no_answer', '/api/voice/dial?menu=samsaek_main&at=g', SAMSAEK, { DialCallStatus: 'busy' },
      sayThen(EX.menus.samsaek_main.give_up.no_answer.say)],
    ['a submenu dial carries menu and trail', S, SAMSAEK, { Digits: '1' },
      dial(act('sales', 0).say, '/api/voice/dial?menu=sales&trail=samsaek_main&at=o0', '+14155550100', { callerId: SAMSAEK })],
    ['another number: play, pause, loop, speech only, escaping', '/api/voice/incoming', LAB, {}, (r) => lab(r, M)],
    ['/api/phone/webhook/call runs the same IVR', '/api/phone/webhook/call', LAB, {}, (r) => lab(r, M)],
    ['redirect (POST)', M, LAB, { SpeechResult: 'Forward, please.' },
      (r) => r.redirect({ method: 'POST' }, 'https://other.example.com/twiml?a=1&b=2')],
    ['redirect (GET)', M, LAB, { SpeechResult: 'fetch' }, (r) => r.redirect({ method: 'GET' }, '/api/voice/incoming')],
    ['reject (busy)', M, LAB, { SpeechResult: 'I am BUSY' }, (r) => r.reject({ reason: 'busy' })],
    ['reject (rejected)', M, LAB, { SpeechResult: 'please go away!' }, (r) => r.reject({ reason: 'rejected' })],
    ['menu with words; finishOnKey', M, LAB, { SpeechResult: 'keys' }, sayThen('Keys & more.', (r) => gather(r,
      { numDigits: 4, finishOnKey: '*', action: '/api/voice/menu?menu=lab_keys&trail=lab', method: 'POST' },
      (g) => g.say(J, 'Enter your code, then press star.')))],
    ['sms failed, then a menu', '/api/voice/menu?menu=lab_keys&trail=lab', LAB, { Digits: '1234' },
      sayThen('Not sent.', (r) => lab(r, '/api/voice/menu?trail=lab.lab_keys'))],
    ['back to the start menu', '/api/voice/menu?menu=lab_keys&trail=lab', LAB, { Digits: '0' },
      (r) => lab(r, `${M}?round=1`)],
    ['keys on a speech-only menu match nothing: give up (hangup, escaped words)', M, LAB, { Digits: '1' },
      sayThen(HOSTILE, undefined, { voice: 'alice', language: 'en-GB' })],
  ];

  test('the walk: each answer is byte-identical to VoiceResponse', async () => {
    const before = await scrape(server);
    for (const [what, p, to, params, build] of steps) {
      const res = await webhook(server, p, to, params);
      assert.equal(res.status, 200, `${what}: ${res.body}`);
      assert.equal(res.body, twiml(build), what);
    }
    const actions = ['hangup', 'menu', 'back', 'repeat', 'dial', 'voicemail', 'sms', 'redirect', 'reject'];
    assert.deepEqual(await changes(server, before, [...actions.map((a) => `switchboard_ivr_actions_total{action="${a}"}`),
      'switchboard_ivr_sms_total{result="failed"}']), [5, 3, 3, 1, 3, 2, 2, 2, 2, 2]);
  });

  test('a choice counts for the menu it was made in, wherever its action leads', async () => {
    const before = await scrape(server);
    // A call of its own: the walk above made these choices already (a retry counts once).
    const CallSid = `CA${'5'.repeat(32)}`;
    await webhook(server, M, SAMSAEK, { Digits: '1', CallSid }); // into sales
    await webhook(server, S, SAMSAEK, { Digits: '9', CallSid }); // back from sales
    await webhook(server, M, LAB, { SpeechResult: 'keys', CallSid }); // into lab_keys
    await webhook(server, M, LAB, { SpeechResult: 'keys', CallSid }); // a retry: not counted again
    const key = (choice, menu) => `switchboard_ivr_menu_selections_total{choice="${choice}",menu="${menu}"}`;
    assert.deepEqual(await changes(server, before, [key('sales', 'samsaek_main'), key('back', 'sales'), key('keypad', 'lab'),
      key('sales', 'sales'), key('back', 'samsaek_main'), key('keypad', 'lab_keys')]), [1, 1, 1, 0, 0, 0]);
  });

  test('a recording without RecordingUrl is a 400', async () => {
    assert.equal((await webhook(server, '/api/voice/recording?menu=samsaek_main&at=o3', SAMSAEK)).status, 400);
  });
});

describe('calls played by switchboard simulate', () => {
  test('the built-in JobMatch line: invalid key, silence, then 1; 3; 9', async () => {
    const server = await startServer();
    try {
      const [walk, three, nine] = await Promise.all([
        simulate(server, JOBMATCH, ['5', '-', '1']), simulate(server, JOBMATCH, ['3']), simulate(server, JOBMATCH, ['9'])]);
      const w = EX.menus.welcome;
      assert.deepEqual(walk.lines, [
        hit('/api/voice/incoming'), ...welcomeHeard(), 'caller presses 5',
        hit('/api/voice/menu'), ...welcomeHeard([w.invalid, w.reprompt]), 'caller says nothing', '  redirect: /api/voice/menu?attempt=1',
        hit('/api/voice/menu?attempt=1'), ...welcomeHeard([w.no_input, w.reprompt]), 'caller presses 1',
        hit('/api/voice/menu?attempt=2'), said(w.options[0].action.say), ...ended,
      ]);
      assert.deepEqual([walk.code, walk.stderr], [0, '']);
      for (const [r, i] of [[three, 2], [nine, 3]]) {
        assert.deepEqual(r.lines, [hit('/api/voice/incoming'), ...welcomeHeard(), `caller presses ${w.options[i].digits}`,
          hit('/api/voice/menu'), said(w.options[i].action.say), ...ended]);
        assert.equal(r.code, 0);
      }
    } finally {
      await stopServer(server);
    }
  });

  describe('the Samsaek line', () => {
    let prism;
    let stub;
    let rx;
    let live; // SMS through Prism, events to rx
    let failing; // SMS refused by the stub
    before(async () => {
      [prism, stub, rx] = await Promise.all([startPrism(dir), startStub(), startReceiver()]);
      const file = writeDef(path.join(dir, 'open.json'), sample());
      const env = (url) => ({ SWITCHBOARD_MENU_FILE: file, TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_API_BASE_URL: url });
      [live, failing] = await Promise.all([
        startServer({ env: { ...env(prism.url), SWITCHBOARD_SUBSCRIBERS: JSON.stringify(rx.config) } }),
        startServer({ env: env(stub.url) }),
      ]);
    });
    after(async () => {
      try {
        await Promise.all([live && stopServer(live), failing && stopServer(failing)]);
      } finally {
        prism?.child.kill('SIGTERM');
        for (const s of [stub?.server, rx?.server].filter(Boolean)) {
          s.closeAllConnections();
          await new Promise((resolve) => s.close(resolve));
        }
      }
    });

    test('sales and back; support by voice; nobody answers; a voicemail, delivered as events', async () => {
      const r = await simulate(live, SAMSAEK, ['1', '9', 'say:I need support', 'no-answer', 'record:12']);
      const support = act('samsaek_main', 1);
      assert.deepEqual(r.lines, [
        hit('/api/voice/incoming'), ...mainHeard, 'caller presses 1',
        hit('/api/voice/menu'), said(EX.menus.sales.prompt), '  gather: dtmf, 1 digit(s)', 'caller presses 9',
        hit('/api/voice/menu?menu=sales&trail=samsaek_main'), ...mainHeard, 'caller says "I need support"',
        hit('/api/voice/menu?round=1'), said(support.say), `  dial: ${support.number} (caller id ${SAMSAEK})`,
        'dial outcome: no-answer',
        hit('/api/voice/dial?menu=samsaek_main&at=o1&round=1'), said(support.no_answer.say),
        '  record: up to 120 s, after a beep', 'caller leaves a 12 s message',
        hit('/api/voice/recording?menu=samsaek_main&at=o1.n&round=1'), said(support.no_answer.after), ...ended,
      ]);
      assert.equal(r.code, 0);
      const mine = () => rx.events.filter((e) => e.data.call_sid === r.sid);
      await waitFor(() => mine().length >= 4, 10000, 'four events');
      await sleep(200); // a duplicate delivery would be here by now
      assert.equal(rx.bad, 0, 'every delivery verifies with the subscriber secret');
      const [voicemail, ...more] = mine().filter((e) => e.type === 'call.voicemail');
      assert.deepEqual(more, []);
      const { recording_url: url, recording_sid: sid, ...rest } = voicemail.data;
      assert.match(url, /^https:\/\/api\.twilio\.com\/2010-04-01\/Accounts\/AC0{32}\/Recordings\/RE[0-9a-f]{32}$/);
      assert.equal(sid, url.split('/').pop());
      assert.deepEqual([rest.menu, rest.duration_seconds, rest.from, rest.to], ['samsaek_main', 12, CALLER, SAMSAEK]);
      // Deliveries run concurrently: their order is not the order of the choices.
      const byChoice = (a, b) => a.choice.localeCompare(b.choice);
      const picks = mine().filter((e) => e.type === 'call.menu_selected')
        .map(({ data: d }) => ({ menu: d.menu, choice: d.choice, digits: d.digits, speech: d.speech, attempt: d.attempt }));
      assert.deepEqual(picks.sort(byChoice), [
        { menu: 'samsaek_main', choice: 'sales', digits: '1', speech: undefined, attempt: 0 },
        { menu: 'sales', choice: 'back', digits: '9', speech: undefined, attempt: 0 },
        { menu: 'samsaek_main', choice: 'support', digits: undefined, speech: 'I need support', attempt: 0 },
      ].sort(byChoice));
    });

    test('the SMS follow-up, sent through Twilio\'s API (Prism)', async () => {
      const before = await scrape(live);
      const r = await simulate(live, SAMSAEK, ['3']);
      assert.deepEqual(r.lines, [hit('/api/voice/incoming'), ...mainHeard, 'caller presses 3',
        hit('/api/voice/menu'), said(act('samsaek_main', 2).say), ...ended]);
      assert.equal(r.code, 0);
      assert.deepEqual(await changes(live, before, ['switchboard_ivr_sms_total{result="sent"}',
        'switchboard_twilio_api_requests_total{operation="ivr_sms",result="2xx"}']), [1, 1]);
    });

    test('the SMS follow-up refused by Twilio (21610): the failed words', async () => {
      stub.reset();
      stub.reply(400, twilioError(400, 21610, 'Attempt to send to unsubscribed recipient'));
      const before = await scrape(failing);
      const r = await simulate(failing, SAMSAEK, ['3']);
      assert.deepEqual(r.lines, [hit('/api/voice/incoming'), ...mainHeard, 'caller presses 3',
        hit('/api/voice/menu'), said(act('samsaek_main', 2).failed), ...ended]);
      assert.equal(r.code, 0);
      assert.deepEqual(await changes(failing, before, ['switchboard_ivr_sms_total{result="failed"}',
        'switchboard_ivr_sms_total{result="sent"}', 'switchboard_twilio_api_requests_total{operation="ivr_sms",result="4xx"}']),
      [1, 0, 1]);
      assert.equal(stub.requests.length, 1, 'sent once');
      assert.equal(stub.requests[0].url, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
      const form = new URLSearchParams(stub.requests[0].body);
      assert.deepEqual([form.get('To'), form.get('From'), form.get('Body')], [CALLER, SAMSAEK, act('samsaek_main', 2).body]);
      assert.ok(failing.logs.some((l) => l.msg === 'menu sms refused by Twilio' && l.twilio_code === 21610));
    });

    test('the SMS follow-up goes out once per call and action: Twilio retries and replays send nothing more', async () => {
      stub.reset();
      for (let i = 0; i < 5; ++i) {
        stub.reply(201, { sid: `SM${String(i).repeat(32)}`, status: 'queued' });
      }
      const before = await scrape(failing);
      const CallSid = `CA${'7'.repeat(32)}`;
      const bodies = [];
      for (let i = 0; i < 3; ++i) { // the first, a retry (same token), a replay (fresh token)
        const token = i < 2 ? 'tok-first' : `tok-replay-${i}`;
        const res = await signedPost(failing, '/api/voice/menu', { AccountSid: ACCOUNT_SID, CallSid, From: CALLER,
          To: SAMSAEK, Digits: '3' }, { headers: { 'I-Twilio-Idempotency-Token': token } });
        assert.equal(res.status, 200);
        bodies.push(await res.text());
      }
      assert.equal(stub.requests.length, 1, 'one SMS');
      assert.deepEqual(new Set(bodies).size, 1, 'every answer is the "sent" TwiML');
      assert.deepEqual(await changes(failing, before, ['switchboard_ivr_sms_total{result="sent"}',
        'switchboard_ivr_sms_total{result="duplicate"}', 'switchboard_events_duplicates_total{type="call.menu_selected"}']),
      [1, 2, 2]);
    });

    test('a per-number budget stops SMS pumping: the caller hears the failed words past it', async () => {
      stub.reset();
      const file = writeDef(path.join(dir, 'budget.json'), sample());
      const budget = await startServer({ env: { SWITCHBOARD_MENU_FILE: file, TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_API_BASE_URL: stub.url, SWITCHBOARD_IVR_SMS_PER_DESTINATION_PER_HOUR: '2' } });
      try {
        for (let i = 0; i < 4; ++i) {
          stub.reply(201, { sid: `SM${String(i).repeat(32)}`, status: 'queued' });
        }
        const answers = [];
        for (let i = 0; i < 4; ++i) { // four calls from one (spoofable) caller number
          const res = await signedPost(budget, '/api/voice/menu', { AccountSid: ACCOUNT_SID,
            CallSid: `CA${String(i).repeat(32)}`, From: CALLER, To: SAMSAEK, Digits: '3' });
          answers.push(await res.text());
        }
        assert.equal(stub.requests.length, 2, 'two SMS to the number, then none');
        assert.match(answers[3], new RegExp(act('samsaek_main', 2).failed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
        const m = await scrape(budget);
        assert.equal(m['switchboard_ivr_sms_total{result="over_budget"}'], 2);
        assert.ok(budget.logs.some((l) => l.msg === 'menu sms not sent: the number\'s hourly budget is spent'));
      } finally {
        await stopServer(budget);
      }
    });

    test('the same choice made again after repeat/back is a new event; a replayed one is not', async () => {
      const start = rx.events.length;
      const CallSid = `CA${'8'.repeat(32)}`;
      const post = async (p, params, token) => {
        const res = await signedPost(live, p, { AccountSid: ACCOUNT_SID, CallSid, From: CALLER, To: SAMSAEK, ...params },
          { headers: token ? { 'I-Twilio-Idempotency-Token': token } : {} });
        assert.equal(res.status, 200);
        return res.text();
      };
      const S = '/api/voice/menu?menu=sales&trail=samsaek_main';
      await post('/api/voice/menu', { Digits: '1' }, 't1'); // into sales
      const again = await post(S, { Digits: '2' }, 't2'); // hours, then sales again (round 1)
      assert.match(again, /round=1/);
      await post(`${S}&round=1`, { Digits: '2' }, 't3'); // hours again: a second choice
      await post(`${S}&round=1`, { Digits: '2' }, 't4'); // a replay of it with a fresh token
      await post(`${S}&round=1`, { Digits: '2' }); // and without a token
      await waitFor(() => rx.events.slice(start).filter((e) => e.data.call_sid === CallSid).length >= 3, 10000,
        'three events');
      await sleep(300);
      const mine = rx.events.slice(start).filter((e) => e.data.call_sid === CallSid);
      assert.deepEqual(mine.map((e) => e.data.choice).sort(), ['hours', 'hours', 'sales']);
    });
  });

  test('after hours: the closed menu, then a voicemail', async () => {
    const server = await startServer({ env: { SWITCHBOARD_MENU_FILE: writeDef(path.join(dir, 'closed.json'), sample({ open: false })) } });
    try {
      const r = await simulate(server, SAMSAEK, ['1', 'record:5']);
      const closed = EX.menus.samsaek_closed;
      assert.deepEqual(r.lines, [
        hit('/api/voice/incoming'), said(closed.prompt), '  gather: dtmf, 1 digit(s)', 'caller presses 1',
        hit('/api/voice/menu?menu=samsaek_closed'), said(closed.options[0].action.say), '  record: up to 180 s, after a beep',
        'caller leaves a 5 s message',
        hit('/api/voice/recording?menu=samsaek_closed&at=o0'), said(closed.options[0].action.after), ...ended,
      ]);
      assert.equal(r.code, 0);
      const jobmatch = await simulate(server, JOBMATCH, ['9']);
      assert.equal(jobmatch.lines[1], said(EX.menus.welcome.prompt), 'the other line keeps no hours');
    } finally {
      await stopServer(server);
    }
  });
});

describe('the AI assistant hand-off (ConversationRelay, Media Streams)', () => {
  const RELAY = 'wss://assistant.jobmatch.zip/relay?line=jobmatch&v=1';
  const CALL_SID = 'CA' + '0123456789abcdef'.repeat(2); // webhook()'s
  let rx;
  let server; // the example file with SWITCHBOARD_ASSISTANT_URL
  before(async () => {
    rx = await startReceiver();
    const d = sample();
    // A stream variant on the Samsaek sales menu: 7 streams audio, then back to the main menu.
    d.menus.sales.options.push({ digits: '7', action: { type: 'assistant', stream: { url: 'wss://media.example.com/in',
      name: 'sales-agent', parameters: { trail: '{trail}', caller: '{from}' } }, then: { type: 'back', say: 'Welcome back.' } } });
    server = await startServer({ env: { SWITCHBOARD_MENU_FILE: writeDef(path.join(dir, 'assistant.json'), d),
      SWITCHBOARD_ASSISTANT_URL: RELAY, SWITCHBOARD_SUBSCRIBERS: JSON.stringify(rx.config) } });
  });
  after(async () => {
    await stopServer(server);
    rx.server.closeAllConnections();
    await new Promise((resolve) => rx.server.close(resolve));
  });

  test('option 2 connects: the TwiML is twilio-node\'s <Connect><ConversationRelay>', async () => {
    const relay = act('welcome', 1).conversation_relay;
    const got = await webhook(server, '/api/voice/menu', JOBMATCH, { Digits: '2' });
    assert.equal(got.status, 200);
    assert.equal(got.body, twiml((r) => {
      r.say(J, act('welcome', 1).say);
      const cr = r.connect({ action: '/api/voice/assistant?menu=welcome&at=o1', method: 'POST' }).conversationRelay({
        url: RELAY, welcomeGreeting: relay.welcome_greeting, voice: relay.voice, language: relay.language,
        ttsProvider: relay.tts_provider, transcriptionProvider: relay.transcription_provider,
        interruptible: relay.interruptible, dtmfDetection: true });
      cr.parameter({ name: 'call_sid', value: CALL_SID });
      cr.parameter({ name: 'caller', value: CALLER });
      cr.parameter({ name: 'menu_trail', value: 'welcome' });
    }));
  });

  test('the session ends: a call.assistant_ended event with what Twilio reported, then the next action', async () => {
    const end = { SessionId: 'VX' + 'e'.repeat(32), SessionStatus: 'completed', SessionDuration: '95',
      HandoffData: '{"reason":"wants a human","summary":"plumber, 10 years"}' };
    const got = await webhook(server, '/api/voice/assistant?menu=welcome&at=o1', JOBMATCH, end);
    assert.equal(got.status, 200);
    assert.equal(got.body, twiml(sayThen(act('welcome', 1).then.say)));
    // Twilio retries the callback: still one event.
    assert.equal((await webhook(server, '/api/voice/assistant?menu=welcome&at=o1', JOBMATCH, end)).status, 200);
    await waitFor(() => rx.events.some((e) => e.type === 'call.assistant_ended'), 10000, 'the event');
    await sleep(300);
    const ended = rx.events.filter((e) => e.type === 'call.assistant_ended');
    assert.equal(ended.length, 1);
    const { data } = ended[0];
    assert.deepEqual([data.call_sid, data.menu, data.assistant, data.session_id, data.session_status,
      data.duration_seconds, data.handoff_data], [CALL_SID, 'welcome', 'conversation_relay', end.SessionId, 'completed',
      95, end.HandoffData]);
    assert.equal(rx.bad, 0);
    const metrics = await scrape(server);
    assert.ok(metrics['switchboard_events_published_total{type="call.assistant_ended"}'] >= 1);
  });

  test('a Media Stream from a submenu, with the trail, then back to the menu it came from', async () => {
    const got = await webhook(server, '/api/voice/menu?menu=sales&trail=samsaek_main', SAMSAEK, { Digits: '7' });
    assert.equal(got.body, twiml((r) => {
      const st = r.connect({ action: `/api/voice/assistant?menu=sales&trail=samsaek_main&at=o${EX.menus.sales.options.length}`, method: 'POST' })
        .stream({ url: 'wss://media.example.com/in', name: 'sales-agent' });
      st.parameter({ name: 'trail', value: 'samsaek_main.sales' });
      st.parameter({ name: 'caller', value: CALLER });
    }));
    const back = await webhook(server, `/api/voice/assistant?menu=sales&trail=samsaek_main&at=o${EX.menus.sales.options.length}`,
      SAMSAEK);
    assert.equal(back.body, twiml((r) => {
      r.say(J, 'Welcome back.');
      samsaekMain(r, '/api/voice/menu?round=1');
    }));
  });

  test('the simulator shows the hand-off and plays the end callback', async () => {
    const r = await simulate(server, JOBMATCH, ['2', 'end:{"reason":"done"}']);
    const relay = act('welcome', 1).conversation_relay;
    assert.deepEqual(r.lines, [
      hit('/api/voice/incoming'), ...welcomeHeard(), 'caller presses 2',
      hit('/api/voice/menu'), said(act('welcome', 1).say), `  connect: ConversationRelay to ${RELAY}`,
      `    welcomeGreeting: ${relay.welcome_greeting}`, `    voice: ${relay.voice}`, `    language: ${relay.language}`,
      `    ttsProvider: ${relay.tts_provider}`, `    transcriptionProvider: ${relay.transcription_provider}`,
      `    interruptible: ${relay.interruptible}`, '    dtmfDetection: true',
      `    parameter call_sid = ${r.sid}`, `    parameter caller = ${CALLER}`, '    parameter menu_trail = welcome',
      'assistant session ended, handoff data {"reason":"done"}',
      hit('/api/voice/assistant?menu=welcome&at=o1'), said(act('welcome', 1).then.say), ...ended,
    ]);
    assert.equal(r.code, 0);
    await waitFor(() => rx.events.some((e) => e.type === 'call.assistant_ended' && e.data.call_sid === r.sid), 10000,
      'the simulated session\'s event');
  });

  test('without SWITCHBOARD_ASSISTANT_URL option 2 keeps the seed\'s words; the built-in line is the seed', async () => {
    const seed = act('welcome', 1).unavailable.say;
    const [plain, builtIn] = await Promise.all([
      startServer({ env: { SWITCHBOARD_MENU_FILE: writeDef(path.join(dir, 'plain.json'), sample()) } }),
      startServer({ env: { SWITCHBOARD_ASSISTANT_URL: RELAY } }), // no menu file: the built-in JobMatch line
    ]);
    try {
      for (const s of [plain, builtIn]) {
        const got = await webhook(s, '/api/voice/menu', JOBMATCH, { Digits: '2' });
        assert.equal(got.body, twiml(sayThen(seed)));
      }
    } finally {
      await Promise.all([stopServer(plain), stopServer(builtIn)]);
    }
  });

  test('a ws:// assistant URL is refused at start-up', async () => {
    await assert.rejects(startServer({ env: { SWITCHBOARD_ASSISTANT_URL: 'ws://assistant.example/relay' } }),
      /SWITCHBOARD_ASSISTANT_URL: expected a wss:\/\/ URL/);
  });
});

describe('switchboard menu check / graph', () => {
  // A valid two-menu definition that each case breaks in one way.
  const broken = (change = () => {}) => {
    const d = {
      version: 1,
      voice: 'Polly.Joanna',
      lines: { main: { default: true, menu: 'main' } },
      menus: {
        main: { prompt: 'Press 1 for sales.', num_digits: 1, options: [{ digits: '1', action: { type: 'menu', menu: 'sales' } }] },
        sales: { prompt: 'Sales.', options: [{ digits: '1', action: { type: 'dial', number: '+14155550100' } }] },
      },
    };
    change(d);
    return d;
  };
  const check = (file) => spawnSync(BIN, ['menu', 'check', file], { encoding: 'utf8', env: CLI_ENV });
  // [name, definition or raw text, the problem line(s)]
  const cases = [
    ['unknown key', broken((d) => { d.colour = 'blue'; }),
      '$.colour: unknown key (expected one of: version, voice, language, lines, menus, description)'],
    ['dangling menu reference', broken((d) => d.menus.main.options.push({ digits: '2', action: { type: 'menu', menu: 'nowhere' } })),
      '$.menus.main.options[1].action.menu: refers to menu "nowhere", which is not defined'],
    ['unreachable menu', broken((d) => { d.menus.orphan = { prompt: 'x', options: [{ digits: '1', action: { type: 'hangup' } }] }; }),
      '$.menus.orphan: is unreachable: no line or option leads to it'],
    ['duplicate digits', broken((d) => d.menus.main.options.push({ digits: '1', action: { type: 'hangup' } })),
      '$.menus.main.options[1].digits: duplicate key "1": options[0] has it'],
    ['bad voice', broken((d) => { d.voice = 'Robot'; }),
      '$.voice: voice must be alice, man, woman, Polly.<Name> or Google.<voice>, got "Robot"'],
    ['bad dial number', broken((d) => { d.menus.sales.options[0].action.number = '555-1234'; }),
      '$.menus.sales.options[0].action.number: must be an E.164 number such as +14155550100, got "555-1234"'],
    ['unknown time zone', broken((d) => {
      d.lines.main.hours = { time_zone: 'Mars/Olympus', weekly: { mon: ['09:00-17:00'] }, closed_menu: 'main' };
    }), '$.lines.main.hours.time_zone: unknown time zone "Mars/Olympus" (an IANA name such as Europe/Paris)'],
    ['invalid JSON', '{"version": 1, "lines": {},}', '$: not valid JSON: syntax error'],
    ['duplicate JSON key', JSON.stringify(broken()).replace('"version":1,', '"version":1,"voice":"alice",'),
      '$.voice: duplicate key (only one value would be used)'],
    ['speech keywords on a dtmf-only menu', broken((d) => { d.menus.main.options[0].keywords = ['sales']; }),
      '$.menus.main.options[0].keywords: never heard: the menu\'s input does not include speech'],
    ['digits longer than num_digits', broken((d) => { d.menus.main.options[0].digits = '12'; }),
      '$.menus.main.options[0].digits: never matches: the menu reads at most 1 digit(s)'],
    ['unknown action', broken((d) => { d.menus.sales.options[0].action = { type: 'transfer' }; }),
      '$.menus.sales.options[0].action.type: unknown action "transfer"; use hangup, menu, back, repeat, dial, voicemail, sms, redirect, reject or assistant'],
    ['menu id that needs quoting', broken((d) => {
      [d.menus['bad id'], d.menus.main.options[0].action.menu] = [d.menus.sales, 'bad id'];
      delete d.menus.sales;
    }), ['$.menus["bad id"]: menu id must be 1 to 64 letters, digits, \'_\' or \'-\'',
      '$.menus.main.options[0].action.menu: refers to menu "bad id", which is not defined']],
  ];

  for (const [name, def, problem] of cases) {
    test(`refused: ${name}`, () => {
      const file = writeDef(path.join(dir, `broken-${name.replaceAll(' ', '-')}.json`), def);
      const r = check(file);
      const lines = [problem].flat().map((p) => `${file}: ${p}`);
      assert.deepEqual([r.status, r.stdout, r.stderr], [1, '', `${lines.join('\n')}\n${file}: ${lines.length} problem(s)\n`]);
    });
  }

  test('the base and the example pass', () => {
    for (const [def, summary] of [[broken(), '1 line(s), 2 menu(s)'], [EX, '2 line(s), 4 menu(s)']]) {
      const file = writeDef(path.join(dir, 'valid.json'), def);
      const r = check(file);
      assert.deepEqual([r.status, r.stdout, r.stderr], [0, `${file}: ok (${summary})\n`, '']);
    }
  });

  test('graph: the call flow as DOT, with the expected edges; dot renders it', (t) => {
    const r = spawnSync(BIN, ['menu', 'graph', writeDef(path.join(dir, 'graph.json'), sample({ lab: true }))],
      { encoding: 'utf8', env: CLI_ENV });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^digraph ivr \{\n[\s\S]*\}\n$/);
    // Edges as "from -> to: label", action nodes named by the last line of their label.
    const names = {};
    for (const [, id, label] of r.stdout.matchAll(/^ {2}(act\d+) \[shape=note, label="((?:[^"\\]|\\.)*)"\];$/gm)) {
      names[id] = label.split('\\n').pop();
    }
    const edges = [...r.stdout.matchAll(/^ {2}(\w+) -> (\w+) \[label="((?:[^"\\]|\\.)*)"/gm)]
      .map(([, from, to, label]) => `${names[from] ?? from} -> ${names[to] ?? to}: ${label.replaceAll('\\"', '"')}`);
    for (const edge of [
      'line_jobmatch -> menu_welcome: call', 'line_samsaek -> menu_samsaek_main: open', 'line_lab -> menu_lab: call',
      'line_samsaek -> menu_samsaek_closed: closed (America/New_York)',
      'menu_samsaek_main -> menu_sales: 1 / "sales" / "buy"', 'menu_samsaek_main -> dial +14155550111: 2 / "support" / "help"',
      'dial +14155550111 -> voicemail: no answer', 'menu_samsaek_main -> dial +14155550100: no valid input x3',
      `menu_samsaek_main -> sms: ${act('samsaek_main', 2).body}: 3 / "callback" / "call back"`,
      'menu_sales -> menu_samsaek_main: 9 (back)', 'menu_sales -> menu_sales: 2 (repeat)', 'menu_welcome -> hangup: 9',
      'menu_lab -> redirect https://other.example.com/twiml?a=1&b=2: "forward"', 'menu_lab -> reject (busy): "busy"',
      'menu_lab -> menu_lab_keys: "keys"', 'sms: Code & link -> menu_lab: then',
    ]) {
      assert.ok(edges.includes(edge), `missing edge ${edge} in\n${edges.join('\n')}`);
    }
    if (spawnSync('dot', ['-V']).error) {
      t.skip('graphviz dot is not installed');
      return;
    }
    const svg = spawnSync('dot', ['-Tsvg'], { input: r.stdout, encoding: 'utf8' });
    assert.equal(svg.status, 0, svg.stderr);
    assert.match(svg.stdout, /<svg[\s\S]*menu_samsaek_main[\s\S]*<\/svg>/);
  });

  test('start-up with an invalid menu file fails, naming the problem', () => {
    const file = writeDef(path.join(dir, 'startup.json'), cases[1][1]);
    const r = spawnSync(BIN, [], {
      encoding: 'utf8',
      timeout: 10000,
      env: { ...CLI_ENV, SWITCHBOARD_LISTEN: '127.0.0.1:0', SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
        SWITCHBOARD_DATA_DIR: path.join(dir, 'startup-data'), TWILIO_AUTH_TOKEN: TOKEN, SWITCHBOARD_MENU_FILE: file },
    });
    assert.deepEqual([r.status !== 0, r.signal], [true, null]);
    assert.ok(r.stderr.includes(file) && r.stderr.includes(cases[1][2]), r.stderr);
    assert.ok(!r.stdout.includes('"msg":"listening"'), 'it must not listen');
  });
});

describe('hot reload', () => {
  const A = small('alpha');
  const B = small('bravo two');
  const C = small('charlie three');
  const D = small('delta', { sub: false }); // C without the submenu
  const INVALID = structuredClone(A);
  INVALID.menus.start.options[0].action.menu = 'nowhere';
  const incoming = async (server) => (await webhook(server, '/api/voice/incoming', JOBMATCH)).body;
  const RELOADS = ['switchboard_menu_reloads_total{result="ok"}', 'switchboard_menu_reloads_total{result="refused"}'];
  const reloadOk = async (server) => (await scrape(server)).switchboard_menu_reload_ok;

  test('SIGHUP: a valid file replaces the definition, an invalid one is refused and the old stays live', async () => {
    const file = writeDef(path.join(dir, 'sighup.json'), A);
    const server = await startServer({ env: { SWITCHBOARD_MENU_FILE: file } });
    try {
      assert.equal(await incoming(server), smallStart(A));
      let before = await scrape(server);
      writeDef(file, B);
      await reload(server);
      assert.equal(await incoming(server), smallStart(B));
      assert.deepEqual([...await changes(server, before, RELOADS), await reloadOk(server)], [1, 0, 1]);

      before = await scrape(server);
      writeDef(file, INVALID);
      await reload(server);
      assert.equal(await incoming(server), smallStart(B), 'the previous definition stays live');
      assert.deepEqual([...await changes(server, before, RELOADS), await reloadOk(server)], [0, 1, 0]);
      const refused = server.logs.find((l) => l.msg?.startsWith('menu reload refused'));
      assert.deepEqual([refused.level, refused.file, refused.first_problem],
        ['error', file, '$.menus.start.options[0].action.menu: refers to menu "nowhere", which is not defined']);

      writeDef(file, C);
      await reload(server);
      assert.equal(await incoming(server), smallStart(C));
      assert.equal(await reloadOk(server), 1);
    } finally {
      await stopServer(server);
    }
  });

  test('a call whose submenu disappeared is restarted at the start menu, never an error', async () => {
    const file = writeDef(path.join(dir, 'restart.json'), C);
    const server = await startServer({ env: { SWITCHBOARD_MENU_FILE: file } });
    try {
      const inSub = '/api/voice/menu?menu=sub&trail=start';
      assert.equal((await webhook(server, inSub, JOBMATCH, { Digits: '1' })).body, sayBye('Sub bye charlie three.'));
      writeDef(file, D);
      await reload(server);
      const before = await scrape(server);
      for (const [p, params] of [[inSub, { Digits: '1' }], ['/api/voice/dial?menu=sub&at=o0', { DialCallStatus: 'busy' }]]) {
        const res = await webhook(server, p, JOBMATCH, params);
        assert.deepEqual([res.status, res.body], [200, smallStart(D)], p);
      }
      // A recording for a menu that is gone: the message is kept, the caller hears goodbye.
      const rec = await webhook(server, '/api/voice/recording?menu=sub&at=o0', JOBMATCH,
        { RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2', RecordingSid: 'RE2', RecordingDuration: '3' });
      assert.deepEqual([rec.status, rec.body], [200, twiml((r) => r.hangup())]);
      assert.deepEqual(await changes(server, before, ['switchboard_ivr_restarts_total']), [3]);
      assert.ok(server.logs.some((l) => l.msg?.startsWith('menu state unknown') && l.query === 'menu=sub&trail=start'));
    } finally {
      await stopServer(server);
    }
  });

  test('SWITCHBOARD_MENU_WATCH_SECONDS: a rewritten file goes live without a signal', async () => {
    const file = writeDef(path.join(dir, 'watched.json'), A);
    const server = await startServer({ env: { SWITCHBOARD_MENU_FILE: file, SWITCHBOARD_MENU_WATCH_SECONDS: '1' } });
    try {
      assert.equal(await incoming(server), smallStart(A));
      writeDef(file, B);
      await waitFor(async () => (await incoming(server)) === smallStart(B), 5000, 'the new prompt');
      writeDef(file, INVALID);
      await waitFor(() => count(server, 'menu reload refused') === 1, 5000, 'the refusal');
      await sleep(1500); // more polls: an unchanged refused file is not read again
      assert.equal(count(server, 'menu reload refused'), 1);
      assert.equal(await incoming(server), smallStart(B));
    } finally {
      await stopServer(server);
    }
  });

  test('reload storm under load: every answer is 200 and exactly A\'s or B\'s document', async () => {
    const file = writeDef(path.join(dir, 'storm.json'), A);
    const server = await startServer({ env: { SWITCHBOARD_MENU_FILE: file, SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0' } });
    const requests = [
      ['/api/voice/incoming', {}, [smallStart(A), smallStart(B)]],
      ['/api/voice/menu', { Digits: '2' }, [sayBye('Bye alpha.'), sayBye('Bye bravo two.')]],
      ['/api/voice/menu?menu=sub&trail=start', { Digits: '1' }, [sayBye('Sub bye alpha.'), sayBye('Sub bye bravo two.')]],
    ];
    const wrong = [];
    const seen = new Map();
    let sent = 0;
    let storming = true;
    try {
      const storm = (async () => {
        const files = [B, INVALID, A, '{"version": 1, "lines":', B, A];
        for (let i = 0; storming; i++) {
          writeDef(file, files[i % files.length]);
          server.child.kill('SIGHUP');
          await sleep(50);
        }
      })();
      await Promise.all(Array.from({ length: 8 }, async (_, worker) => {
        while (sent < 3000) {
          const [p, params, allowed] = requests[sent++ % requests.length];
          const res = await webhook(server, p, JOBMATCH, { ...params, CallSid: `CA${String(worker).repeat(32)}` });
          if (res.status !== 200 || !allowed.includes(res.body)) {
            wrong.push(`${p} -> ${res.status} ${res.body}`);
          }
          seen.set(res.body, (seen.get(res.body) ?? 0) + 1);
        }
      }));
      storming = false;
      await storm;
      assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} wrong answers`);
      assert.ok(requests.every(([, , allowed]) => allowed.every((body) => seen.get(body) > 0)), 'both definitions served');
      const m = await scrape(server);
      assert.ok(m['switchboard_menu_reloads_total{result="ok"}'] >= 10, 'reloads');
      assert.ok(m['switchboard_menu_reloads_total{result="refused"}'] >= 5, 'refusals');
    } finally {
      storming = false;
      await stopServer(server);
    }
  });
});
