// The long-poll fallback waits as long as a 429 or 503 asks (Retry-After) before it asks again.
import assert from "node:assert/strict";
import { test } from "node:test";

import { poll, retryAfterMs } from "../../realtime_uploads/static/realtime_uploads/poll.js";

test("Retry-After is read in seconds, capped, and ignored when absent or an HTTP date", () => {
  const answer = (value) => ({ headers: new Headers(value === undefined ? {} : { "Retry-After": value }) });
  assert.equal(retryAfterMs(answer("5")), 5000);
  assert.equal(retryAfterMs(answer(" 2 ")), 2000);
  assert.equal(retryAfterMs(answer("86400")), 300000);
  assert.equal(retryAfterMs(answer(undefined)), 0);
  assert.equal(retryAfterMs(answer("Wed, 21 Oct 2026 07:28:00 GMT")), 0);
  assert.equal(retryAfterMs(null), 0);
});

test("a 429 with Retry-After: 1 is asked again only after a second, whatever the backoff says", async () => {
  const asked = [];
  const answers = [
    new Response(JSON.stringify({ detail: "too many", code: "too_many_long_polls" }),
                 { status: 429, headers: { "Retry-After": "1" } }),
    new Response(JSON.stringify({ type: "upload.status", id: "u", status: "completed", seq: 3 }), { status: 200 }),
  ];
  const sub = { statusUrl: "http://app.test/api/uploads/u/", token: "t", lastSeq: 1, closed: false };
  await poll(sub, {
    fetch: async () => { asked.push(Date.now()); return answers.shift(); },
    longPollWait: 1,
    reconnect: { minDelay: 10, maxDelay: 20, factor: 2 },
    deliver: (s, event) => { s.lastSeq = event.seq; s.closed = true; },
    fail: () => assert.fail("a 429 is not final"),
  });
  assert.equal(asked.length, 2);
  assert.ok(asked[1] - asked[0] >= 950, `asked again after ${asked[1] - asked[0]} ms`);
});
