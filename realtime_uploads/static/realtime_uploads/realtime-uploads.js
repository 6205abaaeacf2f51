// realtime-uploads: dependency-free browser client (ES module, no build step).
//
// presign (POST JSON) -> subscribe (WebSocket, long-poll fallback) -> upload
// (multipart POST straight to S3 or the local backend) -> resolve on the
// terminal event. Protocol: the README's "API". Nothing here renders anything:
// every string the server sends is handed to the caller untouched.

/**
 * All tuning in one object. Mutate it to change every later call, or pass the
 * same keys to {@link upload} / {@link subscribe} to change one call.
 * @type {{presignUrl: string,
 *   reconnect: {minDelay: number, maxDelay: number, factor: number},
 *   socketOpenTimeout: number, longPollWait: number, pingInterval: number, deadline: number}}
 */
export const defaults = {
  presignUrl: "/api/uploads/",
  // ms; delay = clamp(minDelay * factor ** attempt, minDelay, maxDelay) +- 10 % jitter
  // (the clamped backoff of ActionCable's connection_monitor.js).
  reconnect: { minDelay: 500, maxDelay: 10000, factor: 2 },
  socketOpenTimeout: 5000, // ms without any open socket before falling back to long-poll
  longPollWait: 25, // seconds, sent as ?wait= (the server caps it at 30)
  pingInterval: 25000, // ms between {"type":"ping"} frames on an open socket
  // ms from upload() to the terminal event before it rejects with code "timeout" (0: no deadline;
  // the server still ends every upload by its PROCESSING_TIMEOUT, pushed as failed/timeout).
  deadline: 0,
};

const PREFIX = "realtime-uploads:";
const TERMINAL = new Set(["completed", "failed", "expired"]);
const FINAL_CLOSE = { 4400: "malformed_id", 4403: "forbidden", 4404: "not_found" };
const FINAL_HTTP = { 400: "bad_request", 401: "forbidden", 403: "forbidden", 404: "not_found" };
const FINAL_TEXT = {
  malformed_id: "The server says the upload id is malformed.",
  forbidden: "The server refused to show this upload's status (bad or missing token).",
  not_found: "The server does not know this upload.",
  bad_request: "The server rejected the status request as malformed.",
};

/**
 * The one error {@link upload} rejects with (and the `error` of a
 * `realtime-uploads:failed` event).
 *
 * - `code`: a stable string. Processing codes from the event (`not_an_image`,
 *   `too_many_pixels`, `unsupported_format`, `corrupt_image`, `storage_error`,
 *   `too_large`, `internal_error`, and `timeout` when the server's deadline
 *   passed), `expired`, `timeout` (the `deadline` option passed), S3 error codes from the upload response (`EntityTooLarge`,
 *   `EntityTooSmall`, `AccessDenied`, ...), `presign_rejected` (400 from the
 *   presign endpoint; `errors` holds the DRF body `{field: [message]}`),
 *   `presign_failed`, `upload_failed`, `malformed_id` / `forbidden` /
 *   `not_found` (WebSocket close 4400/4403/4404, long-poll 401/403/404),
 *   `bad_request` (long-poll 400),
 *   `network_error`, `bad_response`, `aborted`.
 * - `status`: the HTTP status or WebSocket close code involved, else `null`.
 * - `event`: the terminal event for `failed` / `expired`, else `null`.
 * `message` may quote the server: render it with textContent only.
 */
export class UploadError extends Error {
  /**
   * @param {string} message readable sentence
   * @param {{code?: string, status?: number|null, event?: object|null,
   *   errors?: object|null, cause?: unknown}} [info]
   */
  constructor(message, { code = "upload_failed", status = null, event = null, errors = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "UploadError";
    this.code = code;
    this.status = status;
    this.event = event;
    this.errors = errors;
  }
}

const settings = (options) => ({
  ...defaults,
  ...options,
  reconnect: { ...defaults.reconnect, ...options.reconnect },
});

const clamp = (n, min, max) => Math.max(min, Math.min(max, n));

function backoff({ minDelay, maxDelay, factor }, attempt) {
  const base = clamp(minDelay * factor ** attempt, minDelay, maxDelay);
  return Math.round(clamp(base * (0.9 + Math.random() * 0.2), minDelay, maxDelay));
}

const baseHref = () => globalThis.location?.href;

function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null; // not ours to interpret
  }
}

function wsUrl(url, token) {
  const u = new URL(url, baseHref());
  if (u.protocol === "http:" || u.protocol === "https:") u.protocol = u.protocol === "http:" ? "ws:" : "wss:";
  if (token) u.searchParams.set("token", token);
  return u.href;
}

function cookie(name) {
  const jar = globalThis.document?.cookie || "";
  for (const part of jar.split(";")) {
    const eq = part.indexOf("=");
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

/**
 * Follow one upload: open a WebSocket to `subscribeInfo.url` (absolute ws[s]:
 * or resolved against `location`), reconnecting on any close except
 * 4400/4403/4404 with clamped exponential backoff; the server's snapshot on
 * every (re)connect catches up on anything missed. If no socket has opened
 * within `socketOpenTimeout` ms (or `WebSocket` is missing), long-poll
 * `GET statusUrl?token=&since=<seq>&wait=<longPollWait>` instead until the end;
 * once a socket has opened, sockets work here, and it only ever reconnects.
 * `onEvent(event)` runs once per event whose `seq` is newer than any seen;
 * after a terminal one (completed, failed, expired) everything is closed.
 *
 * @param {{url: string, token?: string}} subscribeInfo the presign answer's `subscribe`
 * @param {string} statusUrl the presign answer's `status_url`
 * @param {{onEvent?: (event: object) => void, onError?: (error: UploadError) => void,
 *   signal?: AbortSignal, since?: number}} [options] plus any key of {@link defaults}.
 *   `onError` gets the final failures (malformed_id, forbidden, not_found, bad_request);
 *   aborting `signal` closes quietly.
 * @returns {{close(): void, readonly transport: "websocket"|"long-poll"|"closed"}}
 */
export function subscribe(subscribeInfo, statusUrl, options = {}) {
  const cfg = settings(options);
  const { onEvent = () => {}, onError = () => {}, signal } = options;
  const token = subscribeInfo.token || "";
  const WS = globalThis.WebSocket;
  let lastSeq = options.since ?? 0;
  let transport = "websocket";
  let socket = null;
  let everOpened = false;
  let attempts = 0;
  let lastMessageAt = 0;
  let pollController = null;
  const timers = { fallback: 0, retry: 0, open: 0, ping: 0 };

  function deliver(event) {
    if (transport === "closed" || !event || event.type !== "upload.status") return;
    if (!Number.isInteger(event.seq) || event.seq <= lastSeq) return;
    lastSeq = event.seq;
    try {
      onEvent(event);
    } finally {
      if (TERMINAL.has(event.status)) close();
    }
  }

  function fail(code, status) {
    if (transport === "closed") return;
    close();
    onError(new UploadError(FINAL_TEXT[code] || `Status request failed (HTTP ${status}).`, { code, status }));
  }

  function dropSocket() {
    clearTimeout(timers.open);
    clearInterval(timers.ping);
    if (!socket) return;
    const dead = socket;
    socket = null;
    dead.onopen = dead.onmessage = dead.onclose = dead.onerror = null;
    dead.close(1000);
  }

  function close() {
    transport = "closed";
    for (const t of Object.values(timers)) clearTimeout(t);
    dropSocket();
    pollController?.abort();
    signal?.removeEventListener("abort", close);
  }

  function retry() {
    if (transport !== "websocket") return;
    timers.retry = setTimeout(connect, backoff(cfg.reconnect, attempts++));
  }

  function connect() {
    if (transport !== "websocket") return;
    let ws;
    try {
      ws = new WS(wsUrl(subscribeInfo.url, token));
    } catch {
      return everOpened ? retry() : longPoll();
    }
    socket = ws;
    // Before the first open the fallback timer bounds the wait; afterwards each
    // reconnect attempt gets socketOpenTimeout of its own.
    if (everOpened) {
      timers.open = setTimeout(() => {
        dropSocket();
        retry();
      }, cfg.socketOpenTimeout);
    }
    ws.onopen = () => {
      everOpened = true;
      attempts = 0;
      lastMessageAt = Date.now();
      clearTimeout(timers.fallback);
      clearTimeout(timers.open);
      timers.ping = setInterval(() => {
        if (Date.now() - lastMessageAt <= 2 * cfg.pingInterval) {
          ws.send(JSON.stringify({ type: "ping" }));
        } else {
          dropSocket(); // two pings without an answer: half-open; replace it
          retry();
        }
      }, cfg.pingInterval);
    };
    ws.onmessage = (message) => {
      lastMessageAt = Date.now();
      deliver(parseJSON(message.data));
    };
    ws.onclose = (e) => {
      socket = null;
      dropSocket();
      if (FINAL_CLOSE[e.code]) return fail(FINAL_CLOSE[e.code], e.code);
      retry();
    };
  }

  async function longPoll() {
    if (transport !== "websocket") return;
    dropSocket();
    clearTimeout(timers.retry);
    clearTimeout(timers.fallback);
    transport = "long-poll";
    const sleep = (ms) => new Promise((resolve) => (timers.retry = setTimeout(resolve, ms)));
    let failures = 0;
    while (transport === "long-poll") {
      const url = new URL(statusUrl, baseHref());
      if (token) url.searchParams.set("token", token);
      url.searchParams.set("since", String(lastSeq));
      url.searchParams.set("wait", String(cfg.longPollWait));
      const controller = (pollController = new AbortController());
      const deadline = setTimeout(() => controller.abort(), (cfg.longPollWait + 15) * 1000);
      const started = Date.now();
      let response = null;
      let body = null;
      try {
        response = await fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          cache: "no-store",
          signal: controller.signal,
        });
        if (response.ok) body = await response.json();
      } catch {
        body = null; // network error, timeout or close(): decided below
      } finally {
        clearTimeout(deadline);
      }
      if (transport !== "long-poll") return;
      if (body) {
        failures = 0;
        const before = lastSeq;
        deliver(body);
        // A server that answers at once with nothing new must not be hammered.
        if (lastSeq === before && Date.now() - started < 1000) await sleep(cfg.reconnect.minDelay);
      } else if (response && FINAL_HTTP[response.status]) {
        return fail(FINAL_HTTP[response.status], response.status);
      } else {
        await sleep(backoff(cfg.reconnect, failures++));
      }
    }
  }

  if (signal?.aborted) transport = "closed";
  else {
    signal?.addEventListener("abort", close);
    if (typeof WS !== "function") longPoll();
    else {
      timers.fallback = setTimeout(longPoll, cfg.socketOpenTimeout);
      connect();
    }
  }
  return {
    close,
    get transport() {
      return transport;
    },
  };
}

async function presign(file, cfg, csrfToken, signal) {
  let response;
  try {
    response = await fetch(cfg.presignUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        ...(csrfToken ? { "X-CSRFToken": csrfToken } : {}),
      },
      body: JSON.stringify({
        filename: file.name,
        content_type: file.type || "application/octet-stream",
        size: file.size,
      }),
      signal,
    });
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new UploadError("Could not reach the server to start the upload.", { code: "network_error", cause });
  }
  const body = await response.json().catch(() => null);
  if (response.status === 400) {
    // DRF: {"field": ["message", ...]} (or {"detail": "..."}).
    const errors = body && typeof body === "object" ? body : {};
    const parts = Object.entries(errors).map(([field, msgs]) => `${field}: ${[].concat(msgs).join(" ")}`);
    const message = parts.join("; ") || "The server rejected the upload request.";
    throw new UploadError(message, { code: "presign_rejected", status: 400, errors });
  }
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? ` (${body.detail})` : "";
    const message = `Starting the upload failed with HTTP ${response.status}${detail}.`;
    throw new UploadError(message, { code: "presign_failed", status: response.status });
  }
  if (!body || typeof body.id !== "string" || !body.upload?.url || !body.subscribe?.url || !body.status_url) {
    const message = "The presign answer lacks id, upload, subscribe or status_url.";
    throw new UploadError(message, { code: "bad_response", status: response.status });
  }
  return body;
}

// S3 answers POST errors as <Error><Code>…</Code><Message>…</Message></Error>
// (AWS S3 API Reference, "Error responses").
function s3Error(xhr) {
  const text = xhr.responseText || "";
  let code = "";
  let message = "";
  if (typeof DOMParser === "function") {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    code = doc.getElementsByTagName("Code")[0]?.textContent || "";
    message = doc.getElementsByTagName("Message")[0]?.textContent || "";
  } else {
    code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] || "";
    message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] || "";
  }
  message ||= `The upload failed with HTTP ${xhr.status}.`;
  return new UploadError(message, { code: code || "upload_failed", status: xhr.status });
}

/**
 * Upload one file: presign, subscribe, POST it to storage, wait for processing.
 *
 * Dispatches CustomEvents (bubbling) on `options.target`, each `detail` being
 * `{file, id, ...}`: `realtime-uploads:presigned` (+ `presign`, the 201 body),
 * `:progress` (+ `loaded`, `total` in bytes, `percent` 0-100),
 * `:uploaded`, `:processing` (+ `event`), `:completed` (+ `event`) and
 * `:failed` (+ `error`, an {@link UploadError}, and `event` if any).
 *
 * @param {File} file
 * @param {{target?: EventTarget, signal?: AbortSignal, csrfToken?: string,
 *   presignUrl?: string, deadline?: number, onEvent?: (event: object) => void}} [options]
 *   plus any key of {@link defaults}. `csrfToken` defaults to the `csrftoken`
 *   cookie and is sent as `X-CSRFToken` on the presign POST only; `deadline`
 *   (ms) bounds the whole upload, presign to terminal event.
 * @returns {Promise<object>} the `completed` event (`variants`, `original`, ...)
 * @throws {UploadError} on failed/expired processing, HTTP errors, a final
 *   socket close, abort (code `aborted`) or the deadline (code `timeout`)
 */
export async function upload(file, options = {}) {
  const cfg = settings(options);
  const target = options.target ?? globalThis.document;
  // One signal for the caller's cancel and the deadline: both stop presign, XHR and socket alike.
  const stop = new AbortController();
  const forward = () => stop.abort(options.signal.reason);
  if (options.signal?.aborted) forward();
  else options.signal?.addEventListener("abort", forward, { once: true });
  const late = new UploadError(`The upload did not finish within ${Math.round(cfg.deadline / 1000)} s.`, {
    code: "timeout",
  });
  const deadline = cfg.deadline > 0 ? setTimeout(() => stop.abort(late), cfg.deadline) : 0;
  const { signal } = stop;
  const csrfToken = options.csrfToken ?? cookie("csrftoken");
  let id = null;
  const emit = (name, extra = {}) =>
    target?.dispatchEvent(new CustomEvent(PREFIX + name, { bubbles: true, detail: { file, id, ...extra } }));
  const aborted = () =>
    signal.reason === late
      ? late
      : new UploadError("The upload was cancelled.", { code: "aborted", cause: signal.reason });
  try {
    if (signal?.aborted) throw aborted();
    const answer = await presign(file, cfg, csrfToken, signal).catch((e) => {
      throw signal?.aborted ? aborted() : e;
    });
    id = answer.id;
    emit("presigned", { presign: answer });
    const event = await new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      let settled = false;
      let uploaded = false;
      let sub = null;
      const markUploaded = () => {
        if (settled || uploaded) return;
        uploaded = true;
        emit("uploaded");
      };
      const finish = (error, value) => {
        if (settled) return;
        settled = true;
        sub?.close();
        signal?.removeEventListener("abort", onAbort);
        if (!error) return resolve(value);
        if (xhr.readyState !== XMLHttpRequest.DONE) xhr.abort();
        reject(error);
      };
      const onAbort = () => finish(aborted());
      const onEvent = (event) => {
        options.onEvent?.(event);
        if (event.status === "processing") {
          markUploaded(); // the processor has seen the object, whatever XHR says yet
          emit("processing", { event });
        } else if (event.status === "completed") {
          markUploaded();
          finish(null, event);
        } else if (event.status === "failed") {
          const message = event.error?.message || "Processing the image failed.";
          finish(new UploadError(message, { code: event.error?.code || "failed", event }));
        } else if (event.status === "expired") {
          const message = "The upload link expired before the file arrived.";
          finish(new UploadError(message, { code: "expired", event }));
        }
      };
      // Subscribe first: the snapshot on connect means no event can be missed.
      sub = subscribe(answer.subscribe, answer.status_url, { ...cfg, onEvent, onError: finish });
      signal?.addEventListener("abort", onAbort);
      xhr.open("POST", answer.upload.url);
      xhr.upload.onprogress = (e) => {
        if (settled) return;
        const total = e.lengthComputable ? e.total : file.size;
        const percent = total ? Math.min(100, Math.floor((e.loaded / total) * 100)) : 0;
        emit("progress", { loaded: e.loaded, total, percent });
      };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) markUploaded();
        else finish(s3Error(xhr));
      };
      xhr.onerror = () => finish(new UploadError("The upload could not reach storage.", { code: "network_error" }));
      const form = new FormData();
      for (const [name, value] of Object.entries(answer.upload.fields || {})) form.append(name, value);
      form.append("file", file); // S3 ignores every field after the file: it goes last.
      xhr.send(form);
    });
    emit("completed", { event });
    return event;
  } catch (caught) {
    const error =
      caught instanceof UploadError ? caught : new UploadError(String(caught?.message || caught), { cause: caught });
    emit("failed", { error, event: error.event });
    throw error;
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener("abort", forward);
  }
}
