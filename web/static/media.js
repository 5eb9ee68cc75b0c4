// Capturing local media and describing simulcast layers.

/** @typedef {import('./participant.js').Layer} Layer */

/**
 * The camera's simulcast encodings, lowest first: rid, downscale factor and bitrate cap.
 * @type {ReadonlyArray<{rid: string, scaleResolutionDownBy: number, maxBitrate: number}>}
 */
export const SIMULCAST_ENCODINGS = Object.freeze([
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
]);

/**
 * @typedef {object} Capture
 * @property {MediaStreamTrack} track
 * @property {MediaStream} stream
 * @property {RTCRtpEncodingParameters[]} [sendEncodings]
 * @property {Layer[]} [layers]
 * @property {number} [width]
 * @property {number} [height]
 */

/**
 * Opens the camera (1280x720 unless told otherwise), with simulcast encodings when asked.
 * @param {object} [opts]
 * @param {boolean} [opts.simulcast] three layers q/h/f (default true)
 * @param {number} [opts.width]
 * @param {number} [opts.height]
 * @param {number} [opts.frameRate]
 * @param {string} [opts.deviceId]
 * @returns {Promise<Capture>}
 */
export async function captureCamera({ simulcast = true, width = 1280, height = 720, frameRate, deviceId } = {}) {
  /** @type {MediaTrackConstraints} */
  const video = { width: { ideal: width }, height: { ideal: height } };
  if (frameRate) video.frameRate = { ideal: frameRate };
  if (deviceId) video.deviceId = { exact: deviceId };
  const stream = await navigator.mediaDevices.getUserMedia({ video });
  const track = stream.getVideoTracks()[0];
  const s = track.getSettings();
  const w = s.width ?? width;
  const h = s.height ?? height;
  if (!simulcast) return { track, stream, width: w, height: h };
  return {
    track,
    stream,
    width: w,
    height: h,
    sendEncodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e, active: true })),
    layers: simulcastLayers(w, h),
  };
}

/**
 * The layers announced in `publish` for a simulcast video of the given size.
 * @param {number} width
 * @param {number} height
 * @returns {Layer[]}
 */
export function simulcastLayers(width, height) {
  return SIMULCAST_ENCODINGS.map((e) => ({
    rid: e.rid,
    width: Math.round(width / e.scaleResolutionDownBy),
    height: Math.round(height / e.scaleResolutionDownBy),
    maxBitrate: e.maxBitrate,
  }));
}

/**
 * Opens the microphone.
 * @param {object} [opts]
 * @param {string} [opts.deviceId]
 * @param {boolean} [opts.echoCancellation]
 * @param {boolean} [opts.noiseSuppression]
 * @returns {Promise<Capture>}
 */
export async function captureMicrophone({ deviceId, echoCancellation = true, noiseSuppression = true } = {}) {
  /** @type {MediaTrackConstraints} */
  const audio = { echoCancellation, noiseSuppression };
  if (deviceId) audio.deviceId = { exact: deviceId };
  const stream = await navigator.mediaDevices.getUserMedia({ audio });
  return { track: stream.getAudioTracks()[0], stream };
}

/**
 * Waits until a data channel is open.
 * @param {RTCDataChannel} ch
 * @param {number} ms
 * @returns {Promise<void>}
 */
export function channelOpen(ch, ms) {
  if (ch.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (/** @type {Error | null} */ err) => {
      clearTimeout(timer);
      ch.removeEventListener('open', onOpen);
      ch.removeEventListener('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onOpen = () => done(null);
    const onClose = () => done(new Error(`data channel "${ch.label}" closed`));
    const timer = setTimeout(() => done(new Error(`data channel "${ch.label}" not open after ${ms} ms`)), ms);
    ch.addEventListener('open', onOpen);
    ch.addEventListener('close', onClose);
  });
}

/**
 * @typedef {object} Devices the media devices, by kind; labels are empty until the page has had
 *   camera or microphone access once
 * @property {MediaDeviceInfo[]} cameras
 * @property {MediaDeviceInfo[]} microphones
 * @property {MediaDeviceInfo[]} speakers audio outputs (HTMLMediaElement.setSinkId)
 */

/** @returns {Promise<Devices>} */
export async function listDevices() {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput'),
    microphones: all.filter((d) => d.kind === 'audioinput'),
    speakers: all.filter((d) => d.kind === 'audiooutput'),
  };
}
