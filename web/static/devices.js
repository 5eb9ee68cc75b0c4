// The in-call device panel: camera, microphone and speaker lists; a change applies at once
// (switchDevice replaces the track without renegotiating; the speaker is every <audio>'s sink).

import { listDevices } from './podium.js';
import { friendly } from './errors.js';

export class DevicePanel {
  /** The audio output chosen. */
  sinkId = '';

  /**
   * @param {(id: string) => HTMLElement} $ looks an element up by id
   * @param {() => import('./room.js').Room | null} room the room of the call
   * @param {(text: string) => void} toast
   */
  constructor($, room, toast) {
    this.$ = $;
    this.room = room;
    for (const [id, source] of /** @type {const} */ ([['select-camera', 'camera'], ['select-microphone', 'microphone']])) {
      $(id).addEventListener('change', async (ev) => {
        const deviceId = /** @type {HTMLSelectElement} */ (ev.target).value;
        try {
          await room()?.switchDevice(source, deviceId);
        } catch (err) {
          toast(`Could not switch the ${source}: ${friendly(err).text}`);
        }
      });
    }
    $('select-speaker').addEventListener('change', (ev) => {
      this.sinkId = /** @type {HTMLSelectElement} */ (ev.target).value;
      for (const a of document.querySelectorAll('audio')) this.applySink(a);
    });
  }

  /** @param {HTMLAudioElement} a */
  applySink(a) {
    if (this.sinkId) /** @type {any} */ (a).setSinkId?.(this.sinkId).catch(() => {});
  }

  async fill() {
    const room = this.room();
    const devices = await listDevices().catch(() => null);
    if (!devices) return;
    /**
     * @param {string} id
     * @param {MediaDeviceInfo[]} list
     * @param {string | undefined} current
     */
    const fill = (id, list, current) => {
      const sel = /** @type {HTMLSelectElement} */ (this.$(id));
      sel.replaceChildren(...list.map((d, i) => new Option(d.label || `Device ${i + 1}`, d.deviceId, false, d.deviceId === current)));
      sel.disabled = list.length === 0;
    };
    fill('select-camera', devices.cameras, room?.publicationBySource('camera')?.track.getSettings().deviceId);
    fill('select-microphone', devices.microphones, room?.publicationBySource('microphone')?.track.getSettings().deviceId);
    fill('select-speaker', devices.speakers, this.sinkId);
    this.$('speaker-field').hidden = devices.speakers.length === 0 || !('setSinkId' in HTMLMediaElement.prototype);
  }
}
