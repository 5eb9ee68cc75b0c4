// Room events that need no signalling: the dominant speaker's changes, the devices' changes, and
// media the browser would not play without a user gesture (autoplay policy). Room extends this
// class through LocalMedia. Events:
//   dominantSpeakerChanged {participant, sid, previousSid}: the activeSpeakers' dominant changed
//     (participant and sid null when nobody dominates);
//   devicesChanged {cameras, microphones, speakers}: a device was plugged in or out (from the first
//     listener on);
//   audioPlaybackChanged {canPlayback}: the browser blocked a remote track's sound, or startAudio()
//     unblocked it.

import { Emitter } from './events.js';
import { listDevices } from './media.js';

/** @typedef {import('./participant.js').Participant} Participant */

export class RoomEvents extends Emitter {
  /**
   * False once the browser refused to play a remote track's sound without a user gesture; then
   * call startAudio() from a click. @type {boolean}
   */
  canPlaybackAudio = true;
  /** The media elements attach() started, to play again in startAudio(). @type {Set<HTMLMediaElement>} */
  #playing = new Set();
  /** @type {string | null} */
  #dominantSid = null;
  /** @type {(() => void) | null} */
  #unwatchDevices = null;

  constructor() {
    super();
    this.on('activeSpeakers', (/** @type {{dominant: Participant | null, dominantSid: string | null}} */ e) => {
      if (e.dominantSid === this.#dominantSid) return;
      const previousSid = this.#dominantSid;
      this.#dominantSid = e.dominantSid;
      this.emit('dominantSpeakerChanged', { participant: e.dominant, sid: e.dominantSid, previousSid });
    });
    this.on('disconnected', () => {
      this.#unwatchDevices?.();
      this.#unwatchDevices = null;
      this.#playing.clear();
    });
  }

  /**
   * Watches the devices from the first devicesChanged listener until the room disconnects.
   * @param {string} type
   * @param {EventListenerOrEventListenerObject | null} listener
   * @param {AddEventListenerOptions | boolean} [options]
   */
  addEventListener(type, listener, options) {
    super.addEventListener(type, listener, options);
    const md = globalThis.navigator?.mediaDevices;
    if (type !== 'devicesChanged' || this.#unwatchDevices || !md) return;
    const onChange = () => {
      listDevices().then((d) => this.emit('devicesChanged', d), () => {});
    };
    md.addEventListener('devicechange', onChange);
    this.#unwatchDevices = () => md.removeEventListener('devicechange', onChange);
  }

  /**
   * Plays an element showing a remote track. When the autoplay policy blocks it, sets
   * canPlaybackAudio false and emits audioPlaybackChanged; startAudio() plays it later.
   * @param {HTMLMediaElement} el
   */
  playMedia(el) {
    for (const e of this.#playing) if (!e.srcObject) this.#playing.delete(e); // detached
    this.#playing.add(el);
    el.play().catch((/** @type {unknown} */ err) => {
      if (/** @type {{name?: string}} */ (err)?.name === 'NotAllowedError' && !el.muted) this.#setCanPlayback(false);
    });
  }

  /**
   * Starts the remote sound the browser blocked (see canPlaybackAudio). Call it from a user
   * gesture (a click handler): browsers allow playback only then. Resolves once every attached
   * element plays; rejects, with canPlaybackAudio still false, if the browser still refuses.
   * @returns {Promise<void>}
   */
  async startAudio() {
    const els = [...this.#playing].filter((e) => e.srcObject);
    await Promise.all(els.map((e) => e.play()));
    this.#setCanPlayback(true);
  }

  /** @param {boolean} can */
  #setCanPlayback(can) {
    if (this.canPlaybackAudio === can) return;
    this.canPlaybackAudio = can;
    this.emit('audioPlaybackChanged', { canPlayback: can });
  }
}
