// Rejoining through another server (docs/sdk-js.md, "Reconnection"): a cluster node that shuts
// down names another node in its leave (redirect); one that died names none. The client tries
// the redirect, then its own server, then ConnectOptions.urls, in turn.

/** The ws(s) base URL of a server URL ("http://h:7880/" → "ws://h:7880"). */
export const wsBase = (/** @type {string} */ url) => url.replace(/\/+$/, '').replace(/^http/, 'ws');

/**
 * The servers to try, in order, each once.
 * @param {string | undefined} redirect the URL a leave named
 * @param {string} own the server connected to first
 * @param {string[]} [others] ConnectOptions.urls
 */
export function rejoinOrder(redirect, own, others = []) {
  return [...new Set([redirect, own, ...others].filter((u) => !!u).map((u) => wsBase(/** @type {string} */ (u))))];
}

/**
 * The server to try at attempt i (0 first): the order above, round and round.
 * @param {number} i
 * @param {string | undefined} redirect
 * @param {string} own
 * @param {string[]} [others]
 */
export function rejoinURL(i, redirect, own, others) {
  const order = rejoinOrder(redirect, own, others);
  return order[i % order.length];
}

/** How long a lost session tries to resume on its own server before rejoining through another, when there are others. */
export const RESUME_BEFORE_FAILOVER = 5000;
