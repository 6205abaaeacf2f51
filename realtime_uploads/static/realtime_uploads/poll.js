// Long-poll for one subscription, when WebSockets do not work here:
// GET status_url?token=<token>&since=<seq>&wait=<seconds>, answered as soon as
// the upload's seq exceeds `since` (or after `wait` with the current snapshot).
// Source: docs/contract.md, "REST" (status and long-poll).

import { absolute, backoff, sleep } from "./config.js";

// Statuses that no retry will change: the subscription fails with this code.
export const FINAL_HTTP = { 400: "bad_request", 401: "forbidden", 403: "forbidden", 404: "not_found" };

/**
 * Poll until `sub.closed`: each answer goes to `ctx.deliver(sub, event)` (which
 * drops stale seqs and closes the subscription on a terminal status); a final
 * HTTP status goes to `ctx.fail(sub, code, status)`; network errors and other
 * statuses are retried with the reconnect backoff, or after `Retry-After` when
 * the answer (429, 503) names a longer wait. `sub.abort` aborts the
 * request in flight.
 * @param {{statusUrl: string, token?: string, lastSeq: number, closed: boolean}} sub
 * @param {{fetch: Function, headers?: object, longPollWait: number, reconnect: object,
 *   deliver: Function, fail: Function}} ctx
 */
export async function poll(sub, ctx) {
  let failures = 0;
  while (!sub.closed) {
    const url = absolute(sub.statusUrl);
    if (sub.token) url.searchParams.set("token", sub.token);
    url.searchParams.set("since", String(sub.lastSeq));
    url.searchParams.set("wait", String(ctx.longPollWait));
    const controller = new AbortController();
    sub.abort = () => controller.abort();
    const limit = setTimeout(() => controller.abort(), (ctx.longPollWait + 15) * 1000);
    const started = Date.now();
    let response = null;
    let body = null;
    try {
      response = await ctx.fetch(url.href, {
        credentials: "same-origin",
        headers: { Accept: "application/json", ...ctx.headers },
        cache: "no-store",
        signal: controller.signal,
      });
      if (response.ok) body = await response.json();
    } catch {
      body = null; // network error, the time limit or unsubscribe: decided below
    } finally {
      clearTimeout(limit);
    }
    if (sub.closed) return;
    if (body) {
      failures = 0;
      const before = sub.lastSeq;
      ctx.deliver(sub, body);
      // A server that answers at once with nothing new must not be hammered.
      if (sub.lastSeq === before && Date.now() - started < 1000) await sleep(ctx.reconnect.minDelay);
    } else if (response && FINAL_HTTP[response.status]) {
      return ctx.fail(sub, FINAL_HTTP[response.status], response.status);
    } else {
      // 429 (too many long-polls from this client) and 503 (the server sheds load) say when to come back:
      // at least that long (RFC 9110 section 10.2.3), else the reconnect backoff.
      await sleep(Math.max(backoff(ctx.reconnect, failures++), retryAfterMs(response)));
    }
  }
}

/** `Retry-After` of `response` in ms (delay-seconds form only; capped at 5 minutes), or 0. */
export function retryAfterMs(response) {
  const value = response?.headers?.get?.("Retry-After");
  const seconds = value && /^\d+$/.test(value.trim()) ? Number(value.trim()) : 0;
  return Math.min(seconds, 300) * 1000;
}
