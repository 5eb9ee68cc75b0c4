// The pre-join screen: a preview of the camera, a level meter of the microphone, the device
// lists and two toggles to join with the microphone muted or the camera off. The preview's
// tracks are stopped at join: the call captures its own with the devices chosen here (a test or
// a page may have replaced getUserMedia in between).

import { captureCamera, captureMicrophone, listDevices } from './podium.js';
import { friendly } from './errors.js';

export class PreJoin {
  micMuted = false;
  camOff = false;
  /** The microphone's level, 0..1, as the meter shows it. */
  level = 0;
  /** @type {MediaStreamTrack | null} */
  video = null;
  /** @type {MediaStreamTrack | null} */
  audio = null;
  /** @type {AudioContext | null} */
  #audioCtx = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #meterTimer;
  #generation = 0;

  /**
   * @param {(id: string) => HTMLElement} $ looks an element up by id
   * @param {{video: boolean, audio: boolean}} want what the call will publish
   */
  constructor($, want) {
    this.$ = $;
    this.want = want;
    this.videoEl = /** @type {HTMLVideoElement} */ ($('preview-video'));
    this.camSel = /** @type {HTMLSelectElement} */ ($('pre-camera'));
    this.micSel = /** @type {HTMLSelectElement} */ ($('pre-microphone'));
    $('pre-mic').addEventListener('click', () => this.setMicMuted(!this.micMuted));
    $('pre-cam').addEventListener('click', () => this.setCamOff(!this.camOff));
    this.camSel.addEventListener('change', () => this.#captureVideo());
    this.micSel.addEventListener('change', () => this.#captureAudio());
    document.addEventListener('click', () => this.#audioCtx?.resume().catch(() => {}));
  }

  /**
   * Turns the join form into the screen of an invitation link: no room or name to type.
   * @param {HTMLFormElement} form
   */
  forLink(form) {
    form.dataset.mode = 'token';
    this.$('join-title').textContent = 'Ready to join?';
    for (const el of form.querySelectorAll('.join-field')) /** @type {HTMLElement} */ (el).hidden = true;
    for (const el of form.querySelectorAll('.join-field input')) /** @type {HTMLInputElement} */ (el).required = false;
  }

  /** The devices chosen. */
  get devices() {
    return { camera: this.camSel.value || undefined, microphone: this.micSel.value || undefined };
  }

  /** Starts the preview (asks for the camera and microphone the call will use). */
  async start() {
    const gen = ++this.#generation;
    this.$('preview').hidden = !this.want.video && !this.want.audio;
    if (!navigator.mediaDevices?.getUserMedia) {
      this.#note(window.isSecureContext === false
        ? 'The camera and microphone work only on a secure page: open this app over https (or on localhost).'
        : 'This browser cannot use a camera or microphone here.');
      return;
    }
    await Promise.all([this.want.video && this.#captureVideo(), this.want.audio && this.#captureAudio()]);
    if (gen !== this.#generation) return;
    await this.#fillDevices();
  }

  /** Stops the preview and releases the devices. */
  stop() {
    this.#generation++;
    clearInterval(this.#meterTimer);
    this.#audioCtx?.close().catch(() => {});
    this.#audioCtx = null;
    for (const t of [this.video, this.audio]) t?.stop();
    this.video = this.audio = null;
    this.videoEl.srcObject = null;
    this.level = 0;
    this.$('preview').dataset.state = 'off';
  }

  /** @param {boolean} muted */
  setMicMuted(muted) {
    this.micMuted = muted;
    if (this.audio) this.audio.enabled = !muted;
    this.#toggle('pre-mic', muted, muted ? 'Join with the microphone on' : 'Join with the microphone muted');
  }

  /** @param {boolean} off */
  setCamOff(off) {
    this.camOff = off;
    if (this.video) this.video.enabled = !off;
    this.#toggle('pre-cam', off, off ? 'Join with the camera on' : 'Join with the camera off');
    this.#showState();
  }

  /**
   * @param {string} id
   * @param {boolean} off
   * @param {string} title
   */
  #toggle(id, off, title) {
    const b = this.$(id);
    b.classList.toggle('off', off);
    b.setAttribute('aria-pressed', String(off));
    b.title = title;
  }

  #showState() {
    this.$('preview').dataset.state = this.video && !this.camOff ? 'on' : 'off';
  }

  /** @param {string} text */
  #note(text) {
    const n = this.$('preview-note');
    n.textContent = text;
    n.hidden = !text;
  }

  async #captureVideo() {
    const gen = this.#generation;
    try {
      const c = await captureCamera({ simulcast: false, width: 640, height: 360, deviceId: this.camSel.value || undefined });
      if (gen !== this.#generation) return c.track.stop();
      this.video?.stop();
      this.video = c.track;
      this.video.enabled = !this.camOff;
      this.videoEl.srcObject = new MediaStream([c.track]);
      this.videoEl.play().catch(() => {});
      this.#note('');
    } catch (err) {
      this.#note(`Camera: ${friendly(err).text}`);
    }
    this.#showState();
  }

  async #captureAudio() {
    const gen = this.#generation;
    try {
      const c = await captureMicrophone({ deviceId: this.micSel.value || undefined });
      if (gen !== this.#generation) return c.track.stop();
      this.audio?.stop();
      this.audio = c.track;
      this.audio.enabled = !this.micMuted;
      this.#meter(c.track);
    } catch (err) {
      this.#note(`Microphone: ${friendly(err).text}`);
    }
  }

  /**
   * Shows the microphone's level: proof that it hears something before joining.
   * @param {MediaStreamTrack} track
   */
  #meter(track) {
    clearInterval(this.#meterTimer);
    this.#audioCtx?.close().catch(() => {});
    const ctx = new AudioContext();
    this.#audioCtx = ctx;
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const bar = this.$('pre-level');
    // A timer, not requestAnimationFrame: the meter also moves in a background tab.
    this.#meterTimer = setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let peak = 0;
      for (const v of buf) peak = Math.max(peak, Math.abs(v));
      this.level = track.enabled ? Math.max(peak, this.level * 0.8) : 0;
      bar.style.width = `${Math.min(100, Math.round(this.level * 140))}%`;
      bar.parentElement?.setAttribute('data-level', this.level.toFixed(2));
    }, 80);
  }

  async #fillDevices() {
    const devices = await listDevices().catch(() => null);
    if (!devices) return;
    /**
     * @param {HTMLSelectElement} sel
     * @param {MediaDeviceInfo[]} list
     * @param {MediaStreamTrack | null} track
     */
    const fill = (sel, list, track) => {
      const current = track?.getSettings().deviceId;
      sel.replaceChildren(...list.map((d, i) => new Option(d.label || `Device ${i + 1}`, d.deviceId, false, d.deviceId === current)));
      sel.disabled = list.length === 0;
      /** @type {HTMLElement} */ (sel.closest('label')).hidden = list.length === 0;
    };
    fill(this.camSel, this.want.video ? devices.cameras : [], this.video);
    fill(this.micSel, this.want.audio ? devices.microphones : [], this.audio);
  }
}
