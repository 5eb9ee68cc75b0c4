// The app's end-to-end encryption: the passphrase comes from the invite link's fragment
// (#e2ee=<passphrase>), which the browser never sends to any server, and a lock badge says so.

/**
 * The passphrase in the page's fragment, or null.
 * @param {string} [hash] location.hash
 * @returns {string | null}
 */
export function e2eeSecret(hash = location.hash) {
  const v = new URLSearchParams(hash.replace(/^#/, '')).get('e2ee');
  return v ? v : null;
}

/**
 * Shows or hides the lock badge in the top bar.
 * @param {boolean} on
 */
export function showLock(on) {
  const badge = document.getElementById('e2ee-badge');
  if (badge) badge.hidden = !on;
}
