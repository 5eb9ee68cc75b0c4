// Podium's JavaScript SDK: join a room, publish the camera and microphone (simulcast), receive
// the other participants' tracks, send data. Plain ES modules, no build step:
//
//   import { connect } from '/podium.js';
//   const room = await connect('ws://127.0.0.1:7880', token);
//   room.on('trackSubscribed', ({ participant, trackInfo, track }) => { ... });
//   await room.publishCamera({ simulcast: true });
//   await room.publishMicrophone();
//
// The wire protocol is described in the project's docs/protocol.md.

export { connect, Room } from './room.js';
export { createLocalTracks } from './localtracks.js';
export { Participant } from './participant.js';
export { RemoteTrackPublication, LocalTrackPublication, LAYER_QUALITY } from './publication.js';
export { PodiumError, Emitter } from './events.js';
export { SIMULCAST_ENCODINGS, simulcastLayers, captureCamera, captureMicrophone, listDevices } from './media.js';
export { AdaptiveStream } from './adaptive.js';
export { SpeakerDetector } from './speakers.js';
export { collectStats } from './stats.js';
export { parseSections } from './subscriber.js';
export { E2EE, deriveFrameKey, e2eeSupported } from './e2ee.js';

/** The protocol version this SDK speaks. */
export const PROTOCOL_VERSION = 1;
