// The conference app: a lobby, then a stage (the dominant speaker or a screen share) with a
// filmstrip, chat, device selection and call controls. URL parameters:
//   ?token=JWT[&url=ws://host:port]          join with this token, no lobby (another server's url
//                                            only if this one allows it: --allowed-app-urls)
//   ?room=R&name=N[&identity=I]&autojoin=1   get a dev token and join at once
//   simulcast=0   publish the camera as one layer      video=0 / audio=0   do not publish it
//   adaptive=0    do not tell the server the size each video is shown at
// Tests read window.podiumApp {room, state, view} and await window.podiumStats().

import { Room, collectStats, listDevices } from './podium.js';
import { View } from './ui.js';
import { Chat, CHAT_TOPIC } from './chat.js';
import { Quality } from './quality.js';

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
  /** Sids of our published tracks. */
  published: { camera: /** @type {string | null} */ (null), microphone: /** @type {string | null} */ (null), screen: /** @type {string | null} */ (null) },
  /** True once the camera and microphone were published (or failed: see publishError). */
  ready: false,
  /** @type {string | null} */
  publishError: null,
  /** Why the last session ended ("client", "kicked", "connection_lost", ...). @type {string | null} */
  leaveReason: null,
  /** The audio output chosen in the device panel. */
  sinkId: '',
};

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const form = /** @type {HTMLFormElement} */ ($('join-form'));
const view = new View($('stage'), $('filmstrip'), { onPin: (tile) => togglePin(tile.key) });
const chat = new Chat($('chat'), /** @type {HTMLOListElement} */ ($('chat-log')), /** @type {HTMLFormElement} */ ($('chat-form')), {
  send: sendChat,
  onState: (open, unread) => {
    $('btn-chat').setAttribute('aria-pressed', String(open));
    const badge = $('chat-unread');
    badge.textContent = unread > 9 ? '9+' : String(unread);
    badge.hidden = open || unread === 0;
  },
});
const quality = new Quality();
/** Display names by identity, kept after people leave (for the chat). @type {Map<string, string>} */
const names = new Map();

/** @type {{room: RoomT | null, state: typeof state, view: View, chat: Chat}} */
const app = { room: null, state, view, chat };
const w = /** @type {any} */ (window);
w.podiumApp = app;
w.podiumStats = async () =>
  app.room ? collectStats(app.room) : { inboundVideo: [], inboundAudio: [], outbound: [], connectionState: { publisher: 'new', subscriber: 'new' }, transport: { subscriberBitrate: 0, publisherBitrate: 0, rtt: 0 } };

/** @type {ReturnType<typeof setInterval> | undefined} */
let statsTimer;

// ---- status, views, errors

/** @param {string} text @param {string} [kind] */
function setStatus(text, kind = 'idle') {
  $('status').textContent = text;
  $('status').dataset.state = kind;
}

/** @param {'lobby'|'conference'} name */
function show(name) {
  $('lobby').hidden = name !== 'lobby';
  $('conference').hidden = name !== 'conference';
  document.body.dataset.view = name;
}

/** @param {string} msg */
function showLobbyError(msg) {
  $('lobby-error').textContent = msg;
  $('lobby-error').hidden = !msg;
}

/** @param {string} text */
function toast(text) {
  const el = document.createElement('div');
  el.className = 'toast';
  el.textContent = text;
  $('toasts').append(el);
  setTimeout(() => el.classList.add('out'), 3200);
  setTimeout(() => el.remove(), 3800);
}

/** @param {unknown} err */
function errText(err) {
  return err instanceof Error ? err.message : String(err);
}

// ---- joining

/** A stable identity for a display name: a slug plus a random suffix, unique in the room. */
function makeIdentity(/** @type {string} */ name) {
  const slug = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'guest';
  return `${slug}-${Math.random().toString(36).slice(2, 8)}`;
}

function defaultURL() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
}

/**
 * Refuses a server other than the page's own unless the page's server allows it
 * (--allowed-app-urls): a link with ?url= must not send the camera and microphone elsewhere.
 * @param {string} url
 */
async function checkServerURL(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`"${url}" is not a server address`);
  }
  const origin = `${u.protocol}//${u.host}`;
  if (origin === defaultURL()) return;
  const res = await fetch('/api/app-config').catch(() => null);
  const config = res?.ok ? await res.json().catch(() => null) : null;
  if (!Array.isArray(config?.allowedUrls) || !config.allowedUrls.includes(origin)) {
    throw new Error(`this app connects only to its own server, not to ${origin}`);
  }
}

/**
 * Asks the server for a development token (dev mode only).
 * @param {string} roomName
 * @param {string} identity
 * @param {string} name
 * @returns {Promise<{token: string, url: string}>}
 */
async function devToken(roomName, identity, name) {
  const res = await fetch(`/api/dev/token?${new URLSearchParams({ room: roomName, identity, name })}`);
  if (res.status === 404) throw new Error('this server needs an invitation link: ask the organiser for one');
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.message || `the server refused a token (HTTP ${res.status})`);
  if (!body?.token) throw new Error('the server sent no token');
  return { token: body.token, url: body.url || defaultURL() };
}

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

/**
 * @param {string} url
 * @param {string} token
 */
async function join(url, token) {
  Object.assign(state, { phase: 'joining', error: null, leaveReason: null, ready: false, published: { camera: null, microphone: null, screen: null } });
  setStatus('Connecting…', 'connecting');
  try {
    await checkServerURL(url);
  } catch (err) {
    fail(err);
    return;
  }
  const room = new Room({ adaptiveStream: state.adaptive });
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
  const me = /** @type {Participant} */ (room.localParticipant);
  state.identity = me.identity;
  state.name = me.displayName;
  names.set(me.identity, me.displayName);
  $('room-title').textContent = room.name;
  document.title = `${room.name} · Podium`;
  setStatus('Connected', 'connected');
  chat.clear();
  show('conference');
  view.tile('local', { name: `${me.displayName} (you)`, local: true, participantSid: me.sid, identity: me.identity });
  for (const p of room.participants.values()) addParticipant(p);
  for (const sub of room.subscriptions.values()) addTrack(sub);
  refreshMeta();
  clearInterval(statsTimer);
  statsTimer = setInterval(() => updateStats(room), 1000);
  $('btn-screen').hidden = !navigator.mediaDevices?.getDisplayMedia;
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
  else if (cam.value) state.published.camera = cam.value.sid;
  if (mic.status === 'rejected') errors.push(`microphone: ${errText(mic.reason)}`);
  else if (mic.value) state.published.microphone = mic.value.sid;
  state.publishError = errors.length ? errors.join('; ') : null;
  if (errors.length) {
    console.warn('podium app: could not publish', state.publishError);
    toast(`Could not start ${errors.map((e) => e.split(':')[0]).join(' and ')}`);
  }
  showLocalVideo();
  updateControls();
  state.ready = true;
}

function showLocalVideo() {
  const pub = app.room?.publicationBySource('camera');
  const t = view.tiles.get('local');
  if (!t) return;
  if (!pub) {
    t.clearVideo();
    return;
  }
  t.clearVideo();
  t.setVideo(pub.sid, (v) => {
    v.srcObject = new MediaStream([pub.track]);
  });
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

// ---- room events

/** @param {RoomT} room */
function wire(room) {
  room.on('participantJoined', ({ participant }) => {
    addParticipant(participant);
    if (!participant.permissions?.hidden) {
      toast(`${participant.displayName} joined`);
      chat.system(`${participant.displayName} joined`);
    }
  });
  room.on('participantUpdated', ({ participant }) => refreshParticipant(participant));
  room.on('participantLeft', ({ participant }) => {
    for (const key of [...view.tiles.keys()]) if (key === participant.sid || key === `${participant.sid}:screen`) view.remove(key);
    quality.forget(participant.sid);
    toast(`${participant.displayName} left`);
    chat.system(`${participant.displayName} left`);
    refreshMeta();
  });
  room.on('trackSubscribed', (sub) => addTrack(sub));
  room.on('trackUnsubscribed', (sub) => removeTrack(sub));
  room.on('trackMuted', ({ participant }) => refreshParticipant(participant));
  room.on('streamState', ({ trackSid, state: s, layer }) => {
    const sub = room.subscriptions.get(trackSid);
    const t = sub && view.tiles.get(tileKey(sub));
    t?.setPaused(s === 'paused');
    if (t && layer) t.setLayer({ layer, height: Number(t.el.dataset.height) || 0 });
  });
  room.on('activeSpeakers', ({ speakers, dominantSid }) => {
    view.setSpeakers(new Set(speakers.map((/** @type {{sid: string}} */ s) => s.sid)), dominantSid, room.localParticipant?.sid);
  });
  room.on('connectionQuality', ({ updates }) => {
    for (const u of updates) {
      quality.fromServer(u.sid, u.quality);
      const key = u.sid === room.localParticipant?.sid ? 'local' : u.sid;
      view.tiles.get(key)?.setQuality(u.quality);
    }
  });
  room.onData(CHAT_TOPIC, ({ payload, from, participant }) => {
    if (typeof payload !== 'string') return;
    chat.add({ from: from ?? '', name: participant?.displayName ?? names.get(from) ?? from ?? 'Someone', text: payload });
  });
  room.on('localTrackPublished', (pub) => {
    if (pub.source === 'screen') showLocalScreen(pub);
    updateControls();
  });
  room.on('localTrackUnpublished', (pub) => {
    if (pub.source === 'screen') {
      view.remove('local:screen');
      state.published.screen = null;
    }
    updateControls();
  });
  room.on('localTrackMuted', () => updateControls());
  room.on('localTrackChanged', (pub) => pub.source === 'camera' && showLocalVideo());
  room.on('reconnecting', ({ attempt }) => setStatus(attempt > 1 ? `Reconnecting (attempt ${attempt})…` : 'Reconnecting…', 'connecting'));
  room.on('reconnected', () => {
    const lp = room.localParticipant;
    const local = view.tiles.get('local');
    if (lp && local) {
      local.participantSid = lp.sid;
      local.el.dataset.participantSid = lp.sid;
    }
    state.published.camera = room.publicationBySource('camera')?.sid ?? null;
    state.published.microphone = room.publicationBySource('microphone')?.sid ?? null;
    state.published.screen = room.publicationBySource('screen')?.sid ?? null;
    showLocalVideo();
    updateControls();
    setStatus('Connected', 'connected');
    toast('Reconnected');
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
  names.set(p.identity, p.displayName);
  view.tile(p.sid, { name: p.displayName, participantSid: p.sid, identity: p.identity });
  refreshParticipant(p);
  refreshMeta();
}

/** @param {Participant} p */
function refreshParticipant(p) {
  names.set(p.identity, p.displayName);
  if (p.isLocal) return updateControls();
  const t = view.tiles.get(p.sid);
  if (!t) return;
  t.setName(p.displayName);
  const mic = p.trackBySource('microphone');
  const cam = p.trackBySource('camera');
  t.setMicMuted(!mic || mic.muted);
  t.setVideoMuted(!cam || cam.muted);
  const screen = view.tiles.get(`${p.sid}:screen`);
  screen?.setName(`${p.displayName} is presenting`);
}

/** @param {Subscription} sub */
function addTrack(sub) {
  const room = /** @type {RoomT} */ (app.room);
  const p = sub.participant;
  const screen = sub.trackInfo.source === 'screen' || sub.trackInfo.source === 'screen_audio';
  const key = tileKey(sub);
  const isNew = !view.tiles.has(key);
  const t = view.tile(key, { name: screen ? `${p.displayName} is presenting` : p.displayName, participantSid: p.sid, identity: p.identity, screen });
  const sid = sub.trackInfo.sid;
  if (sub.track.kind === 'video') t.setVideo(sid, (v) => room.attach(sid, v));
  else t.addAudio(sid, (a) => {
    room.attach(sid, a);
    if (state.sinkId) /** @type {any} */ (a).setSinkId?.(state.sinkId).catch(() => {});
  });
  if (screen && isNew && sub.track.kind === 'video') toast(`${p.displayName} is presenting`);
  refreshParticipant(p);
}

/** @param {Subscription} sub */
function removeTrack(sub) {
  const room = app.room;
  const key = tileKey(sub);
  const t = view.tiles.get(key);
  if (!t) return;
  t.clearVideo(sub.trackInfo.sid, (v) => room?.detach(sub.trackInfo.sid, v));
  t.removeAudio(sub.trackInfo.sid);
  if (t.screen && !t.video && t.audios.size === 0) view.remove(key);
}

/** @param {import('./participant.js').LocalTrackPublication} pub */
function showLocalScreen(pub) {
  state.published.screen = pub.sid;
  const t = view.tile('local:screen', { name: 'Your screen', local: true, screen: true, participantSid: app.room?.localParticipant?.sid });
  t.setVideo(pub.sid, (v) => {
    v.srcObject = new MediaStream([pub.track]);
  });
}

/** @param {string} key */
function togglePin(key) {
  const room = app.room;
  const next = view.pinnedKey === key ? null : key;
  view.pin(next);
  if (!room) return;
  for (const [sid, sub] of room.subscriptions) {
    if (sub.trackInfo.kind === 'video') room.setPinned(sid, tileKey(sub) === next).catch(() => {});
  }
}

function refreshMeta() {
  const room = app.room;
  const n = room ? [...room.participants.values()].filter((p) => !p.permissions?.hidden).length + 1 : 0;
  $('room-meta').textContent = room && state.phase === 'connected' ? `${n} ${n === 1 ? 'person' : 'people'}` : '';
  // A link with the room's name admits no one where joining takes a token: each person needs
  // their own link from the app that minted this one.
  $('invite').hidden = !room || n > 1 || params.has('token');
}

/** @param {string} reason */
function onDisconnected(reason) {
  clearInterval(statsTimer);
  state.leaveReason = reason;
  state.phase = reason === 'client' ? 'left' : 'error';
  if (reason !== 'client') state.error = `disconnected: ${reason}`;
  view.clear();
  $('stage').replaceChildren();
  $('filmstrip').replaceChildren();
  $('room-title').textContent = '';
  $('room-meta').textContent = '';
  document.title = 'Podium';
  const why = {
    client: '',
    kicked: 'A moderator removed you from the room.',
    room_closed: 'The room was closed.',
    duplicate_identity: 'You joined from another window.',
    server_shutdown: 'The server is restarting. Try again in a moment.',
  };
  setStatus(reason === 'client' ? 'Left' : 'Disconnected', reason === 'client' ? 'idle' : 'error');
  showLobbyError(/** @type {Record<string, string>} */ (why)[reason] ?? `You were disconnected (${reason.replace(/_/g, ' ')}).`);
  show('lobby');
}

// ---- stats: received layer and connection quality

/** @param {RoomT} room */
async function updateStats(room) {
  if (room !== app.room || room.state !== 'connected') return;
  const stats = await collectStats(room).catch(() => null);
  if (!stats) return;
  for (const v of stats.inboundVideo) {
    const sub = v.trackSid ? room.subscriptions.get(v.trackSid) : undefined;
    const t = sub && view.tiles.get(tileKey(sub));
    if (!t || !sub) continue;
    t.setLayer({ layer: sub.streamState?.layer ?? null, height: v.frameHeight, paused: sub.streamState?.state === 'paused' });
  }
  for (const [sid, q] of quality.update(room, stats)) {
    view.tiles.get(sid === room.localParticipant?.sid ? 'local' : sid)?.setQuality(q);
  }
}

// ---- controls

/**
 * Toggles the mute of our camera or microphone.
 * @param {'camera'|'microphone'} source
 */
async function toggleMute(source) {
  const room = app.room;
  const pub = room?.publicationBySource(source);
  if (!room || !pub) return;
  try {
    await room.setMuted(pub.sid, !pub.muted);
  } catch (err) {
    console.warn('podium app: mute failed', err);
  }
  updateControls();
}

async function toggleScreen() {
  const room = app.room;
  if (!room) return;
  const pub = room.publicationBySource('screen');
  try {
    if (pub) {
      for (const p of [...(room.localParticipant?.publications.values() ?? [])]) {
        if (p.source === 'screen' || p.source === 'screen_audio') await room.unpublish(p.sid);
      }
    } else {
      await room.publishScreen();
    }
  } catch (err) {
    if (/** @type {any} */ (err)?.name !== 'NotAllowedError') toast(`Screen sharing failed: ${errText(err)}`);
  }
  updateControls();
}

function updateControls() {
  const room = app.room;
  const mic = room?.publicationBySource('microphone');
  const cam = room?.publicationBySource('camera');
  const screen = room?.publicationBySource('screen');
  /**
   * @param {string} id
   * @param {boolean} enabled
   * @param {boolean} off
   * @param {string} title
   */
  const set = (id, enabled, off, title) => {
    const b = /** @type {HTMLButtonElement} */ ($(id));
    b.disabled = !enabled;
    b.classList.toggle('off', off);
    b.setAttribute('aria-pressed', String(off));
    b.title = title;
  };
  set('btn-mic', !!mic, !mic || mic.muted, mic?.muted ? 'Unmute microphone' : 'Mute microphone');
  set('btn-cam', !!cam, !cam || cam.muted, cam?.muted ? 'Turn camera on' : 'Turn camera off');
  const share = $('btn-screen');
  share.classList.toggle('active', !!screen);
  share.setAttribute('aria-pressed', String(!!screen));
  share.title = screen ? 'Stop sharing' : 'Share your screen';
  /** @type {HTMLElement} */ (share.querySelector('.label')).textContent = screen ? 'Stop' : 'Share';
  const local = view.tiles.get('local');
  local?.setMicMuted(!mic || mic.muted);
  local?.setVideoMuted(!cam || cam.muted);
}

/** @param {string} text */
async function sendChat(text) {
  const room = app.room;
  if (!room) throw new Error('not connected');
  await room.sendData(text, { topic: CHAT_TOPIC, reliable: true });
  chat.add({ from: state.identity, name: state.name, text, self: true });
}

/** @param {'chat'|'settings'|null} name */
function openPanel(name) {
  if (name !== 'chat' && chat.open) chat.setOpen(false);
  $('settings').hidden = name !== 'settings';
  $('btn-settings').setAttribute('aria-pressed', String(name === 'settings'));
  if (name === 'chat' && !chat.open) chat.setOpen(true);
  if (name === 'settings') fillDevices();
  document.body.dataset.panel = name ?? '';
}

async function fillDevices() {
  const room = app.room;
  const devices = await listDevices().catch(() => null);
  if (!devices) return;
  /**
   * @param {string} id
   * @param {MediaDeviceInfo[]} list
   * @param {string | undefined} current
   */
  const fill = (id, list, current) => {
    const sel = /** @type {HTMLSelectElement} */ ($(id));
    sel.replaceChildren(...list.map((d, i) => new Option(d.label || `Device ${i + 1}`, d.deviceId, false, d.deviceId === current)));
    sel.disabled = list.length === 0;
  };
  const camId = room?.publicationBySource('camera')?.track.getSettings().deviceId;
  const micId = room?.publicationBySource('microphone')?.track.getSettings().deviceId;
  fill('select-camera', devices.cameras, camId);
  fill('select-microphone', devices.microphones, micId);
  fill('select-speaker', devices.speakers, state.sinkId);
  $('speaker-field').hidden = devices.speakers.length === 0 || !('setSinkId' in HTMLMediaElement.prototype);
}

for (const [id, source] of /** @type {const} */ ([['select-camera', 'camera'], ['select-microphone', 'microphone']])) {
  $(id).addEventListener('change', async (ev) => {
    const deviceId = /** @type {HTMLSelectElement} */ (ev.target).value;
    try {
      await app.room?.switchDevice(source, deviceId);
    } catch (err) {
      toast(`Could not switch ${source}: ${errText(err)}`);
    }
  });
}
$('select-speaker').addEventListener('change', (ev) => {
  state.sinkId = /** @type {HTMLSelectElement} */ (ev.target).value;
  for (const a of document.querySelectorAll('audio')) /** @type {any} */ (a).setSinkId?.(state.sinkId).catch(() => {});
});

$('btn-mic').addEventListener('click', () => toggleMute('microphone'));
$('btn-cam').addEventListener('click', () => toggleMute('camera'));
$('btn-screen').addEventListener('click', () => toggleScreen());
$('btn-chat').addEventListener('click', () => openPanel(chat.open ? null : 'chat'));
$('btn-settings').addEventListener('click', () => openPanel($('settings').hidden ? 'settings' : null));
for (const b of document.querySelectorAll('[data-close]')) b.addEventListener('click', () => openPanel(null));
$('btn-leave').addEventListener('click', () => app.room?.leave());
$('btn-invite').addEventListener('click', async () => {
  const link = `${location.origin}/?room=${encodeURIComponent(state.roomName)}`;
  try {
    await navigator.clipboard.writeText(link);
    toast('Invite link copied');
  } catch {
    toast(link);
  }
});

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const data = new FormData(form);
  const roomName = String(data.get('room') ?? '').trim();
  const name = String(data.get('name') ?? '').trim();
  if (!roomName || !name) return;
  showLobbyError('');
  const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
  button.disabled = true;
  try {
    await joinByName(roomName, name, params.get('identity') || makeIdentity(name));
  } finally {
    button.disabled = false;
  }
});

function start() {
  const f = /** @type {HTMLFormControlsCollection & Record<string, HTMLInputElement>} */ (form.elements);
  f.room.value = params.get('room') ?? '';
  f.name.value = params.get('name') ?? localStorage.getItem('podium.name') ?? '';
  f.name.addEventListener('change', () => localStorage.setItem('podium.name', f.name.value.trim()));
  show('lobby');
  const token = params.get('token');
  if (token) {
    join(params.get('url') || defaultURL(), token);
  } else if (flag('autojoin', false) && params.get('room') && params.get('name')) {
    const name = /** @type {string} */ (params.get('name'));
    joinByName(/** @type {string} */ (params.get('room')), name, params.get('identity') || makeIdentity(name));
  } else {
    (f.room.value ? f.name : f.room).focus();
    invitationOnly();
  }
}

/** Where joining takes a token, the lobby says so instead of offering a form that cannot work. */
async function invitationOnly() {
  const res = await fetch('/api/app-config').catch(() => null);
  const config = res?.ok ? await res.json().catch(() => null) : null;
  if (config?.devMode === false) {
    form.hidden = true;
    $('invitation-only').hidden = false;
  }
  $('lobby').dataset.mode = config?.devMode === false ? 'invitation' : 'form'; // settled
}

start();
