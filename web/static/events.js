// Small helpers shared by the SDK modules: an event emitter, a serial task queue, deferred
// promises and timeouts. No dependencies.

/**
 * An EventTarget with a friendlier API: `on(type, fn)` calls `fn(detail)` and returns a function
 * that removes the listener. Listeners may also use `addEventListener(type, e => e.detail)`.
 * An exception thrown by a listener is reported to the console and never reaches the emitter.
 */
export class Emitter extends EventTarget {
  /** @type {Map<Function, Map<string, EventListener>>} */
  #wrapped = new Map();

  /**
   * @param {string} type
   * @param {(detail: any) => void} fn
   * @returns {() => void} a function that removes the listener
   */
  on(type, fn) {
    /** @type {EventListener} */
    const listener = (ev) => fn(/** @type {CustomEvent} */ (ev).detail);
    let byType = this.#wrapped.get(fn);
    if (!byType) {
      byType = new Map();
      this.#wrapped.set(fn, byType);
    }
    if (byType.has(type)) return () => this.off(type, fn);
    byType.set(type, listener);
    this.addEventListener(type, listener);
    return () => this.off(type, fn);
  }

  /**
   * @param {string} type
   * @param {(detail: any) => void} fn
   */
  off(type, fn) {
    const byType = this.#wrapped.get(fn);
    const listener = byType?.get(type);
    if (!byType || !listener) return;
    this.removeEventListener(type, listener);
    byType.delete(type);
    if (byType.size === 0) this.#wrapped.delete(fn);
  }

  /**
   * Calls fn once, for the next event of this type.
   * @param {string} type
   * @param {(detail: any) => void} fn
   * @returns {() => void}
   */
  once(type, fn) {
    const off = this.on(type, (detail) => {
      off();
      fn(detail);
    });
    return off;
  }

  /**
   * @param {string} type
   * @param {any} [detail]
   */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * Runs async tasks one at a time, in the order they were added. A failing task rejects its own
 * promise and does not stop the tasks after it.
 */
export class SerialQueue {
  /** @type {Promise<unknown>} */
  #tail = Promise.resolve();

  /**
   * @template T
   * @param {() => Promise<T> | T} task
   * @returns {Promise<T>}
   */
  run(task) {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => {});
    return result;
  }
}

/**
 * @template T
 * @typedef {{promise: Promise<T>, resolve: (v: T) => void, reject: (e: any) => void}} Deferred
 */

/**
 * @template T
 * @returns {Deferred<T>}
 */
export function deferred() {
  /** @type {(v: T) => void} */
  let resolve = () => {};
  /** @type {(e: any) => void} */
  let reject = () => {};
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Rejects with a timeout error when `promise` has not settled after `ms` milliseconds.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what what was awaited, for the error message
 * @returns {Promise<T>}
 */
export function withTimeout(promise, ms, what) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new PodiumError('timeout', `timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An error reported by the server (`code` is a protocol error code) or by the SDK itself. */
export class PodiumError extends Error {
  /**
   * @param {string} code e.g. "forbidden", "not_found", "timeout", "disconnected"
   * @param {string} message
   */
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'PodiumError';
    /** @type {string} */
    this.code = code;
  }
}
