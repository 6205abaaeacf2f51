// placeholderURL(): the event's base64 ThumbHash as a PNG data URL, decoded by the vendored
// reference decoder; the PNG is read back here (node's zlib) to check its size and colours.
import assert from "node:assert/strict";
import { test } from "node:test";
import { inflateSync } from "node:zlib";

import {
  placeholderColor, placeholderURL, thumbHashToApproximateAspectRatio, thumbHashToAverageRGBA,
} from "../../realtime_uploads/static/realtime_uploads/index.js";

// Made once with thumbhash@0.1.1's own rgbaToThumbHash: a 40 x 30 image, left half rgb(200, 40, 40),
// right half rgb(40, 40, 200).
const SPLIT = "15YCnZp3eHiIh3h3eIeHj49394h3";
// The same, 40 x 30 solid rgb(230, 120, 20): its base64 has a "+", to try the URL-safe alphabet.
const ORANGE = "3twCBYB6eHl3iId3iId3j0+HeGCI";
const bytesOf = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** {width, height, pixel(x, y) -> [r, g, b, a]} of an 8-bit RGBA PNG data URL. */
function readPng(url) {
  assert.match(url, /^data:image\/png;base64,/);
  const png = Buffer.from(url.slice(url.indexOf(",") + 1), "base64");
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "PNG signature");
  let width = 0, height = 0;
  const idat = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString("latin1", at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual([data[8], data[9]], [8, 6], "8-bit RGBA");
    }
    if (type === "IDAT") idat.push(data);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4 + 1;
  assert.equal(raw.length, stride * height);
  return {
    width, height,
    pixel(x, y) {
      assert.equal(raw[y * stride], 0, "filter type none");
      const i = y * stride + 1 + x * 4;
      return [...raw.subarray(i, i + 4)];
    },
  };
}

test("placeholderURL decodes a real ThumbHash: a 32 x 23 PNG, red on the left, blue on the right", () => {
  const image = readPng(placeholderURL({ placeholder: SPLIT }));
  assert.equal(thumbHashToApproximateAspectRatio(bytesOf(SPLIT)), 1.4);
  assert.deepEqual([image.width, image.height], [32, 23], "32 on the long side, the 4:3 original's shape");
  const [lr, lg, lb, la] = image.pixel(2, 11);
  const [rr, rg, rb] = image.pixel(29, 11);
  assert.equal(la, 255, "opaque");
  assert.ok(lr > lb + 60 && lr > lg + 60, `left is red: ${[lr, lg, lb]}`);
  assert.ok(rb > rr + 60 && rb > rg + 60, `right is blue: ${[rr, rg, rb]}`);
});

test("the vendored decoder's average colour is the image's", () => {
  const close = (actual, expected, what) => assert.ok(Math.abs(actual * 255 - expected) < 12, `${what}: ${actual * 255} vs ${expected}`);
  const split = thumbHashToAverageRGBA(bytesOf(SPLIT));
  close(split.r, 120, "r"), close(split.g, 40, "g"), close(split.b, 120, "b");
  const orange = thumbHashToAverageRGBA(bytesOf(ORANGE));
  close(orange.r, 230, "r"), close(orange.g, 120, "g"), close(orange.b, 20, "b");
  assert.equal(orange.a, 1);
  const [r, g, b] = readPng(placeholderURL({ placeholder: ORANGE })).pixel(16, 11);
  assert.ok(Math.abs(r - 230) < 20 && Math.abs(g - 120) < 20 && Math.abs(b - 20) < 20, `the middle is orange: ${[r, g, b]}`);
});

test("base64 with or without padding, standard or URL-safe, decodes to the same placeholder", () => {
  const expected = placeholderURL({ placeholder: ORANGE });
  assert.equal(placeholderURL({ placeholder: ORANGE.replace("+", "-") }), expected);
  assert.equal(placeholderURL({ placeholder: "aXgdEhZ4cHiIiod2iI94CIg" }), placeholderURL({ placeholder: "aXgdEhZ4cHiIiod2iI94CIg=" }));
  const tall = readPng(placeholderURL({ placeholder: "aXgdEhZ4cHiIiod2iI94CIg=" })); // 20 x 60 original
  assert.ok(tall.height === 32 && tall.width < 12, `portrait: ${tall.width} x ${tall.height}`);
});

test("placeholderURL is null, never an exception, when the placeholder is absent or malformed", () => {
  const header = (b3, b4) => btoa(String.fromCharCode(0, 0, 0, b3, b4, 0, 0, 0));
  const bad = [undefined, null, {}, { placeholder: null }, { placeholder: "" }, { placeholder: 42 },
    { placeholder: "not base64!" }, { placeholder: "AAAA" } /* 3 bytes: shorter than a header */,
    { placeholder: "A".repeat(200) } /* 150 bytes: not a ThumbHash */, { placeholder: "15YC nZp3" },
    { placeholder: header(0, 0x80) } /* landscape with a 0-row grid: a 32 x 0 image */,
    { placeholder: header(0, 0) } /* portrait with a 0-column grid */,
    { get placeholder() { throw new Error("boom"); } }];
  bad.forEach((event, i) => assert.equal(placeholderURL(event), null, `case ${i}`));
});

test("placeholderColor passes only #rrggbb, lower-cased", () => {
  assert.equal(placeholderColor({ color: "#A0b1C2" }), "#a0b1c2");
  for (const color of [undefined, null, "", "red", "#abc", "#a0b1c2ff", "#a0b1c2; background: url(x)", "rgb(1,2,3)"]) {
    assert.equal(placeholderColor({ color }), null, String(color));
  }
  assert.equal(placeholderColor(null), null);
});
