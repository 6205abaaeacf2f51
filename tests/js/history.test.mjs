// Live history (uploader.followHistory): the socket asks {"type": "follow_history"} on every open, stays open
// with nothing else followed, and turns each upload.created of another tab into realtime-uploads:created,
// never one of this uploader's own uploads, even when the news comes before the presign answer.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createUploader } from "../../realtime_uploads/static/realtime_uploads/index.js";
import { FakeServer, file, recorder, tick, until } from "./fakes.mjs";

const created = (id, extra = {}) => ({
  type: "upload.created", id, status: "pending", seq: 1, variants: [], error: null,
  filename: "other-tab.jpg", created_at: "2026-12-08T02:00:00.000Z", token: `tok-${id}`, ...extra,
});
const asks = (ws) => ws.sent.filter((m) => m.type === "follow_history").length;

test("a created upload of another tab is announced, and the socket stays open for it", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options());
  const seen = recorder(uploader.target, ["created"]);
  const stop = uploader.followHistory();
  await until(() => server.sockets[0]?.readyState === 1, 500, "the socket to open");
  await until(() => asks(server.sockets[0]) === 1, 500, "follow_history");
  const other = server.answer({ filename: "other-tab.jpg" }); // presigned elsewhere
  server.sockets[0].deliver(created(other.id));
  await until(() => seen.length === 1, 500, "realtime-uploads:created");
  assert.equal(seen[0].detail.id, other.id);
  assert.equal(seen[0].detail.item.filename, "other-tab.jpg");
  assert.equal(uploader.state, "open");
  // The page follows it over the same socket.
  const event = uploader.follow(seen[0].detail.item);
  await until(() => server.sockets[0].subscribed.has(other.id), 500, "subscribe");
  server.process(other.id);
  assert.equal((await event.promise).status, "completed");
  assert.equal(server.sockets.length, 1);
  assert.equal(uploader.state, "open", "still open for the history once that upload is done");
  stop();
  assert.equal(uploader.state, "closed");
});

test("news of this uploader's own upload, even before its presign answer, is not announced", async () => {
  const server = new FakeServer();
  const base = server.fetch;
  let announced = null;
  // The server tells the socket before the presign answer reaches the page, as a real one may.
  const fetch = async (url, init) => {
    const answer = await base(url, init);
    if (init?.method === "POST") {
      announced = [...server.uploads.keys()].at(-1);
      server.sockets[0].deliver(created(announced, { filename: "cat.jpg" }));
      await tick(20);
    }
    return answer;
  };
  const uploader = createUploader(server.options({ fetch }));
  const seen = recorder(uploader.target, ["created"]);
  uploader.followHistory();
  await until(() => server.sockets[0]?.readyState === 1, 500, "the socket to open");
  const handle = uploader.upload(file());
  await handle.promise;
  assert.equal(handle.id, announced);
  await tick(30);
  assert.deepEqual(seen, []);
  uploader.close();
});

test("follow_history is asked again after a reconnect, and after a refusal once this tab has a session", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options());
  uploader.followHistory();
  await until(() => server.sockets[0]?.readyState === 1 && asks(server.sockets[0]) === 1, 500, "first ask");
  server.sockets[0].deliver({ type: "error", error: { code: "forbidden", message: "no session" } });
  await tick(5);
  // Its presign starts the session; the server reads it from a handshake only, so a new socket asks again.
  const handle = uploader.upload(file());
  await until(() => server.sockets[1]?.readyState === 1, 1000, "a new socket after this tab's presign");
  await until(() => asks(server.sockets[1]) === 1, 500, "asked on the new socket");
  assert.equal((await handle.promise).status, "completed", "the upload followed on the new socket");
  assert.equal(asks(server.sockets[0]), 1);
  server.sockets[1].drop();
  await until(() => server.sockets[2]?.readyState === 1, 1000, "the reconnect");
  await until(() => asks(server.sockets[2]) === 1, 500, "asked on the reconnected socket");
  uploader.close();
});
