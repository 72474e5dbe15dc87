// The operator console: every value comes from the admin API (bearer token kept in this tab's
// sessionStorage only) and is written with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('switchboard-admin-token') || '';

async function api(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${token}` } };
  if (method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(path, init);
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    throw new Error(`${method} ${path}: ${res.status} ${data.message ?? data}`);
  }
  return data;
}

function say(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : 'muted';
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  if (className) {
    td.className = className;
  }
  row.appendChild(td);
  return td;
}

function button(td, label, onClick) {
  const b = document.createElement('button');
  b.textContent = label;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await onClick();
    } catch (e) {
      say(e.message, true);
    }
    b.disabled = false;
    await refresh();
  });
  td.appendChild(b);
  return b;
}

function age(ms) {
  if (!ms) {
    return '';
  }
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

function replace(tbodyOf, rows) {
  const body = $(tbodyOf).tBodies[0];
  body.replaceChildren(...rows);
}

async function showSubscribers(list) {
  replace('subscribers', list.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.subscriber = s.name;
    cell(tr, s.name);
    cell(tr, s.managed_by);
    cell(tr, s.state + (s.state_reason ? ` (${s.state_reason})` : ''), `state-${s.state}`);
    cell(tr, s.pending);
    cell(tr, age(s.oldest_pending_age_ms));
    cell(tr, s.in_flight);
    cell(tr, s.dead);
    cell(tr, (s.previous_secrets ?? []).filter((p) => p.signing).length ? 'rotating' : 'one');
    const actions = cell(tr, '');
    if (s.state === 'active') {
      button(actions, 'Pause', () => api('POST', `/admin/subscribers/${s.name}/pause`, { reason: 'paused from the console' }));
    } else {
      button(actions, 'Resume', () => api('POST', `/admin/subscribers/${s.name}/resume`));
    }
    if (s.managed_by === 'api') {
      button(actions, 'Rotate secret', async () => {
        const r = await api('POST', `/admin/subscribers/${s.name}/secrets`);
        say(`New secret for ${s.name} (shown once): ${r.secret}; the previous one signs until ${r.previous_secrets[0]?.expires_at}`);
      });
    }
    return tr;
  }));
}

async function showDead(list) {
  const rows = [];
  for (const s of list.filter((x) => x.dead > 0)) {
    const page = await api('GET', `/admin/subscribers/${s.name}/deliveries?state=dead&limit=50`);
    for (const d of page.deliveries) {
      const tr = document.createElement('tr');
      tr.dataset.event = d.event_id;
      cell(tr, s.name);
      cell(tr, d.event_id, 'mono');
      cell(tr, d.type);
      cell(tr, d.occurred_at);
      cell(tr, d.attempts);
      cell(tr, d.last_error, 'error');
      const actions = cell(tr, '');
      button(actions, 'Replay', () => api('POST', `/admin/subscribers/${s.name}/dead/${d.event_id}/replay`));
      button(actions, 'Replay all', () => api('POST', `/admin/subscribers/${s.name}/dead/replay`));
      rows.push(tr);
    }
  }
  replace('dead', rows);
}

async function showCalls() {
  const page = await api('GET', '/admin/calls?limit=20');
  const rows = [];
  for (const c of page.calls) {
    const detail = await api('GET', `/admin/calls/${c.sid}`);
    const tr = document.createElement('tr');
    cell(tr, c.sid, 'mono');
    cell(tr, c.from);
    cell(tr, c.to);
    cell(tr, c.status);
    cell(tr, c.started_at);
    const events = detail.events ?? [];
    cell(tr, events.filter((e) => e.type === 'call.menu_selected')
      .map((e) => `${e.data.menu}: ${e.data.choice}`).join(', '));
    const td = cell(tr, '');
    const box = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = `${events.length} events`;
    box.appendChild(summary);
    for (const e of events) {
      const line = document.createElement('div');
      line.className = 'mono';
      line.textContent = `${e.timestamp} ${e.type} ${e.data.current_status ?? ''}`;
      box.appendChild(line);
    }
    td.appendChild(box);
    rows.push(tr);
  }
  replace('calls', rows);
}

// The menu graph: the DOT that `switchboard menu graph` prints, laid out in columns by distance
// from the lines (left to right) and drawn as SVG.
function dotGraph(dot) {
  const unquote = (s) => s.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  const labelOf = (attrs) => {
    const m = /label="((?:[^"\\]|\\.)*)"/.exec(attrs ?? '');
    return m ? unquote(m[1]) : '';
  };
  const nodes = new Map();
  const edges = [];
  for (const line of dot.split('\n')) {
    let m = /^\s*(\w+) -> (\w+)(?: \[(.*)\])?;\s*$/.exec(line);
    if (m) {
      edges.push({ from: m[1], to: m[2], label: labelOf(m[3]) });
      for (const id of [m[1], m[2]]) {
        if (!nodes.has(id)) {
          nodes.set(id, { id, label: id, shape: 'box' });
        }
      }
      continue;
    }
    m = /^\s*(\w+) \[(.*)\];\s*$/.exec(line);
    if (m && m[1] !== 'node' && m[1] !== 'edge') {
      nodes.set(m[1], { id: m[1], label: labelOf(m[2]), shape: /shape=ellipse/.test(m[2]) ? 'ellipse' : 'box' });
    }
  }
  return { nodes, edges };
}

function svgOf({ nodes, edges }) {
  const level = new Map();
  const incoming = new Set(edges.map((e) => e.to));
  let frontier = [...nodes.keys()].filter((id) => !incoming.has(id));
  frontier.forEach((id) => level.set(id, 0));
  while (frontier.length) {
    const next = [];
    for (const id of frontier) {
      for (const e of edges.filter((x) => x.from === id && !level.has(x.to))) {
        level.set(e.to, level.get(id) + 1);
        next.push(e.to);
      }
    }
    frontier = next;
  }
  for (const id of nodes.keys()) {
    if (!level.has(id)) {
      level.set(id, 0);
    }
  }
  const columns = new Map();
  const pos = new Map();
  const W = 190, H = 64, GX = 90, GY = 24;
  for (const [id, l] of level) {
    const row = columns.get(l) ?? 0;
    columns.set(l, row + 1);
    pos.set(id, { x: 10 + l * (W + GX), y: 10 + row * (H + GY) });
  }
  const width = 20 + Math.max(...[...columns.keys()].map((l) => l + 1)) * (W + GX);
  const height = 20 + Math.max(...columns.values()) * (H + GY);
  const ns = 'http://www.w3.org/2000/svg';
  const el = (name, attrs, text) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) {
      e.setAttribute(k, v);
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  };
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'menu graph' });
  const defs = el('defs', {});
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' });
  marker.appendChild(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#57606a' }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    svg.appendChild(el('line', { x1, y1, x2: x2 <= x1 ? x2 + W / 2 : x2, y2, stroke: '#8c959f', 'marker-end': 'url(#arrow)' }));
    svg.appendChild(el('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 3, 'font-size': 10, fill: '#57606a', 'text-anchor': 'middle' }, e.label));
  }
  for (const n of nodes.values()) {
    const p = pos.get(n.id);
    svg.appendChild(n.shape === 'ellipse'
      ? el('ellipse', { cx: p.x + W / 2, cy: p.y + H / 2, rx: W / 2, ry: H / 2, fill: '#e8f0fe', stroke: '#57606a' })
      : el('rect', { x: p.x, y: p.y, width: W, height: H, rx: 8, fill: '#fff', stroke: '#57606a' }));
    n.label.split('\n').slice(0, 3).forEach((t, i) => {
      svg.appendChild(el('text', { x: p.x + W / 2, y: p.y + 20 + i * 15, 'font-size': 11, 'text-anchor': 'middle' },
        t.length > 30 ? t.slice(0, 29) + '…' : t));
    });
  }
  return svg;
}

async function showGraph() {
  const dot = await api('GET', '/admin/menus/graph');
  $('graph').replaceChildren(svgOf(dotGraph(dot)));
  $('graph').className = '';
}

async function showCatalogue() {
  const c = await api('GET', '/admin/event-types');
  replace('catalogue', c.event_types.map((t) => {
    const tr = document.createElement('tr');
    cell(tr, t.type, 'mono');
    cell(tr, t.description);
    cell(tr, (t.schema.properties.data.required ?? []).join(', '), 'mono');
    return tr;
  }));
}

let loadedOnce = false;
async function refresh() {
  if (!token) {
    return;
  }
  // Each part on its own: one that fails says why without blanking the others.
  const problems = [];
  const part = async (fn) => {
    try {
      await fn();
    } catch (e) {
      problems.push(e.message);
    }
  };
  await part(async () => {
    const list = (await api('GET', '/admin/subscribers')).subscribers;
    await showSubscribers(list);
    await showDead(list);
  });
  await part(showCalls);
  if (!loadedOnce) {
    await part(showGraph);
    await part(showCatalogue);
    loadedOnce = problems.length === 0;
  }
  if (problems.length) {
    say(problems.join('; '), true);
  } else if (!$('status').textContent.startsWith('New secret')) {
    say(`Connected; refreshed ${new Date().toLocaleTimeString()}.`);
  }
}

$('token').value = token;
$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('switchboard-admin-token', token);
  loadedOnce = false;
  refresh();
});
setInterval(refresh, 5000);
refresh();
