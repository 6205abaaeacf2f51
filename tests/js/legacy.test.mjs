// upload(file, options), the first API, keeps working over createUploader.
import assert from "node:assert/strict";
import { test } from "node:test";

import { upload } from "../../realtime_uploads/static/realtime_uploads/realtime-uploads.js";
import { FakeServer, file, recorder, until } from "./fakes.mjs";

test("upload() resolves with the completed event and aborting its signal fails with code aborted", async () => {
  const server = new FakeServer();
  const realFetch = globalThis.fetch;
  globalThis.fetch = server.fetch; // the legacy API takes these from the page
  globalThis.WebSocket = server.WebSocket;
  globalThis.XMLHttpRequest = server.XMLHttpRequest;
  try {
    const target = new EventTarget();
    const seen = recorder(target, ["presigned", "progress", "uploaded", "processing", "completed", "failed"]);
    const opts = { target, presignUrl: "http://app.test/api/uploads/", socketUrl: "ws://app.test/ws/uploads/" };
    const event = await upload(file(), opts);
    assert.equal(event.status, "completed");
    assert.deepEqual([...new Set(seen.map((s) => s.name))], ["presigned", "progress", "uploaded", "processing", "completed"]);

    server.storageMode = "hang";
    const controller = new AbortController();
    const pending = upload(file("b.jpg"), { ...opts, signal: controller.signal });
    await until(() => server.xhrs.length === 2, 500, "the POST");
    controller.abort();
    await assert.rejects(pending, { code: "aborted" });
    assert.equal(seen.at(-1).name, "failed");
    assert.equal(seen.at(-1).detail.error.code, "aborted");
    for (const ws of server.sockets) assert.equal(ws.url, "ws://app.test/ws/uploads/");
  } finally {
    globalThis.fetch = realFetch;
    delete globalThis.WebSocket;
    delete globalThis.XMLHttpRequest;
  }
});
