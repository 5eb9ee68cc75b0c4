// The conference page: a lobby, then a grid of participants with camera, microphone and leave
// controls. URL parameters:
//   ?token=JWT[&url=ws://host:port]          join with this token, no lobby
//   ?room=R&name=N[&identity=I]&autojoin=1   get a dev token and join at once
//   simulcast=0   publish the camera as one layer      video=0 / audio=0   do not publish it
//   adaptive=0    do not tell the server the size each video is shown at
// Tests read window.podiumApp {room, state} and await window.podiumStats().

import { Room, collectStats } from './podium.js';
import { Grid } from './ui.js';

/** @typedef {import('./room.js').Room} RoomT */
/** @typedef {import('./participant.js').Participant} Participant */
/** @typedef {import('./participant.js').Subscription} Subscription */

const params = new URLSearchParams(location.search);
const flag = (/** @type {string} */ name, def = true) => (params.has(name) ? !['0', 'false', 'no', 'off'].includes(params.get(name) ?? '') : def);

const state = {
  /** @type {'lobby'|'joining'|'connected'|'left'|'error'} */
  phase: 'lobby',
  /** @type {string | null} */
  error: null,
  roomName: '',
  name: '',
  identity: '',
  simulcast: flag('simulcast'),
  adaptive: flag('adaptive'),
  /** Sids of our published tracks, set once publishing finished. */
  published: { camera: /** @type {string | null} */ (null), microphone: /** @type {string | null} */ (null) },
  /** True once the camera and microphone were published (or failed: see publishError). */
  ready: false,
  /** @type {string | null} */
  publishError: null,
  /** Why the last session ended ("client", "kicked", "connection_lost", ...). */
  /** @type {string | null} */
  leaveReason: null,
};

/** @type {{room: RoomT | null, state: typeof state}} */
const app = { room: null, state };
const w = /** @type {any} */ (window);
w.podiumApp = app;
w.podiumStats = async () =>
  app.room ? collectStats(app.room) : { inboundVideo: [], inboundAudio: [], outbound: [], connectionState: { publisher: 'new', subscriber: 'new' }, transport: { subscriberBitrate: 0, publisherBitrate: 0, rtt: 0 } };

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const form = /** @type {HTMLFormElement} */ ($('join-form'));
const lobbyError = $('lobby-error');
const statusEl = $('status');

const grid = new Grid($('grid'), {
  onVideoSize: (sid, width, height) => state.adaptive && sendSize(sid, width, height),
  onPin: (tile) => togglePin(tile),
});

/** Debounced trackSettings per remote video. @type {Map<string, ReturnType<typeof setTimeout>>} */
const sizeTimers = new Map();

/**
 * @param {string} sid
 * @param {number} width
 * @param {number} height
 */
function sendSize(sid, width, height) {
  clearTimeout(sizeTimers.get(sid));
  sizeTimers.set(sid, setTimeout(() => {
    sizeTimers.delete(sid);
    const room = app.room;
    const sub = room?.subscriptions.get(sid);
    if (!room || !sub || room.state !== 'connected') return;
    const pinned = grid.tiles.get(tileKey(sub))?.pinned ?? false;
    room.updateTrackSettings(sid, { enabled: width > 0 && height > 0, width, height, pinned }).catch((e) => console.warn('trackSettings', e));
  }, 250));
}

/** @param {import('./ui.js').Tile} tile */
function togglePin(tile) {
  const pin = !tile.pinned;
  for (const t of grid.tiles.values()) t.setPinned(false);
  tile.setPinned(pin);
  const room = app.room;
  if (!room) return;
  for (const [sid, sub] of room.subscriptions) {
    if (sub.trackInfo.kind !== 'video') continue;
    const t = grid.tiles.get(tileKey(sub));
    const v = t?.video;
    const dpr = window.devicePixelRatio || 1;
    room.updateTrackSettings(sid, {
      enabled: true,
      pinned: t === tile && pin,
      ...(state.adaptive && v ? { width: Math.round(v.clientWidth * dpr), height: Math.round(v.clientHeight * dpr) } : {}),
    }).catch(() => {});
  }
}

/** @param {string} text @param {string} [kind] */
function setStatus(text, kind = 'idle') {
  statusEl.textContent = text;
  statusEl.dataset.state = kind;
}

/** @param {'lobby'|'conference'} view */
function show(view) {
  $('lobby').hidden = view !== 'lobby';
  $('conference').hidden = view !== 'conference';
}

/** @param {string} msg */
function showLobbyError(msg) {
  lobbyError.textContent = msg;
  lobbyError.hidden = !msg;
}

/** A stable identity for a display name: a slug plus a random suffix, unique in the room. */
function makeIdentity(/** @type {string} */ name) {
  const slug = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'guest';
  return `${slug}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Asks the server for a development token.
 * @param {string} roomName
 * @param {string} identity
 * @param {string} name
 * @returns {Promise<{token: string, url: string}>}
 */
async function devToken(roomName, identity, name) {
  const q = new URLSearchParams({ room: roomName, identity, name });
  const res = await fetch(`/api/dev/token?${q}`);
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(body?.message || `the server refused a token (HTTP ${res.status})`);
  }
  const body = await res.json();
  if (!body?.token) throw new Error('the server sent no token');
  return { token: body.token, url: body.url || defaultURL() };
}

function defaultURL() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
}

/**
 * @param {string} url
 * @param {string} token
 */
async function join(url, token) {
  state.phase = 'joining';
  state.error = null;
  state.leaveReason = null;
  setStatus('Connecting…', 'connecting');
  const room = new Room();
  app.room = room;
  wire(room);
  try {
    await room.connect(url, token);
  } catch (err) {
    app.room = null;
    fail(err);
    return;
  }
  state.phase = 'connected';
  state.roomName = room.name;
  state.identity = room.localParticipant?.identity ?? state.identity;
  state.name = room.localParticipant?.displayName ?? state.name;
  $('room-title').textContent = room.name;
  document.title = `${room.name} · Podium`;
  setStatus('Connected', 'connected');
  show('conference');
  const me = room.localParticipant;
  grid.tile('local', { name: `${me?.displayName ?? 'Me'} (you)`, local: true, participantSid: me?.sid, identity: me?.identity });
  for (const p of room.participants.values()) addParticipant(p);
  for (const sub of room.subscriptions.values()) addTrack(sub);
  await publishLocal(room);
}

/**
 * Publishes the camera and the microphone, together (their negotiations share one offer).
 * @param {RoomT} room
 */
async function publishLocal(room) {
  const [cam, mic] = await Promise.allSettled([
    flag('video') ? room.publishCamera({ simulcast: state.simulcast }) : null,
    flag('audio') ? room.publishMicrophone() : null,
  ]);
  const errors = [];
  if (cam.status === 'rejected') errors.push(`camera: ${errText(cam.reason)}`);
  else if (cam.value) {
    state.published.camera = cam.value.sid;
    grid.tile('local', { name: '', local: true }).setVideo(cam.value.track, cam.value.sid);
  }
  if (mic.status === 'rejected') errors.push(`microphone: ${errText(mic.reason)}`);
  else if (mic.value) state.published.microphone = mic.value.sid;
  state.publishError = errors.length ? errors.join('; ') : null;
  if (errors.length) console.warn('podium app: could not publish', state.publishError);
  updateControls();
  state.ready = true;
}

/** @param {RoomT} room */
function wire(room) {
  room.on('participantJoined', ({ participant }) => addParticipant(participant));
  room.on('participantUpdated', ({ participant }) => refreshParticipant(participant));
  room.on('participantLeft', ({ participant }) => {
    for (const key of [...grid.tiles.keys()]) if (key === participant.sid || key.startsWith(`${participant.sid}:`)) grid.remove(key);
  });
  room.on('trackSubscribed', (sub) => addTrack(sub));
  room.on('trackUnsubscribed', (sub) => removeTrack(sub));
  room.on('trackMuted', ({ participant }) => refreshParticipant(participant));
  room.on('streamState', ({ trackSid, state: s }) => {
    const sub = room.subscriptions.get(trackSid);
    if (sub) grid.tiles.get(tileKey(sub))?.setStreamState(s);
  });
  room.on('activeSpeakers', ({ speakers, dominantSid }) => {
    const speaking = new Set(speakers.map((/** @type {{sid: string}} */ s) => s.sid));
    for (const t of grid.tiles.values()) {
      const sid = t.local ? room.localParticipant?.sid : t.el.dataset.participantSid;
      t.setSpeaking(!!sid && speaking.has(sid), !!sid && sid === dominantSid);
    }
  });
  room.on('connectionQuality', ({ updates }) => {
    for (const u of updates) {
      const key = u.sid === room.localParticipant?.sid ? 'local' : u.sid;
      grid.tiles.get(key)?.setQuality(u.quality);
    }
  });
  room.on('disconnected', ({ reason }) => onDisconnected(reason));
}

/** @param {Subscription} sub */
function tileKey(sub) {
  return sub.trackInfo.source === 'screen' || sub.trackInfo.source === 'screen_audio' ? `${sub.participant.sid}:screen` : sub.participant.sid;
}

/** @param {Participant} p */
function addParticipant(p) {
  if (p.permissions?.hidden) return;
  grid.tile(p.sid, { name: p.displayName, participantSid: p.sid, identity: p.identity });
  refreshParticipant(p);
}

/** @param {Participant} p */
function refreshParticipant(p) {
  const t = grid.tiles.get(p.isLocal ? 'local' : p.sid);
  if (!t) return;
  if (!p.isLocal) t.setName(p.displayName);
  const mic = p.trackBySource('microphone');
  const cam = p.trackBySource('camera');
  t.setMicMuted(!mic || mic.muted);
  t.setVideoMuted(!!cam?.muted);
}

/** @param {Subscription} sub */
function addTrack(sub) {
  const p = sub.participant;
  const screen = sub.trackInfo.source === 'screen' || sub.trackInfo.source === 'screen_audio';
  const t = grid.tile(tileKey(sub), { name: screen ? `${p.displayName} (screen)` : p.displayName, participantSid: p.sid, identity: p.identity, screen });
  if (sub.track.kind === 'video') t.setVideo(sub.track, sub.trackInfo.sid);
  else t.addAudio(sub.track, sub.trackInfo.sid);
  refreshParticipant(p);
}

/** @param {Subscription} sub */
function removeTrack(sub) {
  const key = tileKey(sub);
  const t = grid.tiles.get(key);
  if (!t) return;
  t.clearVideo(sub.trackInfo.sid);
  t.removeAudio(sub.trackInfo.sid);
  if (t.el.classList.contains('screen') && !t.video && t.audios.size === 0) grid.remove(key);
}

/** @param {string} reason */
function onDisconnected(reason) {
  state.leaveReason = reason;
  state.phase = reason === 'client' ? 'left' : 'error';
  if (reason !== 'client') state.error = `disconnected: ${reason}`;
  grid.clear();
  $('room-title').textContent = '';
  document.title = 'Podium';
  setStatus(reason === 'client' ? 'Left' : `Disconnected (${reason})`, reason === 'client' ? 'idle' : 'error');
  showLobbyError(reason === 'client' ? '' : `You were disconnected: ${reason.replace(/_/g, ' ')}.`);
  show('lobby');
}

/** @param {unknown} err */
function fail(err) {
  state.phase = 'error';
  state.error = errText(err);
  setStatus('Not connected', 'error');
  showLobbyError(`Could not join: ${state.error}`);
  show('lobby');
  console.error('podium app:', err);
}

/** @param {unknown} err */
function errText(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Toggles the mute of one of our tracks.
 * @param {'camera'|'microphone'} source
 */
async function toggleMute(source) {
  const room = app.room;
  const sid = state.published[source];
  const pub = sid ? room?.localParticipant?.publications.get(sid) : undefined;
  if (!room || !pub) return;
  try {
    await room.setMuted(pub.sid, !pub.muted);
  } catch (err) {
    console.warn('podium app: mute failed', err);
  }
  updateControls();
}

function updateControls() {
  const lp = app.room?.localParticipant;
  const get = (/** @type {string | null} */ sid) => (sid ? lp?.publications.get(sid) : undefined);
  const mic = get(state.published.microphone);
  const cam = get(state.published.camera);
  const set = (/** @type {string} */ id, /** @type {any} */ pub, /** @type {string} */ on, /** @type {string} */ off) => {
    const b = /** @type {HTMLButtonElement} */ ($(id));
    b.disabled = !pub;
    b.setAttribute('aria-pressed', String(!!pub?.muted));
    /** @type {HTMLElement} */ (b.querySelector('.label')).textContent = pub?.muted ? off : on;
  };
  set('btn-mic', mic, 'Mute', 'Unmute');
  set('btn-cam', cam, 'Stop video', 'Start video');
  const local = grid.tiles.get('local');
  local?.setMicMuted(!mic || mic.muted);
  local?.setVideoMuted(!!cam?.muted);
}

$('btn-mic').addEventListener('click', () => toggleMute('microphone'));
$('btn-cam').addEventListener('click', () => toggleMute('camera'));
$('btn-leave').addEventListener('click', () => app.room?.leave());

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const data = new FormData(form);
  const roomName = String(data.get('room') ?? '').trim();
  const name = String(data.get('name') ?? '').trim();
  if (!roomName || !name) return;
  showLobbyError('');
  /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')).disabled = true;
  try {
    await joinByName(roomName, name, params.get('identity') || makeIdentity(name));
  } finally {
    /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]')).disabled = false;
  }
});

/**
 * @param {string} roomName
 * @param {string} name
 * @param {string} identity
 */
async function joinByName(roomName, name, identity) {
  Object.assign(state, { roomName, name, identity });
  let creds;
  try {
    creds = await devToken(roomName, identity, name);
  } catch (err) {
    fail(err);
    return;
  }
  await join(creds.url, creds.token);
}

function start() {
  const f = /** @type {HTMLFormControlsCollection & Record<string, HTMLInputElement>} */ (form.elements);
  f.room.value = params.get('room') ?? '';
  f.name.value = params.get('name') ?? localStorage.getItem('podium.name') ?? '';
  f.name.addEventListener('change', () => localStorage.setItem('podium.name', f.name.value.trim()));
  const token = params.get('token');
  if (token) {
    join(params.get('url') || defaultURL(), token);
  } else if (flag('autojoin', false) && params.get('room') && params.get('name')) {
    const name = /** @type {string} */ (params.get('name'));
    joinByName(/** @type {string} */ (params.get('room')), name, params.get('identity') || makeIdentity(name));
  } else {
    show('lobby');
    (f.room.value ? f.name : f.room).focus();
  }
}

start();
