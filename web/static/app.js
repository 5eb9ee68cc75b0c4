// The conference app: a pre-join screen (camera preview, devices, join muted), then a stage (the
// speaker or a screen share) with a filmstrip or a grid, chat, the participant list, raised hands
// and reactions, device selection and call controls; a "you left" screen to rejoin. URL parameters:
//   ?token=JWT[&url=ws://host:port]          join with this token from the pre-join screen (another
//                                            server's url only if this one allows it:
//                                            --allowed-app-urls); with autojoin=1 at once
//   ?room=R&name=N[&identity=I]&autojoin=1   get a dev token and join at once
//   simulcast=0   publish the camera as one layer      video=0 / audio=0   do not publish it
//   adaptive=0    do not tell the server the size each video is shown at
// Tests read window.podiumApp {room, state, view} and await window.podiumStats().

import { Room, collectStats } from './podium.js';
import { View } from './ui.js';
import { Chat, CHAT_TOPIC } from './chat.js';
import { Quality } from './quality.js';
import { PreJoin } from './prejoin.js';
import { Outage, OUTAGE_TEXT } from './outage.js';
import { Meeting, reactionPicker, renderPeople, shortcuts } from './meeting.js';
import { friendly, showMessage } from './errors.js';
import { DevicePanel } from './devices.js';
import { Tiles, layerName, tileKey } from './tiles.js';
import { checkServerURL, defaultURL, devToken, makeIdentity, publishMedia } from './joining.js';
import { e2eeSecret, showLock } from './lock.js';

/** @typedef {import('./room.js').Room} RoomT */
/** @typedef {import('./participant.js').Participant} Participant */
/** @typedef {import('./participant.js').Subscription} Subscription */
/** @typedef {{url: string, token: string} | {roomName: string, name: string, identity: string}} JoinWay */

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
  /** How the last join was made, for "Rejoin". @type {JoinWay | null} */
  lastJoin: null,
  /** What the connection lacks now: '' (nothing), offline, signal or media. */
  outage: '',
};

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const form = /** @type {HTMLFormElement} */ ($('join-form'));
const view = new View({ stage: $('stage'), filmstrip: $('filmstrip'), grid: $('grid') }, { onPin: (tile) => tiles.togglePin(tile.key) });
/** Display names by identity, kept after people leave (for the chat). @type {Map<string, string>} */
const names = new Map();
const prejoin = new PreJoin($, { video: flag('video'), audio: flag('audio') });
const meeting = new Meeting({
  // The server relays topic, to and payload: the payload goes inside.
  send: (topic, payload, to) => app.room ? app.room.sendData({ payload }, { topic, reliable: true, ...(to ? { to } : {}) }) : Promise.reject(new Error('not connected')),
  onHand: (identity, raised) => {
    const t = tiles.of(identity, state.identity);
    t?.setHand(raised);
    if (identity === state.identity) $('btn-hand').setAttribute('aria-pressed', String(raised));
    else if (raised) toast(`${names.get(identity) ?? identity} raised a hand`);
    refreshPeople();
  },
  onReaction: (identity, emoji) => tiles.of(identity, state.identity)?.react(emoji, identity),
});
const outage = new Outage((cause) => showOutage(cause));
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
const devicePanel = new DevicePanel($, () => app.room, (text) => toast(text));
const tiles = new Tiles({
  view, names, hands: meeting.hands, room: () => app.room, applySink: (a) => devicePanel.applySink(a), toast: (t) => toast(t),
  onLocal: () => updateControls(), onPeople: () => refreshPeople(),
});

/** @type {{room: RoomT | null, state: typeof state, view: View, chat: Chat, prejoin: PreJoin, meeting: Meeting}} */
const app = { room: null, state, view, chat, prejoin, meeting };
const w = /** @type {any} */ (window);
w.podiumApp = app;
w.podiumStats = async () =>
  app.room ? collectStats(app.room) : { inboundVideo: [], inboundAudio: [], outbound: [], connectionState: { publisher: 'new', subscriber: 'new' }, transport: { subscriberBitrate: 0, publisherBitrate: 0, rtt: 0 } };

let statsTimer = /** @type {ReturnType<typeof setInterval> | undefined} */ (undefined);

// ---- status, views, errors

/** @param {string} text @param {string} [kind] */
function setStatus(text, kind = 'idle') {
  $('status').textContent = text;
  $('status').dataset.state = kind;
}

/**
 * @param {'lobby'|'conference'|'left'} name
 * @param {boolean} [preview] start the camera preview (the lobby's join form is up)
 */
function show(name, preview = false) {
  $('lobby').hidden = name !== 'lobby';
  $('conference').hidden = name !== 'conference';
  $('left').hidden = name !== 'left';
  document.body.dataset.view = name;
  if (name === 'lobby' && preview) prejoin.start();
  else prejoin.stop();
}

/** True where the lobby offers a way in (a form or a link's "Join now"), not "ask for a link". */
function canJoinHere() {
  return !form.hidden && ($('lobby').dataset.mode === 'form' || form.dataset.mode === 'token');
}

/**
 * Shows an outage at once: status, banner, frozen tiles, speaking rings off, quality "lost".
 * @param {import('./outage.js').Cause} cause
 */
function showOutage(cause) {
  state.outage = cause;
  view.setOutage(!!cause);
  document.body.dataset.outage = String(!!cause);
  $('outage').hidden = !cause;
  $('outage-why').textContent = OUTAGE_TEXT[cause];
  if (cause) setStatus('Reconnecting…', 'outage');
  else if (app.room?.state === 'connected') setStatus('Connected', 'connected');
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

// ---- joining

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
  await join(creds.url, creds.token, { roomName, name, identity });
}

/**
 * @param {string} url
 * @param {string} token
 * @param {JoinWay} [how] what "Rejoin" does again
 */
async function join(url, token, how = { url, token }) {
  state.lastJoin = how;
  Object.assign(state, { phase: 'joining', error: null, leaveReason: null, ready: false, published: { camera: null, microphone: null, screen: null } });
  setStatus('Connecting…', 'connecting');
  try {
    await checkServerURL(url);
  } catch (err) {
    fail(err);
    return;
  }
  const room = new Room({ adaptiveStream: state.adaptive, e2ee: e2eeSecret() });
  app.room = room;
  wire(room);
  const pre = { micMuted: prejoin.micMuted, camOff: prejoin.camOff, devices: prejoin.devices };
  prejoin.stop();
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
  meeting.reset(me.identity);
  outage.watch(room);
  $('room-title').textContent = room.name;
  showLock(!!room.e2ee);
  document.title = `${room.name} · Podium`;
  setStatus('Connected', 'connected');
  chat.clear();
  show('conference');
  view.tile('local', { name: `${me.displayName} (you)`, local: true, participantSid: me.sid, identity: me.identity });
  for (const p of room.participants.values()) tiles.addParticipant(p);
  for (const sub of room.subscriptions.values()) tiles.addTrack(sub);
  refreshMeta();
  clearInterval(statsTimer);
  statsTimer = setInterval(() => updateStats(room), 1000);
  $('btn-screen').hidden = !navigator.mediaDevices?.getDisplayMedia;
  refreshPeople();
  const r = await publishMedia(room, { ...pre, simulcast: state.simulcast, video: flag('video'), audio: flag('audio') });
  state.published.camera = r.camera?.sid ?? null;
  state.published.microphone = r.microphone?.sid ?? null;
  state.publishError = r.errors.length ? r.errors.join('; ') : null;
  if (r.errors.length) {
    console.warn('podium app: could not publish', state.publishError);
    toast(`Could not start ${r.errors.map((e) => e.split(':')[0]).join(' and ')}`);
  }
  tiles.showLocalVideo();
  updateControls();
  state.ready = true;
}


/** @param {unknown} err */
function fail(err) {
  state.phase = 'error';
  state.error = err instanceof Error ? err.message : String(err);
  setStatus('Not connected', 'error');
  const f = friendly(err);
  showMessage($('lobby-error'), f.text, f.detail);
  show('lobby', canJoinHere());
  console.error('podium app:', err);
}

// ---- room events

/** @param {RoomT} room */
function wire(room) {
  room.on('participantJoined', ({ participant }) => {
    tiles.addParticipant(participant);
    refreshMeta();
    meeting.joined(participant.identity);
    if (!participant.permissions?.hidden) {
      toast(`${participant.displayName} joined`);
      chat.system(`${participant.displayName} joined`);
    }
  });
  room.on('participantUpdated', ({ participant }) => tiles.refreshParticipant(participant));
  room.on('participantLeft', ({ participant }) => {
    for (const key of [...view.tiles.keys()]) if (key === participant.sid || key === `${participant.sid}:screen`) view.remove(key);
    quality.forget(participant.sid);
    meeting.left(participant.identity);
    refreshPeople();
    toast(`${participant.displayName} left`);
    chat.system(`${participant.displayName} left`);
    refreshMeta();
  });
  room.on('trackSubscribed', (sub) => tiles.addTrack(sub));
  room.on('trackUnsubscribed', (sub) => tiles.removeTrack(sub));
  room.on('trackMuted', ({ participant }) => tiles.refreshParticipant(participant));
  room.on('streamState', ({ trackSid, state: s, layer }) => {
    const sub = room.subscriptions.get(trackSid);
    const t = sub && view.tiles.get(tileKey(sub));
    t?.setPaused(s === 'paused');
    if (t && layer && sub) t.setLayer({ layer: layerName(sub, layer), height: Number(t.el.dataset.height) || 0 });
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
  room.on('data', ({ topic, payload, from }) => meeting.receive(topic, payload, from));
  room.on('localTrackPublished', (pub) => {
    if (pub.source === 'screen') {
      state.published.screen = pub.sid;
      tiles.showLocalScreen(pub);
    }
    updateControls();
  });
  room.on('localTrackUnpublished', (pub) => {
    if (pub.source === 'screen') {
      view.remove('local:screen');
      state.published.screen = null;
    }
    updateControls();
  });
  room.on('localTrackMuted', () => {
    updateControls();
    refreshPeople();
  });
  room.on('localTrackChanged', (pub) => pub.source === 'camera' && tiles.showLocalVideo());
  room.on('reconnecting', ({ attempt }) => {
    if (attempt > 1) $('outage-why').textContent = `The connection to the server is lost. Attempt ${attempt}…`;
  });
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
    tiles.showLocalVideo();
    updateControls();
    meeting.reset(lp?.identity ?? state.identity);
    view.tiles.get('local')?.setHand(false);
    $('btn-hand').setAttribute('aria-pressed', 'false');
    outage.check();
    if (!state.outage) setStatus('Connected', 'connected');
    toast('Reconnected');
  });
  room.on('disconnected', ({ reason }) => onDisconnected(reason));
}

/** The participant list, and its count on the button. */
function refreshPeople() {
  const people = tiles.people(state.identity, state.name);
  renderPeople($('people-list'), people, meeting.hands);
  $('people-count').textContent = String(people.length || '');
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
  outage.watch(null);
  view.clear();
  openPanel(null);
  $('stage').replaceChildren();
  $('filmstrip').replaceChildren();
  const roomName = state.roomName;
  $('room-title').textContent = '';
  showLock(false);
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
  if (reason === 'client' || reason === 'connection_lost') {
    // One click takes them back in: the same link, name and room.
    $('left').dataset.reason = reason;
    /** @type {HTMLElement} */ ($('left').querySelector('h2')).textContent = reason === 'client' ? 'You left the meeting' : 'The connection was lost';
    $('left-room').textContent = roomName ? `Room “${roomName}”` : '';
    show('left');
    $('btn-rejoin').focus();
    return;
  }
  showMessage($('lobby-error'), /** @type {Record<string, string>} */ (why)[reason] ?? 'You were disconnected.', (/** @type {Record<string, string>} */ (why))[reason] ? '' : `leave reason: ${reason}`);
  show('lobby', canJoinHere());
}

/** Joins again the way the last join was made (from the "you left" screen). */
async function rejoin() {
  const how = state.lastJoin;
  if (!how) return show('lobby', canJoinHere());
  const b = /** @type {HTMLButtonElement} */ ($('btn-rejoin'));
  b.disabled = true;
  try {
    if ('roomName' in how) await joinByName(how.roomName, how.name, how.identity);
    else await join(how.url, how.token, how);
  } finally {
    b.disabled = false;
  }
}

/** @param {RoomT} room */
async function updateStats(room) {
  const stats = room === app.room && room.state === 'connected' ? await collectStats(room).catch(() => null) : null;
  if (stats) tiles.showStats(stats, quality.update(room, stats));
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
    if (/** @type {any} */ (err)?.name !== 'NotAllowedError') toast(`Screen sharing failed: ${friendly(err).text}`);
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

/** @param {'chat'|'settings'|'people'|null} name */
function openPanel(name) {
  if (name !== 'chat' && chat.open) chat.setOpen(false);
  $('settings').hidden = name !== 'settings';
  $('btn-settings').setAttribute('aria-pressed', String(name === 'settings'));
  if (name === 'chat' && !chat.open) chat.setOpen(true);
  if (name === 'settings') devicePanel.fill();
  $('people').hidden = name !== 'people';
  $('btn-people').setAttribute('aria-pressed', String(name === 'people'));
  if (name === 'people') refreshPeople();
  document.body.dataset.panel = name ?? '';
}

$('btn-mic').addEventListener('click', () => toggleMute('microphone'));
$('btn-cam').addEventListener('click', () => toggleMute('camera'));
$('btn-screen').addEventListener('click', () => toggleScreen());
$('btn-chat').addEventListener('click', () => openPanel(chat.open ? null : 'chat'));
$('btn-settings').addEventListener('click', () => openPanel($('settings').hidden ? 'settings' : null));
$('btn-people').addEventListener('click', () => openPanel($('people').hidden ? 'people' : null));
$('btn-hand').addEventListener('click', () => toggleHand());
$('btn-layout').addEventListener('click', () => toggleLayout());
$('btn-rejoin').addEventListener('click', () => rejoin());
reactionPicker($('reactions'), $('btn-react'), (emoji) => meeting.react(emoji).catch((err) => toast(`Not sent: ${friendly(err).text}`)));

function toggleHand() {
  meeting.setHand(!meeting.raised).catch((err) => toast(`Not sent: ${friendly(err).text}`));
}

function toggleLayout() {
  const grid = view.mode !== 'grid';
  view.setMode(grid ? 'grid' : 'speaker');
  const b = $('btn-layout');
  b.setAttribute('aria-pressed', String(grid));
  b.title = grid ? 'Speaker view (G)' : 'Grid view (G)';
  /** @type {HTMLElement} */ (b.querySelector('.label')).textContent = grid ? 'Speaker' : 'Grid';
}

shortcuts(() => state.phase === 'connected', {
  m: () => toggleMute('microphone'),
  v: () => toggleMute('camera'),
  h: () => toggleHand(),
  g: () => toggleLayout(),
  Escape: () => openPanel(null),
});
for (const b of document.querySelectorAll('[data-close]')) b.addEventListener('click', () => openPanel(null));
$('btn-leave').addEventListener('click', () => app.room?.leave());
$('btn-invite').addEventListener('click', async () => {
  const link = `${location.origin}/?room=${encodeURIComponent(state.roomName)}${location.hash}`; // keeps #e2ee=
  try {
    await navigator.clipboard.writeText(link);
    toast('Invite link copied');
  } catch {
    toast(link);
  }
});

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const token = params.get('token');
  if (token) {
    showMessage($('lobby-error'), '');
    join(params.get('url') || defaultURL(), token);
    return;
  }
  const data = new FormData(form);
  const roomName = String(data.get('room') ?? '').trim();
  const name = String(data.get('name') ?? '').trim();
  if (!roomName || !name) return;
  showMessage($('lobby-error'), '');
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
  const token = params.get('token');
  if (token) {
    prejoin.forLink(form); // the link says who and where
  }
  show('lobby', !!token && !flag('autojoin', false));
  if (token && flag('autojoin', false)) {
    join(params.get('url') || defaultURL(), token);
  } else if (token) {
    /** @type {HTMLElement} */ (form.querySelector('button[type=submit]')).focus();
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
    prejoin.stop();
    $('invitation-only').hidden = false;
  }
  $('lobby').dataset.mode = config?.devMode === false ? 'invitation' : 'form'; // settled
  if (state.phase === 'lobby' && canJoinHere()) prejoin.start();
}

start();
