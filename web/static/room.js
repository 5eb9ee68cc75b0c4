// A Room is one session in a Podium room: the signalling connection, the two peer connections,
// what we know about the other participants, and the app-facing events.

import { Emitter, PodiumError } from './events.js';
import { SignalClient } from './signal.js';
import { Publisher } from './publisher.js';
import { Subscriber } from './subscriber.js';
import { IceRestarter } from './icerestart.js';
import { Participant } from './participant.js';
import { LocalMedia } from './local.js';
import { collectStats } from './stats.js';
import { AdaptiveStream } from './adaptive.js';
import { SpeakerDetector, roomLevelSources } from './speakers.js';
import { wsBase, rejoinURL } from './failover.js';

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
 * @property {string | import('./e2ee.js').E2EEOptions} [e2ee] encrypt media end to end: a passphrase or a key (docs/e2ee.md)
 * @property {boolean} [adaptiveStream] send trackSettings for videos shown with attach()
 *   (default true)
 * @property {boolean} [speakerDetection] detect speakers from audio levels in the browser until
 *   the server sends activeSpeakers (default true)
 * @property {boolean} [reconnect] resume the session, else rejoin, when the connection is lost;
 *   rejoin when the server restarts, at the URL its leave names if any (default true)
 * @property {string[]} [urls] other servers (a cluster's nodes) to rejoin through, in turn
 * @property {number[]} [reconnectDelays] ms to wait before each attempt (default 0.3, 1, 2, 4,
 *   8 s: about 15 s in all; after a server restart's leave, about a minute in all)
 * @property {import('./localtracks.js').LocalTrack[]} [tracks] published once joined (createLocalTracks)
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
 * Events (each listener gets one object): roomUpdated {room}; participantJoined, participantUpdated, participantLeft
 * {participant}; trackPublished, trackUnpublished {participant, trackInfo}; trackMuted
 * {participant, trackInfo, muted}; trackSubscribed, trackUnsubscribed: a Subscription {participant,
 * trackInfo, track, stream, receiver, mid}; streamState {trackSid, state, layer, reason,
 * participant, trackInfo}; activeSpeakers {speakers: [{sid, level, participant}], dominant,
 * dominantSid}; connectionQuality {updates: [{sid, quality, participant}]}; subscribedLayers
 * {trackSid, layers, publication}; localTrackPublished, localTrackUnpublished: a
 * LocalTrackPublication; data {topic, payload, from, to, participant, reliable, message} or
 * {binary, reliable}; connectionStateChanged {target, state}; error (a PodiumError the server sent
 * with no request to reject); resuming {attempt}, resumed {resent} (the same session goes on);
 * reconnecting {reason, attempt}, reconnected {republished: [{old, pub}]} (a new session); localTrackChanged
 * (a LocalTrackPublication whose device changed); disconnected {reason, code?}; message (of a type unknown here);
 * dominantSpeakerChanged, devicesChanged, audioPlaybackChanged (see roomevents.js).
 *
 * activeSpeakers also carries `source`: "server", or "client" while the browser detects
 * speakers itself (until the server's first activeSpeakers).
 */
export class Room extends LocalMedia {
  /** @type {'new'|'connecting'|'connected'|'reconnecting'|'disconnected'} */
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
  /** @type {AdaptiveStream | null} */
  adaptive = null;
  /** @type {SpeakerDetector | null} */
  speakers = null;
  /** Whether the server sends activeSpeakers (then the browser stops detecting). */
  #serverSpeakers = false;
  #base = ''; #query = ''; // the server's ws base URL and the rest (token, options), to reconnect
  #reconnecting = false;
  /** Restarts ICE when a connection loses its path; rejoins if that does not bring it back. @type {IceRestarter | null} */
  ice = null;

  /** @param {ConnectOptions} [opts] */
  constructor(opts = {}) {
    super();
    this.opts = opts;
    if (opts.adaptiveStream !== false) {
      this.adaptive = new AdaptiveStream({
        send: (sid, st) => (this.state === 'connected' && this.subscriptions.has(sid) ? this.updateTrackSettings(sid, st) : Promise.resolve()),
      });
    }
  }

  get name() { return this.info?.name ?? ''; }

  /**
   * @param {string} url
   * @param {string} token
   * @returns {Promise<this>}
   */
  async connect(url, token) {
    if (this.state !== 'new') throw new PodiumError('bad_request', 'a Room connects once');
    this.state = 'connecting';
    this.#base = wsBase(url);
    this.#query = `/rtc?access_token=${encodeURIComponent(token)}`;
    if (this.opts.autoSubscribe === false) this.#query += '&autoSubscribe=false';
    try {
      await this.#open();
    } catch (err) {
      this.state = 'disconnected';
      this.#closePeers();
      this.adaptive?.close();
      throw err;
    }
    for (const t of this.opts.tracks ?? []) await this.publishTrack(t.track, t.options);
    return this;
  }

  /** Opens a signalling session; resolves once "joined" was handled. */
  async #open(base = this.#base) {
    /** @type {SignalClient} */
    const signal = new SignalClient(
      {
        // Messages and the close of a session replaced by a reconnection are ignored.
        onMessage: (m) => this.signal === signal && this.#dispatch(m),
        onClose: (e) => this.signal === signal && this.#connectionLost('connection_lost', e.code),
        onResume: (e) => this.signal === signal && this.emit(e.type, e),
      },
      this.opts,
    );
    this.signal = signal;
    await signal.connect(base + this.#query, this.opts.timeout ?? 15000);
  }

  /**
   * The signalling connection closed or a peer connection failed without a leave from the
   * server: rejoin, or give up.
   * @param {string} reason
   * @param {number} [code] the WebSocket close code
   * @param {string} [redirect] the URL a leave named
   */
  #connectionLost(reason, code, redirect) {
    if (this.state !== 'connected' || this.#reconnecting) return;
    if (this.opts.reconnect === false) {
      this.#teardown(reason, code === undefined ? {} : { code });
      return;
    }
    this.#reconnect(reason, redirect).catch((err) => console.error('podium: reconnecting failed', err));
  }

  async #reconnect(/** @type {string} */ reason, /** @type {string | undefined} */ redirect) {
    this.#reconnecting = true;
    this.state = 'reconnecting';
    const old = [...(this.localParticipant?.publications.values() ?? [])];
    for (const sid of [...this.subscriptions.keys()]) this.#unsubscribe(sid);
    this.#closePeers();
    // A restart takes seconds, not the half-minute of a network outage's backoff.
    const delays = this.opts.reconnectDelays ??
      (reason === 'server_shutdown' ? [1000, 1000, 2000, 2000, 3000, 5000, 5000, 10000, 10000, 15000] : [300, 1000, 2000, 4000, 8000]);
    let joined = false;
    for (let i = 0; i < delays.length && !joined; i++) {
      this.emit('reconnecting', { reason, attempt: i + 1 });
      await new Promise((r) => setTimeout(r, delays[i]));
      if (this.state !== 'reconnecting') return; // left meanwhile
      try {
        await this.#open(rejoinURL(i, redirect, this.#base, this.opts.urls)); // each attempt the next
        joined = true;
      } catch (err) {
        this.#closePeers();
        console.warn(`podium: reconnection attempt ${i + 1} failed`, err);
        const code = /** @type {any} */ (err)?.code;
        if (code === 'unauthorized' || code === 'forbidden') break; // the token will not do
      }
    }
    this.#reconnecting = false;
    if (!joined) {
      for (const p of old) if (p.ownsTrack) p.track.stop();
      this.state = 'connected'; // so that teardown runs
      this.#teardown('connection_lost');
      return;
    }
    const republished = await this.republish(old);
    this.adaptive?.resend();
    this.emit('reconnected', { republished });
  }

  /** Leaves the room and closes everything; emits "disconnected" with reason "client". */
  async leave() {
    if (this.state === 'disconnected' || this.state === 'new') return;
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

  /**
   * Shows a subscribed track in an element (a <video> for video, an <audio> for audio) and, for a
   * video, follows its size and visibility (adaptive stream). Returns the element.
   * @template {HTMLMediaElement} E
   * @param {string} trackSid
   * @param {E} el
   * @returns {E}
   */
  attach(trackSid, el) {
    const sub = this.subscriptions.get(trackSid);
    if (!sub) throw new PodiumError('not_found', `not subscribed to ${trackSid}`);
    el.srcObject = new MediaStream([sub.track]);
    el.autoplay = true;
    if (el instanceof HTMLVideoElement) {
      el.playsInline = true;
      el.muted = true; // its sound, if any, plays in an <audio> element
      this.adaptive?.observe(trackSid, el);
    }
    this.playMedia(el);
    return el;
  }

  /**
   * Stops showing a track in an element.
   * @param {string} trackSid
   * @param {HTMLMediaElement} el
   */
  detach(trackSid, el) {
    if (el instanceof HTMLVideoElement) this.adaptive?.unobserve(trackSid, el);
    el.srcObject = null;
  }

  /**
   * Pins a remote video (the server gives it priority) or unpins it.
   * @param {string} trackSid
   * @param {boolean} pinned
   */
  setPinned(trackSid, pinned) {
    if (this.adaptive) this.adaptive.setPinned(trackSid, pinned);
    else return this.updateTrackSettings(trackSid, { pinned });
    return Promise.resolve();
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
    if (!this.signal || this.state !== 'connected') return Promise.reject(new PodiumError('disconnected', 'not connected'));
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
      case 'roomUpdated': this.info = m.room; return void this.emit('roomUpdated', { room: m.room });
      case 'trackPublished': return this.#onTrackPublished(m);
      case 'trackUnpublished': return this.#onTrackUnpublished(m);
      case 'trackSubscribed': return this.#subscriber?.noteSubscribed(/** @type {any} */ (m));
      case 'streamState': return this.#onStreamState(m);
      case 'activeSpeakers': return this.#onServerSpeakers(m);
      case 'connectionQuality': return this.#onConnectionQuality(m);
      case 'subscribedLayers': return this.onSubscribedLayers(m);
      // A slow consumer may rejoin at once, and a server restarting is back in a moment: both
      // rejoin by themselves (with the same token) rather than leave the user in a lobby.
      case 'leave': return m.reason === 'slow_consumer' || m.reason === 'server_shutdown'
        ? this.#connectionLost(m.reason, undefined, m.redirect) : this.#teardown(m.reason || 'unknown');
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
    const rejoin = this.localParticipant !== null;
    this.localParticipant = new Participant(m.participant, true);
    if (rejoin) this.#syncParticipants(m.participants ?? []);
    else for (const info of m.participants ?? []) this.participants.set(info.sid, new Participant(info, false));
    /** @type {RTCConfiguration} */
    const config = { iceServers: this.iceServers, bundlePolicy: 'max-bundle', ...this.e2ee?.rtcConfig, ...this.opts.rtcConfig };
    const signal = /** @type {SignalClient} */ (this.signal);
    this.subscriberPC = new RTCPeerConnection(config);
    this.#subscriber = new Subscriber(this.subscriberPC, signal, {
      onMatched: (p, t, r) => this.#onMatched(p, t, r),
      onRemoved: (sid) => this.#unsubscribe(sid),
      onData: (label, data) => this.#onData(label, data), e2ee: this.e2ee,
    });
    this.publisherPC = new RTCPeerConnection(config);
    this.publisher = new Publisher(this.publisherPC, signal, this.e2ee);
    for (const [target, pc] of [['subscriber', this.subscriberPC], ['publisher', this.publisherPC]]) {
      const p = /** @type {RTCPeerConnection} */ (pc);
      p.onconnectionstatechange = () => this.emit('connectionStateChanged', { target, state: p.connectionState });
    }
    this.ice = new IceRestarter({ pcs: [this.publisherPC, this.subscriberPC], giveUp: () => this.#connectionLost('ice_failed'),
      restart: () => { signal.send({ type: 'iceRestart' }); if (this.publisher?.pc.remoteDescription) this.publisher.negotiate(undefined, true).catch(() => {}); } });
    if (this.opts.speakerDetection !== false && !this.#serverSpeakers && !this.speakers) {
      this.speakers = new SpeakerDetector(() => roomLevelSources(this), (sp) => this.#applySpeakers(sp, 'client'));
      this.speakers.start();
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

  /**
   * After a rejoin: the participants the new session knows replace the old ones.
   * @param {import('./participant.js').ParticipantInfo[]} infos
   */
  #syncParticipants(infos) {
    const next = new Map(infos.map((i) => [i.sid, i]));
    for (const [sid, participant] of [...this.participants]) {
      const info = next.get(sid);
      if (info) {
        participant.update(info);
        this.emit('participantUpdated', { participant });
      } else {
        this.participants.delete(sid);
        this.emit('participantLeft', { participant });
      }
    }
    for (const info of infos) {
      if (this.participants.has(info.sid)) continue;
      const participant = new Participant(info, false);
      this.participants.set(info.sid, participant);
      this.emit('participantJoined', { participant });
    }
  }

  /** @param {Message} m */
  #onServerSpeakers(m) {
    if (!this.#serverSpeakers) {
      this.#serverSpeakers = true;
      this.speakers?.stop();
      this.speakers = null;
    }
    this.#applySpeakers(m, 'server');
  }

  /**
   * @param {{type?: string, speakers?: {sid: string, level: number}[], dominant?: string | null}} m
   * @param {'server'|'client'} source
   */
  #applySpeakers(m, source) {
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
    this.emit('activeSpeakers', { speakers, dominant, dominantSid: m.dominant ?? null, source });
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
    this.adaptive?.unobserve(trackSid);
    this.emit('trackUnsubscribed', sub);
  }

  /**
   * @param {string} label
   * @param {string | ArrayBuffer} data
   */
  #onData(label, data) {
    const reliable = label !== 'lossy';
    if (typeof data !== 'string') return void this.emit('data', { binary: data, reliable });
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
    this.speakers?.stop();
    this.adaptive?.close();
    this.emit('disconnected', { reason, ...extra });
  }

  #closePeers() {
    this.ice?.close();
    this.publisher?.close();
    this.#subscriber?.close();
    this.signal?.close();
  }
}
