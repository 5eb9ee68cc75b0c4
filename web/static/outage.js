// Whether the call is cut off, from every signal the browser has at once: the network gone
// (navigator.onLine), the signalling socket not open, a rejoin under way, or a peer connection
// disconnected or failed; and one it finds out soon: nothing at all arriving from the server
// while it sends us tracks (it sends sender reports every second even when no media flows).
// The app shows an outage the moment one of them says so, instead of waiting for a ping to time
// out.

/** @typedef {'' | 'offline' | 'signal' | 'media'} Cause */

/** What the outage banner says for each cause. */
export const OUTAGE_TEXT = Object.freeze({
  '': '',
  offline: 'You are offline: the call resumes when the network is back.',
  signal: 'The connection to the server is lost.',
  media: 'The media connection is interrupted.',
});

/** How long the subscriber connection may receive nothing before the link counts as down. */
const STALL_MS = 2000;

export class Outage {
  /** @type {Cause} */
  cause = '';
  /** @type {import('./room.js').Room | null} */
  #room = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;
  /** Bytes received on the subscriber connection at the last change, and when. */
  #bytes = -1;
  #since = 0;
  #stalled = false;

  /** @param {(cause: Cause) => void} onChange called when the cause changes ('' = all well) */
  constructor(onChange) {
    this.onChange = onChange;
    const check = () => this.check();
    addEventListener('online', check);
    addEventListener('offline', check);
  }

  /**
   * Follows a room until it is left; null stops.
   * @param {import('./room.js').Room | null} room
   */
  watch(room) {
    this.#room = room;
    clearInterval(this.#timer);
    clearInterval(this.#stallTimer);
    if (room) {
      for (const ev of ['reconnecting', 'reconnected', 'resuming', 'resumed', 'connectionStateChanged', 'disconnected']) room.on(ev, () => this.check());
      // The socket's close reaches the room through its own handler; a poll also catches a
      // socket that is closing and a state no event announces.
      this.#timer = setInterval(() => this.check(), 250);
      this.#stallTimer = setInterval(() => this.#sample(), 500);
    }
    this.#bytes = -1;
    this.#stalled = false;
    this.check();
  }

  /** @type {ReturnType<typeof setInterval> | undefined} */
  #stallTimer;

  /** Reads what the subscriber connection received: does anything still arrive? */
  async #sample() {
    const r = this.#room;
    const pc = r?.subscriberPC;
    if (!r || !pc || r.state !== 'connected' || pc.connectionState !== 'connected' || r.subscriptions.size === 0) {
      this.#bytes = -1;
      this.#stalled = false;
      return;
    }
    const report = await pc.getStats().catch(() => null);
    let bytes = -1;
    report?.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) bytes = report.get(s.selectedCandidatePairId)?.bytesReceived ?? -1;
    });
    if (bytes < 0 || r !== this.#room) return;
    const now = performance.now();
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#since = now;
    }
    this.#stalled = now - this.#since >= STALL_MS;
    this.check();
  }

  check() {
    const cause = this.#cause();
    if (cause === this.cause) return;
    this.cause = cause;
    this.onChange(cause);
  }

  /** @returns {Cause} */
  #cause() {
    const r = this.#room;
    if (!r || r.state === 'disconnected' || r.state === 'new' || r.state === 'connecting') return '';
    if (!navigator.onLine) return 'offline';
    const ws = r.signal?.ws;
    if (r.state === 'reconnecting' || !ws || ws.readyState !== WebSocket.OPEN) return 'signal';
    for (const pc of [r.publisherPC, r.subscriberPC]) {
      if (pc && (pc.connectionState === 'disconnected' || pc.connectionState === 'failed')) return 'media';
    }
    return this.#stalled ? 'media' : '';
  }
}
