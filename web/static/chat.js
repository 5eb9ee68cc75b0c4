// The chat panel: messages over the reliable data channel (topic "chat", the payload is the
// text), shown with the sender's name; an unread count while the panel is closed.

import { hue, initials } from './ui.js';

export const CHAT_TOPIC = 'chat';
const MAX_TEXT = 2000;

/**
 * @typedef {object} ChatHooks
 * @property {(text: string) => Promise<void>} send
 * @property {(open: boolean, unread: number) => void} onState the panel opened or closed, or the
 *   unread count changed
 */

export class Chat {
  unread = 0;
  /** @type {{from: string, name: string, self: boolean} | null} */
  #last = null;

  /**
   * @param {HTMLElement} panel the panel (hidden when closed)
   * @param {HTMLOListElement} log
   * @param {HTMLFormElement} form with an input named "text"
   * @param {ChatHooks} hooks
   */
  constructor(panel, log, form, hooks) {
    this.panel = panel;
    this.log = log;
    this.form = form;
    this.hooks = hooks;
    this.input = /** @type {HTMLInputElement} */ (form.elements.namedItem('text'));
    this.input.maxLength = MAX_TEXT;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#submit();
    });
  }

  get open() {
    return !this.panel.hidden;
  }

  /** @param {boolean} open */
  setOpen(open) {
    this.panel.hidden = !open;
    if (open) {
      this.unread = 0;
      this.log.scrollTop = this.log.scrollHeight;
      this.input.focus();
    }
    this.hooks.onState(open, this.unread);
  }

  toggle() {
    this.setOpen(!this.open);
  }

  async #submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    try {
      await this.hooks.send(text);
    } catch (err) {
      this.system(`Not sent: ${err instanceof Error ? err.message : err}`);
      this.input.value = text;
    }
  }

  /**
   * Adds a message to the log.
   * @param {{from: string, name: string, text: string, self?: boolean, at?: Date}} m
   */
  add({ from, name, text, self = false, at = new Date() }) {
    const li = document.createElement('li');
    li.className = 'chat-message';
    li.classList.toggle('self', self);
    li.dataset.from = from;
    const grouped = this.#last && this.#last.from === from && this.#last.self === self;
    if (!grouped) {
      li.classList.add('first');
      const head = document.createElement('div');
      head.className = 'chat-head';
      const dot = document.createElement('span');
      dot.className = 'chat-avatar';
      dot.textContent = initials(name);
      dot.style.setProperty('--hue', String(hue(name)));
      const who = document.createElement('span');
      who.className = 'sender';
      who.textContent = self ? 'You' : name;
      const when = document.createElement('time');
      when.dateTime = at.toISOString();
      when.textContent = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      head.append(dot, who, when);
      li.append(head);
    }
    const body = document.createElement('div');
    body.className = 'text';
    body.textContent = text.slice(0, MAX_TEXT);
    // Every message names its sender for assistive tech and tests, even when grouped.
    li.setAttribute('aria-label', `${self ? 'You' : name}: ${text}`);
    li.dataset.sender = self ? 'You' : name;
    li.append(body);
    this.#append(li);
    this.#last = { from, name, self };
    if (!self && !this.open) {
      this.unread++;
      this.hooks.onState(false, this.unread);
    }
  }

  /** @param {string} text a line from the app (joins, leaves, errors) */
  system(text) {
    const li = document.createElement('li');
    li.className = 'chat-system';
    li.textContent = text;
    this.#append(li);
    this.#last = null;
  }

  clear() {
    this.log.replaceChildren();
    this.#last = null;
    this.unread = 0;
    this.hooks.onState(this.open, 0);
  }

  /** @param {HTMLElement} li */
  #append(li) {
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.append(li);
    if (atBottom || li.classList.contains('self')) this.log.scrollTop = this.log.scrollHeight;
  }
}
