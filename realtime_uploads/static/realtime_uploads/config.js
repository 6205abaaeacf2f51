// Tuning in one object (the habit of ActionCable's connection_monitor.js), and
// the clamped exponential backoff every retry in this client uses.

/**
 * Defaults for {@link createUploader}. Mutate it to change every later
 * uploader, or pass the same keys to `createUploader` to change one.
 * Times are milliseconds unless the name says otherwise.
 */
export const defaults = {
  presignUrl: "/api/uploads/",
  batchUrl: "/api/uploads/batch/",
  socketUrl: null, // null: ws(s)://<this page's host>/ws/uploads/
  concurrency: 3, // storage POSTs in flight at once
  batchSize: 20, // files per batch presign request (the server caps it too)
  deadline: 0, // ms from upload() to the end before rejecting with code "timeout"; 0: none
  // delay = clamp(minDelay * factor ** attempt, minDelay, maxDelay), then +-10 % jitter, clamped again.
  reconnect: { minDelay: 500, maxDelay: 10000, factor: 2 },
  socketOpenTimeout: 4000, // ms without any open socket before falling back to long-poll
  pingInterval: 25000, // ms between {"type":"ping"} frames; no answer within two intervals: replace the socket
  longPollWait: 25, // seconds, sent as ?wait= (the server caps it at 30)
  storageRetries: 3, // extra storage POST attempts after a network error or a 5xx
  storageRetry: { minDelay: 500, maxDelay: 5000, factor: 2 },
};

/** Merge `options` over {@link defaults}; nested tuning objects merge key by key. */
export function settings(options = {}) {
  return {
    ...defaults,
    ...options,
    reconnect: { ...defaults.reconnect, ...options.reconnect },
    storageRetry: { ...defaults.storageRetry, ...options.storageRetry },
  };
}

export const clamp = (n, min, max) => Math.max(min, Math.min(max, n));

/**
 * Delay (ms) before retry number `attempt` (0-based): exponential, clamped to
 * [minDelay, maxDelay], with +-10 % jitter so that many clients cut off at once
 * do not come back at once; the jittered value stays within the clamp.
 * @param {{minDelay: number, maxDelay: number, factor: number}} tuning
 * @param {number} attempt
 * @param {() => number} [random] returns [0, 1); Math.random by default
 */
export function backoff({ minDelay, maxDelay, factor }, attempt, random = Math.random) {
  const base = clamp(minDelay * factor ** attempt, minDelay, maxDelay);
  return Math.round(clamp(base * (0.9 + random() * 0.2), minDelay, maxDelay));
}

/** Resolve after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Resolve a possibly relative URL against this page (Node: must be absolute). */
export const absolute = (url) => new URL(url, globalThis.location?.href);
