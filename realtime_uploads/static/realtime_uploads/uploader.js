// createUploader(): judge each file's type from its first bytes (sniff.js),
// presign (one, or many in one batch request), follow each
// upload on the one shared socket, POST the bytes to storage under a
// concurrency limit, and report every stage as a DOM event and a promise.

import { absolute, settings, sleep } from "./config.js";
import { UploadError, uploadError } from "./errors.js";
import { defaultTarget, dispatch } from "./events.js";
import { checkLimits, csrfCookie, normaliseLimits, presignBatch, presignOne } from "./presign.js";
import { resolveType } from "./sniff.js";
import { Connection, defaultSocketUrl } from "./socket.js";
import { postToStorage } from "./storage.js";

// At most `n` tasks at once; the rest wait in order.
function limiter(n) {
  let active = 0;
  const queue = [];
  const next = () => {
    if (active >= n || !queue.length) return;
    active += 1;
    const { task, resolve, reject } = queue.shift();
    Promise.resolve()
      .then(task)
      .then(resolve, reject)
      .finally(() => {
        active -= 1;
        next();
      });
  };
  return (task) =>
    new Promise((resolve, reject) => {
      queue.push({ task, resolve, reject });
      next();
    });
}

/**
 * Make an uploader: one shared socket, one concurrency limit, one event target.
 * See index.d.ts for every option; times are milliseconds, sizes bytes.
 * @param {object} [options]
 * @returns {{upload: Function, uploadMany: Function, close: Function,
 *   readonly state: string, readonly target: EventTarget}}
 */
export function createUploader(options = {}) {
  const cfg = settings(options);
  const target = options.target ?? defaultTarget();
  const fetchFn = options.fetch ?? ((...args) => globalThis.fetch(...args));
  const XHR = options.XMLHttpRequest ?? globalThis.XMLHttpRequest;
  const table = options.messages;
  const limits = normaliseLimits(options.limits);
  const context = (file) => ({ file, limit: limits.maxSize, contentTypes: limits.contentTypes });
  const connection = new Connection({
    url: options.socketUrl ?? defaultSocketUrl(),
    WebSocket: "WebSocket" in options ? options.WebSocket : globalThis.WebSocket,
    fetch: fetchFn,
    headers: options.headers,
    reconnect: cfg.reconnect,
    socketOpenTimeout: cfg.socketOpenTimeout,
    pingInterval: cfg.pingInterval,
    longPollWait: cfg.longPollWait,
    messages: table,
    onState: (state, info) => dispatch(target, "connection", { state, ...info }),
  });
  const slot = limiter(Math.max(1, cfg.concurrency));
  const own = new Set(); // ids this uploader presigned or follows: live history (followHistory) skips them
  const presigning = new Set(); // presign requests under way: their answers may name the next "created" id
  const track = (promise) => {
    presigning.add(promise);
    const done = () => presigning.delete(promise);
    promise.then(done, done);
    return promise;
  };
  const types = new WeakMap(); // file -> the content type resolveType() found, asked for at presign
  const presignCtx = () => ({
    fetch: fetchFn,
    presignUrl: cfg.presignUrl,
    batchUrl: cfg.batchUrl,
    headers: options.headers,
    csrfToken: options.csrfToken ?? csrfCookie(),
    messages: table,
    context,
    typeOf: (file) => types.get(file),
  });

  function job(file, perCall = {}) {
    const on = perCall.target ?? target;
    const stop = new AbortController();
    let id = null;
    let settled = false;
    let uploaded = false;
    let contentType = null;
    let unsubscribe = null;
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {}); // reported as an event too: a page listening to events only is not "unhandled"
    const emit = (name, extra = {}) => dispatch(on, name, { id, file, ...extra });
    const markUploaded = () => {
      if (!uploaded) emit("uploaded");
      uploaded = true;
    };
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadlineTimer);
      perCall.signal?.removeEventListener("abort", cancel);
      unsubscribe?.();
      stop.abort();
      if (!error) {
        emit("completed", { event: value });
        return resolve(value);
      }
      emit(error.code === "cancelled" ? "cancelled" : "failed", { error, event: error.event });
      reject(error);
    };
    let remote = null; // {url, token} once presigned or followed: where cancel() sends its DELETE
    let cancelled = false;
    /** Tell the server (DELETE /api/uploads/<id>/?token=): it frees the pending slot and drops a late file. */
    const cancelOnServer = () => {
      if (!remote) return;
      const url = absolute(remote.url);
      if (remote.token) url.searchParams.set("token", remote.token);
      Promise.resolve()
        .then(() => fetchFn(url.href, { method: "DELETE", credentials: "same-origin", keepalive: true, headers: { Accept: "application/json", ...options.headers } }))
        .catch(() => {}); // best effort: the server's deadline ends it anyway
    };
    const cancel = () => {
      if (settled) return;
      cancelled = true;
      finish(uploadError("cancelled", { context: context(file), messages: table }));
      cancelOnServer();
    };
    const deadline = perCall.deadline ?? cfg.deadline;
    const late = () => finish(uploadError("timeout", { context: { ...context(file), seconds: deadline / 1000 }, messages: table }));
    const deadlineTimer = deadline > 0 ? setTimeout(late, deadline) : 0;
    if (perCall.signal?.aborted) queueMicrotask(cancel);
    else perCall.signal?.addEventListener("abort", cancel, { once: true });

    const onEvent = (event) => {
      perCall.onEvent?.(event);
      if (event.status === "processing") {
        markUploaded(); // the processor has the object, whatever the XHR says yet
        emit("processing", { event });
      } else if (event.status === "completed") {
        markUploaded();
        finish(null, event);
      } else if (event.status === "failed") {
        const code = String(event.error?.code || "upload_failed");
        finish(uploadError(code, { event, detail: event.error?.message ?? null, context: context(file), messages: table }));
      } else if (event.status === "expired") {
        finish(uploadError("expired", { event, context: context(file), messages: table }));
      } else if (event.status === "cancelled" || event.status === "deleted") {
        finish(uploadError("cancelled", { event, context: context(file), messages: table }));
      }
    };

    /**
     * The type from the file's first bytes, limits judged on it, then the cancelable
     * `before-upload`; resolves false when the file goes no further (never rejects).
     */
    const prepare = async () => {
      try {
        contentType = await resolveType(file);
        if (settled) return false; // cancelled while the first bytes were read
        types.set(file, contentType);
        const refused = checkLimits(file, limits, table, contentType);
        if (refused) finish(refused);
        else if (!emit("before-upload", { contentType })) cancel();
      } catch (caught) {
        finish(uploadError("upload_failed", { cause: caught, detail: String(caught?.message ?? caught), messages: table }));
      }
      return !settled;
    };

    /** Once presigned: the cancelable `presigned`, subscribe, POST the bytes. */
    const run = async (answerPromise) => {
      try {
        const answer = await answerPromise;
        own.add(answer.id);
        connection.retryHistory(); // the browser has a session now, if it had none
        remote = { url: answer.status_url ?? `${cfg.presignUrl}${answer.id}/`, token: answer.subscribe?.token };
        if (settled) return void (cancelled && cancelOnServer()); // cancelled while presigning
        id = answer.id;
        if (!emit("presigned", { presign: answer })) return cancel();
        // Subscribe first: the snapshot on subscribe means no event can be missed.
        unsubscribe = connection.subscribe({
          id,
          token: answer.subscribe?.token,
          statusUrl: answer.status_url,
          onEvent,
          onError: (error) => finish(error),
        });
        const stored = await slot(() =>
          settled
            ? { ambiguous: true }
            : postToStorage(answer, file, {
                XMLHttpRequest: XHR,
                signal: stop.signal,
                onProgress: (progress) => settled || uploaded || emit("progress", progress),
                retries: cfg.storageRetries,
                retry: cfg.storageRetry,
                sleep,
                context: context(file),
                messages: table,
              }),
        );
        if (!settled && !stored.ambiguous) markUploaded();
      } catch (caught) {
        if (settled) return;
        const error = caught instanceof UploadError ? caught : uploadError("upload_failed", { cause: caught, detail: String(caught?.message ?? caught), messages: table });
        finish(error);
      }
    };

    /** An upload made earlier (a history item): only follow it, its bytes are the server's business. */
    const watch = (item) => {
      id = item.id;
      own.add(id);
      uploaded = item.status !== "pending";
      remote = { url: item.status_url ?? `${cfg.presignUrl}${id}/`, token: item.token };
      unsubscribe = connection.subscribe({
        id,
        token: item.token,
        statusUrl: item.status_url ?? `${cfg.presignUrl}${id}/`,
        onEvent,
        onError: (error) => finish(error),
      });
    };

    const handle = {
      file,
      promise,
      cancel,
      get id() {
        return id;
      },
      /** The content type asked for (resolveType), once the first bytes were read; else null. */
      get contentType() {
        return contentType;
      },
    };
    return { handle, prepare, run, watch, signal: stop.signal };
  }

  /** Upload one file; see index.d.ts (UploadHandle). */
  function upload(file, perCall = {}) {
    const j = job(file, perCall);
    j.prepare().then((ready) => ready && j.run(track(presignOne(file, presignCtx(), j.signal))));
    return j.handle;
  }

  /**
   * Follow an upload made earlier, e.g. an item of `GET /api/uploads/` after a reload:
   * `{id, token, filename?, status?, status_url?}`. Same events and promise as upload();
   * `file` in the events is `{name: filename}`.
   */
  function follow(item, perCall = {}) {
    const j = job({ name: item.filename ?? "", size: null }, perCall);
    j.watch(item);
    return j.handle;
  }

  /** Upload many files, presigned in batch requests of `batchSize` once every type is known; one handle per file, same order. */
  function uploadMany(files, perCall = {}) {
    const jobs = Array.from(files, (file) => job(file, perCall));
    Promise.all(jobs.map((j) => j.prepare())).then((ok) => presignMany(jobs.filter((_, i) => ok[i])));
    return jobs.map((j) => j.handle);
  }

  function presignMany(ready) {
    const size = Math.max(1, Math.min(cfg.batchSize, options.limits?.maxBatch ?? options.limits?.max_batch ?? Infinity));
    for (let start = 0; start < ready.length; start += size) {
      const chunk = ready.slice(start, start + size);
      const results = track(presignBatch(chunk.map((j) => j.handle.file), presignCtx()));
      chunk.forEach((j, i) =>
        j.run(results.then((r) => {
          if (r[i].error) throw r[i].error;
          return r[i].answer;
        })),
      );
    }
  }

  return {
    upload,
    uploadMany,
    follow,
    target,
    /**
     * Live history: `realtime-uploads:created` (detail `{id, item}`, `item` a history item: the event,
     * `filename`, `created_at`, `token`) for each upload the same signed-in user or anonymous session
     * starts in another tab or window, once presigned, over this uploader's socket (kept open for it);
     * `follow(detail.item)` then follows it. Uploads this uploader started or follows are not announced.
     * Not while long-polling. Returns a function that stops it.
     * @returns {() => void}
     */
    followHistory() {
      return connection.followHistory(async (item) => {
        // The news of our own presign may come before its answer: wait for the answers under way.
        while (presigning.size) await Promise.allSettled([...presigning]);
        await sleep(0);
        if (own.has(item.id)) return;
        dispatch(target, "created", { id: item.id, item });
      });
    },
    /** The shared connection's state: "closed", "connecting", "open", "reconnecting" or "polling". */
    get state() {
      return connection.state;
    },
    /** Stop following every upload (their promises stay pending; cancel them first to end them). */
    close() {
      connection.close();
    },
  };
}
