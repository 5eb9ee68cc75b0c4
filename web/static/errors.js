// Errors as people read them: one plain sentence saying what happened and what to do, with the
// raw detail (an error chain from the server, a browser exception) kept behind a disclosure for
// whoever has to debug it.

/**
 * @typedef {object} Friendly
 * @property {string} text what to tell the person
 * @property {string} detail the raw error, '' when the text says it all
 */

/**
 * @param {unknown} err a PodiumError (err.code is the protocol's), a DOMException from
 *   getUserMedia, an Error or a string
 * @returns {Friendly}
 */
export function friendly(err) {
  const e = /** @type {any} */ (err);
  const raw = err instanceof Error ? err.message : String(err ?? '');
  const detail = [e?.code, e?.name !== 'Error' && e?.name !== 'PodiumError' ? e?.name : '', raw].filter(Boolean).join(': ');
  /** @param {string} text */
  const say = (text) => ({ text, detail });
  switch (e?.code) {
    case 'unauthorized':
      return say('Your invitation link is not valid or has expired. Ask the organiser for a new one.');
    case 'forbidden':
      return say('Your link does not let you join this room. Ask the organiser for one that does.');
    case 'limit':
    case 'rate_limited':
      return say('The room or the server is full right now. Try again in a moment.');
    case 'conflict':
      return say('You are already in this room from another window.');
    case 'connection_failed':
    case 'disconnected':
    case 'timeout':
      return say('Podium could not reach the server. Check your connection and try again.');
  }
  switch (e?.name) {
    case 'NotAllowedError':
      return say('The browser blocked the camera and microphone. Allow them for this site (the icon in the address bar), then try again.');
    case 'NotFoundError':
    case 'OverconstrainedError':
      return say('No camera or microphone was found. Plug one in or pick another in the device list.');
    case 'NotReadableError':
      return say('The camera or microphone is in use by another app. Close it and try again.');
  }
  if (/failed to fetch|networkerror|load failed/i.test(raw)) return say('Podium could not reach the server. Check your connection and try again.');
  if (/token/i.test(raw)) return say('Your invitation link is not valid or has expired. Ask the organiser for a new one.');
  if (raw.startsWith('this ')) return { text: raw[0].toUpperCase() + raw.slice(1) + '.', detail: '' }; // already written for people
  return say('Something went wrong. Try again, and if it happens again, tell the organiser the details below.');
}

/**
 * Shows a message in an element: the sentence, then the detail in a closed <details>.
 * @param {HTMLElement} el
 * @param {string} text '' hides the element
 * @param {string} [detail]
 */
export function showMessage(el, text, detail = '') {
  el.replaceChildren();
  el.hidden = !text;
  if (!text) return;
  const p = document.createElement('p');
  p.className = 'error-text';
  p.textContent = text;
  el.append(p);
  if (!detail) return;
  const d = document.createElement('details');
  const s = document.createElement('summary');
  s.textContent = 'Details';
  const pre = document.createElement('code');
  pre.textContent = detail;
  d.append(s, pre);
  el.append(d);
}
