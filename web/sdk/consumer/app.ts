// Uses the SDK as a TypeScript app would; check.sh compiles it against the built package.
import { connect, Room, PodiumError, captureCamera, PROTOCOL_VERSION } from '@podium-sfu/client';

export async function join(url: string, token: string): Promise<Room> {
  const room = await connect(url, token, { autoSubscribe: true, reconnect: true });
  room.on('trackSubscribed', (sub) => console.log(sub.track.kind));
  const pub = await room.publishCamera({ simulcast: true });
  const muted: boolean = pub.muted;
  const cam = await captureCamera({ width: 640, height: 360 });
  cam.track.stop();
  if (PROTOCOL_VERSION !== 1 || muted) throw new PodiumError('bad_request', 'unexpected');
  return room;
}
