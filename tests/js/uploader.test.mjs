// createUploader end to end against the fake server: the order of events for
// one upload, cancel, cancelable events, the deadline, limits, one socket.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createUploader } from "../../realtime_uploads/static/realtime_uploads/index.js";
import { FakeServer, file, recorder, tick, until } from "./fakes.mjs";

const STAGES = ["before-upload", "presigned", "progress", "uploaded", "processing", "completed", "failed", "cancelled"];

test("one upload dispatches every stage in order and resolves with the completed event", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options());
  const seen = recorder(uploader.target, [...STAGES, "connection"]);
  const handle = uploader.upload(file());
  const event = await handle.promise;
  assert.equal(event.status, "completed");
  assert.equal(event.variants[0].name, "thumb");
  assert.match(handle.id, /^0000/);
  const order = seen.filter((s) => s.name !== "connection").map((s) => s.name);
  assert.deepEqual(order, ["before-upload", "presigned", "progress", "progress", "uploaded", "processing", "completed"]);
  assert.deepEqual(seen.filter((s) => s.name === "progress").map((s) => s.detail.percent), [50, 100]);
  for (const s of seen.filter((s) => s.name !== "connection" && s.name !== "before-upload")) {
    assert.equal(s.detail.id, handle.id);
    assert.equal(s.detail.file.name, "cat.jpg");
  }
  assert.deepEqual(seen.filter((s) => s.name === "connection").map((s) => s.detail.state).slice(0, 2), ["connecting", "open"]);
  // Terminal: the client unsubscribes.
  await until(() => server.sockets[0].sent.some((m) => m.type === "unsubscribe" && m.id === handle.id), 500, "unsubscribe");
});

test("many uploads share one socket and presign in one batch request", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options({ concurrency: 2 }));
  const handles = uploader.uploadMany([file("a.jpg"), file("b.jpg"), file("c.jpg"), file("d.jpg"), file("e.jpg")]);
  const events = await Promise.all(handles.map((h) => h.promise));
  assert.deepEqual(events.map((e) => e.status), Array(5).fill("completed"));
  assert.equal(server.sockets.length, 1, "one socket for every upload");
  const posts = server.fetches.filter((f) => f.init.method === "POST");
  assert.equal(posts.length, 1, "one presign request");
  assert.equal(new Set(handles.map((h) => h.id)).size, 5);
});

test("the concurrency limit bounds storage POSTs in flight", async () => {
  const server = new FakeServer();
  server.storageMode = "hang";
  const uploader = createUploader(server.options({ concurrency: 2 }));
  const handles = uploader.uploadMany([file("a.jpg"), file("b.jpg"), file("c.jpg")]);
  await until(() => server.xhrs.length === 2, 500, "two POSTs");
  await tick(20);
  assert.equal(server.xhrs.length, 2, "the third waits for a slot");
  handles[0].cancel();
  await until(() => server.xhrs.length === 3, 500, "the third POST after a cancel");
  for (const h of handles) h.cancel();
});

test("cancel() aborts the storage POST, unsubscribes, dispatches cancelled and rejects with code cancelled", async () => {
  const server = new FakeServer();
  server.storageMode = "hang";
  const uploader = createUploader(server.options());
  const seen = recorder(uploader.target, STAGES);
  const handle = uploader.upload(file());
  await until(() => server.xhrs.length === 1, 500, "the storage POST");
  await until(() => server.sockets[0]?.subscribed.has(handle.id), 500, "the subscription");
  handle.cancel();
  await assert.rejects(handle.promise, { name: "UploadError", code: "cancelled", message: "Cancelled." });
  assert.ok(server.xhrs[0].aborted, "XHR aborted");
  assert.deepEqual(server.sockets[0].sent.filter((m) => m.type === "unsubscribe").map((m) => m.id), [handle.id]);
  assert.deepEqual(seen.map((s) => s.name), ["before-upload", "presigned", "cancelled"]);
  handle.cancel(); // twice: nothing more
  await tick(5);
  assert.equal(seen.length, 3);
  // The server is told (contract 0.3): one DELETE of the upload, authorised by its token.
  const deletes = server.fetches.filter((f) => f.init.method === "DELETE");
  assert.equal(deletes.length, 1);
  const url = new URL(deletes[0].url);
  assert.equal(url.pathname, `/api/uploads/${handle.id}/`);
  assert.equal(url.searchParams.get("token"), server.uploads.get(handle.id).token);
});

test("a cancelled or deleted event from the server ends the upload as cancelled", async () => {
  const server = new FakeServer();
  server.storageMode = "hang";
  const uploader = createUploader(server.options());
  const handle = uploader.upload(file());
  await until(() => server.sockets[0]?.subscribed.has(handle.id), 500, "the subscription");
  server.push(handle.id, "cancelled");
  await assert.rejects(handle.promise, { name: "UploadError", code: "cancelled" });
  assert.equal(server.fetches.filter((f) => f.init.method === "DELETE").length, 0, "the server knew already");
});

test("preventDefault on before-upload cancels that file before any request", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options());
  uploader.target.addEventListener("realtime-uploads:before-upload", (e) => {
    if (e.detail.file.name === "skip.jpg") e.preventDefault();
  });
  const [skipped, kept] = uploader.uploadMany([file("skip.jpg"), file("keep.jpg")]);
  await assert.rejects(skipped.promise, { code: "cancelled" });
  await kept.promise;
  assert.deepEqual(server.fetches[0].body.files.map((f) => f.filename), ["keep.jpg"]);
});

test("preventDefault on presigned cancels that file before the storage POST", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options());
  uploader.target.addEventListener("realtime-uploads:presigned", (e) => e.preventDefault());
  const seen = recorder(uploader.target, STAGES);
  const handle = uploader.upload(file());
  await assert.rejects(handle.promise, { code: "cancelled" });
  assert.equal(server.xhrs.length, 0, "no storage POST");
  assert.deepEqual(seen.map((s) => s.name), ["before-upload", "presigned", "cancelled"]);
});

test("the deadline rejects with code timeout and a failed event", async () => {
  const server = new FakeServer();
  server.autoProcess = false; // stored, never processed
  const uploader = createUploader(server.options({ deadline: 80 }));
  const seen = recorder(uploader.target, STAGES);
  const started = Date.now();
  const handle = uploader.upload(file());
  await assert.rejects(handle.promise, { code: "timeout" });
  assert.ok(Date.now() - started >= 75, "not before the deadline");
  const failed = seen.find((s) => s.name === "failed");
  assert.equal(failed.detail.error.code, "timeout");
  assert.equal(seen.at(-1).name, "failed");
  assert.ok(!server.sockets[0].subscribed.has(handle.id), "unsubscribed");
});

test("a per-call deadline overrides the uploader's", async () => {
  const server = new FakeServer();
  server.autoProcess = false;
  const uploader = createUploader(server.options({ deadline: 60_000 }));
  await assert.rejects(uploader.upload(file(), { deadline: 30 }).promise, { code: "timeout" });
});

test("a failed event from the server rejects with its code and a plain sentence", async () => {
  const server = new FakeServer();
  server.autoProcess = false;
  const uploader = createUploader(server.options());
  const handle = uploader.upload(file());
  await until(() => server.xhrs[0]?.status === 204, 500, "stored");
  server.push(handle.id, "failed", { error: { code: "not_an_image", message: "cannot identify image file" } });
  await assert.rejects(handle.promise, (error) => {
    assert.equal(error.code, "not_an_image");
    assert.equal(error.message, "This file is not an image.");
    assert.equal(error.detail, "cannot identify image file");
    assert.equal(error.event.status, "failed");
    return true;
  });
});

test("limits refuse a file before any request, with the limit in human units", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options({ limits: { maxSize: 10 * 1024 * 1024, contentTypes: ["image/jpeg", "image/png"] } }));
  const seen = recorder(uploader.target, STAGES);
  const big = uploader.upload(file("big.jpg", 10_608_645));
  await assert.rejects(big.promise, { code: "too_large", message: "This file is too big (the limit is 10 MB)." });
  const tiff = uploader.upload(file("scan.tif", 100, "image/tiff"));
  await assert.rejects(tiff.promise, { code: "unsupported_format", message: "This kind of file is not accepted (use JPEG or PNG)." });
  assert.equal(server.fetches.length, 0, "no request at all");
  assert.deepEqual(seen.map((s) => s.name), ["failed", "failed"]);
});

test("the storage POST carries no credentials and none of the app's headers", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options({ headers: { Authorization: "Bearer app-secret" }, csrfToken: "csrf-1" }));
  await uploader.upload(file()).promise;
  const presign = server.fetches.find((f) => f.init.method === "POST");
  assert.equal(presign.init.headers.Authorization, "Bearer app-secret", "the app gets its headers");
  assert.equal(presign.init.headers["X-CSRFToken"], "csrf-1");
  const xhr = server.xhrs[0];
  assert.equal(xhr.sentWithCredentials, false, "withCredentials=false");
  assert.deepEqual(xhr.headers, {}, "no header of the app");
  assert.equal(xhr.url, "http://storage.test/bucket/");
});

test("a file cancelled while waiting for a slot is never POSTed", async () => {
  const server = new FakeServer();
  server.storageMode = "hang";
  const uploader = createUploader(server.options({ concurrency: 1 }));
  const [first, second] = uploader.uploadMany([file("a.jpg"), file("b.jpg")]);
  await until(() => server.xhrs.length === 1 && second.id, 500, "the first POST");
  second.cancel();
  first.cancel();
  await Promise.allSettled([first.promise, second.promise]);
  await tick(10);
  assert.equal(server.xhrs.length, 1);
});

test("follow() picks up an upload made before a reload: snapshot, then its push, on the shared socket", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options());
  const made = server.answer({ filename: "earlier.jpg", content_type: "image/jpeg", size: 10 });
  server.push(made.id, "processing");
  const seen = recorder(uploader.target, STAGES);
  const handle = uploader.follow({ id: made.id, token: made.subscribe.token, filename: "earlier.jpg", status: "processing" });
  assert.equal(handle.id, made.id);
  await until(() => server.sockets[0]?.subscribed.has(made.id), 500, "subscribed");
  server.push(made.id, "completed", { variants: [{ name: "thumb", url: "https://cdn.test/e.webp" }] });
  const event = await handle.promise;
  assert.equal(event.status, "completed");
  assert.deepEqual(seen.map((s) => s.name), ["processing", "completed"]);
  assert.equal(seen[1].detail.file.name, "earlier.jpg");
  assert.equal(server.xhrs.length, 0, "nothing is sent to storage again");
});
