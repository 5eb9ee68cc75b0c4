// Meeting features over data messages: raised hands (topic "hand", payload {raised: boolean})
// and reactions (topic "reaction", payload one of REACTIONS), plus the participant list that
// shows them, the reaction menu and keyboard shortcuts. Payloads come from other people's
// browsers: anything else is ignored.

import { hue, initials } from './ui.js';

export const HAND_TOPIC = 'hand';
export const REACTION_TOPIC = 'reaction';
export const REACTIONS = Object.freeze(['👍', '👏', '❤️', '😂', '🎉', '😮']);

/**
 * @typedef {object} Person
 * @property {string} identity
 * @property {string} name
 * @property {boolean} [local]
 * @property {boolean} micMuted
 * @property {boolean} camOff
 */

/**
 * @typedef {object} MeetingHooks
 * @property {(topic: string, payload: any, to?: string[]) => Promise<void>} send
 * @property {(identity: string, raised: boolean) => void} onHand a hand went up or down
 * @property {(identity: string, emoji: string) => void} onReaction
 */

export class Meeting {
  /** Identities with a raised hand, ours included. @type {Set<string>} */
  hands = new Set();
  /** Our identity. */
  me = '';

  /** @param {MeetingHooks} hooks */
  constructor(hooks) {
    this.hooks = hooks;
  }

  /** @param {string} me our identity in the new session */
  reset(me) {
    this.me = me;
    this.hands.clear();
  }

  get raised() {
    return this.hands.has(this.me);
  }

  /** @param {boolean} raised */
  async setHand(raised) {
    await this.hooks.send(HAND_TOPIC, { raised });
    this.#hand(this.me, raised);
  }

  /** @param {string} emoji */
  async react(emoji) {
    if (!REACTIONS.includes(emoji)) return;
    await this.hooks.send(REACTION_TOPIC, emoji);
    this.hooks.onReaction(this.me, emoji);
  }

  /**
   * A data message arrived.
   * @param {string | undefined} topic
   * @param {any} payload
   * @param {string | undefined} from
   */
  receive(topic, payload, from) {
    if (!from || from === this.me) return;
    if (topic === HAND_TOPIC && typeof payload?.raised === 'boolean') this.#hand(from, payload.raised);
    else if (topic === REACTION_TOPIC && REACTIONS.includes(payload)) this.hooks.onReaction(from, payload);
  }

  /**
   * Someone joined: they learn that our hand is up (data messages are not kept for late joiners).
   * @param {string} identity
   */
  joined(identity) {
    // Its receiving data channel opens some time after it joined; a message before that may
    // be lost. Saying it again is harmless.
    for (const ms of [0, 1500, 5000]) {
      setTimeout(() => {
        if (this.raised) this.hooks.send(HAND_TOPIC, { raised: true }, [identity]).catch(() => {});
      }, ms);
    }
  }

  /** @param {string} identity */
  left(identity) {
    this.#hand(identity, false);
  }

  /**
   * @param {string} identity
   * @param {boolean} raised
   */
  #hand(identity, raised) {
    if (this.hands.has(identity) === raised) return;
    if (raised) this.hands.add(identity);
    else this.hands.delete(identity);
    this.hooks.onHand(identity, raised);
  }
}

/**
 * Renders the participant list: raised hands first (in the order raised), then us, then the
 * others by name.
 * @param {HTMLElement} list
 * @param {Person[]} people
 * @param {Set<string>} hands
 */
export function renderPeople(list, people, hands) {
  const order = [...hands];
  const rank = (/** @type {Person} */ p) => (hands.has(p.identity) ? order.indexOf(p.identity) : p.local ? 1000 : 2000);
  const sorted = [...people].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  list.replaceChildren(...sorted.map((p) => {
    const li = document.createElement('li');
    li.className = 'person';
    li.dataset.identity = p.identity;
    li.classList.toggle('hand-raised', hands.has(p.identity));
    li.classList.toggle('mic-muted', p.micMuted);
    li.classList.toggle('video-off', p.camOff);
    const dot = document.createElement('span');
    dot.className = 'chat-avatar';
    dot.textContent = initials(p.name);
    dot.style.setProperty('--hue', String(hue(p.name)));
    const name = document.createElement('span');
    name.className = 'person-name';
    name.textContent = p.local ? `${p.name} (you)` : p.name;
    const state = document.createElement('span');
    state.className = 'person-state';
    state.innerHTML = '<span class="hand" title="Hand raised"><span class="icon icon-hand"></span></span><span class="icon icon-mic-off" title="Microphone muted"></span><span class="icon icon-cam-off" title="Camera off"></span>';
    li.append(dot, name, state);
    return li;
  }));
}

/**
 * Fills the reaction menu and opens it from its button; a choice closes it.
 * @param {HTMLElement} menu
 * @param {HTMLElement} button
 * @param {(emoji: string) => void} pick
 */
export function reactionPicker(menu, button, pick) {
  const open = (/** @type {boolean} */ on) => {
    menu.hidden = !on;
    button.setAttribute('aria-expanded', String(on));
  };
  menu.replaceChildren(...REACTIONS.map((emoji) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'reaction-choice';
    b.textContent = emoji;
    b.dataset.emoji = emoji;
    b.title = `React with ${emoji}`;
    b.addEventListener('click', () => {
      open(false);
      pick(emoji);
    });
    return b;
  }));
  button.addEventListener('click', () => open(menu.hidden));
  document.addEventListener('keydown', (ev) => ev.key === 'Escape' && open(false));
}

/**
 * Single-key shortcuts while active() holds, unless a text field has the focus or a modifier is
 * down (the browser's own shortcuts stay theirs).
 * @param {() => boolean} active
 * @param {Record<string, () => void>} keys by lower-case key, or by name ("Escape")
 */
export function shortcuts(active, keys) {
  document.addEventListener('keydown', (ev) => {
    const el = /** @type {HTMLElement | null} */ (ev.target);
    if (!active() || ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
    if (el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName))) return;
    const fn = keys[ev.key.length === 1 ? ev.key.toLowerCase() : ev.key];
    if (!fn) return;
    ev.preventDefault();
    fn();
  });
}
