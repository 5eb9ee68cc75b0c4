// The admin dashboard at /admin: polls GET /api/admin/stats every second and shows the server,
// its rooms, their participants, what each publishes and what the server forwards to each, with
// small bitrate charts; kick, mute and close-room actions use the HTTP API.
//   /admin?token=JWT   a token with roomList or roomAdmin; in dev mode the page gets one itself.

import { hue, initials } from './ui.js';
import { sparkline, History } from './charts.js';

const POLL_MS = 1000;
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const params = new URLSearchParams(location.search);

/** @type {any} */
let last = null;
let token = params.get('token') || sessionStorage.getItem('podium.adminToken') || '';
const history = new History(60);
/** Ids of buttons waiting for a second click, with their timers. @type {Map<string, ReturnType<typeof setTimeout>>} */
const confirming = new Map();

const w = /** @type {any} */ (window);
w.podiumAdmin = { get stats() { return last; } };

// ---- formatting

/** @param {number} bps */
function bitrate(bps) {
  if (!bps) return '0 kb/s';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(bps >= 1e7 ? 0 : 1)} Mb/s`;
  return `${Math.max(1, Math.round(bps / 1e3))} kb/s`;
}
/** @param {number} n */
function rate(n) {
  return n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`;
}
/** @param {number} bytes */
function mem(bytes) {
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(1)} GB` : `${Math.round(bytes / (1 << 20))} MB`;
}
/** @param {number} seconds */
function age(seconds) {
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}
const sourceName = /** @type {Record<string, string>} */ ({ camera: 'Camera', microphone: 'Microphone', screen: 'Screen', screen_audio: 'Screen audio' });
const sourceIcon = /** @type {Record<string, string>} */ ({ camera: 'icon-cam', microphone: 'icon-mic', screen: 'icon-screen', screen_audio: 'icon-screen' });

// ---- a tiny keyed renderer: reuse elements by key so that the page updates in place

/**
 * @template T
 * @param {HTMLElement} parent
 * @param {T[]} items
 * @param {(item: T) => string} key
 * @param {(item: T) => HTMLElement} create
 * @param {(el: HTMLElement, item: T) => void} update
 */
function keyed(parent, items, key, create, update) {
  /** @type {Map<string, HTMLElement>} */
  const old = new Map();
  for (const c of /** @type {HTMLElement[]} */ ([...parent.children])) if (c.dataset.key) old.set(c.dataset.key, c);
  items.forEach((item, i) => {
    const k = key(item);
    let el = old.get(k);
    old.delete(k);
    if (!el) {
      el = create(item);
      el.dataset.key = k;
    }
    update(el, item);
    if (parent.children[i] !== el) parent.insertBefore(el, parent.children[i] ?? null);
  });
  for (const el of old.values()) el.remove();
}

/**
 * @param {string} html
 * @returns {HTMLElement}
 */
function h(html) {
  const t = document.createElement('template');
  t.innerHTML = html.trim();
  return /** @type {HTMLElement} */ (t.content.firstElementChild);
}

/**
 * @param {HTMLElement} root
 * @param {string} sel
 * @param {string} text
 */
function setText(root, sel, text) {
  const el = /** @type {HTMLElement | null} */ (root.querySelector(sel));
  if (el && el.textContent !== text) el.textContent = text;
}

/** @param {string} s */
function esc(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---- server cards

/** @param {any} srv */
function renderServer(srv) {
  const box = $('server');
  box.hidden = !srv;
  if (!srv) return;
  const cards = [
    { key: 'cpu', label: 'CPU', value: srv.cpuPercent == null ? '—' : `${srv.cpuPercent.toFixed(srv.cpuPercent < 10 ? 1 : 0)}%`, sub: `of one core · ${srv.numCpu} cores`, series: srv.cpuPercent ?? 0, color: 'var(--accent)' },
    { key: 'mem', label: 'Memory', value: srv.rssBytes == null ? '—' : mem(srv.rssBytes), sub: `resident · ${srv.goroutines} goroutines`, series: (srv.rssBytes ?? 0) / (1 << 20), color: '#a78bfa' },
    { key: 'in', label: 'Packets in', value: `${rate(srv.packetsInPerSec)}/s`, sub: bitrate(srv.bitrateIn), series: srv.packetsInPerSec, color: 'var(--ok)' },
    { key: 'out', label: 'Packets out', value: `${rate(srv.packetsOutPerSec)}/s`, sub: bitrate(srv.bitrateOut), series: srv.packetsOutPerSec, color: '#38bdf8' },
    { key: 'load', label: 'Load', value: `${srv.participants} ${srv.participants === 1 ? 'person' : 'people'}`, sub: `${srv.rooms} ${srv.rooms === 1 ? 'room' : 'rooms'} · up ${age(srv.uptimeSeconds)}`, series: srv.participants, color: 'var(--warn)' },
  ];
  keyed(box, cards, (c) => c.key, (c) => h(`<div class="stat-card" data-metric="${c.key}">
      <div class="stat-label">${c.label}</div><div class="stat-value"></div><div class="stat-sub"></div>
      <div class="stat-chart"></div></div>`), (el, c) => {
    history.push(`server/${c.key}`, c.series);
    setText(el, '.stat-value', c.value);
    setText(el, '.stat-sub', c.sub);
    sparkline(/** @type {HTMLElement} */ (el.querySelector('.stat-chart')), history.get(`server/${c.key}`), { color: c.color, height: 44 });
  });
}

// ---- rooms

/** @param {any[]} rooms */
function renderRooms(rooms) {
  $('room-count').textContent = String(rooms.length);
  $('no-rooms').hidden = rooms.length > 0;
  keyed($('rooms'), rooms, (r) => r.sid, (r) => h(`<article class="room" data-room="${esc(r.name)}">
      <header class="room-head">
        <div class="room-name"><h3></h3><span class="room-sub"></span></div>
        <span class="speaker-chip" hidden></span>
        <button type="button" class="close-room ghost-danger">Close room</button>
      </header>
      <div class="table">
        <div class="thead"><span>Participant</span><span>Publishing</span><span>Receiving</span><span></span></div>
        <div class="participants"></div>
      </div>
    </article>`), renderRoom);
}

/**
 * @param {HTMLElement} el
 * @param {any} r
 */
function renderRoom(el, r) {
  setText(el, 'h3', r.name);
  const people = r.participants.filter((/** @type {any} */ p) => !p.hidden).length;
  setText(el, '.room-sub', `${people} of ${r.maxParticipants} · open ${age(Date.now() / 1000 - r.createdAt)}`);
  // The server's dominant speaker when it detects one; until then the loudest microphone now.
  let speaker = r.dominantSpeaker ? r.participants.find((/** @type {any} */ p) => p.sid === r.dominantSpeaker) : null;
  let label = 'Dominant speaker';
  if (!speaker) {
    label = 'Speaking';
    let best = 127;
    for (const p of r.participants) {
      for (const t of p.tracks) {
        if (t.source === 'microphone' && !t.muted && t.audioLevel != null && t.audioLevel < 50 && t.audioLevel < best) {
          best = t.audioLevel;
          speaker = p;
        }
      }
    }
  }
  const chip = /** @type {HTMLElement} */ (el.querySelector('.speaker-chip'));
  chip.hidden = !speaker;
  if (speaker) chip.innerHTML = `<span class="icon icon-mic"></span>${label}: <b>${esc(speaker.name || speaker.identity)}</b>`;
  const close = /** @type {HTMLButtonElement} */ (el.querySelector('.close-room'));
  close.onclick = () => confirmThen(close, `room:${r.name}`, 'Close room', 'Close for everyone?', () => api('DELETE', `/api/rooms/${encodeURIComponent(r.name)}`));
  keyed(/** @type {HTMLElement} */ (el.querySelector('.participants')), r.participants, (p) => p.sid, (p) => h(`<div class="participant" data-identity="${esc(p.identity)}">
      <div class="who"><span class="avatar-sm"></span><div><div class="pname"></div><div class="pid"></div></div></div>
      <div class="tracks"></div>
      <div class="subs"></div>
      <div class="actions"><button type="button" class="kick ghost-danger">Kick</button></div>
    </div>`), (pel, p) => renderParticipant(pel, p, r));
}

/**
 * @param {HTMLElement} el
 * @param {any} p
 * @param {any} r
 */
function renderParticipant(el, p, r) {
  const name = p.name || p.identity;
  const av = /** @type {HTMLElement} */ (el.querySelector('.avatar-sm'));
  av.textContent = initials(name);
  av.style.setProperty('--hue', String(hue(name)));
  el.classList.toggle('speaking', r.dominantSpeaker === p.sid);
  setText(el, '.pname', name + (p.hidden ? ' (hidden)' : ''));
  const connected = p.publisherState === 'connected' && p.subscriberState === 'connected';
  const q = connected ? p.quality ?? 'excellent' : 'lost';
  el.querySelector('.pid')?.replaceChildren(
    h(`<span class="conn" data-quality="${esc(q)}" title="connection ${esc(p.quality ?? 'not rated yet')}; publisher ${esc(p.publisherState)}, subscriber ${esc(p.subscriberState)}${p.downlinkEstimate != null ? `; downlink estimate ${bitrate(p.downlinkEstimate)}` : ''}"></span>`),
    document.createTextNode(p.identity));
  keyed(/** @type {HTMLElement} */ (el.querySelector('.tracks')), p.tracks, (t) => t.sid, (t) => h(`<div class="track" data-track-sid="${esc(t.sid)}">
      <span class="icon ${sourceIcon[t.source] ?? 'icon-cam'}"></span>
      <div class="track-info"><div class="track-name"></div><div class="track-detail"></div><div class="track-layers"></div></div>
      <span class="spark"></span><span class="rate-box"><span class="rate"></span><span class="audience"></span></span>
      <button type="button" class="mute small">Mute</button>
    </div>`), (tel, t) => {
    const key = `t/${t.sid}`;
    history.push(key, t.bitrate);
    setText(tel, '.track-name', sourceName[t.source] ?? t.source);
    const codec = (t.mimeType || '').split('/')[1] ?? '';
    const size = t.height ? `${t.height}p` : '';
    setText(tel, '.track-detail', [codec, size].filter(Boolean).join(' · '));
    // Simulcast: which layers arrive (dynacast turns off the ones nobody watches).
    const received = (t.received ?? []).filter((/** @type {any} */ l) => l.rid);
    const chips = /** @type {HTMLElement} */ (tel.querySelector('.track-layers'));
    chips.hidden = received.length === 0;
    chips.replaceChildren(...received.map((/** @type {any} */ l) => h(`<span class="chip ${l.active ? 'on' : ''}" title="${l.active ? `${l.width}×${l.height}, ${l.fps} fps, ${bitrate(l.bitrate)}` : 'not sent'}">${esc(l.rid)}</span>`)));
    setText(tel, '.rate', bitrate(t.bitrate));
    setText(tel, '.audience', `${t.subscribers} ${t.kind === 'audio' ? 'listening' : 'watching'}`);
    tel.classList.toggle('muted', t.muted);
    sparkline(/** @type {HTMLElement} */ (tel.querySelector('.spark')), history.get(key), { color: t.kind === 'audio' ? 'var(--ok)' : 'var(--accent)', height: 22, width: 72 });
    const b = /** @type {HTMLButtonElement} */ (tel.querySelector('.mute'));
    b.textContent = t.muted ? 'Unmute' : 'Mute';
    b.classList.toggle('on', t.muted);
    b.onclick = () => api('POST', `/api/rooms/${encodeURIComponent(r.name)}/participants/${encodeURIComponent(p.identity)}/mute`, { trackSid: t.sid, muted: !t.muted });
  });
  const subs = /** @type {HTMLElement} */ (el.querySelector('.subs'));
  keyed(subs, p.subscriptions, (s) => s.trackSid, (s) => h(`<div class="subscription" data-track-sid="${esc(s.trackSid)}">
      <span class="icon ${sourceIcon[s.source] ?? 'icon-cam'}"></span><span class="from"></span><span class="layer"></span>
      <span class="spark"></span><span class="rate"></span></div>`), (sel, s) => {
    const key = `s/${p.sid}/${s.trackSid}`;
    history.push(key, s.bitrate);
    const from = r.participants.find((/** @type {any} */ x) => x.sid === s.publisherSid);
    setText(sel, '.from', from?.name || s.publisherIdentity);
    const layerEl = /** @type {HTMLElement} */ (sel.querySelector('.layer'));
    const names = /** @type {Record<string, string>} */ ({ q: 'low', h: 'medium', f: 'high' });
    const layer = s.kind !== 'video' ? '' : s.paused ? 'paused' : s.layer ? names[s.layer] ?? s.layer : 'single';
    layerEl.textContent = layer;
    layerEl.classList.toggle('paused', !!s.paused);
    layerEl.title = s.kind !== 'video' ? '' : s.paused ? 'Paused: hidden, or no room in the bandwidth' : s.layer ? `Simulcast layer ${s.layer}` : 'One stream, no simulcast';
    layerEl.style.visibility = layer ? '' : 'hidden';
    setText(sel, '.rate', bitrate(s.bitrate));
    sparkline(/** @type {HTMLElement} */ (sel.querySelector('.spark')), history.get(key), { color: '#38bdf8', height: 16, width: 48 });
  });
  if (p.subscriptions.length === 0) subs.dataset.empty = 'Nothing yet';
  else delete subs.dataset.empty;
  const kick = /** @type {HTMLButtonElement} */ (el.querySelector('.kick'));
  kick.onclick = () => confirmThen(kick, `kick:${r.name}/${p.identity}`, 'Kick', 'Kick?', () => api('DELETE', `/api/rooms/${encodeURIComponent(r.name)}/participants/${encodeURIComponent(p.identity)}`));
}

/**
 * A destructive action asks for a second click within 4 s.
 * @param {HTMLButtonElement} b
 * @param {string} id
 * @param {string} label
 * @param {string} ask
 * @param {() => Promise<void>} action
 */
function confirmThen(b, id, label, ask, action) {
  if (!b.classList.contains('confirm')) {
    b.classList.add('confirm');
    b.textContent = ask;
    confirming.set(id, setTimeout(() => {
      b.classList.remove('confirm');
      b.textContent = label;
      confirming.delete(id);
    }, 4000));
    return;
  }
  clearTimeout(confirming.get(id));
  confirming.delete(id);
  b.disabled = true;
  action().finally(() => {
    b.disabled = false;
    b.classList.remove('confirm');
    b.textContent = label;
    poll();
  });
}

// ---- API

/**
 * @param {string} method
 * @param {string} path
 * @param {object} [body]
 */
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) {
    const err = await res.json().catch(() => null);
    setStatus(`Failed: ${err?.message ?? `HTTP ${res.status}`}`, 'error');
  }
}

/** @param {string} text @param {string} kind */
function setStatus(text, kind) {
  $('status').textContent = text;
  $('status').dataset.state = kind;
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
let polling = false;

async function poll() {
  if (polling) return;
  polling = true;
  clearTimeout(timer);
  try {
    const res = await fetch('/api/admin/stats', { headers: { Authorization: `Bearer ${token}` } });
    if (res.status === 401 || res.status === 403) {
      const err = await res.json().catch(() => null);
      showLogin(err?.message ?? 'This token may not see the dashboard.');
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    last = await res.json();
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('live').hidden = false;
    renderServer(last.server);
    renderRooms(last.rooms);
    pollNodes();
    setStatus(`Updated ${new Date(last.ts).toLocaleTimeString()}`, 'connected');
  } catch (err) {
    $('live').hidden = true;
    setStatus(`Server unreachable (${err instanceof Error ? err.message : err})`, 'error');
  } finally {
    polling = false;
  }
  timer = setTimeout(poll, POLL_MS);
}

// ---- the cluster's nodes (GET /api/nodes; none on a lone node, or without roomList)

async function pollNodes() {
  /** @type {any[]} */
  let nodes = [];
  try {
    const res = await fetch('/api/nodes', { headers: { Authorization: `Bearer ${token}` } });
    if (res.ok) nodes = (await res.json()).nodes ?? [];
  } catch { /* the rooms' poll reports an unreachable server */ }
  $('nodes-box').hidden = nodes.length === 0;
  $('node-count').textContent = String(nodes.length);
  const body = /** @type {HTMLElement} */ ($('nodes').querySelector('tbody'));
  keyed(body, nodes, (n) => n.id, () => h('<tr><td></td><td></td><td></td><td></td><td></td></tr>'), (el, n) => {
    const cells = el.querySelectorAll('td');
    cells[0].textContent = n.id;
    cells[1].textContent = n.addr;
    cells[2].textContent = n.region || '—';
    cells[3].textContent = `${Math.round((n.load?.cpu ?? 0) * 100)}%`;
    cells[4].textContent = String(n.load?.participants ?? 0) + (n.draining ? ' · draining' : '');
    el.classList.toggle('self', n === nodes[0]);
    el.dataset.node = n.id;
  });
}

/** @param {string} msg */
function showLogin(msg) {
  $('dashboard').hidden = true;
  $('login').hidden = false;
  $('live').hidden = true;
  setStatus('Signed out', 'idle');
  const e = $('login-error');
  e.textContent = token ? msg : '';
  e.hidden = !token;
}

/** In dev mode the server mints an admin token for anyone. */
async function devToken() {
  const res = await fetch('/api/dev/token?admin=1');
  if (!res.ok) return '';
  return (await res.json()).token ?? '';
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = /** @type {HTMLInputElement} */ (/** @type {HTMLFormElement} */ ($('login-form')).elements.namedItem('token'));
  token = input.value.trim();
  sessionStorage.setItem('podium.adminToken', token);
  poll();
});

async function start() {
  if (!token) token = await devToken().catch(() => '');
  if (!token) {
    showLogin('');
    return;
  }
  poll();
}

start();
