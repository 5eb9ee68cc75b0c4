// Joining: identities, the server address check, dev tokens, and publishing the camera and
// microphone as the pre-join screen left them.

import { captureCamera, captureMicrophone } from './podium.js';

/** A stable identity for a display name: a slug plus a random suffix, unique in the room. */
export function makeIdentity(/** @type {string} */ name) {
  const slug = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'guest';
  return `${slug}-${Math.random().toString(36).slice(2, 8)}`;
}

export function defaultURL() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
}

/**
 * Refuses a server other than the page's own unless the page's server allows it
 * (--allowed-app-urls): a link with ?url= must not send the camera and microphone elsewhere.
 * @param {string} url
 */
export async function checkServerURL(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`"${url}" is not a server address`);
  }
  const origin = `${u.protocol}//${u.host}`;
  if (origin === defaultURL()) return;
  const res = await fetch('/api/app-config').catch(() => null);
  const config = res?.ok ? await res.json().catch(() => null) : null;
  if (!Array.isArray(config?.allowedUrls) || !config.allowedUrls.includes(origin)) {
    throw new Error(`this app connects only to its own server, not to ${origin}`);
  }
}

/**
 * Asks the server for a development token (dev mode only).
 * @param {string} roomName
 * @param {string} identity
 * @param {string} name
 * @returns {Promise<{token: string, url: string}>}
 */
export async function devToken(roomName, identity, name) {
  const res = await fetch(`/api/dev/token?${new URLSearchParams({ room: roomName, identity, name })}`);
  if (res.status === 404) throw new Error('this server needs an invitation link: ask the organiser for one');
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.message || `the server refused a token (HTTP ${res.status})`);
  if (!body?.token) throw new Error('the server sent no token');
  return { token: body.token, url: body.url || defaultURL() };
}

/**
 * @typedef {object} PublishChoice
 * @property {boolean} video publish the camera
 * @property {boolean} audio publish the microphone
 * @property {boolean} simulcast
 * @property {boolean} micMuted join with the microphone muted
 * @property {boolean} camOff join with the camera off
 * @property {{camera?: string, microphone?: string}} devices
 */

/**
 * Publishes the camera and the microphone, together (their negotiations share one offer). A
 * track to join muted is disabled before it is published: not a moment of sound or picture
 * leaves.
 * @param {import('./room.js').Room} room
 * @param {PublishChoice} c
 * @returns {Promise<{camera: import('./participant.js').LocalTrackPublication | null,
 *   microphone: import('./participant.js').LocalTrackPublication | null, errors: string[]}>}
 */
export async function publishMedia(room, c) {
  /**
   * @param {'camera'|'microphone'} source
   * @param {boolean} muted
   */
  const publish = async (source, muted) => {
    const deviceId = c.devices[source];
    const cap = source === 'camera' ? await captureCamera({ simulcast: c.simulcast, deviceId }) : await captureMicrophone({ deviceId });
    cap.track.enabled = !muted;
    const v = /** @type {any} */ (cap);
    const opts = source === 'camera' ? { sendEncodings: v.sendEncodings, layers: v.layers, width: v.width, height: v.height } : {};
    try {
      const pub = await room.publishTrack(cap.track, { source, stream: cap.stream, ownsTrack: true, ...opts });
      if (muted) await room.setMuted(pub.sid, true);
      return pub;
    } catch (err) {
      cap.track.stop();
      throw err;
    }
  };
  room.preferredDevices = { ...c.devices };
  const [cam, mic] = await Promise.allSettled([
    c.video ? publish('camera', c.camOff) : null,
    c.audio ? publish('microphone', c.micMuted) : null,
  ]);
  const errors = [];
  const text = (/** @type {any} */ e) => (e instanceof Error ? e.message : String(e));
  if (cam.status === 'rejected') errors.push(`camera: ${text(cam.reason)}`);
  if (mic.status === 'rejected') errors.push(`microphone: ${text(mic.reason)}`);
  return {
    camera: cam.status === 'fulfilled' ? cam.value : null,
    microphone: mic.status === 'fulfilled' ? mic.value : null,
    errors,
  };
}
