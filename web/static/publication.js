// Track publications: one object per track a remote participant publishes (whether we receive
// it or not) and one per track we publish, each an Emitter with its own events, so an app can
// follow one track without filtering the Room's events by sid.

import { Emitter } from './events.js';

/** @typedef {import('./participant.js').Participant} Participant */
/** @typedef {import('./participant.js').TrackInfo} TrackInfo */
/** @typedef {import('./participant.js').Subscription} Subscription */
/** @typedef {import('./participant.js').Layer} Layer */

/** @typedef {'low'|'medium'|'high'} VideoQuality */

/** The quality each simulcast rid stands for. @type {Record<string, VideoQuality>} */
export const LAYER_QUALITY = { q: 'low', h: 'medium', f: 'high' };

/**
 * What a RemoteTrackPublication needs of its Room.
 * @typedef {object} PublicationRoom
 * @property {(trackSids: string[], subscribe: boolean) => Promise<void>} setSubscribed
 * @property {(trackSid: string, pinned: boolean) => Promise<void>} setPinned
 */

/**
 * A track a remote participant publishes. Its fields follow the server's TrackInfo; `track` is
 * the MediaStreamTrack while we receive it. Events (each listener gets one object, whose
 * `publication` is this one):
 * - `muted`, `unmuted` {publication}: the publisher muted or unmuted it;
 * - `subscribed` {publication, track, subscription}: its media arrives to us;
 * - `unsubscribed` {publication, track}: it no longer does (unsubscribed, unpublished, left,
 *   or the session was lost);
 * - `streamStateChanged` {publication, state, layer, reason}: the server paused or resumed the
 *   video for us, or forwards another layer (the Room's streamState);
 * - `qualityChanged` {publication, layer, quality, previousLayer}: the simulcast layer we get
 *   changed (`layer` q/h/f, `quality` low/medium/high; both null while paused);
 * - `unpublished` {publication}: the participant stopped publishing it, or left.
 */
export class RemoteTrackPublication extends Emitter {
  /** @type {Participant} */ participant;
  /** The server's description, kept current by the Room. @type {TrackInfo} */ trackInfo;
  /** While we receive the track. @type {Subscription | null} */ subscription = null;
  /** The last streamState for a video, null until the server sends one. @type {{state: string, layer: string | null, reason?: string} | null} */
  streamState = null;
  /** @type {PublicationRoom} */
  #room;
  /** The mute state last announced, to emit muted/unmuted once per change. */
  #muted;

  /**
   * @param {Participant} participant
   * @param {TrackInfo} trackInfo
   * @param {PublicationRoom} room
   */
  constructor(participant, trackInfo, room) {
    super();
    this.participant = participant;
    this.trackInfo = trackInfo;
    this.#room = room;
    this.#muted = !!trackInfo.muted;
  }

  get sid() { return this.trackInfo.sid; }
  get kind() { return this.trackInfo.kind; }
  get source() { return this.trackInfo.source; }
  get muted() { return !!this.trackInfo.muted; }
  /** The simulcast layers the publisher announced (none for a single-layer track). @returns {Layer[]} */
  get layers() { return this.trackInfo.layers ?? []; }
  get simulcasted() { return this.layers.length > 1; }
  get subscribed() { return this.subscription !== null; }
  /** @returns {MediaStreamTrack | null} */
  get track() { return this.subscription?.track ?? null; }
  /** The layer the server forwards to us (q, h or f), null when unknown or paused. @returns {string | null} */
  get layer() { return this.streamState?.state === 'paused' ? null : this.streamState?.layer ?? null; }
  /** @returns {VideoQuality | null} */
  get quality() { const l = this.layer; return l ? LAYER_QUALITY[l] ?? null : null; }

  /**
   * Subscribes to it or unsubscribes (see Room.setSubscribed).
   * @param {boolean} subscribe
   */
  setSubscribed(subscribe) {
    return this.#room.setSubscribed([this.sid], subscribe);
  }

  /**
   * Pins the video (the server gives it priority) or unpins it.
   * @param {boolean} pinned
   */
  setPinned(pinned) {
    return this.#room.setPinned(this.sid, pinned);
  }

  // What follows is called by the Room as messages arrive.

  /** The TrackInfo may have changed: announces a change of mute state. */
  noteInfo() {
    if (this.muted === this.#muted) return;
    this.#muted = this.muted;
    this.emit(this.#muted ? 'muted' : 'unmuted', { publication: this });
  }

  /** @param {Subscription} sub */
  noteSubscribed(sub) {
    if (this.subscription) this.noteUnsubscribed();
    this.subscription = sub;
    this.emit('subscribed', { publication: this, track: sub.track, subscription: sub });
  }

  noteUnsubscribed() {
    const sub = this.subscription;
    if (!sub) return;
    this.subscription = null;
    const previous = this.layer;
    this.streamState = null;
    this.emit('unsubscribed', { publication: this, track: sub.track });
    if (previous !== null) this.emit('qualityChanged', { publication: this, layer: null, quality: null, previousLayer: previous });
  }

  /** @param {{state: string, layer: string | null, reason?: string}} state */
  noteStreamState(state) {
    const previous = this.layer;
    this.streamState = state;
    this.emit('streamStateChanged', { publication: this, ...state });
    if (this.layer !== previous) this.emit('qualityChanged', { publication: this, layer: this.layer, quality: this.quality, previousLayer: previous });
  }

  noteUnpublished() {
    this.noteUnsubscribed();
    this.emit('unpublished', { publication: this });
  }
}

/**
 * A track we publish. Events (each listener gets one object, whose `publication` is this one):
 * - `muted`, `unmuted` {publication}: we (setMuted) or an admin muted or unmuted it;
 * - `layersChanged` {publication, layers}: dynacast: the layers someone needs changed (already
 *   applied to the encodings);
 * - `trackChanged` {publication, track, previous}: switchDevice replaced the MediaStreamTrack;
 * - `unpublished` {publication}: it is no longer published (unpublish, the server, or leaving).
 */
export class LocalTrackPublication extends Emitter {
  /** the server's track sid @type {string} */ sid;
  /** the MediaStreamTrack id @type {string} */ cid;
  /** @type {'audio'|'video'} */ kind;
  /** @type {string} */ source;
  /** @type {MediaStreamTrack} */ track;
  /** @type {MediaStream} */ stream;
  /** null until the publisher offer that carries it is made @type {RTCRtpSender | null} */ sender = null;
  /** @type {RTCRtpTransceiver | null} */ transceiver = null;
  /** @type {TrackInfo} */ info;
  /** whether the SDK captured the track (and stops it on unpublish) */ ownsTrack = false;
  /** the last dynacast request @type {{rid: string, active: boolean}[] | null} */ activeLayers = null;
  /** how it was published (to publish it again after a reconnection) @type {import('./local.js').PublishOptions} */ options;
  #muted = false;

  /**
   * @param {{sid: string, kind: 'audio'|'video', source: string, track: MediaStreamTrack, stream: MediaStream,
   *   info: TrackInfo, ownsTrack: boolean, options: import('./local.js').PublishOptions}} init
   */
  constructor(init) {
    super();
    this.sid = init.sid;
    this.cid = init.track.id;
    this.kind = init.kind;
    this.source = init.source;
    this.track = init.track;
    this.stream = init.stream;
    this.info = init.info;
    this.ownsTrack = init.ownsTrack;
    this.options = init.options;
  }

  /** Whether it sends silence or black frames. Setting it (the SDK does) emits muted/unmuted. */
  get muted() { return this.#muted; }
  set muted(muted) {
    if (muted === this.#muted) return;
    this.#muted = muted;
    this.emit(muted ? 'muted' : 'unmuted', { publication: this });
  }
}
