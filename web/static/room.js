// A Room is one session in a Podium room: the signalling connection, the two peer connections,
// what we know about the other participants, and the app-facing events.

import { Emitter, PodiumError } from './events.js';
import { SignalClient } from './signal.js';
import { Publisher } from './publisher.js';
import { Subscriber } from './subscriber.js';
import { Participant } from './participant.js';
import { LocalMedia } from './local.js';
import { collectStats } from './stats.js';

/** @typedef {import('./signal.js').Message} Message */
/** @typedef {import('./participant.js').Subscription} Subscription */
/** @typedef {import('./participant.js').TrackInfo} TrackInfo */
/** @typedef {import('./subscriber.js').Received} Received */

/**
 * @typedef {object} ConnectOptions
 * @property {boolean} [autoSubscribe] false: subscribe only with setSubscribed (default true)
 * @property {number} [timeout] ms to wait for "joined" (default 15000)
 * @property {number} [pingInterval] ms between pings (default 5000)
 * @property {number} [requestTimeout] ms to wait for a reply (default 10000)
 * @property {number} [commandGrace] ms a command waits for a late error after its pong (250)
 * @property {RTCConfiguration} [rtcConfig] merged into both peer connections' configuration
 */

/**
 * Joins a room and resolves with the Room once the server sent "joined".
 * Events that follow at once (the first subscribed tracks) are emitted after this resolves; to
 * be sure to see every event, create `new Room()`, add listeners, then call `room.connect()`.
 * @param {string} url the server, e.g. "ws://127.0.0.1:7880" (http(s) works too)
 * @param {string} token an access token
 * @param {ConnectOptions} [opts]
 * @returns {Promise<Room>}
 */
export async function connect(url, token, opts = {}) {
  const room = new Room(opts);
  await room.connect(url, token);
  return room;
}

/**
 * Events (each listener gets one object): participantJoined, participantUpdated, participantLeft
 * {participant}; trackPublished, trackUnpublished {participant, trackInfo}; trackMuted
 * {participant, trackInfo, muted}; trackSubscribed, trackUnsubscribed: a Subscription {participant,
 * trackInfo, track, stream, receiver, mid}; streamState {trackSid, state, layer, reason,
 * participant, trackInfo}; activeSpeakers {speakers: [{sid, level, participant}], dominant,
 * dominantSid}; connectionQuality {updates: [{sid, quality, participant}]}; subscribedLayers
 * {trackSid, layers, publication}; localTrackPublished, localTrackUnpublished: a
 * LocalTrackPublication; data {topic, payload, from, to, participant, reliable, message} or
 * {binary, reliable}; connectionStateChanged {target, state}; error (a PodiumError the server sent
 * with no request to reject); disconnected {reason, code?}; message (any message of a type this
 * SDK does not know).
 */
export class Room extends LocalMedia {
  /** @type {'new'|'connecting'|'connected'|'disconnected'} */
  state = 'new';
  /** Remote participants by sid. @type {Map<string, Participant>} */
  participants = new Map();
  /** Every subscribed remote track by track sid. @type {Map<string, Subscription>} */
  subscriptions = new Map();
  /** @type {{name: string, sid: string, metadata: string} | null} */
  info = null;
  serverVersion = '';
  /** @type {RTCIceServer[]} */
  iceServers = [];
  /** @type {RTCPeerConnection | null} */
  publisherPC = null;
  /** @type {RTCPeerConnection | null} */
  subscriberPC = null;
  /** @type {Subscriber | null} */
  #subscriber = null;

  /** @param {ConnectOptions} [opts] */
  constructor(opts = {}) {
    super();
    this.opts = opts;
  }

  get name() {
    return this.info?.name ?? '';
  }

  /**
   * @param {string} url
   * @param {string} token
   * @returns {Promise<this>}
   */
  async connect(url, token) {
    if (this.state !== 'new') throw new PodiumError('bad_request', 'a Room connects once');
    this.state = 'connecting';
    const base = url.replace(/\/+$/, '').replace(/^http/, 'ws');
    let wsUrl = `${base}/rtc?access_token=${encodeURIComponent(token)}`;
    if (this.opts.autoSubscribe === false) wsUrl += '&autoSubscribe=false';
    const signal = new SignalClient(
      { onMessage: (m) => this.#dispatch(m), onClose: (e) => this.#teardown('connection_lost', { code: e.code }) },
      this.opts,
    );
    this.signal = signal;
    try {
      await signal.connect(wsUrl, this.opts.timeout ?? 15000);
    } catch (err) {
      this.state = 'disconnected';
      this.#closePeers();
      throw err;
    }
    return this;
  }

  /** Leaves the room and closes everything; emits "disconnected" with reason "client". */
  async leave() {
    if (this.state === 'disconnected') return;
    this.signal?.send({ type: 'leave' });
    this.#teardown('client');
  }

  /**
   * Explicitly subscribes to or unsubscribes from tracks.
   * @param {string[]} trackSids
   * @param {boolean} [subscribe]
   */
  setSubscribed(trackSids, subscribe = true) {
    return this.command({ type: 'subscribe', trackSids, subscribe });
  }

  /**
   * Tells the server how a remote video is shown, so it forwards a fitting layer.
   * @param {string} trackSid
   * @param {{enabled?: boolean, width?: number, height?: number, pinned?: boolean}} settings
   */
  updateTrackSettings(trackSid, { enabled = true, width, height, pinned = false } = {}) {
    /** @type {Message} */
    const msg = { type: 'trackSettings', trackSid, enabled, pinned };
    if (width !== undefined) msg.width = Math.max(0, Math.round(width));
    if (height !== undefined) msg.height = Math.max(0, Math.round(height));
    return this.command(msg);
  }

  /** @param {{name?: string, metadata?: string}} update */
  updateMetadata(update) {
    return this.command({ type: 'updateMetadata', ...update });
  }

  /** Stats of both connections, in the shape of window.podiumStats (see stats.js). */
  getStats() {
    return collectStats(this);
  }

  /**
   * @param {Message} msg
   * @returns {Promise<void>}
   */
  command(msg) {
    if (!this.signal || this.state === 'disconnected') return Promise.reject(new PodiumError('disconnected', 'not connected'));
    return this.signal.command(msg);
  }

  /** @param {Message} m */
  #dispatch(m) {
    switch (m.type) {
      case 'joined': return this.#onJoined(m);
      case 'offer': return m.target === 'subscriber' ? void this.#subscriber?.handleOffer(m.sdp) : undefined;
      case 'answer': return m.target === 'publisher' ? this.publisher?.handleAnswer(/** @type {any} */ (m)) : undefined;
      case 'candidate': return this.#onCandidate(m);
      case 'participantJoined': return this.#onParticipant(m.participant, 'participantJoined');
      case 'participantUpdated': return this.#onParticipant(m.participant, 'participantUpdated');
      case 'participantLeft': return this.#onParticipantLeft(m);
      case 'trackPublished': return this.#onTrackPublished(m);
      case 'trackUnpublished': return this.#onTrackUnpublished(m);
      case 'trackSubscribed': return this.#subscriber?.noteSubscribed(/** @type {any} */ (m));
      case 'streamState': return this.#onStreamState(m);
      case 'activeSpeakers': return this.#onActiveSpeakers(m);
      case 'connectionQuality': return this.#onConnectionQuality(m);
      case 'subscribedLayers': return this.onSubscribedLayers(m);
      case 'leave': return this.#teardown(m.reason || 'unknown');
      case 'error': return this.#onError(m);
      case 'pong':
      case 'published':
        return;
      default:
        this.emit('message', m);
    }
  }

  /** @param {Message} m */
  #onJoined(m) {
    this.info = m.room;
    this.serverVersion = m.serverVersion ?? '';
    this.iceServers = (m.iceServers ?? []).filter((/** @type {RTCIceServer} */ s) => s.urls && s.urls.length > 0);
    this.localParticipant = new Participant(m.participant, true);
    for (const info of m.participants ?? []) this.participants.set(info.sid, new Participant(info, false));
    /** @type {RTCConfiguration} */
    const config = { iceServers: this.iceServers, bundlePolicy: 'max-bundle', ...this.opts.rtcConfig };
    const signal = /** @type {SignalClient} */ (this.signal);
    this.subscriberPC = new RTCPeerConnection(config);
    this.#subscriber = new Subscriber(this.subscriberPC, signal, {
      onMatched: (p, t, r) => this.#onMatched(p, t, r),
      onRemoved: (sid) => this.#unsubscribe(sid),
      onData: (label, data) => this.#onData(label, data),
    });
    this.publisherPC = new RTCPeerConnection(config);
    this.publisher = new Publisher(this.publisherPC, signal);
    for (const [target, pc] of [['subscriber', this.subscriberPC], ['publisher', this.publisherPC]]) {
      const p = /** @type {RTCPeerConnection} */ (pc);
      p.onconnectionstatechange = () => this.emit('connectionStateChanged', { target, state: p.connectionState });
    }
    this.state = 'connected';
    const perms = this.localParticipant.permissions;
    if (!perms || perms.canPublish !== false || perms.canPublishData !== false) {
      // The first publisher offer carries the data channels, so data works before any track.
      this.publisher.negotiate().catch((err) => console.warn('podium: first publisher negotiation failed', err));
    }
  }

  /** @param {Message} m */
  #onCandidate(m) {
    if (m.target === 'subscriber') this.#subscriber?.handleCandidate(m.candidate);
    else if (m.target === 'publisher') this.publisher?.handleCandidate(m.candidate);
  }

  /**
   * @param {import('./participant.js').ParticipantInfo} info
   * @param {'participantJoined'|'participantUpdated'} event
   */
  #onParticipant(info, event) {
    if (!info?.sid) return;
    if (info.sid === this.localParticipant?.sid) {
      this.onLocalUpdate(info);
      this.emit('participantUpdated', { participant: this.localParticipant });
      return;
    }
    let participant = this.participants.get(info.sid);
    if (!participant) {
      participant = new Participant(info, false);
      this.participants.set(info.sid, participant);
      this.emit('participantJoined', { participant });
    } else {
      const wasMuted = new Map([...participant.tracks].map(([sid, t]) => [sid, t.muted]));
      participant.update(info);
      this.emit('participantUpdated', { participant });
      for (const [sid, trackInfo] of participant.tracks) {
        if (wasMuted.has(sid) && wasMuted.get(sid) !== trackInfo.muted) {
          this.emit('trackMuted', { participant, trackInfo, muted: trackInfo.muted });
        }
      }
    }
    this.#subscriber?.retry();
  }

  /** @param {Message} m */
  #onParticipantLeft(m) {
    const participant = this.participants.get(m.sid);
    if (!participant) return;
    for (const sid of [...participant.subscriptions.keys()]) this.#unsubscribe(sid);
    this.participants.delete(m.sid);
    this.emit('participantLeft', { participant });
  }

  /** @param {Message} m */
  #onTrackPublished(m) {
    if (!m.track?.sid) return;
    if (m.participantSid === this.localParticipant?.sid) {
      this.onLocalTrack(m.track);
      return;
    }
    const participant = this.participants.get(m.participantSid);
    if (!participant) return;
    const trackInfo = participant.setTrack(m.track);
    this.emit('trackPublished', { participant, trackInfo });
    this.#subscriber?.retry();
  }

  /** @param {Message} m */
  #onTrackUnpublished(m) {
    if (m.participantSid === this.localParticipant?.sid) {
      this.onLocalTrackRemoved(m.trackSid);
      return;
    }
    this.#unsubscribe(m.trackSid);
    const participant = this.participants.get(m.participantSid);
    const trackInfo = participant?.tracks.get(m.trackSid);
    if (!participant || !trackInfo) return;
    participant.tracks.delete(m.trackSid);
    this.emit('trackUnpublished', { participant, trackInfo });
  }

  /** @param {Message} m */
  #onStreamState(m) {
    const sub = this.subscriptions.get(m.trackSid);
    const state = { state: m.state, layer: m.layer ?? null, reason: m.reason };
    if (sub) sub.streamState = state;
    this.emit('streamState', { trackSid: m.trackSid, ...state, participant: sub?.participant, trackInfo: sub?.trackInfo });
  }

  /** @param {Message} m */
  #onActiveSpeakers(m) {
    const all = [...this.participants.values()];
    if (this.localParticipant) all.push(this.localParticipant);
    for (const p of all) {
      p.isSpeaking = false;
      p.isDominantSpeaker = false;
      p.audioLevel = 0;
    }
    const find = (/** @type {string} */ sid) => (sid === this.localParticipant?.sid ? this.localParticipant : this.participants.get(sid));
    const speakers = (m.speakers ?? []).map((/** @type {{sid: string, level: number}} */ s) => {
      const participant = find(s.sid);
      if (participant) {
        participant.isSpeaking = true;
        participant.audioLevel = s.level;
      }
      return { sid: s.sid, level: s.level, participant };
    });
    const dominant = m.dominant ? find(m.dominant) ?? null : null;
    if (dominant) dominant.isDominantSpeaker = true;
    this.emit('activeSpeakers', { speakers, dominant, dominantSid: m.dominant ?? null });
  }

  /** @param {Message} m */
  #onConnectionQuality(m) {
    const updates = (m.updates ?? []).map((/** @type {{sid: string, quality: any}} */ u) => {
      const participant = u.sid === this.localParticipant?.sid ? this.localParticipant : this.participants.get(u.sid);
      if (participant) participant.connectionQuality = u.quality;
      return { sid: u.sid, quality: u.quality, participant };
    });
    this.emit('connectionQuality', { updates });
  }

  /** @param {Message} m */
  #onError(m) {
    const err = Object.assign(new PodiumError(m.code || 'error', m.message || ''), { id: m.id });
    console.warn('podium: server error', err.message);
    this.emit('error', err);
  }

  /**
   * @param {string} participantSid
   * @param {string} trackSid
   * @param {Received} r
   * @returns {boolean} false when the participant is not known yet
   */
  #onMatched(participantSid, trackSid, r) {
    const participant = this.participants.get(participantSid);
    if (!participant) return false;
    const old = this.subscriptions.get(trackSid);
    if (old?.receiver === r.receiver) return true;
    if (old) this.#unsubscribe(trackSid);
    // The server announces a track before subscribing us; if it did not, make do with the kind.
    const trackInfo =
      participant.tracks.get(trackSid) ??
      participant.setTrack({ sid: trackSid, kind: /** @type {any} */ (r.track.kind), source: r.track.kind === 'audio' ? 'microphone' : 'camera', muted: false });
    /** @type {Subscription} */
    const sub = { participant, trackInfo, track: r.track, stream: r.stream, receiver: r.receiver, mid: r.mid, streamState: null };
    this.subscriptions.set(trackSid, sub);
    participant.subscriptions.set(trackSid, sub);
    this.emit('trackSubscribed', sub);
    return true;
  }

  /** @param {string} trackSid */
  #unsubscribe(trackSid) {
    const sub = this.subscriptions.get(trackSid);
    this.#subscriber?.forget(trackSid);
    if (!sub) return;
    this.subscriptions.delete(trackSid);
    sub.participant.subscriptions.delete(trackSid);
    this.emit('trackUnsubscribed', sub);
  }

  /**
   * @param {string} label
   * @param {string | ArrayBuffer} data
   */
  #onData(label, data) {
    const reliable = label !== 'lossy';
    if (typeof data !== 'string') {
      this.emit('data', { binary: data, reliable });
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      console.warn('podium: dropping a data message that is not JSON');
      return;
    }
    const from = message?.from;
    const participant = [...this.participants.values()].find((p) => p.identity === from);
    this.emit('data', { topic: message?.topic, payload: message?.payload, from, to: message?.to, participant, reliable, message });
  }

  /**
   * @param {string} reason
   * @param {object} [extra]
   */
  #teardown(reason, extra = {}) {
    if (this.state === 'disconnected') return;
    this.state = 'disconnected';
    for (const sid of [...this.subscriptions.keys()]) this.#unsubscribe(sid);
    this.stopLocalTracks();
    this.#closePeers();
    this.emit('disconnected', { reason, ...extra });
  }

  #closePeers() {
    this.publisher?.close();
    this.#subscriber?.close();
    this.signal?.close();
  }
}
