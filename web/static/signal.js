// The signalling connection: one WebSocket speaking Podium's JSON protocol (docs/protocol.md).
// It keeps the session alive with pings and matches replies and errors to requests by "id".

import { PodiumError, deferred, withTimeout } from './events.js';
import { Resumer } from './resume.js';
import { RESUME_BEFORE_FAILOVER } from './failover.js';

/** @typedef {{type: string, id?: string, [key: string]: any}} Message */

/**
 * @typedef {object} Pending
 * @property {string} type the message type that answers the request ("published", "pong", ...)
 * @property {(m: Message) => void} resolve
 * @property {(e: any) => void} reject
 * @property {string} [cid] for publish: the track id, to match a reply that carries no id
 * @property {number} [ts] for a barrier ping: its ts, to match a pong that carries no id
 * @property {ReturnType<typeof setTimeout>} timer
 */

const MAX_FRAME = 64 * 1024;

export class SignalClient {
  /** @type {WebSocket | null} */
  ws = null;
  /** @type {Map<string, Pending>} */
  #pending = new Map();
  #nextId = 1;
  #lastTs = 0;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #pinger;
  #closed = false;
  /** The session's URL, to resume it. */
  #url = '';
  /** Resume (resume.js): numbering and resent frames; null when the client does not resume. */
  resume = /** @type {Resumer | null} */ (null);

  /**
   * @param {object} handlers
   * @param {(m: Message) => void} handlers.onMessage called, in order and synchronously, for every
   *   message that is not the reply to a request (including "joined" and unmatched "error"s)
   * @param {(ev: {code: number, reason: string}) => void} handlers.onClose called once when the
   *   socket closes after "joined" and was not resumed
   * @param {(ev: {type: 'resuming', attempt: number} | {type: 'resumed', resent: number}) => void} [handlers.onResume]
   *   called before each attempt to resume the session, and once it is resumed
   * @param {object} [opts]
   * @param {number} [opts.pingInterval] ms between pings (default 5000)
   * @param {number} [opts.requestTimeout] ms to wait for a reply (default 10000)
   * @param {number} [opts.commandGrace] ms to wait for a late error after a command's pong
   *   (default 250)
   * @param {boolean} [opts.reconnect] false: neither resume nor rejoin (default true)
   * @param {string[]} [opts.urls] other servers: resume for less than the window, then fail over
   */
  constructor({ onMessage, onClose, onResume }, { pingInterval = 5000, requestTimeout = 10000, commandGrace = 250, reconnect = true, urls = [] } = {}) {
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.onResume = onResume ?? (() => {});
    if (reconnect) this.resume = new Resumer();
    if (this.resume && urls.length > 0) this.resume.limit = RESUME_BEFORE_FAILOVER; // its server may be gone
    this.pingInterval = pingInterval;
    this.requestTimeout = requestTimeout;
    this.commandGrace = commandGrace;
  }

  /**
   * Opens the socket and resolves with the "joined" message (which onMessage also receives).
   * @param {string} url the full ws(s):// URL of /rtc with its query
   * @param {number} timeout ms
   * @returns {Promise<Message>}
   */
  connect(url, timeout) {
    const joined = deferred();
    let opened = false;
    let gotJoined = false;
    /** @type {Message | null} joined, while the rest of its participants arrive */
    let pendingJoined = null;
    this.#url = url;
    const ws = new WebSocket(this.resume ? `${url}&resumable=1` : url);
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.#ping();
    };
    ws.onmessage = (ev) => {
      const msg = this.#read(ev);
      if (!msg) return;
      if (!gotJoined) {
        if (msg.type === 'joined' && !pendingJoined) {
          pendingJoined = msg;
        } else if (msg.type === 'joinedParticipants' && pendingJoined) {
          // The room's participants did not fit one frame: the rest follow joined at once.
          pendingJoined.participants.push(...(msg.participants ?? []));
          pendingJoined.more = msg.more;
        } else if (msg.type === 'error' || msg.type === 'leave') {
          joined.reject(new PodiumError(msg.code || msg.reason || 'error', msg.message || 'refused before joining'));
          this.close();
        }
        if (pendingJoined && !pendingJoined.more) {
          gotJoined = true;
          delete pendingJoined.more;
          this.onMessage(pendingJoined);
          joined.resolve(pendingJoined);
        }
        return;
      }
      if (!this.#settle(msg)) this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (gotJoined) {
        this.#lost(ev);
        return;
      }
      this.#shutdown();
      if (opened) {
        joined.reject(new PodiumError('disconnected', `socket closed before "joined" (${ev.code} ${ev.reason})`));
      } else {
        probeRefusal(url).then((err) => joined.reject(err));
      }
    };
    return withTimeout(joined.promise, timeout, '"joined"').catch((err) => {
      this.close();
      throw err;
    });
  }

  /**
   * @param {MessageEvent} ev
   * @returns {Message | null}
   */
  #read(ev) {
    if (typeof ev.data !== 'string') return null;
    try {
      const msg = JSON.parse(ev.data);
      this.resume?.note(msg);
      return msg;
    } catch {
      console.warn('podium: dropping a frame that is not JSON');
      return null;
    }
  }

  /**
   * Sends msg; false when it cannot go out. While a session is being resumed, a request is
   * kept and goes out on the new socket (a keep-alive ping is not).
   * @param {Message} msg
   */
  send(msg) {
    const ws = this.ws;
    const r = this.resume;
    if (r?.active && !this.#closed && !(msg.type === 'ping' && !msg.id)) {
      const text = r.stamp(msg, MAX_FRAME);
      if (ws?.readyState === WebSocket.OPEN) ws.send(text);
      return true;
    }
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify(msg);
    if (text.length > MAX_FRAME) throw new PodiumError('bad_request', `message of ${text.length} bytes is over 64 KiB`);
    ws.send(text);
    return true;
  }

  /** Starts the keep-alive pings on the current socket. */
  #ping() {
    clearInterval(this.#pinger);
    this.#pinger = setInterval(() => this.send({ type: 'ping', ts: this.#ts() }), this.pingInterval);
  }

  /**
   * The socket closed after "joined" without a leave: resume the session if the server offered
   * it, else (or if that fails) report the close.
   * @param {CloseEvent} ev
   */
  async #lost(ev) {
    clearInterval(this.#pinger);
    const r = this.resume;
    if (r?.active && !this.#closed) {
      const resumed = await r.run(this.#url, {
        stopped: () => this.#closed,
        onAttempt: (attempt) => this.onResume({ type: 'resuming', attempt }),
        onResumed: (res) => this.#resumed(res),
      });
      if (resumed || this.#closed) return;
    }
    this.#shutdown();
    this.onClose({ code: ev.code, reason: ev.reason });
  }

  /**
   * Takes over a resumed socket: the frames the server did not get go first, then the replayed
   * and new frames are read as before.
   * @param {import('./resume.js').ResumedInfo} res
   * @returns {boolean} false when the frames to resend were already dropped
   */
  #resumed({ ws, lastClientSeq }) {
    const again = /** @type {Resumer} */ (this.resume).after(lastClientSeq);
    if (!again) return false;
    this.ws = ws;
    ws.onmessage = (ev) => {
      const msg = this.#read(ev);
      if (msg && !this.#settle(msg)) this.onMessage(msg);
    };
    ws.onclose = (ev) => this.ws === ws && this.#lost(ev);
    for (const text of again) ws.send(text);
    this.#ping();
    this.onResume({ type: 'resumed', resent: again.length });
    return true;
  }

  /**
   * Sends a request with a fresh id and resolves with the reply of type `reply`, or rejects with
   * the server's `error` for that id.
   * @param {Message} msg
   * @param {string} reply
   * @returns {Promise<Message>}
   */
  request(msg, reply) {
    const id = this.#id();
    const p = this.#expect(id, reply, { cid: msg.cid });
    if (!this.send({ ...msg, id })) this.#fail(id, new PodiumError('disconnected', 'not connected'));
    return p;
  }

  /**
   * Sends a request that has no success reply (mute, unpublish, trackSettings, ...) followed by a
   * ping with the same id, and resolves once the pong came and no `error` with the id followed
   * within `commandGrace` ms; such an error rejects. (A server may answer pings at once while it
   * queues other requests, so the pong alone does not prove that the request was accepted.)
   * @param {Message} msg
   * @returns {Promise<void>}
   */
  async command(msg) {
    const id = this.#id();
    const ts = this.#ts();
    const p = this.#expect(id, 'pong', { ts });
    if (!this.send({ ...msg, id }) || !this.send({ type: 'ping', id, ts })) {
      this.#fail(id, new PodiumError('disconnected', 'not connected'));
    }
    await p;
    if (this.commandGrace <= 0 || this.#closed) return;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(undefined);
      }, this.commandGrace);
      // Only an error can settle this entry ("error" is no reply type): see #settle.
      this.#pending.set(id, { type: 'error', resolve, reject, timer });
    });
  }

  close() {
    this.#shutdown();
    const ws = this.ws;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'client leaving');
  }

  /**
   * @param {string} id
   * @param {string} type
   * @param {{cid?: string, ts?: number}} match
   * @returns {Promise<Message>}
   */
  #expect(id, type, { cid, ts }) {
    if (this.#closed) return Promise.reject(new PodiumError('disconnected', 'not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.#fail(id, new PodiumError('timeout', `no "${type}" reply within ${this.requestTimeout} ms`)),
        this.requestTimeout,
      );
      this.#pending.set(id, { type, resolve, reject, cid, ts, timer });
    });
  }

  /**
   * Settles the request that `msg` answers, if any.
   * @param {Message} msg
   * @returns {boolean} whether msg was a reply
   */
  #settle(msg) {
    let id = typeof msg.id === 'string' && this.#pending.has(msg.id) ? msg.id : undefined;
    if (id === undefined && (msg.type === 'published' || msg.type === 'pong')) {
      for (const [pid, p] of this.#pending) {
        if (p.type !== msg.type) continue;
        if ((msg.type === 'published' && p.cid === msg.cid) || (msg.type === 'pong' && p.ts === msg.ts)) {
          id = pid;
          break;
        }
      }
    }
    if (id === undefined) return msg.type === 'pong';
    const p = /** @type {Pending} */ (this.#pending.get(id));
    if (msg.type === 'error') {
      this.#fail(id, new PodiumError(msg.code || 'error', msg.message || ''));
      return true;
    }
    if (msg.type !== p.type) return false;
    clearTimeout(p.timer);
    this.#pending.delete(id);
    p.resolve(msg);
    return true;
  }

  /**
   * @param {string} id
   * @param {any} err
   */
  #fail(id, err) {
    const p = this.#pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.#pending.delete(id);
    p.reject(err);
  }

  #shutdown() {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pinger);
    for (const id of [...this.#pending.keys()]) this.#fail(id, new PodiumError('disconnected', 'connection closed'));
  }

  #id() {
    return `c${this.#nextId++}`;
  }

  /** A timestamp that is unique within this session, so that a pong can be matched by its ts. */
  #ts() {
    this.#lastTs = Math.max(Date.now(), this.#lastTs + 1);
    return this.#lastTs;
  }
}

/**
 * A browser cannot read why a WebSocket upgrade was refused, so ask the same URL over HTTP: the
 * server answers a refused join with a JSON body `{code, message}` (401 or 403).
 * @param {string} url
 * @returns {Promise<PodiumError>}
 */
async function probeRefusal(url) {
  const fallback = new PodiumError('connection_failed', `could not open ${url.replace(/access_token=[^&]*/, 'access_token=…')}`);
  try {
    const res = await withTimeout(fetch(url.replace(/^ws/, 'http')), 3000, 'the refusal reason');
    if (res.ok) return fallback;
    const body = await res.json();
    if (body && typeof body.code === 'string') return new PodiumError(body.code, body.message || `HTTP ${res.status}`);
  } catch {
    // Not JSON, not reachable, or not readable across origins: nothing better to say.
  }
  return fallback;
}
