// What the room has, shown as tiles: a tile per participant (and per screen share), the videos
// and sounds of their subscriptions, their mute states and raised hands, pins.

/** @typedef {import('./room.js').Room} Room */
/** @typedef {import('./participant.js').Participant} Participant */
/** @typedef {import('./participant.js').Subscription} Subscription */

/**
 * @typedef {object} TilesDeps
 * @property {import('./ui.js').View} view
 * @property {() => Room | null} room
 * @property {Map<string, string>} names display names by identity, kept after people leave
 * @property {Set<string>} hands identities with a raised hand
 * @property {(a: HTMLAudioElement) => void} applySink
 * @property {(text: string) => void} toast
 * @property {() => void} onLocal our own state changed
 * @property {() => void} onPeople who is here or their state changed
 */

/** @param {Subscription} sub */
export function tileKey(sub) {
  return sub.trackInfo.source === 'screen' || sub.trackInfo.source === 'screen_audio' ? `${sub.participant.sid}:screen` : sub.participant.sid;
}

/**
 * The layer name a tile shows: none for a video sent as one layer (a screen share, a camera
 * without simulcast), where "Low" would say nothing true.
 * @param {Subscription} sub
 * @param {string | null | undefined} layer
 */
export function layerName(sub, layer) {
  return (sub.trackInfo.layers?.length ?? 0) > 1 ? layer ?? null : null;
}

export class Tiles {
  /** @param {TilesDeps} d */
  constructor(d) {
    this.d = d;
  }

  /** @param {Participant} p */
  addParticipant(p) {
    if (p.permissions?.hidden) return;
    this.d.names.set(p.identity, p.displayName);
    this.d.view.tile(p.sid, { name: p.displayName, participantSid: p.sid, identity: p.identity });
    this.refreshParticipant(p);
  }

  /** @param {Participant} p */
  refreshParticipant(p) {
    const { view, names } = this.d;
    names.set(p.identity, p.displayName);
    if (p.isLocal) return this.d.onLocal();
    const t = view.tiles.get(p.sid);
    if (!t) return;
    t.setName(p.displayName);
    const mic = p.trackBySource('microphone');
    const cam = p.trackBySource('camera');
    t.setMicMuted(!mic || mic.muted);
    t.setVideoMuted(!cam || cam.muted);
    t.setHand(this.d.hands.has(p.identity));
    view.tiles.get(`${p.sid}:screen`)?.setName(`${p.displayName} is presenting`);
    this.d.onPeople();
  }

  /** @param {Subscription} sub */
  addTrack(sub) {
    const room = /** @type {Room} */ (this.d.room());
    const { view } = this.d;
    const p = sub.participant;
    const screen = sub.trackInfo.source === 'screen' || sub.trackInfo.source === 'screen_audio';
    const key = tileKey(sub);
    const isNew = !view.tiles.has(key);
    const t = view.tile(key, { name: screen ? `${p.displayName} is presenting` : p.displayName, participantSid: p.sid, identity: p.identity, screen });
    const sid = sub.trackInfo.sid;
    if (sub.track.kind === 'video') t.setVideo(sid, (v) => room.attach(sid, v));
    else t.addAudio(sid, (a) => {
      room.attach(sid, a);
      this.d.applySink(a);
    });
    if (screen && isNew && sub.track.kind === 'video') this.d.toast(`${p.displayName} is presenting`);
    this.refreshParticipant(p);
  }

  /** @param {Subscription} sub */
  removeTrack(sub) {
    const room = this.d.room();
    const key = tileKey(sub);
    const t = this.d.view.tiles.get(key);
    if (!t) return;
    t.clearVideo(sub.trackInfo.sid, (v) => room?.detach(sub.trackInfo.sid, v));
    t.removeAudio(sub.trackInfo.sid);
    if (t.screen && !t.video && t.audios.size === 0) this.d.view.remove(key);
  }

  /** @param {import('./participant.js').LocalTrackPublication} pub */
  showLocalScreen(pub) {
    const t = this.d.view.tile('local:screen', { name: 'Your screen', local: true, screen: true, participantSid: this.d.room()?.localParticipant?.sid });
    t.setVideo(pub.sid, (v) => {
      v.srcObject = new MediaStream([pub.track]);
    });
  }

  showLocalVideo() {
    const pub = this.d.room()?.publicationBySource('camera');
    const t = this.d.view.tiles.get('local');
    if (!t) return;
    t.clearVideo();
    if (pub) t.setVideo(pub.sid, (v) => {
      v.srcObject = new MediaStream([pub.track]);
    });
  }

  /** @param {string} key */
  togglePin(key) {
    const room = this.d.room();
    const { view } = this.d;
    const next = view.pinnedKey === key ? null : key;
    view.pin(next);
    if (!room) return;
    for (const [sid, sub] of room.subscriptions) {
      if (sub.trackInfo.kind === 'video') room.setPinned(sid, tileKey(sub) === next).catch(() => {});
    }
  }

  /**
   * Shows a stats reading: the layer and resolution each video arrives in, and the quality
   * estimates of the people the server does not rate.
   * @param {import('./stats.js').PodiumStats} stats
   * @param {Map<string, string>} quality by participant sid
   */
  showStats(stats, quality) {
    const room = this.d.room();
    if (!room) return;
    const { view } = this.d;
    for (const v of stats.inboundVideo) {
      const sub = v.trackSid ? room.subscriptions.get(v.trackSid) : undefined;
      const t = sub && view.tiles.get(tileKey(sub));
      if (!t || !sub) continue;
      t.setLayer({ layer: layerName(sub, sub.streamState?.layer), height: v.frameHeight, paused: sub.streamState?.state === 'paused' });
    }
    for (const [sid, q] of quality) view.tiles.get(sid === room.localParticipant?.sid ? 'local' : sid)?.setQuality(q);
  }

  /**
   * Everyone in the call, us first, for the participant list.
   * @param {string} me our identity
   * @param {string} myName
   * @returns {import('./meeting.js').Person[]}
   */
  people(me, myName) {
    const room = this.d.room();
    if (!room?.localParticipant) return [];
    /** @param {(s: string) => {muted: boolean} | undefined} track */
    const off = (track) => ({ micMuted: !!track('microphone')?.muted || !track('microphone'), camOff: !!track('camera')?.muted || !track('camera') });
    return [
      { identity: me, name: myName, local: true, ...off((s) => room.publicationBySource(s)) },
      ...[...room.participants.values()].filter((p) => !p.permissions?.hidden)
        .map((p) => ({ identity: p.identity, name: p.displayName, ...off((s) => p.trackBySource(s)) })),
    ];
  }

  /**
   * The tile of a person by identity (ours is "local").
   * @param {string} identity
   * @param {string} me our identity
   */
  of(identity, me) {
    if (identity === me) return this.d.view.tiles.get('local');
    const p = [...(this.d.room()?.participants.values() ?? [])].find((x) => x.identity === identity);
    return p ? this.d.view.tiles.get(p.sid) : undefined;
  }
}
