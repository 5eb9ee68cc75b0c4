// Connection quality as the app shows it. The server's connectionQuality is authoritative; until
// it sends one for a participant, the app estimates it from what the browser sees: for a remote
// participant, the loss and flow of the packets received from them; for us, the round-trip time
// and whether the encoder is limited by bandwidth.

/** @typedef {'excellent'|'good'|'poor'|'lost'} Level */

export class Quality {
  /** Participants the server reports on. @type {Set<string>} */
  #server = new Set();
  /** Counters at the previous reading, by participant sid. @type {Map<string, {received: number, lost: number}>} */
  #prev = new Map();
  /** Smoothed loss fraction by participant sid. @type {Map<string, number>} */
  #loss = new Map();

  /**
   * @param {string} sid
   * @param {string} _quality
   */
  fromServer(sid, _quality) {
    this.#server.add(sid);
  }

  /** @param {string} sid */
  forget(sid) {
    this.#server.delete(sid);
    this.#prev.delete(sid);
    this.#loss.delete(sid);
  }

  /**
   * Estimates from one stats reading (taken about once a second).
   * @param {import('./room.js').Room} room
   * @param {import('./stats.js').PodiumStats} stats
   * @returns {Map<string, Level>} the participants whose estimate is known
   */
  update(room, stats) {
    /** @type {Map<string, {received: number, lost: number}>} */
    const now = new Map();
    for (const s of [...stats.inboundVideo, ...stats.inboundAudio]) {
      if (!s.participantSid) continue;
      const a = now.get(s.participantSid) ?? { received: 0, lost: 0 };
      a.received += s.packetsReceived;
      a.lost += Math.max(0, s.packetsLost);
      now.set(s.participantSid, a);
    }
    /** @type {Map<string, Level>} */
    const out = new Map();
    for (const [sid, a] of now) {
      const prev = this.#prev.get(sid);
      this.#prev.set(sid, a);
      if (!prev || this.#server.has(sid)) continue;
      const received = a.received - prev.received;
      const lost = Math.max(0, a.lost - prev.lost);
      if (received <= 0) {
        out.set(sid, 'lost');
        continue;
      }
      const loss = 0.6 * (this.#loss.get(sid) ?? 0) + 0.4 * (lost / (received + lost));
      this.#loss.set(sid, loss);
      out.set(sid, loss < 0.02 ? 'excellent' : loss < 0.08 ? 'good' : 'poor');
    }
    const me = room.localParticipant?.sid;
    if (me && !this.#server.has(me)) {
      const pc = stats.connectionState.publisher;
      const limited = stats.outbound.some((o) => o.kind === 'video' && o.qualityLimitationReason === 'bandwidth');
      const rtt = stats.transport.rtt;
      if (pc === 'failed' || pc === 'disconnected') out.set(me, 'lost');
      else if (pc === 'connected') out.set(me, rtt > 0.4 ? 'poor' : limited || rtt > 0.15 ? 'good' : 'excellent');
    }
    return out;
  }
}
