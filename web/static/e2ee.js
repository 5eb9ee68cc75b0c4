// End-to-end encryption of media (optional): every encoded frame is encrypted in the browser with
// AES-GCM before it is packetized, and decrypted after it is reassembled, so the server forwards
// frames it cannot read. The first bytes of each frame stay clear (VP8: the 10-byte keyframe
// header or the 3-byte frame tag; Opus: the TOC byte): the server needs them to find keyframes,
// read a keyframe's size and switch simulcast layers. See docs/e2ee.md.
//
// The work is done in a worker (e2ee-worker.js) through RTCRtpScriptTransform, or through
// Chromium's older createEncodedStreams() where RTCRtpScriptTransform is missing.

/**
 * @typedef {object} E2EEOptions
 * @property {string} [passphrase] stretched into a key with PBKDF2 (SHA-256)
 * @property {Uint8Array} [key] raw key material (at least 16 bytes), expanded with HKDF (SHA-256)
 */

/** @typedef {{encrypted: number, decrypted: number, failed: number, dropped: number}} E2EEStats */

const SALT = new TextEncoder().encode('podium-e2ee-v1');
const PBKDF2_ITERATIONS = 100000;
/** Codecs whose frame layout the worker knows (the clear prefix); others would be broken or leak. */
const VIDEO_CODECS = /^video\/(vp8|rtx|red|ulpfec)$/i;

/**
 * Derives the AES-GCM frame key from a passphrase (PBKDF2) or raw key material (HKDF). The key is
 * not extractable: script can use it but never read it back.
 * @param {string | E2EEOptions} secret
 * @returns {Promise<CryptoKey>}
 */
export async function deriveFrameKey(secret) {
  const opts = typeof secret === 'string' ? { passphrase: secret } : secret;
  const aes = { name: 'AES-GCM', length: 128 };
  if (opts.key) {
    if (opts.key.length < 16) throw new Error('e2ee: a raw key needs at least 16 bytes');
    const base = await crypto.subtle.importKey('raw', /** @type {BufferSource} */ (opts.key), 'HKDF', false, ['deriveKey']);
    const params = { name: 'HKDF', hash: 'SHA-256', salt: SALT, info: new TextEncoder().encode('frame') };
    return crypto.subtle.deriveKey(params, base, aes, false, ['encrypt', 'decrypt']);
  }
  if (!opts.passphrase) throw new Error('e2ee: a passphrase or a key is needed');
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(opts.passphrase), 'PBKDF2', false, ['deriveKey']);
  const params = { name: 'PBKDF2', hash: 'SHA-256', salt: SALT, iterations: PBKDF2_ITERATIONS };
  return crypto.subtle.deriveKey(params, base, aes, false, ['encrypt', 'decrypt']);
}

/** Whether this browser can encrypt frames (RTCRtpScriptTransform or createEncodedStreams). */
export function e2eeSupported() {
  return typeof Worker !== 'undefined' && !!globalThis.crypto?.subtle &&
    ('RTCRtpScriptTransform' in globalThis || 'createEncodedStreams' in (globalThis.RTCRtpSender?.prototype ?? {}));
}

/**
 * The frame encryption of one Room: one worker, one key, a transform on every sender and receiver.
 * Senders get the transform before their first offer, receivers in the track event, so no frame
 * leaves or is decoded untransformed.
 */
export class E2EE {
  /** Counters from the worker (updated about once a second). @type {E2EEStats} */
  stats = { encrypted: 0, decrypted: 0, failed: 0, dropped: 0 };
  #worker;
  #script = 'RTCRtpScriptTransform' in globalThis;

  /** @param {string | E2EEOptions} secret */
  constructor(secret) {
    if (!e2eeSupported()) throw new Error('e2ee: this browser cannot transform encoded frames');
    this.#worker = new Worker(new URL('./e2ee-worker.js', import.meta.url), { name: 'podium-e2ee' });
    this.#worker.onmessage = (ev) => {
      if (ev.data?.type === 'stats') this.stats = ev.data.stats;
    };
    // Frames wait for nothing: until the key arrives, the worker drops them (never sends clear).
    this.ready = deriveFrameKey(secret).then((key) => this.#worker.postMessage({ type: 'key', index: 0, key }));
  }

  /** Merged into the peer connections' configuration (the older API needs it at creation). */
  get rtcConfig() {
    return this.#script ? {} : { encodedInsertableStreams: true };
  }

  /**
   * Encrypts what a new sender sends; video is held to VP8, whose header the worker knows.
   * @param {RTCRtpTransceiver} tr
   * @param {string} kind
   */
  sender(tr, kind) {
    if (kind === 'video' && tr.setCodecPreferences) {
      const codecs = (RTCRtpReceiver.getCapabilities('video')?.codecs ?? []).filter((c) => VIDEO_CODECS.test(c.mimeType));
      try {
        tr.setCodecPreferences(codecs);
      } catch (err) {
        console.warn('podium: e2ee could not prefer VP8', err);
      }
    }
    this.#attach(tr.sender, 'encrypt', kind);
  }

  /**
   * Decrypts what a receiver gets.
   * @param {RTCRtpReceiver} receiver
   * @param {string} kind
   */
  receiver(receiver, kind) {
    this.#attach(receiver, 'decrypt', kind);
  }

  /**
   * @param {RTCRtpSender | RTCRtpReceiver} target
   * @param {'encrypt' | 'decrypt'} operation
   * @param {string} kind
   */
  #attach(target, operation, kind) {
    const t = /** @type {any} */ (target);
    if (t.transform) return; // already attached (a receiver reused by a later offer)
    if (this.#script) {
      t.transform = new RTCRtpScriptTransform(this.#worker, { operation, kind });
      return;
    }
    const { readable, writable } = t.createEncodedStreams();
    t.transform = true;
    this.#worker.postMessage({ type: 'streams', operation, kind, readable, writable }, [readable, writable]);
  }

  /** Stops the worker (the room is over). */
  close() {
    this.#worker.terminate();
  }
}
