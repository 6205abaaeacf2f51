// The shared connection on its own: seq de-duplication, resubscribe and
// catch-up after a reconnect, clamped reconnect delays, ping replacement,
// errors naming an id, and the long-poll fallback.
import assert from "node:assert/strict";
import { test } from "node:test";

import { settings } from "../../realtime_uploads/static/realtime_uploads/config.js";
import { Connection } from "../../realtime_uploads/static/realtime_uploads/socket.js";
import { FAST, FakeServer, SOCKET_URL, until, tick } from "./fakes.mjs";

function connect(server, extra = {}) {
  const states = [];
  const cfg = settings({ ...FAST, ...extra });
  const connection = new Connection({
    ...cfg,
    url: SOCKET_URL,
    WebSocket: "WebSocket" in extra ? extra.WebSocket : server.WebSocket,
    fetch: server.fetch,
    onState: (state, info) => states.push({ state, ...info }),
  });
  return { connection, states };
}

function follow(connection, server, answer) {
  const events = [];
  const errors = [];
  connection.subscribe({
    id: answer.id,
    token: answer.subscribe.token,
    statusUrl: answer.status_url,
    onEvent: (e) => events.push(e),
    onError: (e) => errors.push(e),
  });
  return { events, errors };
}

test("events whose seq is not newer than the last seen are dropped", async () => {
  const server = new FakeServer();
  const { connection } = connect(server);
  const answer = server.answer({ filename: "a.jpg" });
  const { events } = follow(connection, server, answer);
  await until(() => events.length === 1, 500, "snapshot");
  const ws = server.sockets[0];
  const processing = server.push(answer.id, "processing"); // seq 2
  await until(() => events.length === 2, 500, "processing");
  ws.deliver(processing); // a repeat
  ws.deliver({ ...processing, seq: 1, status: "pending" }); // an older one, arriving late
  ws.deliver({ ...processing, seq: "3" }); // not an integer
  await tick(5);
  assert.deepEqual(events.map((e) => [e.seq, e.status]), [[1, "pending"], [2, "processing"]]);
  server.push(answer.id, "completed");
  await until(() => events.length === 3, 500, "completed");
  assert.equal(events[2].seq, 3);
});

test("after a reconnect every subscription is sent again and the snapshots catch up", async () => {
  const server = new FakeServer();
  const { connection, states } = connect(server);
  const a = server.answer({ filename: "a.jpg" });
  const b = server.answer({ filename: "b.jpg" });
  const fa = follow(connection, server, a);
  const fb = follow(connection, server, b);
  await until(() => fa.events.length === 1 && fb.events.length === 1, 500, "snapshots");
  server.sockets[0].drop(1006); // the server restarts...
  server.push(a.id, "processing"); // ...and a change happens while nobody listens
  await until(() => server.sockets.length === 2 && server.sockets[1].readyState === 1, 1000, "a new socket");
  const subscribes = server.sockets[1].sent.filter((m) => m.type === "subscribe");
  assert.deepEqual(subscribes.map((m) => [m.id, m.token]).sort(), [[a.id, a.subscribe.token], [b.id, b.subscribe.token]].sort());
  await until(() => fa.events.length === 2, 500, "catch-up");
  assert.equal(fa.events[1].status, "processing");
  assert.equal(fb.events.length, 1, "b's unchanged snapshot is not delivered twice");
  assert.deepEqual(states.map((s) => s.state), ["connecting", "open", "reconnecting", "open"]);
  connection.unsubscribe(a.id);
  connection.unsubscribe(b.id);
  assert.equal(connection.state, "closed");
});

test("reconnect delays grow, stay within the clamp and reset after an open", async () => {
  const server = new FakeServer();
  const { connection, states } = connect(server);
  follow(connection, server, server.answer({ filename: "a.jpg" }));
  await until(() => connection.state === "open", 500, "open");
  server.socketMode = "refuse";
  server.sockets[0].drop();
  await until(() => server.sockets.length >= 7, 2000, "several attempts");
  const retries = states.filter((s) => s.delay !== undefined);
  assert.deepEqual(retries.map((s) => s.attempt).slice(0, 6), [1, 2, 3, 4, 5, 6]);
  for (const { attempt, delay } of retries) {
    const { minDelay, maxDelay, factor } = FAST.reconnect;
    const base = Math.min(maxDelay, minDelay * factor ** (attempt - 1));
    const low = Math.max(minDelay, Math.floor(base * 0.9));
    const high = Math.min(maxDelay, Math.ceil(base * 1.1));
    assert.ok(delay >= low && delay <= high, `attempt ${attempt}: ${delay} ms not in [${low}, ${high}]`);
  }
  assert.equal(retries[0].state, "reconnecting");
  server.socketMode = "open";
  await until(() => connection.state === "open", 1000, "open again");
  assert.equal(connection.attempts, 0);
  connection.close();
});

test("a socket that stops answering pings is replaced", async () => {
  const server = new FakeServer();
  const { connection } = connect(server, { pingInterval: 15 });
  const answer = server.answer({ filename: "a.jpg" });
  follow(connection, server, answer);
  await until(() => connection.state === "open", 500, "open");
  await tick(50);
  assert.equal(server.sockets.length, 1, "a socket that answers is kept");
  assert.ok(server.sockets[0].sent.filter((m) => m.type === "ping").length >= 2);
  server.answerPings = false; // half-open: the socket looks fine but nothing comes back
  await until(() => server.sockets.length === 2, 500, "a replacement");
  server.answerPings = true;
  await until(() => server.sockets[1].subscribed.has(answer.id), 500, "resubscribed");
  connection.unsubscribe(answer.id);
});

test("no socket opening in time falls back to long-polling status_url with token, since and wait", async () => {
  const server = new FakeServer();
  server.socketMode = "never";
  const { connection, states } = connect(server);
  const answer = server.answer({ filename: "a.jpg" });
  const { events } = follow(connection, server, answer);
  await until(() => connection.state === "polling", 500, "polling");
  assert.deepEqual(states.map((s) => s.state), ["connecting", "polling"]);
  await until(() => events.length === 1, 500, "snapshot by GET");
  server.push(answer.id, "processing");
  server.push(answer.id, "completed");
  await until(() => events.at(-1)?.status === "completed", 1000, "completed by long-poll");
  const gets = server.fetches.map((f) => new URL(f.url));
  assert.equal(gets[0].pathname, `/api/uploads/${answer.id}/`);
  assert.equal(gets[0].searchParams.get("token"), answer.subscribe.token);
  assert.equal(gets[0].searchParams.get("since"), "0");
  assert.equal(gets[0].searchParams.get("wait"), "1");
  assert.equal(gets[1].searchParams.get("since"), "1");
  const count = server.fetches.length;
  await tick(30);
  assert.equal(server.fetches.length, count, "no more requests after the terminal event");
});

test("no WebSocket at all polls at once", async () => {
  const server = new FakeServer();
  const { connection } = connect(server, { WebSocket: undefined });
  const { events } = follow(connection, server, server.answer({ filename: "a.jpg" }));
  assert.equal(connection.state, "polling");
  await until(() => events.length === 1, 500, "snapshot");
  connection.close();
});

test("an error naming the id ends that subscription only; other codes move it to long-poll", async () => {
  const server = new FakeServer();
  const { connection } = connect(server);
  const good = server.answer({ filename: "a.jpg" });
  const forged = { ...server.answer({ filename: "b.jpg" }) };
  forged.subscribe = { ...forged.subscribe, token: "forged" };
  const g = follow(connection, server, good);
  const f = follow(connection, server, forged);
  await until(() => f.errors.length === 1, 500, "the refusal");
  assert.equal(f.errors[0].code, "forbidden");
  assert.equal(g.events.length, 1, "the other subscription goes on");
  // A cap on subscriptions per socket: that id is followed by long-poll instead.
  server.sockets[0].deliver({ type: "error", id: good.id, error: { code: "too_many_subscriptions", message: "cap" } });
  await tick(5);
  server.push(good.id, "completed");
  await until(() => g.events.at(-1)?.status === "completed", 1000, "completed by long-poll");
  assert.ok(server.fetches.some((x) => x.url.includes(good.id)));
});
