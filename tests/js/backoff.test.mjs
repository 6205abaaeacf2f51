// The one backoff every retry uses: exponential, clamped, jittered within the clamp.
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoff, defaults } from "../../realtime_uploads/static/realtime_uploads/config.js";

const tuning = defaults.reconnect; // 0.5 s ... 10 s, factor 2

test("the defaults reconnect between 0.5 s and 10 s", () => {
  assert.deepEqual(tuning, { minDelay: 500, maxDelay: 10000, factor: 2 });
});

test("without jitter the delay doubles from minDelay and stops at maxDelay", () => {
  const middle = () => 0.5; // jitter factor exactly 1.0
  const delays = Array.from({ length: 8 }, (_, n) => backoff(tuning, n, middle));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  assert.equal(backoff(tuning, 1000, middle), 10000, "huge attempts stay clamped (no Infinity/NaN)");
});

test("jitter stays within +-10 % and never leaves the clamp", () => {
  for (let n = 0; n < 30; n++) {
    const base = Math.min(10000, 500 * 2 ** n);
    for (const r of [0, 0.25, 0.5, 0.75, 0.999999]) {
      const d = backoff(tuning, n, () => r);
      assert.ok(d >= 500 && d <= 10000, `attempt ${n}, random ${r}: ${d}`);
      assert.ok(d >= Math.max(500, base * 0.9 - 1) && d <= Math.min(10000, base * 1.1 + 1), `attempt ${n}: ${d}`);
    }
  }
  assert.equal(backoff(tuning, 3, () => 0), 3600);
  assert.equal(backoff(tuning, 3, () => 0.999999), 4400);
  assert.equal(backoff(tuning, 0, () => 0), 500, "below minDelay is clamped up");
  assert.equal(backoff(tuning, 10, () => 0.999999), 10000, "above maxDelay is clamped down");
});

test("jitter spreads clients: many draws are not all equal", () => {
  const draws = new Set(Array.from({ length: 50 }, () => backoff(tuning, 3)));
  assert.ok(draws.size > 10);
});
