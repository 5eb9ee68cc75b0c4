// Signal resume (docs/protocol.md "Resume"): when the WebSocket drops without a leave, the
// session is not over. The server keeps the participant and its peer connections for the
// resume window, so the client dials again with the token from `joined` and the number of the
// last server frame it read; the server answers `resumed` with the last client frame it got,
// replays what the client missed, and the client sends again what the server did not get.
// Media never stops and nobody sees a leave. A refused resume falls back to the full rejoin.

import { PodiumError, withTimeout } from './events.js';

/** How many of its last numbered frames the client keeps to send again after a resume. */
export const SENT_KEPT = 512;
/** The wait before the second attempt; it doubles up to MAX_WAIT. */
const FIRST_WAIT = 250;
const MAX_WAIT = 2000;
/** The longest one attempt may take to open and read `resumed`. */
const DIAL_MS = 5000;

/**
 * @typedef {object} ResumedInfo
 * @property {WebSocket} ws the new socket, `resumed` read; the replayed frames follow
 * @property {number} lastClientSeq the last of our frames the server got
 */

/** The client's side of resume: the numbering both ways and the frames kept for a resend. */
export class Resumer {
  /** The token from joined; empty when the server offers no resume or the session is over. */
  token = '';
  /** The resume window, in ms. */
  window = 0;
  /** How long to try at most, in ms, if less than the window (a client with other servers to
   * rejoin through, when its own may be gone, gives up sooner). */
  limit = Infinity;
  /** The last server frame read. */
  lastSeq = 0;
  /** The last client frame numbered. */
  cseq = 0;
  /** Sessions resumed so far (for tests and stats). */
  count = 0;
  /** @type {{cseq: number, text: string}[]} our numbered frames, oldest first */
  #sent = [];

  /**
   * Notes what a server frame says about resume: its number, the token in joined, and the end
   * of the session in a leave.
   * @param {{type: string, [key: string]: any}} msg
   */
  note(msg) {
    if (typeof msg.seq === 'number' && msg.seq > this.lastSeq) this.lastSeq = msg.seq;
    if (msg.type === 'joined' && typeof msg.resumeToken === 'string') {
      this.token = msg.resumeToken;
      this.window = (msg.resumeWindow || 20) * 1000;
    } else if (msg.type === 'leave') {
      this.token = ''; // the server ended the session: nothing to resume
    }
  }

  /** Whether frames are numbered (the server offered resume). */
  get active() {
    return this.token !== '';
  }

  /**
   * Encodes msg with the next number and keeps it for a resend.
   * @param {object} msg
   * @param {number} max the largest frame allowed, in bytes
   * @returns {string}
   */
  stamp(msg, max) {
    const text = JSON.stringify({ ...msg, cseq: this.cseq + 1 });
    if (text.length > max) throw new PodiumError('bad_request', `message of ${text.length} bytes is over 64 KiB`);
    this.cseq++;
    this.#sent.push({ cseq: this.cseq, text });
    if (this.#sent.length > SENT_KEPT) this.#sent.splice(0, this.#sent.length - SENT_KEPT);
    return text;
  }

  /**
   * The frames the server did not get, in order; null when some were already dropped (then the
   * session cannot go on consistently: rejoin).
   * @param {number} lastClientSeq
   * @returns {string[] | null}
   */
  after(lastClientSeq) {
    if (lastClientSeq >= this.cseq) return [];
    const first = this.#sent[0]?.cseq ?? Infinity;
    if (first > lastClientSeq + 1) return null;
    return this.#sent.filter((f) => f.cseq > lastClientSeq).map((f) => f.text);
  }

  /**
   * Dials until the session is back, the window is over, the server refuses or stopped() says
   * so. onResumed runs synchronously on `resumed`, before any replayed frame is read, and
   * returns false if the session cannot go on after all.
   * @param {string} url the session's /rtc URL (with its access token)
   * @param {object} o
   * @param {() => boolean} o.stopped the client closed meanwhile
   * @param {(attempt: number) => void} o.onAttempt called before each attempt
   * @param {(r: ResumedInfo) => boolean} o.onResumed takes the new socket over
   * @returns {Promise<boolean>} whether the session was resumed
   */
  async run(url, { stopped, onAttempt, onResumed }) {
    const deadline = performance.now() + Math.min(this.window, this.limit);
    let wait = FIRST_WAIT;
    for (let attempt = 1; this.active && !stopped() && performance.now() < deadline; attempt++) {
      onAttempt(attempt);
      const u = `${url}&resume=${encodeURIComponent(this.token)}&seq=${this.lastSeq}`;
      try {
        const took = await dialOnce(u, Math.min(DIAL_MS, Math.max(deadline - performance.now(), 500)), stopped, onResumed);
        if (took) this.count++;
        return took;
      } catch (err) {
        if (err instanceof PodiumError && err.code === 'conflict') {
          console.info('podium: resume refused', err.message);
          return false;
        }
        console.debug('podium: resume attempt failed', err);
      }
      await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(deadline - performance.now(), 0))));
      wait = Math.min(2 * wait, MAX_WAIT);
    }
    return false;
  }
}

/**
 * One resume attempt. Resolves true once onResumed took the socket, false if it did not or the
 * client stopped; rejects with a PodiumError "conflict" when the server refused the resume,
 * and with another error when it could not be reached (worth another attempt).
 * @param {string} url
 * @param {number} timeout ms
 * @param {() => boolean} stopped
 * @param {(r: ResumedInfo) => boolean} onResumed
 * @returns {Promise<boolean>}
 */
function dialOnce(url, timeout, stopped, onResumed) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let opened = false;
    const timer = setTimeout(() => {
      ws.close();
      reject(new PodiumError('timeout', `no "resumed" within ${timeout} ms`));
    }, timeout);
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      clearTimeout(timer);
      ws.onmessage = ws.onclose = null;
      /** @type {any} */
      let msg = null;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        // Not JSON: refused below like any other first frame but `resumed`.
      }
      if (msg?.type !== 'resumed') {
        ws.close();
        reject(new PodiumError('conflict', msg?.message || `"${msg?.type}" instead of "resumed"`));
        return;
      }
      const took = !stopped() && onResumed({ ws, lastClientSeq: Number(msg.lastClientSeq) || 0 });
      if (!took) ws.close(1000, 'client leaving');
      resolve(took);
    };
    ws.onclose = (ev) => {
      clearTimeout(timer);
      if (opened) {
        reject(new PodiumError('disconnected', `socket closed before "resumed" (${ev.code})`));
        return;
      }
      // A browser cannot read why an upgrade failed: ask the same URL over HTTP, where a
      // refused resume answers 409 (an unrefused one 400, for it is no upgrade).
      withTimeout(fetch(url.replace(/^ws/, 'http')), 3000, 'the refusal reason')
        .then((res) => res.status === 409, () => false)
        .then((refused) => reject(refused ? new PodiumError('conflict', 'resume refused (HTTP 409)') : new PodiumError('disconnected', `could not open the socket (${ev.code})`)));
    };
  });
}
