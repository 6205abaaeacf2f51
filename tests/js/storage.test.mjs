// The storage POST: form layout, no credentials, retries on network errors only.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createUploader } from "../../realtime_uploads/static/realtime_uploads/index.js";
import { FakeServer, file, until } from "./fakes.mjs";

test("the form carries the presigned fields verbatim, then the file last", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options());
  await uploader.upload(file("cat.jpg")).promise;
  const names = server.xhrs[0].form.map(([name]) => name);
  assert.deepEqual(names, ["key", "policy", "file"]);
  assert.equal(server.xhrs[0].form[1][1], "p0l1cy");
  assert.equal(server.xhrs[0].method, "POST");
});

test("a network error is retried and the upload completes", async () => {
  const server = new FakeServer();
  server.storageMode = "network-error-once";
  const uploader = createUploader(server.options());
  const event = await uploader.upload(file()).promise;
  assert.equal(event.status, "completed");
  assert.equal(server.xhrs.length, 2);
  for (const xhr of server.xhrs) assert.equal(xhr.sentWithCredentials, false);
});

test("network errors give up after storageRetries with network_error", async () => {
  const server = new FakeServer();
  server.storageMode = "network-error";
  const uploader = createUploader(server.options({ storageRetries: 2 }));
  await assert.rejects(uploader.upload(file()).promise, { code: "network_error" });
  assert.equal(server.xhrs.length, 3);
});

test("a 4xx from storage is not retried and carries S3's code", async () => {
  const server = new FakeServer();
  server.storageMode = "403";
  const uploader = createUploader(server.options());
  await assert.rejects(uploader.upload(file()).promise, (error) => {
    assert.equal(error.code, "AccessDenied");
    assert.equal(error.status, 403);
    assert.equal(error.detail, "Policy expired");
    assert.match(error.message, /Storage refused/);
    return true;
  });
  await until(() => true);
  assert.equal(server.xhrs.length, 1);
});

test("a 4xx after a lost answer is left to the server's events (the first POST may have landed)", async () => {
  const server = new FakeServer();
  server.storageMode = "lost-answer"; // attempt 1 stored but seen as a network error; attempt 2: AccessDenied
  server.autoProcess = false;
  const uploader = createUploader(server.options());
  const event = await uploader.upload(file()).promise;
  assert.equal(event.status, "completed");
  assert.equal(server.xhrs.length, 2);
  assert.equal(server.xhrs[1].status, 403);
});
