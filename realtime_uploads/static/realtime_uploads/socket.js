// One WebSocket for every upload of an uploader, on the multiplexed route
// /ws/uploads/ (docs/contract.md, "WebSocket"): the client sends
// {"type": "subscribe", "id", "token"} and {"type": "unsubscribe", "id"}; the
// server answers each subscription with its snapshot, then every change as
// {"type": "upload.status", "id", "status", "seq", ...}, and refusals as
// {"type": "error", "id", "error": {"code", "message"}}.
//
// Reconnects with clamped backoff and jitter, resubscribes everything (the
// snapshots catch up on whatever was missed), keeps only events whose seq is
// newer than the last seen per id, replaces a socket that stops answering
// {"type": "ping"}, and falls back to long-polling when no socket opens.
// Live history (followHistory): {"type": "follow_history"} on every open, and
// each {"type": "upload.created", ...} the server then sends is handed on; the
// socket stays open for it while nothing else is followed.

import { backoff } from "./config.js";
import { uploadError } from "./errors.js";
import { poll } from "./poll.js";

export const TERMINAL = new Set(["completed", "failed", "expired", "cancelled", "deleted"]);
// Error codes naming an id that end that subscription; any other code (a cap
// on subscriptions, a server that cannot subscribe now) moves it to long-poll.
const FINAL_ERRORS = new Set(["forbidden", "not_found", "malformed_id", "bad_request"]);

const parse = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

/** The default socket URL: ws(s)://<this page's host>/ws/uploads/. */
export function defaultSocketUrl() {
  const loc = globalThis.location;
  if (!loc) return null;
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws/uploads/`;
}

/**
 * The shared connection. `state` is "closed" (nothing subscribed),
 * "connecting", "open", "reconnecting" or "polling"; every change calls
 * `cfg.onState(state, info)`, and so does every scheduled retry, with
 * `info` = {attempt (1-based), delay (ms)}.
 */
export class Connection {
  /**
   * @param {{url: string|null, WebSocket?: Function, fetch: Function, headers?: object,
   *   reconnect: object, socketOpenTimeout: number, pingInterval: number, longPollWait: number,
   *   messages?: object, onState?: Function}} cfg times in ms (longPollWait in seconds)
   */
  constructor(cfg) {
    this.cfg = cfg;
    this.subs = new Map();
    this.state = "closed";
    this.polling = false; // sticky: no socket opened in time, so sockets do not work here
    this.socket = null;
    this.open = false;
    this.everOpened = false;
    this.attempts = 0;
    this.awaitingPong = false;
    this.history = null; // {onCreated, refused}: live history followed (followHistory)
    this.timers = { fallback: 0, retry: 0, open: 0, ping: 0, history: 0 };
    this.pollCtx = {
      fetch: cfg.fetch,
      headers: cfg.headers,
      longPollWait: cfg.longPollWait,
      reconnect: cfg.reconnect,
      deliver: (sub, event) => this.deliver(sub, event),
      fail: (sub, code, status) => this.fail(sub, code, { status }),
    };
  }

  /**
   * Follow one upload until its terminal event, `onError`, or the returned unsubscribe().
   * @param {{id: string, token?: string, statusUrl: string, since?: number,
   *   onEvent: (event: object) => void, onError: (error: Error) => void}} s
   * @returns {() => void} unsubscribe
   */
  subscribe(s) {
    this.unsubscribe(s.id);
    const sub = { ...s, lastSeq: s.since ?? 0, closed: false, polling: false, abort: null };
    this.subs.set(s.id, sub);
    if (this.polling) this.startPoll(sub);
    else if (this.open) this.send({ type: "subscribe", id: sub.id, token: sub.token });
    else if (!this.socket && !this.timers.retry) this.start();
    return () => this.unsubscribe(s.id);
  }

  /**
   * Live history: `onCreated(item)` for each `upload.created` message (a history item of an upload the
   * same user or session started, in any tab), as long as the socket is open (not while long-polling).
   * Keeps the socket open while nothing else is followed. Returns a function that stops it.
   * @param {(item: object) => void} onCreated
   * @returns {() => void}
   */
  followHistory(onCreated) {
    this.history = { onCreated, refused: false };
    if (this.open) this.send({ type: "follow_history" });
    else if (!this.socket && !this.timers.retry && !this.polling) this.start();
    return () => this.stopHistory();
  }

  /**
   * After a refusal (`forbidden`: the socket's handshake came without a session; this tab's presign starts
   * one), connect again at once: the server reads the session from the handshake's cookie only. The
   * uploads followed are subscribed again on the new socket (their snapshots catch up).
   */
  retryHistory() {
    if (this.history?.refused && this.open) {
      this.history.refused = false;
      this.drop();
      this.connect();
    }
  }

  stopHistory() {
    if (!this.history) return;
    this.history = null;
    clearTimeout(this.timers.history);
    if (!this.subs.size) this.idle(); // the socket's own group is left when it closes
  }

  /** Stop following `id` (tells the server when the socket is open). */
  unsubscribe(id) {
    const sub = this.subs.get(id);
    if (!sub) return;
    this.subs.delete(id);
    sub.closed = true;
    sub.abort?.();
    if (this.open && !sub.polling) this.send({ type: "unsubscribe", id });
    if (!this.subs.size && !this.history) this.idle();
  }

  /** Stop following everything; the socket closes. */
  close() {
    this.history = null;
    for (const id of [...this.subs.keys()]) this.unsubscribe(id);
    if (!this.subs.size) this.idle();
  }

  setState(state, info = {}, always = false) {
    if (state === this.state && !always) return;
    this.state = state;
    this.cfg.onState?.(state, info);
  }

  send(message) {
    this.socket?.send(JSON.stringify(message));
  }

  start() {
    if (typeof this.cfg.WebSocket !== "function" || !this.cfg.url) return this.fallback();
    this.setState("connecting");
    if (!this.everOpened) this.timers.fallback = setTimeout(() => this.fallback(), this.cfg.socketOpenTimeout);
    this.connect();
  }

  connect() {
    this.timers.retry = 0;
    let ws;
    try {
      ws = new this.cfg.WebSocket(this.cfg.url);
    } catch {
      return this.everOpened ? this.retry() : this.fallback();
    }
    this.socket = ws;
    // Before the first open the fallback timer bounds the wait; afterwards each attempt gets its own.
    if (this.everOpened) {
      this.timers.open = setTimeout(() => this.replace(), this.cfg.socketOpenTimeout);
    }
    ws.onopen = () => this.opened();
    ws.onmessage = (message) => {
      this.awaitingPong = false;
      this.receive(parse(message.data));
    };
    ws.onclose = () => this.replace();
  }

  opened() {
    this.everOpened = true;
    this.open = true;
    this.attempts = 0;
    this.awaitingPong = false;
    clearTimeout(this.timers.fallback);
    clearTimeout(this.timers.open);
    this.setState("open");
    if (this.history) this.send({ type: "follow_history" });
    for (const sub of this.subs.values()) {
      if (!sub.polling) this.send({ type: "subscribe", id: sub.id, token: sub.token });
    }
    this.timers.ping = setInterval(() => {
      if (this.awaitingPong) return this.replace(); // a whole interval without a word: half-open
      this.awaitingPong = true;
      this.send({ type: "ping" });
    }, this.cfg.pingInterval);
  }

  receive(message) {
    if (!message || typeof message !== "object") return;
    if (message.type === "upload.created" || (message.type === "error" && message.id === undefined)) {
      return this.historyMessage(message);
    }
    const sub = typeof message.id === "string" ? this.subs.get(message.id) : undefined;
    if (message.type === "upload.status" && sub) this.deliver(sub, message);
    else if (message.type === "error" && sub) {
      const code = String(message.error?.code || "upload_failed");
      const detail = message.error?.message ?? null;
      if (FINAL_ERRORS.has(code)) this.fail(sub, code, { detail });
      else this.startPoll(sub);
    }
  }

  historyMessage(message) {
    const history = this.history;
    if (!history) return;
    if (message.type === "upload.created") {
      if (typeof message.id === "string") history.onCreated(message);
    } else if (message.error?.code === "forbidden") {
      history.refused = true;
    } else if (message.error?.code === "try_again") {
      clearTimeout(this.timers.history);
      this.timers.history = setTimeout(() => {
        if (this.history === history && this.open) this.send({ type: "follow_history" });
      }, backoff(this.cfg.reconnect, 1));
    }
  }

  /** Hand `event` on when its seq is newer than the last one seen for its id. */
  deliver(sub, event) {
    if (sub.closed || !event || event.type !== "upload.status") return;
    if (!Number.isInteger(event.seq) || event.seq <= sub.lastSeq) return;
    sub.lastSeq = event.seq;
    try {
      sub.onEvent(event);
    } finally {
      if (TERMINAL.has(event.status)) this.unsubscribe(sub.id);
    }
  }

  fail(sub, code, info = {}) {
    if (sub.closed) return;
    this.unsubscribe(sub.id);
    sub.onError(uploadError(code, { ...info, messages: this.cfg.messages }));
  }

  startPoll(sub) {
    if (sub.polling || sub.closed) return;
    sub.polling = true;
    poll(sub, this.pollCtx);
  }

  drop() {
    clearTimeout(this.timers.open);
    clearInterval(this.timers.ping);
    this.open = false;
    const dead = this.socket;
    this.socket = null;
    if (!dead) return;
    dead.onopen = dead.onmessage = dead.onclose = dead.onerror = null;
    try {
      dead.close(1000);
    } catch {
      // already closing
    }
  }

  /** Drop the current socket and connect again after the backoff delay. */
  replace() {
    this.drop();
    if ((!this.subs.size && !this.history) || this.polling) return;
    const delay = backoff(this.cfg.reconnect, this.attempts++);
    this.setState(this.everOpened ? "reconnecting" : "connecting", { attempt: this.attempts, delay }, true);
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  retry() {
    this.replace();
  }

  fallback() {
    if (this.polling) return;
    this.polling = true;
    clearTimeout(this.timers.fallback);
    clearTimeout(this.timers.retry);
    this.timers.retry = 0;
    this.drop();
    this.setState("polling");
    for (const sub of this.subs.values()) this.startPoll(sub);
  }

  idle() {
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.timers.retry = 0;
    this.drop();
    if (!this.polling) this.setState("closed");
  }
}
