// Whether the call is cut off, from every signal the browser has at once: the network gone
// (navigator.onLine), the signalling socket not open, a rejoin under way, or a peer connection
// disconnected or failed. The app shows an outage the moment one of them says so, instead of
// waiting for a ping to time out.

/** @typedef {'' | 'offline' | 'signal' | 'media'} Cause */

/** What the outage banner says for each cause. */
export const OUTAGE_TEXT = Object.freeze({
  '': '',
  offline: 'You are offline: the call resumes when the network is back.',
  signal: 'The connection to the server is lost.',
  media: 'The media connection is interrupted.',
});

export class Outage {
  /** @type {Cause} */
  cause = '';
  /** @type {import('./room.js').Room | null} */
  #room = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;

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
    if (room) {
      for (const ev of ['reconnecting', 'reconnected', 'connectionStateChanged', 'disconnected']) room.on(ev, () => this.check());
      // The socket's close reaches the room through its own handler; a poll also catches a
      // socket that is closing and a state no event announces.
      this.#timer = setInterval(() => this.check(), 250);
    }
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
    return '';
  }
}
