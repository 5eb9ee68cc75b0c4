// Uses the SDK as a TypeScript app would; check.sh compiles it against the built package.
import { connect, createLocalTracks, PodiumError, captureCamera, PROTOCOL_VERSION, type Room } from '@podium-sfu/client';

export async function join(url: string, token: string, preview: HTMLVideoElement): Promise<Room> {
  const tracks = await createLocalTracks({ video: { width: 640, height: 360 }, audio: true });
  preview.srcObject = new MediaStream([tracks[0].track]);
  const room = await connect(url, token, { autoSubscribe: true, reconnect: true, tracks });
  room.on('trackSubscribed', (sub) => console.log(sub.track.kind));
  room.on('dominantSpeakerChanged', (e) => console.log(e.sid));
  for (const p of room.participants.values()) {
    for (const pub of p.trackPublications.values()) {
      const quality: 'low' | 'medium' | 'high' | null = pub.quality;
      const track: MediaStreamTrack | null = pub.track;
      pub.on('qualityChanged', (e: { layer: string | null }) => console.log(quality, track?.id, e.layer));
      if (!pub.subscribed) void pub.setSubscribed(true);
    }
  }
  if (!room.canPlaybackAudio) await room.startAudio();
  const pub = await room.publishCamera({ simulcast: true });
  const muted: boolean = pub.muted;
  pub.on('unmuted', () => console.log(pub.sid));
  const cam = await captureCamera({ width: 640, height: 360 });
  cam.track.stop();
  if (PROTOCOL_VERSION !== 1 || muted) throw new PodiumError('bad_request', 'unexpected');
  return room;
}
