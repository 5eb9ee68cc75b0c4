// ICE restarts: when a peer connection loses its path (a network change, a laptop waking, a NAT
// binding gone) the client restarts ICE on both connections instead of rejoining, so that the
// participant, its tracks and their SSRCs stay and nobody sees a leave. The publisher
// connection restarts with an offer of its own; for the subscriber connection, which the server
// offers, the client sends `iceRestart` and the server re-offers with new credentials.

/** How long one restart may take before the next begins: one that gathered while the network
 * was still down has candidates that never pair. */
const RETRY_MS = 2000;
/** How long restarts go on before the client gives up and rejoins. */
const GIVE_UP_MS = 20000;

export class IceRestarter {
  /** @type {ReturnType<typeof setTimeout> | null} */
  #timer = null;
  #since = 0;
  #closed = false;
  #network = () => this.#onNetwork();
  /** Restarts begun, for tests and stats. */
  attempts = 0;

  /**
   * @param {object} o
   * @param {RTCPeerConnection[]} o.pcs the publisher and subscriber connections
   * @param {() => void} o.restart restarts ICE on both connections once
   * @param {() => void} o.giveUp the path did not come back: rejoin
   */
  constructor({ pcs, restart, giveUp }) {
    this.pcs = pcs;
    this.restart = restart;
    this.giveUp = giveUp;
    for (const pc of pcs) pc.addEventListener('connectionstatechange', () => this.#check());
    globalThis.addEventListener?.('online', this.#network);
    /** @type {any} */ (globalThis.navigator)?.connection?.addEventListener?.('change', this.#network);
  }

  /** Whether a connection that has been negotiated is not connected. */
  #lost() {
    return this.pcs.some((pc) => ['disconnected', 'failed', 'connecting'].includes(pc.connectionState) && pc.remoteDescription);
  }

  #check() {
    if (this.#closed || this.#timer || !this.pcs.some((pc) => pc.connectionState === 'disconnected' || pc.connectionState === 'failed')) return;
    this.#since = Date.now();
    this.#step();
  }

  #step() {
    this.#timer = null;
    if (this.#closed || !this.#lost()) return;
    if (Date.now() - this.#since > GIVE_UP_MS) {
      this.giveUp();
      return;
    }
    this.attempts++;
    this.restart();
    this.#timer = setTimeout(() => this.#step(), RETRY_MS);
  }

  /** The browser moved to another network: the pair in use may be dead without a sign yet. */
  #onNetwork() {
    if (this.#closed || this.#timer) return;
    this.attempts++;
    this.restart();
    this.#since = Date.now();
    this.#timer = setTimeout(() => this.#step(), RETRY_MS);
  }

  close() {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    globalThis.removeEventListener?.('online', this.#network);
    /** @type {any} */ (globalThis.navigator)?.connection?.removeEventListener?.('change', this.#network);
  }
}
