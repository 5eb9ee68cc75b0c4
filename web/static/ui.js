// The conference view: one tile per participant (and one per screen share) with its video, its
// audio, a name plate and indicators, laid out as a large stage and a filmstrip (speaker view) or
// as equal tiles (grid view). Knows nothing about the protocol: app.js tells it what to show.

/**
 * @typedef {object} TileOptions
 * @property {string} name
 * @property {boolean} [local]
 * @property {string} [participantSid]
 * @property {string} [identity]
 * @property {boolean} [screen]
 */

/**
 * @typedef {object} ViewHooks
 * @property {(tile: Tile) => void} [onPin] a tile was clicked to be pinned or unpinned
 */

/** Remote speakers remembered for the stage, most recent first. */
const RECENT_SPEAKERS = 8;

export class View {
  /** @type {Map<string, Tile>} */
  tiles = new Map();
  /** @type {string | null} */
  stageKey = null;
  /** @type {string | null} */
  pinnedKey = null;
  /** The last remote participant sid that held the floor. @type {string | null} */
  dominantSid = null;
  /** Remote participant sids that held the floor, most recent first. @type {string[]} */
  recent = [];
  /** Participant sids speaking now. @type {Set<string>} */
  speaking = new Set();
  /** @type {'speaker'|'grid'} */
  mode = 'speaker';
  /** The connection is down: tiles are frozen and show no speaking or quality. */
  outage = false;

  /**
   * @param {{stage: HTMLElement, filmstrip: HTMLElement, grid: HTMLElement}} els
   * @param {ViewHooks} [hooks]
   */
  constructor({ stage, filmstrip, grid }, hooks = {}) {
    this.stage = stage;
    this.filmstrip = filmstrip;
    this.grid = grid;
    this.hooks = hooks;
    new ResizeObserver(() => this.mode === 'grid' && this.#gridColumns()).observe(grid);
  }

  /**
   * The tile for a key, created when missing.
   * @param {string} key
   * @param {TileOptions} opts
   * @returns {Tile}
   */
  tile(key, opts) {
    let t = this.tiles.get(key);
    if (!t) {
      t = new Tile(this, key, opts);
      this.tiles.set(key, t);
      this.layout();
    }
    return t;
  }

  /** @param {string} key */
  remove(key) {
    const t = this.tiles.get(key);
    if (!t) return;
    this.tiles.delete(key); // first: destroying does no layout of a tile that is gone
    t.destroy();
    if (this.pinnedKey === key) this.pinnedKey = null;
    this.layout();
  }

  clear() {
    const all = [...this.tiles.values()];
    this.tiles.clear();
    for (const t of all) t.destroy();
    this.pinnedKey = null;
    this.dominantSid = null;
    this.recent = [];
    this.speaking = new Set();
    this.stageKey = null;
    this.outage = false;
    this.grid.replaceChildren();
  }

  /** @param {'speaker'|'grid'} mode */
  setMode(mode) {
    this.mode = mode;
    this.layout();
  }

  /**
   * The connection is down (or back): remote tiles freeze and grey, speaking rings go off and
   * quality bars show "lost" until it is back.
   * @param {boolean} on
   */
  setOutage(on) {
    if (this.outage === on) return;
    this.outage = on;
    for (const t of this.tiles.values()) t.setOutage(on);
    this.#showSpeakers();
  }

  /** @param {string | null} key */
  pin(key) {
    this.pinnedKey = key && this.tiles.has(key) ? key : null;
    for (const t of this.tiles.values()) t.el.classList.toggle('pinned', t.key === this.pinnedKey);
    this.layout();
  }

  /**
   * Marks who speaks; a remote dominant speaker takes the stage (unless a screen share or a pin
   * holds it).
   * @param {Set<string>} speaking participant sids
   * @param {string | null} dominant
   * @param {string | undefined} localSid
   */
  setSpeakers(speaking, dominant, localSid) {
    this.speaking = speaking;
    this.#dominant = dominant;
    if (dominant && dominant !== localSid && this.tiles.has(dominant)) {
      this.dominantSid = dominant;
      this.recent = [dominant, ...this.recent.filter((s) => s !== dominant)].slice(0, RECENT_SPEAKERS);
    }
    this.#showSpeakers();
    this.layout();
  }

  /** @type {string | null} */
  #dominant = null;

  #showSpeakers() {
    for (const t of this.tiles.values()) {
      const sid = t.participantSid;
      const on = !this.outage && !t.screen && !!sid;
      t.setSpeaking(on && this.speaking.has(/** @type {string} */ (sid)), on && sid === this.#dominant);
    }
  }

  /**
   * The person for the stage: the last speaker while their camera is on (or while they speak
   * with the camera off), else the latest speaker with video, else anyone with video. A muted
   * speaker with the camera off does not keep the stage from people who can be seen.
   * @param {Tile[]} people remote camera tiles
   * @returns {Tile | undefined}
   */
  #stagePerson(people) {
    const last = this.dominantSid ? this.tiles.get(this.dominantSid) : undefined;
    if (last && (last.videoOn() || (!last.micMuted && this.speaking.has(last.key)))) return last;
    for (const sid of this.recent) {
      const t = this.tiles.get(sid);
      if (t?.videoOn()) return t;
    }
    return people.find((t) => t.videoOn()) ?? last ?? people[0];
  }

  /** Picks the stage tile and orders the filmstrip, or lays every tile out in the grid. */
  layout() {
    const tiles = [...this.tiles.values()];
    const remote = tiles.filter((t) => !t.local);
    const screens = remote.filter((t) => t.screen);
    const people = remote.filter((t) => !t.screen);
    const order = [...screens, ...tiles.filter((t) => t.local && t.screen), ...people, ...tiles.filter((t) => t.local && !t.screen)];
    document.body.dataset.layout = this.mode;
    if (this.mode === 'grid') {
      this.#place(this.grid, order);
      this.stage.replaceChildren();
      this.filmstrip.replaceChildren();
      this.filmstrip.hidden = true;
      this.stageKey = null;
      this.#gridColumns();
      for (const t of tiles) {
        t.el.classList.remove('on-stage');
        t.resume();
      }
      return;
    }
    this.grid.replaceChildren();
    const pick =
      (this.pinnedKey && this.tiles.get(this.pinnedKey)) ||
      screens[screens.length - 1] ||
      this.#stagePerson(people) ||
      this.tiles.get('local:screen') ||
      this.tiles.get('local') ||
      null;
    this.stageKey = pick?.key ?? null;
    const strip = order.filter((t) => t !== pick);
    if (pick && pick.el.parentElement !== this.stage) {
      this.stage.replaceChildren(pick.el);
    } else if (!pick) {
      this.stage.replaceChildren();
    }
    this.#place(this.filmstrip, strip);
    for (const t of tiles) {
      t.el.classList.toggle('on-stage', t === pick);
      t.resume();
    }
    this.stage.dataset.alone = String(remote.length === 0);
    this.filmstrip.dataset.count = String(strip.length);
    this.filmstrip.hidden = strip.length === 0;
  }

  /**
   * Makes a container hold exactly these tiles in this order, moving as few as possible (a moved
   * video may pause).
   * @param {HTMLElement} box
   * @param {Tile[]} list
   */
  #place(box, list) {
    list.forEach((t, i) => {
      if (box.children[i] !== t.el) box.insertBefore(t.el, box.children[i] ?? null);
    });
    while (box.children.length > list.length) box.lastElementChild?.remove();
  }

  /** The grid's column count that shows its 16:9 tiles largest in the space it has. */
  #gridColumns() {
    const n = this.grid.children.length;
    const { width, height } = this.grid.getBoundingClientRect();
    const gap = parseFloat(getComputedStyle(this.grid).columnGap) || 0;
    let best = 1;
    let bestW = 0;
    for (let cols = 1; cols <= Math.max(1, n); cols++) {
      const rows = Math.ceil(n / cols);
      const w = Math.min((width - gap * (cols - 1)) / cols, (((height - gap * (rows - 1)) / rows) * 16) / 9);
      if (w > bestW + 1) {
        bestW = w;
        best = cols;
      }
    }
    this.grid.style.setProperty('--cols', String(best));
    this.grid.style.setProperty('--tile-w', `${Math.max(0, Math.floor(bestW))}px`);
    this.grid.dataset.count = String(n);
  }
}

export class Tile {
  /** @type {HTMLVideoElement | null} */
  video = null;
  /** @type {string | null} */
  videoSid = null;
  /** @type {Map<string, HTMLAudioElement>} */
  audios = new Map();
  micMuted = false;
  videoOff = false;
  /** The quality last reported, shown again after an outage. */
  quality = 'unknown';

  /**
   * @param {View} view
   * @param {string} key
   * @param {TileOptions} opts
   */
  constructor(view, key, opts) {
    this.view = view;
    this.key = key;
    this.local = !!opts.local;
    this.screen = !!opts.screen;
    this.participantSid = opts.participantSid;
    const el = document.createElement('div');
    this.el = el;
    el.className = 'tile';
    el.dataset.key = key;
    if (this.local) el.classList.add('local');
    if (this.screen) el.classList.add('screen');
    if (opts.participantSid) el.dataset.participantSid = opts.participantSid;
    if (opts.identity) el.dataset.identity = opts.identity;
    el.innerHTML = `
      <div class="avatar" aria-hidden="true"></div>
      <div class="badges">
        <span class="hand" title="Hand raised" hidden><span class="icon icon-hand" aria-hidden="true"></span></span>
        <span class="badge layer" hidden></span>
        <span class="quality" data-quality="unknown" title="Connection quality"><i></i><i></i><i></i></span>
      </div>
      <div class="nameplate">
        <span class="mic" title="Microphone muted"></span>
        <span class="name"></span>
      </div>`;
    this.avatar = /** @type {HTMLElement} */ (el.querySelector('.avatar'));
    this.nameEl = /** @type {HTMLElement} */ (el.querySelector('.name'));
    this.micEl = /** @type {HTMLElement} */ (el.querySelector('.mic'));
    this.layerEl = /** @type {HTMLElement} */ (el.querySelector('.layer'));
    this.qualityEl = /** @type {HTMLElement} */ (el.querySelector('.quality'));
    this.handEl = /** @type {HTMLElement} */ (el.querySelector('.hand'));
    if (this.screen) this.qualityEl.hidden = true;
    this.setName(opts.name);
    el.addEventListener('click', () => view.hooks.onPin?.(this));
  }

  /** @param {string} name */
  setName(name) {
    this.name = name;
    this.nameEl.textContent = name;
    this.avatar.textContent = initials(name);
    this.avatar.style.setProperty('--hue', String(hue(name)));
  }

  /**
   * Shows a video. `attach` fills the element (the SDK's room.attach for a remote track).
   * @param {string} trackSid
   * @param {(v: HTMLVideoElement) => void} attach
   */
  setVideo(trackSid, attach) {
    if (this.videoSid === trackSid && this.video) return;
    this.clearVideo();
    const v = document.createElement('video');
    v.autoplay = true;
    v.playsInline = true;
    v.muted = true; // sound comes from the <audio> elements
    v.dataset.trackSid = trackSid;
    this.el.prepend(v);
    this.video = v;
    this.videoSid = trackSid;
    this.el.classList.add('has-video');
    attach(v);
    v.play().catch(() => {});
    this.view.layout();
  }

  /** True when the tile shows a video that is on. */
  videoOn() {
    return !!this.video && !this.videoOff;
  }

  /**
   * @param {string} [trackSid] only if the tile shows this track
   * @param {(v: HTMLVideoElement) => void} [detach]
   */
  clearVideo(trackSid, detach) {
    if (!this.video || (trackSid && this.videoSid !== trackSid)) return;
    detach?.(this.video);
    this.video.srcObject = null;
    this.video.remove();
    this.video = null;
    this.videoSid = null;
    this.el.classList.remove('has-video');
    this.setLayer(null);
    if (this.view.tiles.get(this.key) === this) this.view.layout();
  }

  /**
   * @param {string} trackSid
   * @param {(a: HTMLAudioElement) => void} attach
   */
  addAudio(trackSid, attach) {
    this.removeAudio(trackSid);
    const a = document.createElement('audio');
    a.autoplay = true;
    a.dataset.trackSid = trackSid;
    this.el.append(a);
    this.audios.set(trackSid, a);
    attach(a);
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

  /** Media elements moved in the DOM may pause: play them again. */
  resume() {
    for (const m of [this.video, ...this.audios.values()]) if (m?.paused && m.srcObject) m.play().catch(() => {});
  }

  /** @param {boolean} muted */
  setMicMuted(muted) {
    this.el.classList.toggle('mic-muted', muted);
    this.micEl.title = muted ? 'Microphone muted' : 'Microphone on';
    if (this.micMuted === muted) return;
    this.micMuted = muted;
    this.view.layout();
  }

  /** @param {boolean} videoOff the camera is off: no video, so no resolution badge either */
  setVideoMuted(videoOff) {
    this.el.classList.toggle('video-off', videoOff);
    if (this.videoOff === videoOff) return;
    this.videoOff = videoOff;
    if (videoOff) this.setLayer(null);
    this.view.layout();
  }

  /** @param {boolean} raised */
  setHand(raised) {
    this.handEl.hidden = !raised;
    this.el.classList.toggle('hand-raised', raised);
  }

  /**
   * Floats an emoji over the tile for a few seconds.
   * @param {string} emoji
   * @param {string} from who sent it
   */
  react(emoji, from) {
    const r = document.createElement('span');
    r.className = 'reaction';
    r.textContent = emoji;
    r.dataset.emoji = emoji;
    r.dataset.from = from;
    r.style.setProperty('--x', `${20 + Math.random() * 60}%`);
    this.el.append(r);
    setTimeout(() => r.remove(), 4000);
  }

  /** @param {boolean} on the connection is down */
  setOutage(on) {
    this.el.classList.toggle('frozen', on && !this.local);
    this.#showQuality();
  }

  /**
   * @param {boolean} speaking
   * @param {boolean} dominant
   */
  setSpeaking(speaking, dominant) {
    this.el.classList.toggle('speaking', speaking);
    this.el.classList.toggle('dominant', dominant);
  }

  /** @param {string} quality excellent, good, poor, lost or unknown */
  setQuality(quality) {
    this.quality = quality;
    this.#showQuality();
  }

  #showQuality() {
    const q = this.view.outage ? 'lost' : this.quality;
    this.el.dataset.quality = q;
    this.qualityEl.dataset.quality = q;
    this.qualityEl.title = `Connection: ${q}`;
  }

  /**
   * Shows what is received of the video: the simulcast layer when the server names it, and the
   * decoded height.
   * @param {{layer?: string | null, height?: number, paused?: boolean} | null} l
   */
  setLayer(l) {
    const layerName = { q: 'Low', h: 'Medium', f: 'High' };
    if (!l || (!l.height && !l.layer && !l.paused) || (this.videoOff && !this.screen)) {
      this.layerEl.hidden = true;
      delete this.el.dataset.layer;
      return;
    }
    const parts = [];
    if (l.paused) parts.push('Paused');
    else {
      if (l.height) parts.push(`${l.height >= 720 ? 'HD ' : ''}${l.height}p`);
      if (l.layer) parts.push(layerName[/** @type {'q'|'h'|'f'} */ (l.layer)] ?? l.layer);
    }
    this.layerEl.textContent = parts.join(' · ');
    this.layerEl.title = l.layer ? `Simulcast layer ${l.layer}` : 'Received resolution';
    this.layerEl.hidden = false;
    this.el.dataset.layer = l.layer ?? '';
    this.el.dataset.height = String(l.height ?? 0);
  }

  /** @param {boolean} paused the server paused this video */
  setPaused(paused) {
    this.el.classList.toggle('paused', paused);
  }

  destroy() {
    this.clearVideo();
    for (const sid of [...this.audios.keys()]) this.removeAudio(sid);
    this.el.remove();
  }
}

/**
 * @param {string} name a tile's label: "Ann B (you)", "Linus Torvalds is presenting"
 * @returns {string} up to two initials of the person's name
 */
export function initials(name) {
  const person = name.replace(/\s*\((you|screen)\)$/, '').replace(/\s+is presenting$/, '');
  const parts = person.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : parts;
  return letters.map((p) => [...p][0]?.toUpperCase() ?? '').join('') || '?';
}

/**
 * A stable hue for a name, for avatars.
 * @param {string} name
 * @returns {number}
 */
export function hue(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 360;
  return h;
}
