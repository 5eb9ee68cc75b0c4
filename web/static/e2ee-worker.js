// The frame cipher of podium.js's e2ee option, run in a worker (see e2ee.js and docs/e2ee.md).
//
// An encrypted frame is: clear prefix | AES-GCM ciphertext and 16-byte tag | 12-byte IV | key
// index (1 byte). The clear prefix is what the server reads: VP8's 10-byte keyframe header (frame
// tag, start code, size) or 3-byte frame tag, Opus's TOC byte. It is authenticated as AES-GCM's
// additional data, so it cannot be changed either. A frame that fails to decrypt is dropped and
// counted: the decoder never sees ciphertext, and asks for a keyframe as after a loss.

const IV_BYTES = 12;
const TRAILER = IV_BYTES + 1;
const TAG_BYTES = 16;

/** Keys by index. @type {Map<number, CryptoKey>} */
const keys = new Map();
let current = -1;
const stats = { encrypted: 0, decrypted: 0, failed: 0, dropped: 0 };
let dirty = false;

/**
 * The bytes left clear at the start of a frame.
 * @param {{type?: string}} frame
 * @param {string} kind
 */
function clearBytes(frame, kind) {
  if (kind === 'audio') return 1;
  return frame.type === 'key' ? 10 : 3;
}

/**
 * @param {any} frame an RTCEncodedVideoFrame or RTCEncodedAudioFrame
 * @param {string} kind
 * @returns {Promise<boolean>} whether to pass the frame on
 */
async function encrypt(frame, kind) {
  const key = keys.get(current);
  if (!key) {
    stats.dropped++; // no key yet: never send a frame in clear
    return false;
  }
  const data = new Uint8Array(frame.data);
  const n = Math.min(clearBytes(frame, kind), data.length);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: data.subarray(0, n) }, key, data.subarray(n)));
  const out = new Uint8Array(n + sealed.length + TRAILER);
  out.set(data.subarray(0, n));
  out.set(sealed, n);
  out.set(iv, n + sealed.length);
  out[out.length - 1] = current;
  frame.data = out.buffer;
  stats.encrypted++;
  return true;
}

/**
 * @param {any} frame
 * @param {string} kind
 * @returns {Promise<boolean>}
 */
async function decrypt(frame, kind) {
  const data = new Uint8Array(frame.data);
  const n = clearBytes(frame, kind);
  const key = keys.get(data[data.length - 1]);
  if (!key || data.length < n + TAG_BYTES + TRAILER) {
    stats.failed++;
    return false;
  }
  const ivAt = data.length - TRAILER;
  try {
    const plain = new Uint8Array(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: data.subarray(ivAt, ivAt + IV_BYTES), additionalData: data.subarray(0, n) },
      key, data.subarray(n, ivAt)));
    const out = new Uint8Array(n + plain.length);
    out.set(data.subarray(0, n));
    out.set(plain, n);
    frame.data = out.buffer;
    stats.decrypted++;
    return true;
  } catch {
    stats.failed++;
    return false;
  }
}

/**
 * Pipes one sender's or receiver's frames through the cipher, in order.
 * @param {ReadableStream} readable
 * @param {WritableStream} writable
 * @param {'encrypt' | 'decrypt'} operation
 * @param {string} kind
 */
function pipe(readable, writable, operation, kind) {
  const op = operation === 'encrypt' ? encrypt : decrypt;
  const ts = new TransformStream({
    async transform(frame, controller) {
      if (frame.data.byteLength === 0 || await op(frame, kind)) controller.enqueue(frame);
      dirty = true;
    },
  });
  readable.pipeThrough(ts).pipeTo(writable).catch(() => {}); // ends with its sender or receiver
}

self.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'key') {
    keys.set(m.index, m.key);
    current = m.index;
  } else if (m.type === 'streams') {
    pipe(m.readable, m.writable, m.operation, m.kind);
  }
};

// RTCRtpScriptTransform hands each sender's or receiver's streams over here.
self.onrtctransform = (ev) => {
  const t = ev.transformer;
  pipe(t.readable, t.writable, t.options.operation, t.options.kind);
};

setInterval(() => {
  if (!dirty) return;
  dirty = false;
  self.postMessage({ type: 'stats', stats });
}, 1000);
