// A Room is one session in a Podium room: the signalling connection, the two peer connections,
// joining, reconnecting and leaving. What we send is in local.js, what we receive (participants,
// subscriptions, publications) in remote.js: Room extends both.

import { PodiumError } from './events.js';
import { SignalClient } from './signal.js';
import { Publisher } from './publisher.js';
import { Subscriber } from './subscriber.js';
import { IceRestarter } from './icerestart.js';
import { Participant } from './participant.js';
import { RemoteMedia } from './remote.js';
import { collectStats } from './stats.js';
import { wsBase, rejoinURL } from './failover.js';

/** @typedef {import('./signal.js').Message} Message */

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
 * {participant}; trackPublished, trackUnpublished {participant, trackInfo, publication}; trackMuted
 * {participant, trackInfo, muted, publication}; trackSubscribed, trackUnsubscribed: a Subscription {participant,
 * trackInfo, track, stream, receiver, mid, publication}; streamState {trackSid, state, layer, reason,
 * participant, trackInfo, publication}; activeSpeakers {speakers: [{sid, level, participant}], dominant,
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
 *
 * Each track also has a publication with its own events (publication.js): a remote
 * participant's in `participant.trackPublications` (RemoteTrackPublication: muted, unmuted,
 * subscribed, unsubscribed, streamStateChanged, qualityChanged, unpublished), ours in
 * `localParticipant.publications` (LocalTrackPublication: muted, unmuted, layersChanged,
 * trackChanged, unpublished).
 */
export class Room extends RemoteMedia {
  /** @type {{name: string, sid: string, metadata: string} | null} */
  info = null;
  serverVersion = '';
  /** @type {RTCIceServer[]} */
  iceServers = [];
  /** @type {RTCPeerConnection | null} */
  publisherPC = null;
  /** @type {RTCPeerConnection | null} */
  subscriberPC = null;
  #base = ''; #query = ''; // the server's ws base URL and the rest (token, options), to reconnect
  #reconnecting = false;
  /** Restarts ICE when a connection loses its path; rejoins if that does not bring it back. @type {IceRestarter | null} */
  ice = null;

  /** @param {ConnectOptions} [opts] */
  constructor(opts = {}) {
    super(opts);
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
    for (const sid of [...this.subscriptions.keys()]) this.unsubscribeTrack(sid);
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
      case 'offer': return m.target === 'subscriber' ? void this.subscriber?.handleOffer(m.sdp) : undefined;
      case 'answer': return m.target === 'publisher' ? this.publisher?.handleAnswer(/** @type {any} */ (m)) : undefined;
      case 'candidate': return this.#onCandidate(m);
      case 'participantJoined': return this.onParticipant(m.participant, 'participantJoined');
      case 'participantUpdated': return this.onParticipant(m.participant, 'participantUpdated');
      case 'participantLeft': return this.onParticipantLeft(m);
      case 'roomUpdated': this.info = m.room; return void this.emit('roomUpdated', { room: m.room });
      case 'trackPublished': return this.onTrackPublished(m);
      case 'trackUnpublished': return this.onTrackUnpublished(m);
      case 'trackSubscribed': return this.subscriber?.noteSubscribed(/** @type {any} */ (m));
      case 'streamState': return this.onStreamState(m);
      case 'activeSpeakers': return this.onServerSpeakers(m);
      case 'connectionQuality': return this.onConnectionQuality(m);
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
    if (rejoin) this.syncParticipants(m.participants ?? []);
    else for (const info of m.participants ?? []) this.addParticipant(info);
    /** @type {RTCConfiguration} */
    const config = { iceServers: this.iceServers, bundlePolicy: 'max-bundle', ...this.e2ee?.rtcConfig, ...this.opts.rtcConfig };
    const signal = /** @type {SignalClient} */ (this.signal);
    this.subscriberPC = new RTCPeerConnection(config);
    this.subscriber = new Subscriber(this.subscriberPC, signal, {
      onMatched: (p, t, r) => this.onMatched(p, t, r),
      onRemoved: (sid) => this.unsubscribeTrack(sid),
      onData: (label, data) => this.onDataMessage(label, data), e2ee: this.e2ee,
    });
    this.publisherPC = new RTCPeerConnection(config);
    this.publisher = new Publisher(this.publisherPC, signal, this.e2ee);
    for (const [target, pc] of [['subscriber', this.subscriberPC], ['publisher', this.publisherPC]]) {
      const p = /** @type {RTCPeerConnection} */ (pc);
      p.onconnectionstatechange = () => this.emit('connectionStateChanged', { target, state: p.connectionState });
    }
    this.ice = new IceRestarter({ pcs: [this.publisherPC, this.subscriberPC], giveUp: () => this.#connectionLost('ice_failed'),
      restart: () => { signal.send({ type: 'iceRestart' }); if (this.publisher?.pc.remoteDescription) this.publisher.negotiate(undefined, true).catch(() => {}); } });
    this.startSpeakerDetection();
    this.state = 'connected';
    const perms = this.localParticipant.permissions;
    if (!perms || perms.canPublish !== false || perms.canPublishData !== false) {
      // The first publisher offer carries the data channels, so data works before any track.
      this.publisher.negotiate().catch((err) => console.warn('podium: first publisher negotiation failed', err));
    }
  }

  /** @param {Message} m */
  #onCandidate(m) {
    if (m.target === 'subscriber') this.subscriber?.handleCandidate(m.candidate);
    else if (m.target === 'publisher') this.publisher?.handleCandidate(m.candidate);
  }

  /** @param {Message} m */
  #onError(m) {
    const err = Object.assign(new PodiumError(m.code || 'error', m.message || ''), { id: m.id });
    console.warn('podium: server error', err.message);
    this.emit('error', err);
  }

  /**
   * @param {string} reason
   * @param {object} [extra]
   */
  #teardown(reason, extra = {}) {
    if (this.state === 'disconnected') return;
    this.state = 'disconnected';
    for (const sid of [...this.subscriptions.keys()]) this.unsubscribeTrack(sid);
    this.stopLocalTracks();
    this.#closePeers();
    this.speakers?.stop();
    this.adaptive?.close();
    this.emit('disconnected', { reason, ...extra });
  }

  #closePeers() {
    this.ice?.close();
    this.publisher?.close();
    this.subscriber?.close();
    this.signal?.close();
  }
}
