// Fakes of the three things the client talks to: the application (fetch:
// presign, batch presign, status long-poll), the multiplexed WebSocket route
// and storage (XMLHttpRequest). One FakeServer keeps the uploads' state and
// speaks the protocol of docs/contract.md; tests steer it with a few switches.

export const BASE = "http://app.test";
export const SOCKET_URL = "ws://app.test/ws/uploads/";
export const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

/** Tuning that keeps every test well under a second. */
export const FAST = {
  presignUrl: `${BASE}/api/uploads/`,
  batchUrl: `${BASE}/api/uploads/batch/`,
  socketUrl: SOCKET_URL,
  reconnect: { minDelay: 5, maxDelay: 40, factor: 2 },
  storageRetry: { minDelay: 1, maxDelay: 5, factor: 2 },
  socketOpenTimeout: 60,
  pingInterval: 1000,
  longPollWait: 1,
};

export function file(name = "cat.jpg", size = 1000, type = "image/jpeg") {
  return new File([new Uint8Array(size)], name, { type });
}

/** Resolve when `predicate()` is true (polled every ms), or throw after `timeout` ms. */
export async function until(predicate, timeout = 2000, what = "condition") {
  const end = Date.now() + timeout;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

/** Record every realtime-uploads:* event dispatched on `target`, in order. */
export function recorder(target, names) {
  const seen = [];
  for (const name of names) {
    target.addEventListener(`realtime-uploads:${name}`, (e) => seen.push({ name, detail: e.detail, event: e }));
  }
  return seen;
}

let counter = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, "0")}`;
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

export class FakeServer {
  constructor() {
    this.uploads = new Map();
    this.fetches = []; // {url, init, body}
    this.sockets = [];
    this.xhrs = [];
    this.maxSize = 10 * 1024 * 1024;
    this.socketMode = "open"; // "open" | "never" (handshake hangs) | "refuse" (closed at once)
    this.answerPings = true;
    this.storageMode = "ok"; // "ok" | "network-error" | "network-error-once" | "403" | "hang" | "lost-answer"
    this.autoProcess = true; // storage POST done -> processing, then completed
    this.waiters = new Set();
  }

  snapshot(id) {
    const u = this.uploads.get(id);
    return { type: "upload.status", id, status: u.status, seq: u.seq, variants: u.variants ?? [], error: u.error ?? null };
  }

  answer(f) {
    const id = uuid();
    this.uploads.set(id, { id, token: `tok-${id}`, status: "pending", seq: 1, file: f });
    return {
      id,
      status: "pending",
      upload: { url: "http://storage.test/bucket/", fields: { key: `uploads/${id}/${f.filename}`, policy: "p0l1cy" } },
      subscribe: { url: `${SOCKET_URL}${id}/`, token: `tok-${id}` },
      status_url: `${BASE}/api/uploads/${id}/`,
      expires_at: "2026-12-02T18:00:00Z",
    };
  }

  /** Move `id` to `status` (seq + 1) and push it to every socket subscribed to it. */
  push(id, status, extra = {}) {
    const u = this.uploads.get(id);
    Object.assign(u, { status, seq: u.seq + 1 }, extra);
    const event = this.snapshot(id);
    for (const ws of this.sockets) if (ws.subscribed.has(id) && ws.readyState === 1) ws.deliver(event);
    for (const wake of this.waiters) wake();
    return event;
  }

  process(id) {
    setTimeout(() => {
      this.push(id, "processing");
      setTimeout(() => this.push(id, "completed", { variants: [{ name: "thumb", url: "https://cdn.test/t.webp" }] }), 2);
    }, 2);
  }

  get fetch() {
    return async (url, init = {}) => {
      const body = init.body ? JSON.parse(init.body) : null;
      this.fetches.push({ url: String(url), init, body });
      const u = new URL(url);
      if (init.method === "POST" && u.pathname === "/api/uploads/") {
        if (body.size > this.maxSize) return json(400, { size: [`Size must be between 1 and ${this.maxSize} bytes.`] });
        return json(201, this.answer(body));
      }
      if (init.method === "POST" && u.pathname === "/api/uploads/batch/") {
        const errors = body.files.map((f) => (f.size > this.maxSize ? { size: ["too big"] } : {}));
        if (errors.some((e) => Object.keys(e).length)) return json(400, { files: errors });
        return json(201, { uploads: body.files.map((f) => this.answer(f)) });
      }
      const m = /^\/api\/uploads\/([^/]+)\/$/.exec(u.pathname);
      if (m && this.uploads.has(m[1])) {
        const id = m[1];
        if (u.searchParams.get("token") !== this.uploads.get(id).token) return json(403, { detail: "no" });
        const since = Number(u.searchParams.get("since") || 0);
        if (this.uploads.get(id).seq <= since) {
          await new Promise((resolve) => {
            const wake = () => (this.waiters.delete(wake), resolve());
            this.waiters.add(wake);
            setTimeout(wake, 50);
            init.signal?.addEventListener("abort", wake);
          });
        }
        return json(200, this.snapshot(id));
      }
      return json(404, { detail: "Not found." });
    };
  }

  get WebSocket() {
    const server = this;
    return class FakeWebSocket {
      constructor(url) {
        this.url = url;
        this.sent = [];
        this.readyState = 0;
        this.subscribed = new Set();
        server.sockets.push(this);
        if (server.socketMode === "open") setTimeout(() => this.accept(), 1);
        if (server.socketMode === "refuse") setTimeout(() => this.drop(1006), 1);
      }
      accept() {
        this.readyState = 1;
        this.onopen?.({});
      }
      send(data) {
        const msg = JSON.parse(data);
        this.sent.push(msg);
        if (msg.type === "ping" && server.answerPings) this.deliver({ type: "pong" });
        if (msg.type === "subscribe") {
          const u = server.uploads.get(msg.id);
          if (!u || msg.token !== u.token) {
            this.deliver({ type: "error", id: msg.id, error: { code: u ? "forbidden" : "not_found", message: "no" } });
          } else {
            this.subscribed.add(msg.id);
            this.deliver(server.snapshot(msg.id));
          }
        }
        if (msg.type === "unsubscribe") this.subscribed.delete(msg.id);
      }
      deliver(obj) {
        queueMicrotask(() => this.readyState === 1 && this.onmessage?.({ data: JSON.stringify(obj) }));
      }
      close() {
        this.readyState = 3;
      }
      /** The server side goes away: the client sees a close. */
      drop(code = 1006) {
        this.readyState = 3;
        this.onclose?.({ code });
      }
    };
  }

  get XMLHttpRequest() {
    const server = this;
    return class FakeXMLHttpRequest {
      static DONE = 4;
      constructor() {
        this.upload = {};
        this.headers = {};
        this.withCredentials = undefined;
        this.readyState = 0;
        server.xhrs.push(this);
      }
      open(method, url) {
        this.method = method;
        this.url = url;
        this.readyState = 1;
      }
      setRequestHeader(name, value) {
        this.headers[name] = value;
      }
      abort() {
        this.aborted = true;
        this.readyState = 4;
      }
      send(form) {
        this.form = [...form.entries()];
        this.sentWithCredentials = this.withCredentials;
        const mode = server.storageMode;
        const failOnce = mode === "network-error-once" && !server.failedOnce;
        if (failOnce) server.failedOnce = true;
        setTimeout(() => {
          if (this.aborted || mode === "hang") return;
          const id = /uploads\/([^/]+)\//.exec(this.form.find(([k]) => k === "key")[1])[1];
          if (mode === "network-error" || failOnce) return this.onerror?.({});
          if (mode === "lost-answer" && !server.storedOnce) {
            // The bytes arrive and get processed, but the answer is lost on the way back.
            server.storedOnce = true;
            server.process(id);
            return this.onerror?.({});
          }
          this.upload.onprogress?.({ lengthComputable: true, loaded: 500, total: 1000 });
          this.upload.onprogress?.({ lengthComputable: true, loaded: 1000, total: 1000 });
          this.readyState = 4;
          if (mode === "403" || mode === "lost-answer") {
            this.status = 403;
            this.responseText = "<Error><Code>AccessDenied</Code><Message>Policy expired</Message></Error>";
            return this.onload?.({});
          }
          this.status = 204;
          this.responseText = "";
          this.onload?.({});
          if (server.autoProcess) server.process(id);
        }, 1);
      }
    };
  }

  /** Options for createUploader wired to this server. */
  options(extra = {}) {
    return { ...FAST, fetch: this.fetch, WebSocket: this.WebSocket, XMLHttpRequest: this.XMLHttpRequest, target: new EventTarget(), ...extra };
  }
}
