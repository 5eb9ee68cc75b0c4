// The conference grid: one tile per participant (and one per screen share), each with its video,
// its audio, a name label and indicators. Knows nothing about the protocol.

/**
 * @typedef {object} GridHooks
 * @property {(trackSid: string, width: number, height: number) => void} [onVideoSize] a remote
 *   video's rendered size changed (CSS pixels times devicePixelRatio; 0x0 when hidden)
 * @property {(tile: Tile) => void} [onPin] a tile was clicked to be pinned or unpinned
 */

export class Grid {
  /** @type {Map<string, Tile>} */
  tiles = new Map();

  /**
   * @param {HTMLElement} el
   * @param {GridHooks} hooks
   */
  constructor(el, hooks = {}) {
    this.el = el;
    this.hooks = hooks;
    this.resize = new ResizeObserver((entries) => {
      for (const e of entries) {
        const v = /** @type {HTMLVideoElement} */ (e.target);
        const sid = v.dataset.trackSid;
        if (!sid || v.dataset.local) continue;
        const dpr = window.devicePixelRatio || 1;
        this.hooks.onVideoSize?.(sid, Math.round(e.contentRect.width * dpr), Math.round(e.contentRect.height * dpr));
      }
    });
  }

  /**
   * The tile for a key, created when missing.
   * @param {string} key
   * @param {{name: string, local?: boolean, participantSid?: string, identity?: string, screen?: boolean}} opts
   * @returns {Tile}
   */
  tile(key, opts) {
    let t = this.tiles.get(key);
    if (!t) {
      t = new Tile(this, key, opts);
      this.tiles.set(key, t);
      // The local tile stays first.
      if (opts.local) this.el.prepend(t.el);
      else this.el.append(t.el);
      this.#layout();
    }
    return t;
  }

  /** @param {string} key */
  remove(key) {
    const t = this.tiles.get(key);
    if (!t) return;
    t.destroy();
    this.tiles.delete(key);
    this.#layout();
  }

  clear() {
    for (const key of [...this.tiles.keys()]) this.remove(key);
  }

  #layout() {
    this.el.dataset.count = String(this.tiles.size);
  }
}

export class Tile {
  /** @type {HTMLVideoElement | null} */
  video = null;
  /** @type {string | null} */
  videoSid = null;
  /** @type {Map<string, HTMLAudioElement>} */
  audios = new Map();
  pinned = false;

  /**
   * @param {Grid} grid
   * @param {string} key
   * @param {{name: string, local?: boolean, participantSid?: string, identity?: string, screen?: boolean}} opts
   */
  constructor(grid, key, opts) {
    this.grid = grid;
    this.key = key;
    this.local = !!opts.local;
    this.el = document.createElement('div');
    this.el.className = 'tile';
    this.el.dataset.key = key;
    if (opts.local) this.el.classList.add('local');
    if (opts.screen) this.el.classList.add('screen');
    if (opts.participantSid) this.el.dataset.participantSid = opts.participantSid;
    if (opts.identity) this.el.dataset.identity = opts.identity;
    this.avatar = document.createElement('div');
    this.avatar.className = 'avatar';
    this.label = document.createElement('div');
    this.label.className = 'nameplate';
    this.nameEl = document.createElement('span');
    this.nameEl.className = 'name';
    this.micEl = document.createElement('span');
    this.micEl.className = 'mic-off';
    this.micEl.title = 'Microphone muted';
    this.micEl.hidden = true;
    this.label.append(this.micEl, this.nameEl);
    this.el.append(this.avatar, this.label);
    this.setName(opts.name);
    this.el.addEventListener('click', () => {
      if (!this.local) grid.hooks.onPin?.(this);
    });
  }

  /** @param {string} name */
  setName(name) {
    this.nameEl.textContent = name;
    this.avatar.textContent = initials(name);
  }

  /**
   * Shows a video track. Each element gets its own MediaStream: the SDK's stream of a participant
   * holds its audio too, which an <audio> element already plays.
   * @param {MediaStreamTrack} track
   * @param {string} trackSid
   */
  setVideo(track, trackSid) {
    if (!this.video) {
      const v = document.createElement('video');
      v.autoplay = true;
      v.playsInline = true;
      v.muted = true; // sound comes from the <audio> elements
      if (this.local) v.dataset.local = '1';
      this.el.prepend(v);
      this.video = v;
    } else if (this.videoSid) {
      this.grid.resize.unobserve(this.video);
    }
    this.video.dataset.trackSid = trackSid;
    this.video.srcObject = new MediaStream([track]);
    this.videoSid = trackSid;
    this.el.classList.add('has-video');
    this.grid.resize.observe(this.video);
    this.video.play().catch(() => {});
  }

  /** @param {string} [trackSid] only if the tile shows this track */
  clearVideo(trackSid) {
    if (!this.video || (trackSid && this.videoSid !== trackSid)) return;
    this.grid.resize.unobserve(this.video);
    this.video.srcObject = null;
    this.video.remove();
    this.video = null;
    this.videoSid = null;
    this.el.classList.remove('has-video');
  }

  /**
   * @param {MediaStreamTrack} track
   * @param {string} trackSid
   */
  addAudio(track, trackSid) {
    this.removeAudio(trackSid);
    const a = document.createElement('audio');
    a.autoplay = true;
    a.dataset.trackSid = trackSid;
    a.srcObject = new MediaStream([track]);
    this.el.append(a);
    this.audios.set(trackSid, a);
    a.play().catch(() => {});
  }

  /** @param {string} trackSid */
  removeAudio(trackSid) {
    const a = this.audios.get(trackSid);
    if (!a) return;
    a.srcObject = null;
    a.remove();
    this.audios.delete(trackSid);
  }

  /** @param {boolean} muted */
  setMicMuted(muted) {
    this.micEl.hidden = !muted;
  }

  /** @param {boolean} videoOff */
  setVideoMuted(videoOff) {
    this.el.classList.toggle('video-off', videoOff);
  }

  /**
   * @param {boolean} speaking
   * @param {boolean} dominant
   */
  setSpeaking(speaking, dominant) {
    this.el.classList.toggle('speaking', speaking);
    this.el.classList.toggle('dominant', dominant);
  }

  /** @param {string} quality */
  setQuality(quality) {
    this.el.dataset.quality = quality;
  }

  /** @param {string | null} state "paused" shows the tile dimmed */
  setStreamState(state) {
    this.el.classList.toggle('paused', state === 'paused');
  }

  /** @param {boolean} pinned */
  setPinned(pinned) {
    this.pinned = pinned;
    this.el.classList.toggle('pinned', pinned);
  }

  destroy() {
    this.clearVideo();
    for (const sid of [...this.audios.keys()]) this.removeAudio(sid);
    this.el.remove();
  }
}

/**
 * @param {string} name
 * @returns {string} up to two initials
 */
function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : parts;
  return letters.map((p) => [...p][0]?.toUpperCase() ?? '').join('') || '?';
}
