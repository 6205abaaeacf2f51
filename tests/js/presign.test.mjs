// Presign requests: the batch request's shape, per-item errors, throttling.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createUploader } from "../../realtime_uploads/static/realtime_uploads/index.js";
import { FakeServer, file, recorder } from "./fakes.mjs";

test("uploadMany sends one POST to batchUrl with {files: [{filename, content_type, size}]}", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options({ csrfToken: "csrf-1", headers: { "X-App": "1" } }));
  const handles = uploader.uploadMany([file("a.jpg", 10), file("b.png", 20, "image/png")]);
  await Promise.all(handles.map((h) => h.promise));
  const [batch] = server.fetches;
  assert.equal(batch.url, "http://app.test/api/uploads/batch/");
  assert.equal(batch.init.method, "POST");
  assert.equal(batch.init.credentials, "same-origin");
  assert.equal(batch.init.headers["Content-Type"], "application/json");
  assert.equal(batch.init.headers["X-CSRFToken"], "csrf-1");
  assert.equal(batch.init.headers["X-App"], "1");
  assert.deepEqual(batch.body, {
    files: [
      { filename: "a.jpg", content_type: "image/jpeg", size: 10 },
      { filename: "b.png", content_type: "image/png", size: 20 },
    ],
  });
});

test("a 400 with per-item errors fails those files only; the others are presigned again on their own", async () => {
  const server = new FakeServer();
  server.maxSize = 1000;
  const uploader = createUploader(server.options());
  const seen = recorder(uploader.target, ["failed", "completed"]);
  const [ok1, big, ok2] = uploader.uploadMany([file("a.jpg", 10), file("big.jpg", 5000), file("c.jpg", 30)]);
  await assert.rejects(big.promise, (error) => {
    assert.equal(error.code, "too_large");
    assert.equal(error.message, "This file is too big.");
    assert.deepEqual(error.errors, { size: ["too big"] });
    assert.equal(error.status, 400);
    return true;
  });
  await Promise.all([ok1.promise, ok2.promise]);
  const posts = server.fetches.filter((f) => f.init.method === "POST");
  assert.equal(posts.length, 2);
  assert.deepEqual(posts[1].body.files.map((f) => f.filename), ["a.jpg", "c.jpg"]);
  assert.equal(seen.filter((s) => s.name === "failed").length, 1);
  assert.equal(seen.filter((s) => s.name === "completed").length, 2);
});

test("batches are cut at batchSize", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options({ batchSize: 2 }));
  const handles = uploader.uploadMany([file("a.jpg"), file("b.jpg"), file("c.jpg")]);
  await Promise.all(handles.map((h) => h.promise));
  const sizes = server.fetches.filter((f) => f.init.method === "POST").map((f) => f.body.files.length);
  assert.deepEqual(sizes, [2, 1]);
});

test("429 answers become throttled / too_many_pending with plain sentences", async () => {
  for (const code of ["throttled", "too_many_pending"]) {
    const fetch = async () => new Response(JSON.stringify({ detail: "Slow down", code, limit: 10 }), { status: 429 });
    const uploader = createUploader({ fetch, target: new EventTarget(), WebSocket: undefined });
    await assert.rejects(uploader.upload(file()).promise, (error) => {
      assert.equal(error.code, code);
      assert.equal(error.status, 429);
      assert.equal(error.detail, "Slow down");
      assert.match(error.message, /Please wait/);
      return true;
    });
  }
});

test("a presign that cannot reach the server fails with network_error", async () => {
  const fetch = async () => {
    throw new TypeError("Failed to fetch");
  };
  const uploader = createUploader({ fetch, target: new EventTarget(), WebSocket: undefined });
  await assert.rejects(uploader.upload(file()).promise, { code: "network_error" });
  await assert.rejects(uploader.uploadMany([file()])[0].promise, { code: "network_error" });
});
