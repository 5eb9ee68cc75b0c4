// What the local participant sends: published tracks (camera, microphone, screen or any track),
// mute, dynacast and data messages. Room extends this class.

import { PodiumError } from './events.js';
import { RoomEvents } from './roomevents.js';
import { captureCamera, captureMicrophone, channelOpen } from './media.js';
import { E2EE } from './e2ee.js';
import { LocalTrackPublication } from './publication.js';

/** @typedef {import('./signal.js').SignalClient} SignalClient */
/** @typedef {import('./signal.js').Message} Message */
/** @typedef {import('./publisher.js').Publisher} Publisher */
/** @typedef {import('./participant.js').Participant} Participant */
/** @typedef {import('./participant.js').TrackInfo} TrackInfo */
/** @typedef {import('./participant.js').Layer} Layer */

const MAX_DATA = 64 * 1024;

/**
 * @typedef {object} PublishOptions
 * @property {string} [source] camera, microphone, screen or screen_audio (default: by kind)
 * @property {MediaStream} [stream] the stream for the msid (default: a new one with the track)
 * @property {RTCRtpEncodingParameters[]} [sendEncodings] simulcast encodings, with rids
 * @property {Layer[]} [layers] the layers announced to the server (with sendEncodings)
 * @property {number} [width]
 * @property {number} [height]
 * @property {boolean} [ownsTrack] stop the track when it is unpublished or the room is left
 */

export class LocalMedia extends RoomEvents {
  /** Set by Room once connected. @type {SignalClient | undefined} */
  signal;
  /** Set by Room once joined. @type {Publisher | undefined} */
  publisher;
  /** Set by Room once joined. @type {Participant | null} */
  localParticipant = null;
  /** Track sids with a mute request in flight. @type {Map<string, number>} */
  #muting = new Map();
  /** Devices chosen with switchDevice, used by the next publishCamera/publishMicrophone. */
  /** @type {{camera?: string, microphone?: string}} */
  preferredDevices = {};
  /** @type {E2EE | null | undefined} */
  #e2ee;

  /**
   * The frame encryption when the Room was created with the `e2ee` option (a passphrase, or
   * {passphrase} or {key}; see e2ee.js), else null. Created when the Room first joins.
   * @returns {E2EE | null}
   */
  get e2ee() {
    if (this.#e2ee === undefined) {
      const secret = /** @type {any} */ (this).opts?.e2ee;
      this.#e2ee = secret ? new E2EE(secret) : null;
      if (this.#e2ee) this.on('disconnected', () => this.#e2ee?.close());
    }
    return this.#e2ee;
  }

  /**
   * @param {Message} _msg
   * @returns {Promise<void>}
   */
  command(_msg) {
    throw new Error('implemented by Room');
  }

  /**
   * Publishes the camera: 1280x720, as three simulcast layers unless `simulcast: false`.
   * @param {{simulcast?: boolean, width?: number, height?: number, frameRate?: number, deviceId?: string}} [opts]
   * @returns {Promise<LocalTrackPublication>}
   */
  async publishCamera(opts = {}) {
    const c = await captureCamera({ deviceId: this.preferredDevices.camera, ...opts });
    return this.#publishCaptured(c, { source: 'camera', stream: c.stream, sendEncodings: c.sendEncodings, layers: c.layers, width: c.width, height: c.height, ownsTrack: true });
  }

  /**
   * Publishes the microphone.
   * @param {{deviceId?: string, echoCancellation?: boolean, noiseSuppression?: boolean}} [opts]
   * @returns {Promise<LocalTrackPublication>}
   */
  async publishMicrophone(opts = {}) {
    const c = await captureMicrophone({ deviceId: this.preferredDevices.microphone, ...opts });
    return this.#publishCaptured(c, { source: 'microphone', stream: c.stream, ownsTrack: true });
  }

  /**
   * Shares the screen (and its audio when asked and the browser offers it). The share is
   * unpublished by itself when the user stops it from the browser's own controls.
   * @param {{audio?: boolean, stream?: MediaStream, maxBitrate?: number, frameRate?: number}} [opts]
   *   `stream`: share this stream (a canvas's captureStream(), say) instead of asking the browser
   * @returns {Promise<LocalTrackPublication[]>}
   */
  async publishScreen({ audio = true, stream, maxBitrate = 2_500_000, frameRate = 15 } = {}) {
    const s = stream ?? (await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: frameRate } }, audio }));
    const pubs = [];
    for (const track of s.getTracks()) {
      const video = track.kind === 'video';
      if (video && 'contentHint' in track) track.contentHint = 'detail'; // sharp text over smooth motion
      /** @type {PublishOptions} */
      const opts = { source: video ? 'screen' : 'screen_audio', stream: s, ownsTrack: !stream };
      if (video) opts.sendEncodings = [{ maxBitrate }];
      pubs.push(await this.#publishCaptured({ track }, opts));
    }
    return pubs;
  }

  /**
   * Switches a published camera or microphone to another device without renegotiating; when
   * nothing of that source is published, the device is only remembered for the next publish.
   * @param {'camera'|'microphone'} source
   * @param {string} deviceId
   * @returns {Promise<LocalTrackPublication | null>}
   */
  async switchDevice(source, deviceId) {
    this.preferredDevices[source] = deviceId;
    const pub = this.publicationBySource(source);
    if (!pub) return null;
    const c = source === 'camera'
      ? await captureCamera({ simulcast: false, width: pub.info.width, height: pub.info.height, deviceId })
      : await captureMicrophone({ deviceId });
    c.track.enabled = !pub.muted;
    try {
      await pub.sender?.replaceTrack(c.track);
    } catch (err) {
      c.track.stop();
      throw err;
    }
    const old = pub.track;
    pub.track = c.track;
    pub.stream = new MediaStream([c.track]);
    if (pub.ownsTrack) old.stop();
    pub.ownsTrack = true;
    this.emit('localTrackChanged', pub);
    pub.emit('trackChanged', { publication: pub, track: c.track, previous: old });
    return pub;
  }

  /**
   * Our first publication of a source, if any.
   * @param {string} source
   * @returns {LocalTrackPublication | undefined}
   */
  publicationBySource(source) {
    for (const p of this.localParticipant?.publications.values() ?? []) if (p.source === source) return p;
    return undefined;
  }

  /**
   * Mutes or unmutes our first track of a source (see setMuted).
   * @param {string} source
   * @param {boolean} muted
   */
  setSourceMuted(source, muted) {
    const pub = this.publicationBySource(source);
    if (!pub) return Promise.reject(new PodiumError('not_found', `no ${source} track published`));
    return this.setMuted(pub.sid, muted);
  }

  /**
   * Calls fn for each data message of a topic; returns a function that stops.
   * @param {string} topic
   * @param {(m: any) => void} fn
   * @returns {() => void}
   */
  onData(topic, fn) {
    const listener = (/** @type {any} */ m) => {
      if (m.topic === topic) fn(m);
    };
    return this.on('data', listener);
  }

  /**
   * @param {{track: MediaStreamTrack}} c
   * @param {PublishOptions} opts
   */
  async #publishCaptured(c, opts) {
    try {
      return await this.publishTrack(c.track, opts);
    } catch (err) {
      c.track.stop();
      throw err;
    }
  }

  /**
   * Publishes any MediaStreamTrack: announces it with `publish`, waits for `published`, then
   * adds it to the publisher connection and negotiates.
   * @param {MediaStreamTrack} track
   * @param {PublishOptions} [opts]
   * @returns {Promise<LocalTrackPublication>}
   */
  async publishTrack(track, opts = {}) {
    const { signal, publisher, localParticipant } = this.#connected();
    const kind = /** @type {'audio'|'video'} */ (track.kind);
    const source = opts.source ?? (kind === 'audio' ? 'microphone' : 'camera');
    const stream = opts.stream ?? new MediaStream([track]);
    /** @type {Message} */
    const msg = { type: 'publish', cid: track.id, kind, source };
    if (kind === 'video') {
      const s = track.getSettings();
      const width = opts.width ?? s.width;
      const height = opts.height ?? s.height;
      if (width) msg.width = Math.round(width);
      if (height) msg.height = Math.round(height);
      if (opts.layers?.length) msg.layers = opts.layers;
    }
    const reply = await signal.request(msg, 'published');
    /** @type {TrackInfo} */
    const info = localParticipant.setTrack(reply.track);
    const pub = new LocalTrackPublication({ sid: info.sid, kind, source, track, stream, info, ownsTrack: !!opts.ownsTrack, options: opts });
    localParticipant.publications.set(pub.sid, pub);
    try {
      const tr = await publisher.addTrack(track, stream, opts.sendEncodings);
      pub.transceiver = tr;
      pub.sender = tr.sender;
    } catch (err) {
      localParticipant.publications.delete(pub.sid);
      localParticipant.tracks.delete(pub.sid);
      this.command({ type: 'unpublish', trackSid: pub.sid }).catch(() => {});
      throw err;
    }
    if (pub.activeLayers) publisher.setActiveLayers(pub, pub.activeLayers);
    // A track that ends by itself (the browser's "stop sharing", an unplugged camera) is
    // unpublished; track.stop() from a script fires no "ended".
    track.addEventListener('ended', () => {
      if (this.localParticipant?.publications.get(pub.sid) === pub) this.unpublish(pub.sid).catch(() => {});
    }, { once: true });
    this.emit('localTrackPublished', pub);
    return pub;
  }

  /**
   * Publishes again, in a new session, what was published before a reconnection: the same
   * tracks with the same options and mute state. Each gets a new track sid and a new
   * publication; the old one emits unpublished.
   * @param {LocalTrackPublication[]} old
   * @returns {Promise<{old: LocalTrackPublication, pub: LocalTrackPublication}[]>}
   */
  async republish(old) {
    const results = await Promise.allSettled(old.filter((p) => p.track.readyState !== 'ended').map(async (o) => {
      const pub = await this.publishTrack(o.track, o.options);
      if (o.muted) await this.setMuted(pub.sid, true);
      return { old: o, pub };
    }));
    const out = [];
    for (const r of results) {
      if (r.status === 'fulfilled') out.push(r.value);
      else console.warn('podium: could not publish again after reconnecting', r.reason);
    }
    for (const o of old) o.emit('unpublished', { publication: o });
    return out;
  }

  /**
   * Stops publishing a track. The track is stopped when the SDK captured it, or when stopTrack.
   * @param {string} trackSid
   * @param {{stopTrack?: boolean}} [opts]
   */
  async unpublish(trackSid, { stopTrack } = {}) {
    const { publisher, localParticipant } = this.#connected();
    const pub = this.#publication(trackSid);
    localParticipant.publications.delete(trackSid);
    localParticipant.tracks.delete(trackSid);
    const sent = this.command({ type: 'unpublish', trackSid });
    sent.catch(() => {});
    if (pub.sender) await publisher.removeTrack(pub.sender).catch((err) => console.warn('podium: renegotiation after unpublish failed', err));
    if (stopTrack ?? pub.ownsTrack) pub.track.stop();
    this.emit('localTrackUnpublished', pub);
    pub.emit('unpublished', { publication: pub });
    await sent;
  }

  /**
   * Mutes or unmutes a published track: it sends silence or black frames while muted.
   * @param {string} trackSid
   * @param {boolean} muted
   */
  async setMuted(trackSid, muted) {
    const pub = this.#publication(trackSid);
    pub.muted = muted;
    pub.info.muted = muted;
    pub.track.enabled = !muted;
    this.#muting.set(trackSid, (this.#muting.get(trackSid) ?? 0) + 1);
    try {
      await this.command({ type: 'mute', trackSid, muted });
    } finally {
      const n = (this.#muting.get(trackSid) ?? 1) - 1;
      if (n > 0) this.#muting.set(trackSid, n);
      else this.#muting.delete(trackSid);
    }
  }

  /**
   * Sends a data message to the room, or to the identities in `to`. A string becomes the payload
   * of {topic, payload}; an object is sent as the message itself (give it topic and payload);
   * an ArrayBuffer, typed array or Blob is sent as binary, as it is.
   * @param {string | object | ArrayBuffer | ArrayBufferView | Blob} data
   * @param {{reliable?: boolean, to?: string | string[], topic?: string}} [opts]
   */
  async sendData(data, { reliable = true, to, topic } = {}) {
    const { publisher, localParticipant } = this.#connected();
    if (localParticipant.permissions?.canPublishData === false) throw new PodiumError('forbidden', 'no canPublishData grant');
    const ch = reliable ? publisher.reliable : publisher.lossy;
    /** @type {string | ArrayBuffer | ArrayBufferView | Blob} */
    let frame;
    let size;
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data) || data instanceof Blob) {
      frame = data;
      size = data instanceof Blob ? data.size : data.byteLength;
    } else {
      /** @type {Record<string, any>} */
      const msg = typeof data === 'string' ? { topic: topic ?? '', payload: data } : { ...data };
      if (topic !== undefined) msg.topic = topic;
      if (to !== undefined) msg.to = Array.isArray(to) ? to : [to];
      frame = JSON.stringify(msg);
      size = new TextEncoder().encode(frame).length;
    }
    if (size > MAX_DATA) throw new PodiumError('bad_request', `data message of ${size} bytes is over 64 KiB`);
    await channelOpen(ch, 10000);
    ch.send(/** @type {any} */ (frame));
  }

  /**
   * Dynacast: the server says which layers of our track someone needs.
   * @param {Message} m
   */
  onSubscribedLayers(m) {
    const publication = this.localParticipant?.publications.get(m.trackSid);
    if (!publication || !Array.isArray(m.layers)) return;
    this.publisher?.setActiveLayers(publication, m.layers);
    this.emit('subscribedLayers', { trackSid: m.trackSid, layers: m.layers, publication });
    publication.emit('layersChanged', { publication, layers: m.layers });
  }

  /**
   * The server's view of us changed; a mute we did not ask for (an admin's) is applied.
   * @param {import('./participant.js').ParticipantInfo} info
   */
  onLocalUpdate(info) {
    const lp = this.localParticipant;
    if (!lp) return;
    lp.update(info);
    for (const t of info.tracks ?? []) this.onLocalTrack(t);
  }

  /** @param {TrackInfo} t */
  onLocalTrack(t) {
    const lp = this.localParticipant;
    if (!lp) return;
    const info = lp.setTrack(t);
    const pub = lp.publications.get(t.sid);
    if (!pub) return;
    pub.info = info;
    if (info.muted && !pub.muted && !this.#muting.has(t.sid)) {
      pub.muted = true;
      pub.track.enabled = false;
      this.emit('localTrackMuted', { publication: pub, muted: true });
    }
  }

  /**
   * The server removed one of our tracks (not at our request).
   * @param {string} trackSid
   */
  onLocalTrackRemoved(trackSid) {
    const lp = this.localParticipant;
    const pub = lp?.publications.get(trackSid);
    lp?.tracks.delete(trackSid);
    if (!lp || !pub) return;
    lp.publications.delete(trackSid);
    if (pub.sender) this.publisher?.removeTrack(pub.sender).catch(() => {});
    if (pub.ownsTrack) pub.track.stop();
    this.emit('localTrackUnpublished', pub);
    pub.emit('unpublished', { publication: pub });
  }

  /** Stops the tracks the SDK captured (on leave); each publication emits unpublished. */
  stopLocalTracks() {
    for (const pub of this.localParticipant?.publications.values() ?? []) {
      if (pub.ownsTrack) pub.track.stop();
      pub.emit('unpublished', { publication: pub });
    }
  }

  /** @param {string} trackSid */
  #publication(trackSid) {
    const pub = this.localParticipant?.publications.get(trackSid);
    if (!pub) throw new PodiumError('not_found', `no published track ${trackSid}`);
    return pub;
  }

  #connected() {
    const { signal, publisher, localParticipant } = this;
    if (!signal || !publisher || !localParticipant || /** @type {any} */ (this).state !== 'connected') {
      throw new PodiumError('disconnected', 'not connected');
    }
    return { signal, publisher, localParticipant };
  }
}
