// Every sentence in one table a project can replace; sizes by one helper.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  builtinMessages, createUploader, formatBytes, messageFor, setMessages,
} from "../../realtime_uploads/static/realtime_uploads/index.js";

test("formatBytes: 1024-based, one decimal at most, no trailing .0", () => {
  assert.equal(formatBytes(0), "0 bytes");
  assert.equal(formatBytes(1), "1 byte");
  assert.equal(formatBytes(1023), "1023 bytes");
  assert.equal(formatBytes(1536), "1.5 KB");
  assert.equal(formatBytes(10 * 1024 * 1024), "10 MB");
  assert.equal(formatBytes(10_608_645), "10.1 MB");
  assert.equal(formatBytes(150 * 1024 * 1024), "150 MB");
  assert.equal(formatBytes(3 * 1024 ** 3), "3 GB");
  assert.equal(formatBytes("x"), "");
});

test("every stable code has its own plain sentence", () => {
  const codes = ["too_large", "unsupported_format", "not_an_image", "too_many_pixels", "aspect_ratio",
    "too_large_to_decode", "time_limit", "corrupt_image", "storage_error", "internal_error", "timeout",
    "throttled", "too_many_pending", "cancelled", "network_error", "expired", "empty_file"];
  const sentences = codes.map((code) => messageFor(code, {}));
  for (const [i, s] of sentences.entries()) {
    assert.notEqual(s, builtinMessages.default, codes[i]);
    assert.match(s, /^[A-Z].*\.$/, `${codes[i]}: a sentence`);
    assert.doesNotMatch(s, /_/, `${codes[i]}: no code names`);
  }
  assert.equal(messageFor("too_large", { limit: 10485760 }), "This file is too big (the limit is 10 MB).");
  assert.equal(messageFor("something_new"), builtinMessages.default);
});

test("setMessages replaces sentences for every uploader; null restores them", () => {
  setMessages({ too_large: ({ limit }) => `Trop gros (max ${formatBytes(limit)}).`, cancelled: "Annulé." });
  try {
    assert.equal(messageFor("too_large", { limit: 2048 }), "Trop gros (max 2 KB).");
    assert.equal(messageFor("cancelled"), "Annulé.");
    assert.equal(messageFor("not_an_image"), "This file is not an image.");
  } finally {
    setMessages(null);
  }
  assert.equal(messageFor("cancelled"), "Cancelled.");
});

test("createUploader({messages}) overrides sentences for that uploader only", async () => {
  const uploader = createUploader({
    target: new EventTarget(), WebSocket: undefined, fetch: async () => assert.fail("no request"),
    limits: { maxSize: 100 }, messages: { too_large: "Zu groß." },
  });
  await assert.rejects(uploader.upload(new File([new Uint8Array(200)], "a.jpg", { type: "image/jpeg" })).promise,
    { code: "too_large", message: "Zu groß." });
  assert.equal(messageFor("too_large", {}), "This file is too big.");
});
