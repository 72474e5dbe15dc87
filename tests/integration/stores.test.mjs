// The two event stores side by side: one server on the embedded SQLite store, one on Redis,
// fed the same randomised sequence of Twilio callbacks (status callbacks out of order, with
// SequenceNumber gaps, repeated statuses and retries; menu choices; incoming SMS and message
// status callbacks out of order; calls and messages placed through the operator API, whose
// create answer may land after the callbacks). Both must end with the same call log, the same
// events (by call, and as delivered to a subscriber), the same stats, and what a small model of
// the record rules (protocol/call_status, the SMS status rule, the API's upserts) predicts.
// The seed is printed; STORES_SEED=<n> replays a run.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { signedPost, startRedis, startServer, stopServer, waitFor } from './harness.mjs';

const SEED = process.env.STORES_SEED === undefined ? randomBytes(4).readUInt32LE(0) : Number(process.env.STORES_SEED);
if (!Number.isSafeInteger(SEED) || SEED < 0) {
  throw new Error(`STORES_SEED must be a whole number, got '${process.env.STORES_SEED}'`);
}
console.log(`stores: seed ${SEED} (replay: STORES_SEED=${SEED})`);

const ACCOUNT_SID = 'AC' + 'a'.repeat(32);
const SENDER = '+14155550100'; // the service's number: calls and SMS placed through the API
const LINE = '+18005550100'; // the number callers dial
const PUBLIC_URL = 'https://voice.example.com';
const SECRET = randomBytes(32).toString('base64url');
const CALLS = 40;
const INCOMING_SMS = 8;
const OUTBOUND_SMS = 7;
const CONCURRENCY = 8;

const TERMINAL = new Set(['completed', 'busy', 'no-answer', 'canceled', 'failed']);
const SMS_TERMINAL = new Set(['delivered', 'undelivered', 'failed', 'read', 'canceled', 'received']);

// ---------------------------------------------------------------------------------------------
// A seeded generator (mulberry32)
// ---------------------------------------------------------------------------------------------

function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const g = {
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    hex: (n) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join(''),
    shuffle(list) {
      for (let i = list.length - 1; i > 0; --i) {
        const j = Math.floor(next() * (i + 1));
        [list[i], list[j]] = [list[j], list[i]];
      }
      return list;
    },
    insert(list, item, from = 0) {
      list.splice(from + Math.floor(next() * (list.length - from + 1)), 0, item);
    },
  };
  return g;
}

// ---------------------------------------------------------------------------------------------
// The sequence: per call or message, its webhooks in the order they will arrive
// ---------------------------------------------------------------------------------------------

const rfc2822 = (ms) => new Date(ms).toUTCString().replace('GMT', '+0000');

function generate(seed) {
  const g = generator(seed);
  const subjects = new Map(); // call or message SID -> ops, in arrival order
  const calls = []; // what each generated call is, for the absolute checks
  const messages = [];
  const numbers = new Set();
  const number = () => {
    for (;;) {
      const n = `+1415${String(2000000 + g.int(7999999)).padStart(7, '0')}`;
      if (!numbers.has(n) && n !== SENDER) {
        numbers.add(n);
        return n;
      }
    }
  };
  const sidOf = (prefix) => prefix + g.hex(32);
  const statusOp = (call, status, seq, duration) => {
    const path = g.pick(['/api/voice/status', '/api/phone/webhook/status']);
    const params = {
      AccountSid: ACCOUNT_SID, CallSid: call.sid, From: call.from, To: call.to, Direction: call.direction,
      ApiVersion: '2010-04-01', CallStatus: status, CallbackSource: 'call-progress-events',
      Timestamp: rfc2822(Date.UTC(2026, 10, 21, 14, 0, seq ?? 0)),
    };
    if (seq !== undefined) {
      params.SequenceNumber = String(seq);
    }
    if (duration !== undefined) {
      params.CallDuration = String(duration);
    }
    return { kind: 'status', subject: call.sid, path, params, status, seq, duration };
  };
  const menuOp = (call, attempt, digits) => {
    const path = attempt ? `/api/voice/menu?attempt=${attempt}` : '/api/voice/menu';
    const params = {
      AccountSid: ACCOUNT_SID, CallSid: call.sid, From: call.from, To: call.to, Direction: call.direction,
      CallStatus: 'in-progress', Digits: digits, FinishedOnKey: '',
    };
    return { kind: 'menu', subject: call.sid, path, params, attempt, digits };
  };
  const placeOp = (call) => ({
    kind: 'place', subject: call.sid, path: '/api/phone/call',
    body: { to: call.to, message: 'Your interview is at 3', agent_name: call.agent, call_purpose: call.purpose,
      workflow_id: call.workflow },
  });
  // Twilio retries: exact copies, arriving after the original.
  const withRetries = (ops, p) => {
    for (const op of [...ops]) {
      if (op.kind !== 'place' && g.chance(p)) {
        g.insert(ops, { ...op, retry: true }, ops.indexOf(op) + 1);
      }
    }
    return ops;
  };

  // Two fixed calls whose outcome the rules decide whatever the stores are.
  {
    const call = { sid: sidOf('CA'), from: number(), to: LINE, direction: 'inbound', fixed: 'late-ringing',
      terminal: 'completed', duration: 42, placed: false };
    calls.push(call);
    const done = statusOp(call, 'completed', 3, 42);
    subjects.set(call.sid, [done, statusOp(call, 'ringing', 1), { ...done, retry: true }]);
  }
  {
    const call = { sid: sidOf('CA'), from: SENDER, to: number(), direction: 'outbound-api', fixed: 'late-create',
      terminal: 'completed', duration: 61, placed: true, agent: 'Ada', purpose: 'interview-reminder',
      workflow: 'wf-42' };
    calls.push(call);
    subjects.set(call.sid, [statusOp(call, 'ringing', 1), placeOp(call), statusOp(call, 'completed', 2, 61)]);
  }

  while (calls.length < CALLS) {
    const r = g.next();
    const placed = r < 0.2;
    const direction = placed || r < 0.35 ? 'outbound-api' : r < 0.45 ? 'outbound-dial' : 'inbound';
    const inbound = direction === 'inbound';
    const call = {
      sid: sidOf('CA'), direction, placed, from: inbound ? number() : SENDER, to: inbound ? LINE : number(),
      agent: placed ? g.pick(['Ada', 'Grace', 'Linus']) : undefined,
      purpose: placed ? g.pick(['interview-reminder', 'follow-up']) : undefined,
      workflow: placed ? `wf-${g.int(1000)}` : undefined,
    };
    // The lifecycle: its statuses in the order Twilio reports them.
    const early = inbound ? ['ringing', 'in-progress'] : ['queued', 'initiated', 'ringing', 'in-progress'];
    const end = g.next();
    let stages;
    if (end < 0.55) {
      call.terminal = 'completed';
      call.duration = 1 + g.int(900);
      stages = [...early.filter(() => g.chance(0.75)), 'completed'];
    } else if (end < 0.85) {
      call.terminal = g.pick(['busy', 'no-answer', 'failed', 'canceled']);
      if (g.chance(0.5)) {
        call.duration = 0; // Twilio reports CallDuration=0 for calls that never connected
      }
      stages = [...early.filter((s) => s !== 'in-progress' && g.chance(0.7)), call.terminal];
      // A stray callback numbered after the end: the call stays ended when it arrives late, and
      // the end is stale when the stray arrived first.
      if (g.chance(0.25)) {
        call.stray = true;
        stages.push(g.pick(['ringing', 'in-progress']));
      }
    } else {
      stages = early.slice(0, 1 + g.int(early.length)); // still going when the test looks
    }
    // The same status twice, each with its own SequenceNumber.
    if (g.chance(0.25) && stages.length > 1) {
      const i = g.int(stages.length - 1);
      stages.splice(i, 0, stages[i]);
    }
    // Older callbacks without SequenceNumber, now and then.
    call.unsequenced = g.chance(0.1);
    let seq = 0;
    let ops = stages.map((status) => {
      const s = seq;
      seq += g.chance(0.15) ? 2 + g.int(3) : 1; // a gap: a callback Twilio never sent
      const duration = TERMINAL.has(status) ? call.duration : undefined;
      return statusOp(call, status, call.unsequenced ? undefined : s, duration);
    });
    const order = g.next();
    if (order < 0.5) {
      g.shuffle(ops);
    } else if (order < 0.8) {
      for (let k = 0; k < ops.length; ++k) {
        const i = g.int(Math.max(1, ops.length - 1));
        if (i + 1 < ops.length) {
          [ops[i], ops[i + 1]] = [ops[i + 1], ops[i]];
        }
      }
    } else {
      ops.reverse();
    }
    // Menu choices, wherever they land among the callbacks: invalid digits re-prompt with the
    // next attempt, the last one may be a valid option.
    if (inbound && g.chance(0.4)) {
      const n = 1 + g.int(3);
      for (let attempt = 0; attempt < n; ++attempt) {
        const digits = attempt < n - 1 ? g.pick(['0', '4', '5', '6', '7', '8']) : g.pick(['1', '2', '3', '9', '5']);
        g.insert(ops, menuOp(call, attempt, digits));
      }
    }
    if (placed) {
      g.insert(ops, placeOp(call)); // the create's answer may be recorded after callbacks
    }
    ops = withRetries(ops, 0.2);
    calls.push(call);
    subjects.set(call.sid, ops);
  }

  for (let i = 0; i < INCOMING_SMS; ++i) {
    const m = { sid: sidOf(g.chance(0.2) ? 'MM' : 'SM'), direction: 'inbound', from: number(), to: LINE };
    messages.push(m);
    const path = g.pick(['/api/sms/incoming', '/api/phone/webhook/sms']);
    const params = {
      AccountSid: ACCOUNT_SID, MessageSid: m.sid, From: m.from, To: m.to, NumMedia: '0',
      Body: g.pick(['Hi', 'Can I reschedule?', 'Héllo & <bye> "quoted", ✓ 🎉', 'STOP', '']),
    };
    subjects.set(m.sid, withRetries([{ kind: 'sms_in', subject: m.sid, path, params }], 0.3));
  }
  for (let i = 0; i < OUTBOUND_SMS; ++i) {
    const m = { sid: sidOf('SM'), direction: 'outbound-api', from: SENDER, to: number(), placed: g.chance(0.6) };
    m.agent = m.placed ? g.pick(['Ada', 'Grace']) : undefined;
    messages.push(m);
    const end = g.pick(['delivered', 'undelivered', 'failed', 'read']);
    const chain = ['queued', 'sending', 'sent'].filter(() => g.chance(0.7));
    chain.push(...(end === 'read' ? ['delivered', 'read'] : [end]));
    const ops = g.shuffle(chain.map((status) => {
      const path = g.pick(['/api/sms/status', '/api/phone/webhook/status']);
      const params = { AccountSid: ACCOUNT_SID, MessageSid: m.sid, From: m.from, To: m.to, MessageStatus: status };
      if (status === 'undelivered' || status === 'failed') {
        params.ErrorCode = '30003';
      }
      return { kind: 'sms_status', subject: m.sid, path, params, status };
    }));
    if (m.placed) {
      g.insert(ops, { kind: 'send', subject: m.sid, path: '/api/phone/sms',
        body: { to: m.to, message: 'See you at 3 ✓', agent_name: m.agent } });
    }
    subjects.set(m.sid, withRetries(ops, 0.2));
  }

  // One global order: a random interleaving that keeps each subject's own order.
  const turns = g.shuffle([...subjects].flatMap(([sid, ops]) => ops.map(() => sid)));
  const cursor = new Map();
  const sequence = turns.map((sid) => {
    const i = cursor.get(sid) ?? 0;
    cursor.set(sid, i + 1);
    return subjects.get(sid)[i];
  });
  return { calls, messages, subjects, sequence };
}

// ---------------------------------------------------------------------------------------------
// The rules, as a model: what each store must record for the sequence
// ---------------------------------------------------------------------------------------------

function model(sequence) {
  const calls = new Map();
  const messages = new Map();
  const events = new Map(); // subject -> [{type, status, previous_status, current_status, ...}]
  const keys = new Set();
  const fresh = (key) => !keys.has(key) && keys.add(key);
  const event = (subject, e) => {
    if (!events.has(subject)) {
      events.set(subject, []);
    }
    events.get(subject).push(e);
  };
  const newCall = (p) => ({ status: '', last: -1, duration: null, ended: false, from: p.From, to: p.To,
    direction: p.Direction, menu: [], agent: '', purpose: '', workflow: '' });
  const fill = (rec, field, value) => {
    if (!rec[field]) {
      rec[field] = value;
    }
  };
  for (const op of sequence) {
    const sid = op.subject;
    if (op.kind === 'status') {
      if (!fresh(op.seq === undefined ? `sid:${sid}@${op.status}` : `sid:${sid}#${op.seq}`)) {
        continue;
      }
      const exists = calls.has(sid);
      const c = calls.get(sid) ?? newCall(op.params);
      calls.set(sid, c);
      const previous = exists ? c.status : '';
      const applied = !TERMINAL.has(c.status) && !(op.seq !== undefined && op.seq <= c.last);
      if (applied) {
        if (op.seq !== undefined) {
          c.last = op.seq;
        }
        c.status = op.status;
        if (op.duration !== undefined) {
          c.duration = op.duration;
        }
        c.ended ||= TERMINAL.has(c.status);
      }
      if (exists) {
        fill(c, 'from', op.params.From);
        fill(c, 'to', op.params.To);
        fill(c, 'direction', op.params.Direction);
      }
      event(sid, { type: 'call.status_changed', status: op.status, previous_status: previous,
        current_status: c.status, sequence_number: op.seq, duration_seconds: op.duration, agent_name: c.agent });
    } else if (op.kind === 'menu') {
      if (!fresh(`menu:${sid}#${op.attempt}@${op.digits}`)) {
        continue;
      }
      const c = calls.get(sid) ?? newCall(op.params);
      calls.set(sid, c);
      c.menu.push(op.digits);
      event(sid, { type: 'call.menu_selected', status: 'in-progress', previous_status: c.status,
        current_status: c.status, digits: op.digits, attempt: op.attempt, agent_name: c.agent });
    } else if (op.kind === 'place') {
      const c = calls.get(sid);
      if (!c) {
        calls.set(sid, { ...newCall({ From: SENDER, To: op.body.to, Direction: 'outbound-api' }), status: 'queued',
          agent: op.body.agent_name, purpose: op.body.call_purpose, workflow: op.body.workflow_id });
      } else {
        Object.assign(c, { agent: op.body.agent_name, purpose: op.body.call_purpose, workflow: op.body.workflow_id });
        fill(c, 'from', SENDER);
        fill(c, 'to', op.body.to);
        fill(c, 'direction', 'outbound-api');
        fill(c, 'status', 'queued');
      }
    } else if (op.kind === 'sms_in' || op.kind === 'sms_status') {
      const status = op.kind === 'sms_in' ? 'received' : op.status;
      if (!fresh(`sid:${sid}@${status}`)) {
        continue;
      }
      const m = messages.get(sid);
      const previous = m ? m.status : '';
      const current = m && SMS_TERMINAL.has(previous) && status !== 'read' ? previous : status;
      if (m) {
        m.status = current;
      } else {
        messages.set(sid, { status: current, direction: op.kind === 'sms_in' ? 'inbound' : '', agent: '' });
      }
      event(sid, { type: op.kind === 'sms_in' ? 'sms.received' : 'sms.status_changed', status,
        previous_status: previous, current_status: current, agent_name: messages.get(sid).agent });
    } else if (op.kind === 'send') {
      const m = messages.get(sid);
      if (!m) {
        messages.set(sid, { status: 'queued', direction: 'outbound-api', agent: op.body.agent_name });
      } else {
        m.agent = op.body.agent_name;
        fill(m, 'direction', 'outbound-api');
        fill(m, 'status', 'queued');
      }
    }
  }
  return { calls, messages, events };
}

// What the model says of an event, from a stored one (empty strings are left out of "data").
const eventView = (e) => ({
  type: e.type, status: e.data.status ?? '', previous_status: e.data.previous_status ?? '',
  current_status: e.data.current_status ?? '', agent_name: e.data.agent_name ?? '',
  ...(e.type === 'call.status_changed'
    ? { sequence_number: e.data.sequence_number, duration_seconds: e.data.duration_seconds } : {}),
  ...(e.type === 'call.menu_selected' ? { digits: e.data.digits, attempt: e.data.attempt } : {}),
});

// ---------------------------------------------------------------------------------------------
// Twilio's REST API (a stub answering creates with the SIDs the sequence planned) and a
// subscriber collecting each server's deliveries
// ---------------------------------------------------------------------------------------------

async function listen(handler) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => handler(req, res, body));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

function answer(res, status, doc) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(doc));
}

async function startTwilio(callSids, messageSids) {
  const created = [];
  const peer = await listen((req, res, body) => {
    const to = new URLSearchParams(body).get('To');
    if (req.method === 'POST' && req.url.endsWith('/Calls.json') && callSids.has(to)) {
      created.push(callSids.get(to));
      answer(res, 201, { sid: callSids.get(to), account_sid: ACCOUNT_SID, status: 'queued', direction: 'outbound-api',
        from: SENDER, to, start_time: null, end_time: null, duration: null, price: null, price_unit: 'USD' });
    } else if (req.method === 'POST' && req.url.endsWith('/Messages.json') && messageSids.has(to)) {
      created.push(messageSids.get(to));
      answer(res, 201, { sid: messageSids.get(to), status: 'queued', num_segments: '1' });
    } else {
      answer(res, 404, { code: 20404, message: 'The requested resource was not found',
        more_info: 'https://www.twilio.com/docs/errors/20404', status: 404 });
    }
  });
  return { ...peer, created };
}

async function startCollector() {
  const got = { sqlite: new Map(), redis: new Map() };
  const peer = await listen((req, res, body) => {
    const which = req.url.slice(1);
    const doc = JSON.parse(body);
    got[which].set(doc.id, doc);
    res.writeHead(204);
    res.end();
  });
  return { ...peer, got };
}

// ---------------------------------------------------------------------------------------------

const plan = generate(SEED);
const expected = model(plan.sequence);

let redis;
let twilioPeer;
let collector;
let sqliteServer;
let redisServer;
let token;

function env(collectorPath) {
  return {
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_API_BASE_URL: twilioPeer.url,
    SWITCHBOARD_TWILIO_PHONE_NUMBER: SENDER,
    SWITCHBOARD_PUBLIC_URL: PUBLIC_URL,
    SWITCHBOARD_JWT_SECRET: SECRET,
    SWITCHBOARD_RATE_LIMIT_PER_MINUTE: '0',
    SWITCHBOARD_SUBSCRIBERS: JSON.stringify([{
      name: 'sink', url: `${collector.url}${collectorPath}`, secret: 'whsec_' + randomBytes(32).toString('base64'),
      events: ['*'], timeout_seconds: 5, concurrency: 8, initial_delay_seconds: 0.05, max_delay_seconds: 0.2,
    }]),
  };
}

async function api(server, method, pathAndQuery, body) {
  const res = await fetch(`${server.base}${pathAndQuery}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

const EXPECTED_STATUS = { status: 204, menu: 200, sms_in: 200, sms_status: 204, place: 201, send: 201 };

async function deliver(server, op) {
  if (op.kind === 'place' || op.kind === 'send') {
    const r = await api(server, 'POST', op.path, op.body);
    return { status: r.status, text: r.text };
  }
  const res = await signedPost(server, op.path, op.params, { url: `${PUBLIC_URL}${op.path}` });
  return { status: res.status, text: await res.text() };
}

// Sends the sequence to both servers, at most CONCURRENCY at a time, in the global order; a
// subject's next webhook waits until its previous one was answered by both (its order is part
// of the input: the record rules see arrivals one by one).
async function sendAll(sequence) {
  const tails = new Map();
  let next = 0;
  const worker = async () => {
    while (next < sequence.length) {
      const op = sequence[next++];
      const mine = (tails.get(op.subject) ?? Promise.resolve()).then(async () => {
        const [a, b] = await Promise.all([deliver(sqliteServer, op), deliver(redisServer, op)]);
        const what = `${op.kind} ${op.path} ${JSON.stringify(op.params ?? op.body)}`;
        assert.equal(a.status, EXPECTED_STATUS[op.kind], `sqlite: ${what}: ${a.text}`);
        assert.equal(b.status, EXPECTED_STATUS[op.kind], `redis: ${what}: ${b.text}`);
        assert.equal(a.text, b.text, `the answers differ: ${what}`);
        if (op.kind === 'place' || op.kind === 'send') {
          const created = JSON.parse(a.text);
          assert.equal(created.sid, op.subject);
          assert.equal(created.recorded, true);
        }
      });
      tails.set(op.subject, mine.catch(() => {}));
      await mine;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

// The whole call log (or one filter of it), page by page; checks the newest-first order.
async function history(server, query = '', limit = 7) {
  const rows = [];
  let cursor = '';
  for (let pages = 0; ; ++pages) {
    assert.ok(pages < 100, 'history paging does not end');
    const page = cursor ? `&cursor=${cursor}` : '';
    const r = await api(server, 'GET', `/api/phone/calls/history?limit=${limit}${query}${page}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.source, 'local');
    assert.ok(r.json.calls.length <= limit);
    rows.push(...r.json.calls);
    if (r.json.next_cursor === null) {
      break;
    }
    cursor = encodeURIComponent(r.json.next_cursor);
  }
  for (let i = 1; i < rows.length; ++i) {
    const [p, c] = [rows[i - 1], rows[i]];
    assert.ok(p.started_at > c.started_at || (p.started_at === c.started_at && p.sid > c.sid),
      `history order: ${p.sid} (${p.started_at}) before ${c.sid} (${c.started_at})`);
  }
  const sids = rows.map((c) => c.sid);
  assert.equal(new Set(sids).size, sids.length, `a call appears twice in the history${query}`);
  return rows;
}

// A call log row without what must differ between two servers (receive times).
const rowView = (c) => ({
  sid: c.sid, from: c.from, to: c.to, direction: c.direction, status: c.status, duration_seconds: c.duration_seconds,
  menu_selections: c.menu_selections, agent_name: c.agent_name, call_purpose: c.call_purpose,
  workflow_id: c.workflow_id, ended: c.ended_at !== null, started: typeof c.started_at === 'string',
  updated: typeof c.updated_at === 'string',
});

const bySid = (rows) => [...rows].map(rowView).sort((x, y) => (x.sid < y.sid ? -1 : 1));

describe('the SQLite and Redis stores', () => {
  before(async () => {
    const callSids = new Map(plan.calls.filter((c) => c.placed).map((c) => [c.to, c.sid]));
    const messageSids = new Map(plan.messages.filter((m) => m.placed).map((m) => [m.to, m.sid]));
    [redis, twilioPeer, collector] = await Promise.all([startRedis(), startTwilio(callSids, messageSids),
      startCollector()]);
    [sqliteServer, redisServer] = await Promise.all([
      startServer({ env: { ...env('/sqlite'), SWITCHBOARD_STORE: 'sqlite' } }),
      startServer({ env: { ...env('/redis'), SWITCHBOARD_STORE: redis.url,
        SWITCHBOARD_REDIS_KEY_PREFIX: `stores${process.pid}:` } }),
    ]);
    token = await new SignJWT({ permissions: ['phone:view', 'phone:call', 'phone:sms'] })
      .setProtectedHeader({ alg: 'HS256' }).setSubject('stores@example.com')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 600).sign(new TextEncoder().encode(SECRET));
  });

  after(async () => {
    await Promise.all([sqliteServer && stopServer(sqliteServer), redisServer && stopServer(redisServer)]);
    await redis?.remove();
    twilioPeer?.server.close();
    collector?.server.close();
  });

  test(`one randomised callback sequence, identical records (seed ${SEED})`, { timeout: 120000 }, async (t) => {
    t.diagnostic(`seed ${SEED}: ${plan.calls.length} calls, ${plan.messages.length} messages, `
      + `${plan.sequence.length} webhooks and API creates, each sent to both servers`);
    try {
      await sendAll(plan.sequence);
      const placedOps = plan.sequence.filter((op) => op.kind === 'place' || op.kind === 'send').length;
      assert.equal(twilioPeer.created.length, 2 * placedOps, 'each server created each planned call and SMS once');

      // (1) The call log: the same calls, with the same records, on both; what the model says.
      const [a, b] = await Promise.all([history(sqliteServer), history(redisServer)]);
      assert.equal(a.length, plan.calls.length, 'sqlite: every call is in the log');
      assert.deepEqual(bySid(b), bySid(a), 'the call logs differ');
      const want = [...expected.calls].map(([sid, c]) => ({
        sid, from: c.from, to: c.to, direction: c.direction, status: c.status, duration_seconds: c.duration,
        menu_selections: c.menu, agent_name: c.agent, call_purpose: c.purpose, workflow_id: c.workflow,
        ended: c.ended, started: true, updated: true,
      })).sort((x, y) => (x.sid < y.sid ? -1 : 1));
      assert.deepEqual(bySid(a), want, 'the call log is not what the rules say');

      // The same log through each filter (on Redis: the status and direction indexes, which a
      // status change must move the call between).
      const statuses = [...new Set(want.map((c) => c.status).filter(Boolean))];
      for (const status of ['', ...statuses]) {
        for (const direction of ['', 'inbound', 'outbound', 'outbound-api', 'outbound-dial']) {
          if (!status && !direction) {
            continue;
          }
          const query = `${status ? `&status=${status}` : ''}${direction ? `&direction=${direction}` : ''}`;
          const [fa, fb] = await Promise.all([history(sqliteServer, query, 4), history(redisServer, query, 4)]);
          const match = want.filter((c) => (!status || c.status === status) && (!direction || c.direction === direction
            || (direction === 'outbound' && c.direction.startsWith('outbound'))));
          assert.deepEqual(bySid(fa), match, `sqlite: history${query}`);
          assert.deepEqual(bySid(fb), match, `redis: history${query}`);
        }
      }

      // (2) Each call's record and events, in order.
      const delivered = { sqlite: new Map(), redis: new Map() };
      let callEvents = 0;
      for (const call of plan.calls) {
        const [da, db] = await Promise.all([api(sqliteServer, 'GET', `/api/phone/calls/${call.sid}`),
          api(redisServer, 'GET', `/api/phone/calls/${call.sid}`)]);
        assert.equal(da.status, 200, da.text);
        assert.equal(db.status, 200, db.text);
        for (const d of [da.json, db.json]) {
          assert.equal(d.recorded, true);
          assert.equal(d.twilio, null, 'the stub knows no call: local record only');
        }
        assert.deepEqual(rowView(db.json), rowView(da.json), `${call.sid}: the records differ`);
        const ea = da.json.events.map((e) => ({ type: e.type, data: e.data }));
        const eb = db.json.events.map((e) => ({ type: e.type, data: e.data }));
        assert.deepEqual(eb, ea, `${call.sid}: the events differ`);
        assert.deepEqual(da.json.events.map(eventView), expected.events.get(call.sid),
          `${call.sid}: the events are not what the rules say`);
        callEvents += ea.length;
        delivered.sqlite.set(call.sid, da.json.events.map((e) => e.id).sort());
        delivered.redis.set(call.sid, db.json.events.map((e) => e.id).sort());
      }

      // Absolute expectations, from the generated lifecycles alone (not the model).
      const rows = new Map(a.map((c) => [c.sid, c]));
      for (const call of plan.calls) {
        const row = rows.get(call.sid);
        const ops = plan.subjects.get(call.sid);
        if (call.terminal && !call.stray) {
          assert.equal(row.status, call.terminal, `${call.sid}: a terminal status is where a call ends`);
          assert.notEqual(row.ended_at, null, `${call.sid}: ended`);
          assert.equal(row.duration_seconds, call.duration ?? null, `${call.sid}: duration`);
        }
        // The natural keys: SequenceNumber (the status without one), the menu attempt and digits.
        const unique = new Set(ops.filter((op) => op.kind !== 'place')
          .map((op) => JSON.stringify(op.kind === 'status' ? [op.seq ?? op.status] : [op.attempt, op.digits])));
        const detail = (await api(sqliteServer, 'GET', `/api/phone/calls/${call.sid}`)).json;
        assert.equal(detail.events.length, unique.size, `${call.sid}: one event per callback, retries included`);
        const menu = [];
        for (const op of ops) {
          if (op.kind === 'menu' && !op.retry) {
            menu.push(op.digits);
          }
        }
        assert.deepEqual(row.menu_selections, menu, `${call.sid}: menu choices in order`);
        if (call.fixed === 'late-ringing') {
          assert.equal(row.status, 'completed');
          assert.deepEqual(detail.events.map((e) => [e.data.status, e.data.previous_status, e.data.current_status]),
            [['completed', undefined, 'completed'], ['ringing', 'completed', 'completed']]);
        }
        if (call.fixed === 'late-create') {
          assert.equal(row.agent_name, 'Ada');
          assert.equal(row.workflow_id, 'wf-42');
          assert.equal(row.direction, 'outbound-api');
          assert.deepEqual(detail.events.map((e) => [e.data.status, e.data.agent_name]),
            [['ringing', undefined], ['completed', 'Ada']], 'the API fields reach events after the create only');
        }
      }

      // (3) Stats: identical, and what was generated.
      const [sa, sb] = await Promise.all([api(sqliteServer, 'GET', '/api/phone/stats'),
        api(redisServer, 'GET', '/api/phone/stats')]);
      assert.equal(sa.status, 200, sa.text);
      assert.equal(sb.status, 200, sb.text);
      assert.deepEqual(sb.json, sa.json, 'the stats differ');
      const completed = plan.calls.filter((c) => c.terminal === 'completed');
      assert.equal(sa.json.calls.billed_minutes, completed.reduce((n, c) => n + Math.ceil(c.duration / 60), 0),
        'billed minutes: ceil(duration / 60) of every completed call');
      const timed = [...expected.calls.values()].filter((c) => c.duration !== null);
      const seconds = timed.reduce((n, c) => n + c.duration, 0);
      assert.equal(sa.json.calls.total, plan.calls.length);
      assert.equal(sa.json.calls.total_duration_seconds, seconds);
      const average = timed.length ? Math.floor((seconds + Math.floor(timed.length / 2)) / timed.length) : 0;
      assert.equal(sa.json.calls.average_duration_seconds, average, 'rounded to the nearest second');
      const count = (key) => {
        const out = {};
        for (const c of expected.calls.values()) {
          const k = c[key] || 'unknown';
          out[k] = (out[k] ?? 0) + 1;
        }
        return out;
      };
      assert.deepEqual(sa.json.calls.by_status, count('status'));
      assert.deepEqual(sa.json.calls.by_direction, count('direction'));
      for (const c of plan.calls.filter((x) => x.terminal && !x.stray)) {
        assert.equal(expected.calls.get(c.sid).status, c.terminal, 'the model agrees with the lifecycle');
      }
      assert.deepEqual(sa.json.sms, {
        sent: plan.messages.filter((m) => m.placed).length,
        received: plan.messages.filter((m) => m.direction === 'inbound').length,
      });

      // (4) Every event, as delivered to the subscriber: the same on both, the calls' the same
      // as their records list, the messages' what the SMS rule says.
      const total = [...expected.events.values()].reduce((n, list) => n + list.length, 0);
      await waitFor(() => collector.got.sqlite.size >= total && collector.got.redis.size >= total, 15000,
        `${total} deliveries from each server`);
      for (const which of ['sqlite', 'redis']) {
        const docs = [...collector.got[which].values()];
        assert.equal(docs.length, total, `${which}: one delivery per event`);
        const subjectOf = (d) => d.data.call_sid ?? d.data.message_sid;
        for (const [sid, ids] of delivered[which]) {
          assert.deepEqual(docs.filter((d) => subjectOf(d) === sid).map((d) => d.id).sort(), ids,
            `${which}: ${sid}: delivered events are the call's events`);
        }
        for (const m of plan.messages) {
          const got = docs.filter((d) => subjectOf(d) === m.sid).map(eventView).map((e) => JSON.stringify(e)).sort();
          const rule = expected.events.get(m.sid).map((e) => JSON.stringify(e)).sort();
          assert.deepEqual(got, rule, `${which}: ${m.sid}: message events`);
        }
      }
      assert.equal(callEvents + plan.messages.reduce((n, m) => n + expected.events.get(m.sid).length, 0), total);
      const messageDocs = (which) => [...collector.got[which].values()].filter((d) => d.data.message_sid)
        .map((d) => JSON.stringify([d.type, d.data])).sort();
      assert.deepEqual(messageDocs('redis'), messageDocs('sqlite'), 'the message events differ');
    } catch (e) {
      e.message = `seed ${SEED} (replay: STORES_SEED=${SEED}): ${e.message}`;
      throw e;
    }
  });
});
