// Speaker detection in the browser, for servers that do not send `activeSpeakers` (Room stops it
// as soon as the server sends one). It reads the audio level of every received microphone (the
// RFC 6464 level each packet carries, from RTCRtpReceiver.getSynchronizationSources, else the
// receiver's stats) and of our own microphone, smooths it, and picks a dominant speaker with
// hysteresis so that the stage neither flaps nor lags.

/**
 * @typedef {object} SpeakerOptions
 * @property {number} [interval] ms between two readings (default 150)
 * @property {number} [threshold] linear level (0..1) above which one speaks (default 0.015, -36 dBov)
 * @property {number} [hold] ms one still counts as speaking after the level fell (default 600)
 * @property {number} [switchAfter] ms another must be the loudest before becoming dominant (400)
 */

/**
 * @typedef {object} LevelSource where one participant's level comes from
 * @property {string} sid participant sid
 * @property {() => number | undefined} read a synchronous reading, undefined when none
 * @property {() => Promise<number | undefined>} [readAsync] a slower reading (stats)
 */

/** @typedef {{sid: string, level: number}} Speaker */

export class SpeakerDetector {
  /** @type {Map<string, {smooth: number, lastLoud: number, async?: number}>} */
  #state = new Map();
  /** @type {string | null} */
  #dominant = null;
  /** @type {{sid: string, since: number} | null} */
  #candidate = null;
  #lastKey = '';
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;

  /**
   * @param {() => LevelSource[]} sources the current level sources, asked at every reading
   * @param {(m: {speakers: Speaker[], dominant: string | null}) => void} onChange called when who
   *   speaks, or the dominant speaker, changed (the shape of the server's activeSpeakers)
   * @param {SpeakerOptions} [opts]
   */
  constructor(sources, onChange, opts = {}) {
    this.sources = sources;
    this.onChange = onChange;
    this.interval = opts.interval ?? 150;
    this.threshold = opts.threshold ?? 0.015;
    this.hold = opts.hold ?? 600;
    this.switchAfter = opts.switchAfter ?? 400;
  }

  start() {
    if (this.#timer === undefined) this.#timer = setInterval(() => this.tick(performance.now()), this.interval);
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The dominant speaker's sid, if any. */
  get dominant() {
    return this.#dominant;
  }

  /**
   * One reading; exported for tests.
   * @param {number} now ms
   */
  tick(now) {
    const seen = new Set();
    for (const src of this.sources()) {
      seen.add(src.sid);
      let st = this.#state.get(src.sid);
      if (!st) {
        st = { smooth: 0, lastLoud: -Infinity };
        this.#state.set(src.sid, st);
      }
      let level = src.read();
      if (level === undefined && src.readAsync) {
        const s = st;
        src.readAsync().then((v) => { s.async = v; }, () => {});
        level = st.async;
      }
      this.#update(st, level ?? 0, now);
    }
    for (const sid of [...this.#state.keys()]) if (!seen.has(sid)) this.#state.delete(sid);
    if (this.#dominant && !this.#state.has(this.#dominant)) this.#dominant = null;
    this.#decide(now);
  }

  /**
   * @param {{smooth: number, lastLoud: number}} st
   * @param {number} level
   * @param {number} now
   */
  #update(st, level, now) {
    // Fast attack, slow release: a syllable lifts it at once, a pause lets it fall gently.
    st.smooth = level > st.smooth ? level : st.smooth * 0.6 + level * 0.4;
    if (st.smooth >= this.threshold) st.lastLoud = now;
  }

  /** @param {number} now */
  #decide(now) {
    /** @type {Speaker[]} */
    const speakers = [];
    for (const [sid, st] of this.#state) {
      if (now - st.lastLoud <= this.hold) speakers.push({ sid, level: Math.round(st.smooth * 1000) / 1000 });
    }
    speakers.sort((a, b) => b.level - a.level);
    const loudest = speakers[0]?.sid ?? null;
    if (loudest === null || loudest === this.#dominant) {
      this.#candidate = null;
    } else if (this.#dominant === null || !speakers.some((s) => s.sid === this.#dominant)) {
      // Nobody holds the floor: the loudest takes it after a short confirmation.
      this.#takeFloor(loudest, now, Math.min(this.switchAfter, 200));
    } else {
      this.#takeFloor(loudest, now, this.switchAfter);
    }
    const key = `${this.#dominant}|${speakers.map((s) => s.sid).sort().join(',')}`;
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    this.onChange({ speakers, dominant: this.#dominant });
  }

  /**
   * @param {string} sid
   * @param {number} now
   * @param {number} after
   */
  #takeFloor(sid, now, after) {
    if (this.#candidate?.sid !== sid) this.#candidate = { sid, since: now };
    if (now - this.#candidate.since >= after) {
      this.#dominant = sid;
      this.#candidate = null;
    }
  }
}

/**
 * The latest audio level a receiver reported through its synchronization sources, if any.
 * @param {RTCRtpReceiver} receiver
 * @returns {number | undefined}
 */
export function receiverLevel(receiver) {
  let level;
  for (const s of receiver.getSynchronizationSources?.() ?? []) {
    if (typeof s.audioLevel === 'number') level = Math.max(level ?? 0, s.audioLevel);
  }
  return level;
}

/**
 * The audio level in a stats report: inbound-rtp for a receiver, media-source for a sender.
 * @param {RTCRtpReceiver | RTCRtpSender} rtp
 * @returns {Promise<number | undefined>}
 */
export async function statsLevel(rtp) {
  const report = await rtp.getStats();
  for (const s of report.values()) {
    if ((s.type === 'inbound-rtp' || s.type === 'media-source') && s.kind === 'audio' && typeof s.audioLevel === 'number') return s.audioLevel;
  }
  return undefined;
}

/**
 * The level sources of a room: every received microphone, and our own.
 * @param {import('./remote.js').RemoteMedia} room
 * @returns {LevelSource[]}
 */
export function roomLevelSources(room) {
  const out = [];
  for (const sub of room.subscriptions.values()) {
    if (sub.track.kind !== 'audio' || sub.trackInfo.source !== 'microphone' || sub.trackInfo.muted) continue;
    out.push({ sid: sub.participant.sid, read: () => receiverLevel(sub.receiver), readAsync: () => statsLevel(sub.receiver) });
  }
  const lp = room.localParticipant;
  for (const pub of lp?.publications.values() ?? []) {
    const sender = pub.sender;
    if (pub.source !== 'microphone' || pub.muted || !sender || !lp) continue;
    out.push({ sid: lp.sid, read: () => undefined, readAsync: () => statsLevel(sender) });
  }
  return out;
}
