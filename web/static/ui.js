// The conference view: one tile per participant (and one per screen share) with its video, its
// audio, a name plate and indicators, laid out as a large stage and a filmstrip. Knows nothing
// about the protocol: app.js tells it what to show.

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

export class View {
  /** @type {Map<string, Tile>} */
  tiles = new Map();
  /** @type {string | null} */
  stageKey = null;
  /** @type {string | null} */
  pinnedKey = null;
  /** The last remote participant sid that held the floor. @type {string | null} */
  dominantSid = null;

  /**
   * @param {HTMLElement} stage
   * @param {HTMLElement} filmstrip
   * @param {ViewHooks} [hooks]
   */
  constructor(stage, filmstrip, hooks = {}) {
    this.stage = stage;
    this.filmstrip = filmstrip;
    this.hooks = hooks;
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
    t.destroy();
    this.tiles.delete(key);
    if (this.pinnedKey === key) this.pinnedKey = null;
    this.layout();
  }

  clear() {
    for (const t of this.tiles.values()) t.destroy();
    this.tiles.clear();
    this.pinnedKey = null;
    this.dominantSid = null;
    this.stageKey = null;
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
    for (const t of this.tiles.values()) {
      const sid = t.participantSid;
      t.setSpeaking(!t.screen && !!sid && speaking.has(sid), !t.screen && !!sid && sid === dominant);
    }
    if (dominant && dominant !== localSid && this.tiles.has(dominant)) this.dominantSid = dominant;
    this.layout();
  }

  /** Picks the stage tile and orders the filmstrip. */
  layout() {
    const tiles = [...this.tiles.values()];
    const remote = tiles.filter((t) => !t.local);
    const screens = remote.filter((t) => t.screen);
    const people = remote.filter((t) => !t.screen);
    const pick =
      (this.pinnedKey && this.tiles.get(this.pinnedKey)) ||
      screens[screens.length - 1] ||
      (this.dominantSid && this.tiles.get(this.dominantSid)) ||
      people[0] ||
      this.tiles.get('local:screen') ||
      this.tiles.get('local') ||
      null;
    this.stageKey = pick?.key ?? null;
    const strip = [
      ...tiles.filter((t) => t.screen && t !== pick),
      ...people.filter((t) => t !== pick),
      ...tiles.filter((t) => t.local && !t.screen && t !== pick),
    ];
    if (pick && pick.el.parentElement !== this.stage) {
      this.stage.replaceChildren(pick.el);
    } else if (!pick) {
      this.stage.replaceChildren();
    }
    strip.forEach((t, i) => {
      if (this.filmstrip.children[i] !== t.el) this.filmstrip.insertBefore(t.el, this.filmstrip.children[i] ?? null);
    });
    while (this.filmstrip.children.length > strip.length) this.filmstrip.lastElementChild?.remove();
    for (const t of tiles) {
      t.el.classList.toggle('on-stage', t === pick);
      t.resume();
    }
    this.stage.dataset.alone = String(remote.length === 0);
    this.filmstrip.dataset.count = String(strip.length);
    this.filmstrip.hidden = strip.length === 0;
  }
}

export class Tile {
  /** @type {HTMLVideoElement | null} */
  video = null;
  /** @type {string | null} */
  videoSid = null;
  /** @type {Map<string, HTMLAudioElement>} */
  audios = new Map();

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

  /** @param {string} quality excellent, good, poor, lost or unknown */
  setQuality(quality) {
    this.el.dataset.quality = quality;
    this.qualityEl.dataset.quality = quality;
    this.qualityEl.title = `Connection: ${quality}`;
  }

  /**
   * Shows what is received of the video: the simulcast layer when the server names it, and the
   * decoded height.
   * @param {{layer?: string | null, height?: number, paused?: boolean} | null} l
   */
  setLayer(l) {
    const layerName = { q: 'Low', h: 'Medium', f: 'High' };
    if (!l || (!l.height && !l.layer && !l.paused)) {
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
