// Local tracks captured before joining: show them in a preview, then hand them to connect()
// (the `tracks` option) or publishTrack(), which publish them as they are.

import { captureCamera, captureMicrophone } from './media.js';

/** @typedef {import('./local.js').PublishOptions} PublishOptions */

/**
 * A captured track and the options that publish it (simulcast encodings and layers for a
 * camera). Preview it with `video.srcObject = new MediaStream([t.track])`.
 * @typedef {object} LocalTrack
 * @property {'camera'|'microphone'} source
 * @property {'audio'|'video'} kind
 * @property {MediaStreamTrack} track
 * @property {PublishOptions} options for publishTrack(track, options)
 */

/**
 * Opens the camera and/or the microphone. Each option is true, false, or the options of
 * captureCamera / captureMicrophone. The tracks are the caller's until published; once
 * published, unpublishing them or leaving the room stops them.
 * @param {object} [opts]
 * @param {boolean | Parameters<typeof captureCamera>[0]} [opts.video] (default true)
 * @param {boolean | Parameters<typeof captureMicrophone>[0]} [opts.audio] (default true)
 * @returns {Promise<LocalTrack[]>} the camera's first, then the microphone's
 */
export async function createLocalTracks({ video = true, audio = true } = {}) {
  const [cam, mic] = await Promise.allSettled([
    video ? captureCamera(video === true ? {} : video) : null,
    audio ? captureMicrophone(audio === true ? {} : audio) : null,
  ]);
  const failed = [cam, mic].find((r) => r.status === 'rejected');
  if (failed) {
    for (const r of [cam, mic]) if (r.status === 'fulfilled') r.value?.track.stop();
    throw /** @type {PromiseRejectedResult} */ (failed).reason;
  }
  /** @type {LocalTrack[]} */
  const out = [];
  const c = cam.status === 'fulfilled' ? cam.value : null;
  if (c) {
    out.push({ source: 'camera', kind: 'video', track: c.track, options: {
      source: 'camera', stream: c.stream, sendEncodings: c.sendEncodings, layers: c.layers, width: c.width, height: c.height, ownsTrack: true,
    } });
  }
  const m = mic.status === 'fulfilled' ? mic.value : null;
  if (m) out.push({ source: 'microphone', kind: 'audio', track: m.track, options: { source: 'microphone', stream: m.stream, ownsTrack: true } });
  return out;
}
