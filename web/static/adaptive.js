// Adaptive stream: tells the server how each remote video is shown, so that it forwards a layer
// that fits (and nothing for a video nobody sees). For every attached <video> element it watches
// the rendered size (ResizeObserver), whether it is on screen (IntersectionObserver) and whether
// the page is visible (visibilitychange), and sends `trackSettings` when that changes.

/**
 * @typedef {object} VideoSettings what the server is told about one remote video
 * @property {boolean} enabled
 * @property {number} width device pixels, the largest of the elements that show it
 * @property {number} height
 * @property {boolean} pinned
 */

/**
 * @typedef {object} AdaptiveOptions
 * @property {(trackSid: string, s: VideoSettings) => Promise<void>} send sends one trackSettings
 * @property {number} [debounce] ms to wait for a size to settle (default 200)
 * @property {() => number} [pixelRatio] default window.devicePixelRatio
 */

export class AdaptiveStream {
  /** Elements showing each track sid. @type {Map<string, Set<HTMLVideoElement>>} */
  #elements = new Map();
  /** Last rendered size and visibility of each element. @type {WeakMap<Element, {width: number, height: number, visible: boolean}>} */
  #seen = new WeakMap();
  /** @type {Map<string, boolean>} */
  #pinned = new Map();
  /** Settings last sent per track sid, as JSON. @type {Map<string, string>} */
  #sent = new Map();
  /** When settings were last sent per track sid (ms). @type {Map<string, number>} */
  #sentAt = new Map();
  /** @type {Map<string, ReturnType<typeof setTimeout>>} */
  #timers = new Map();
  #resize;
  #intersect;
  #onVisibility;

  /** @param {AdaptiveOptions} opts */
  constructor(opts) {
    this.opts = opts;
    this.#resize = new ResizeObserver((entries) => {
      for (const e of entries) {
        const el = /** @type {HTMLVideoElement} */ (e.target);
        const seen = this.#state(el);
        seen.width = e.contentRect.width;
        seen.height = e.contentRect.height;
        const sid = el.dataset.podiumTrackSid;
        this.#schedule(sid, this.#grows(sid) ? 0 : undefined);
      }
    });
    this.#intersect = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const el = /** @type {HTMLVideoElement} */ (e.target);
        this.#state(el).visible = e.isIntersecting;
        const sid = el.dataset.podiumTrackSid;
        this.#schedule(sid, this.#grows(sid) ? 0 : undefined);
      }
    });
    this.#onVisibility = () => {
      for (const sid of this.#elements.keys()) this.#schedule(sid, 0);
    };
    document.addEventListener('visibilitychange', this.#onVisibility);
  }

  /**
   * Starts following an element that shows a remote video.
   * @param {string} trackSid
   * @param {HTMLVideoElement} el
   */
  observe(trackSid, el) {
    const old = el.dataset.podiumTrackSid;
    if (old && old !== trackSid) this.unobserve(old, el);
    el.dataset.podiumTrackSid = trackSid;
    let set = this.#elements.get(trackSid);
    if (!set) {
      set = new Set();
      this.#elements.set(trackSid, set);
    }
    set.add(el);
    this.#resize.observe(el);
    this.#intersect.observe(el);
  }

  /**
   * Stops following an element (or every element of the track when el is omitted).
   * @param {string} trackSid
   * @param {HTMLVideoElement} [el]
   */
  unobserve(trackSid, el) {
    const set = this.#elements.get(trackSid);
    if (!set) return;
    for (const e of el ? [el] : [...set]) {
      set.delete(e);
      this.#resize.unobserve(e);
      this.#intersect.unobserve(e);
      delete e.dataset.podiumTrackSid;
    }
    if (set.size > 0) {
      this.#schedule(trackSid);
      return;
    }
    this.#elements.delete(trackSid);
    this.#sent.delete(trackSid);
    this.#sentAt.delete(trackSid);
    this.#pinned.delete(trackSid);
    clearTimeout(this.#timers.get(trackSid));
    this.#timers.delete(trackSid);
  }

  /**
   * Marks a video as pinned (the server gives it priority).
   * @param {string} trackSid
   * @param {boolean} pinned
   */
  setPinned(trackSid, pinned) {
    this.#pinned.set(trackSid, pinned);
    this.#schedule(trackSid, 0);
  }

  /**
   * What would be sent for a track now.
   * @param {string} trackSid
   * @returns {VideoSettings}
   */
  settings(trackSid) {
    const ratio = this.opts.pixelRatio?.() ?? (window.devicePixelRatio || 1);
    let width = 0;
    let height = 0;
    const pageVisible = document.visibilityState !== 'hidden';
    for (const el of this.#elements.get(trackSid) ?? []) {
      const s = this.#state(el);
      if (!s.visible || !pageVisible || s.width === 0 || s.height === 0) continue;
      width = Math.max(width, Math.round(s.width * ratio));
      height = Math.max(height, Math.round(s.height * ratio));
    }
    return { enabled: width > 0 && height > 0, width, height, pinned: this.#pinned.get(trackSid) ?? false };
  }

  /** Stops observing everything. */
  close() {
    this.#resize.disconnect();
    this.#intersect.disconnect();
    document.removeEventListener('visibilitychange', this.#onVisibility);
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#elements.clear();
    this.#sent.clear();
  }

  /** Forgets what was sent (after a reconnection every setting must be sent again). */
  resend() {
    this.#sent.clear();
    for (const sid of this.#elements.keys()) this.#schedule(sid, 0);
  }

  /** @param {Element} el */
  #state(el) {
    let s = this.#seen.get(el);
    if (!s) {
      // Until the observers report, assume it is shown at its current size.
      const r = el.getBoundingClientRect();
      s = { width: r.width, height: r.height, visible: true };
      this.#seen.set(el, s);
    }
    return s;
  }

  /**
   * Whether a video is now shown larger than the server was last told, and nothing was sent for
   * it within the debounce: a video moved to the stage is sharp sooner by the debounce (its
   * layer switch waits for this message), while a resize in progress still sends once per
   * debounce. Shrinking always waits for the size to settle.
   * @param {string | undefined} trackSid
   */
  #grows(trackSid) {
    if (!trackSid) return false;
    const sent = this.#sent.get(trackSid);
    // Nothing said yet: until the server knows the size, the speaker policy alone picks the
    // layer (a non-speaker's stage tile at q), so the first size goes at once, not after a
    // layout that keeps settling.
    if (!sent) return this.settings(trackSid).enabled;
    if (performance.now() - (this.#sentAt.get(trackSid) ?? 0) < (this.opts.debounce ?? 200)) return false;
    const was = JSON.parse(sent);
    const now = this.settings(trackSid);
    return now.enabled && (now.width > was.width || now.height > was.height);
  }

  /**
   * @param {string | undefined} trackSid
   * @param {number} [delay]
   */
  #schedule(trackSid, delay = this.opts.debounce ?? 200) {
    if (!trackSid) return;
    clearTimeout(this.#timers.get(trackSid));
    this.#timers.set(trackSid, setTimeout(() => {
      this.#timers.delete(trackSid);
      if (!this.#elements.has(trackSid)) return;
      const s = this.settings(trackSid);
      const key = JSON.stringify(s);
      if (this.#sent.get(trackSid) === key) return;
      this.#sent.set(trackSid, key);
      this.#sentAt.set(trackSid, performance.now());
      this.opts.send(trackSid, s).catch((err) => {
        // Not sent: try again at the next change.
        this.#sent.delete(trackSid);
        console.warn('podium: trackSettings failed', err);
      });
    }, delay));
  }
}
