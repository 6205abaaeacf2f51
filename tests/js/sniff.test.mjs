// resolveType(): the first bytes, then the browser's type, then the name, then octet-stream;
// and what the presign request and the client-side limits do with it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { checkLimits, createUploader, resolveType, sniffType, typeFromName } from "../../realtime_uploads/static/realtime_uploads/index.js";
import { FakeServer, recorder } from "./fakes.mjs";

const bytes = (...parts) => {
  const out = [];
  for (const part of parts) {
    if (typeof part === "string") for (const c of part) out.push(c.charCodeAt(0));
    else out.push(...part);
  }
  return new Uint8Array(out);
};
const u32 = (n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
/** An ISO-BMFF file's start: the ftyp box (size, "ftyp", major, minor version 0, compatible brands), then an mdat. */
const ftyp = (major, ...compatible) => bytes(u32(16 + 4 * compatible.length), "ftyp", major, u32(0), ...compatible, u32(8), "meta");
const pad = (head, size = 200) => {
  const out = new Uint8Array(Math.max(size, head.length));
  out.set(head);
  return out;
};
const fileOf = (head, name, type) => new File([pad(head)], name, { type });

const SIGNATURES = {
  "image/jpeg": bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0x10], "JFIF"),
  "image/png": bytes([0x89], "PNG", [0x0d, 0x0a, 0x1a, 0x0a], u32(13), "IHDR"),
  "image/gif": bytes("GIF89a", [1, 0, 1, 0]),
  "image/webp": bytes("RIFF", [0x24, 0, 0, 0], "WEBPVP8 "),
  "image/avif": ftyp("avif", "mif1", "miaf", "MA1B"),
  "image/heic": ftyp("heic", "mif1", "heic"),
  "image/heif": ftyp("mif1", "mif1"),
};

test("sniffType recognises each signature, and nothing else", () => {
  for (const [type, head] of Object.entries(SIGNATURES)) assert.equal(sniffType(head), type, type);
  assert.equal(sniffType(bytes("GIF87a", [1, 0])), "image/gif");
  assert.equal(sniffType(bytes("RIFF", [0, 0, 0, 0], "WAVEfmt ")), null, "a RIFF that is not WebP");
  assert.equal(sniffType(ftyp("isom", "isom", "mp41")), null, "an MP4 is an ftyp box but not an image");
  assert.equal(sniffType(bytes("%PDF-1.7")), null);
  assert.equal(sniffType(bytes([0xff, 0xd8])), null, "too short for JPEG");
  assert.equal(sniffType(new Uint8Array(0)), null);
  assert.equal(sniffType(new Uint8Array(64)), null, "zeros");
});

test("ISO-BMFF brands: AVIF over HEIC over plain HEIF, from the major or a compatible brand", () => {
  assert.equal(sniffType(ftyp("avis", "avis", "msf1")), "image/avif", "an AVIF sequence");
  assert.equal(sniffType(ftyp("mif1", "mif1", "avif")), "image/avif", "AVIF among the compatible brands");
  for (const brand of ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"]) {
    assert.equal(sniffType(ftyp(brand, "mif1")), "image/heic", brand);
    assert.equal(sniffType(ftyp("mif1", "mif1", brand)), "image/heic", `mif1 with ${brand}`);
  }
  assert.equal(sniffType(ftyp("msf1", "msf1", "iso8")), "image/heif", "an image sequence of no more specific brand");
  assert.equal(sniffType(ftyp("mif1")), "image/heif", "mif1 alone");
  assert.equal(sniffType(ftyp("isom", "mif1")), "image/heif", "mif1 as a compatible brand of a generic major");
  // An iPhone's box: heic, minor 0, mif1 MiHE MiPr miaf MiHB heic (40 bytes, within the 64 read).
  assert.equal(sniffType(ftyp("heic", "mif1", "MiHE", "MiPr", "miaf", "MiHB", "heic")), "image/heic");
  // Brands past the box's declared size belong to the next box, not to ftyp.
  const short = bytes(u32(16), "ftyp", "isom", u32(0), u32(12), "avif", "xxxx");
  assert.equal(sniffType(short), null);
});

test("typeFromName maps the extensions, case-insensitive", () => {
  const names = { "a.jpg": "image/jpeg", "b.JPEG": "image/jpeg", "c.png": "image/png", "d.gif": "image/gif",
    "e.webp": "image/webp", "f.AVIF": "image/avif", "IMG_0001.HEIC": "image/heic", "g.heif": "image/heif" };
  for (const [name, type] of Object.entries(names)) assert.equal(typeFromName(name), type, name);
  for (const name of ["notes.txt", "heic", "scan.tif", "", "archive.heic.zip"]) assert.equal(typeFromName(name), null, name);
});

test("resolveType: HEIC bytes with an empty or generic type are image/heic", async () => {
  for (const type of ["", "application/octet-stream"]) {
    assert.equal(await resolveType(fileOf(SIGNATURES["image/heic"], "IMG_0001.HEIC", type)), "image/heic", JSON.stringify(type));
    assert.equal(await resolveType(fileOf(SIGNATURES["image/heic"], "photo", type)), "image/heic", "no extension either");
  }
});

test("resolveType: the bytes win over a wrong browser type and a wrong name", async () => {
  assert.equal(await resolveType(fileOf(SIGNATURES["image/png"], "photo.jpg", "image/jpeg")), "image/png");
  assert.equal(await resolveType(fileOf(SIGNATURES["image/avif"], "photo.heic", "image/heic")), "image/avif");
  assert.equal(await resolveType(fileOf(SIGNATURES["image/jpeg"], "scan.tif", "image/tiff")), "image/jpeg");
});

test("resolveType: unknown bytes fall back to the browser's type, then the extension, then octet-stream", async () => {
  const unknown = bytes("not an image at all");
  assert.equal(await resolveType(fileOf(unknown, "scan.tif", "image/tiff")), "image/tiff", "the browser's type");
  assert.equal(await resolveType(fileOf(unknown, "scan.tif", "IMAGE/TIFF")), "image/tiff", "lower-cased");
  assert.equal(await resolveType(fileOf(unknown, "IMG_0002.HEIC", "")), "image/heic", "the extension");
  assert.equal(await resolveType(fileOf(unknown, "pic.Webp", "application/octet-stream")), "image/webp");
  assert.equal(await resolveType(fileOf(unknown, "notes.txt", "")), "application/octet-stream");
  assert.equal(await resolveType(new File([], "empty.png", { type: "" })), "image/png", "an empty file");
});

test("resolveType never rejects: an unreadable file or an object without slice is judged by type and name", async () => {
  const unreadable = { name: "x.heic", type: "", size: 10, slice: () => ({ arrayBuffer: () => Promise.reject(new Error("gone")) }) };
  assert.equal(await resolveType(unreadable), "image/heic");
  assert.equal(await resolveType({ name: "y.jpg" }), "image/jpeg");
  assert.equal(await resolveType(null), "application/octet-stream");
});

test("checkLimits judges the type it is given, else file.type", () => {
  const limits = { contentTypes: ["image/jpeg", "image/heic"] };
  const heic = fileOf(SIGNATURES["image/heic"], "IMG.HEIC", "");
  assert.equal(checkLimits(heic, limits)?.code, "unsupported_format", "file.type is empty");
  assert.equal(checkLimits(heic, limits, undefined, "image/heic"), null);
  const png = fileOf(SIGNATURES["image/png"], "renamed.jpg", "image/jpeg");
  assert.equal(checkLimits(png, limits, undefined, "image/png")?.code, "unsupported_format");
});

test("the presign asks for the resolved type, one file and a batch; the storage POST sends the fields verbatim", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options());
  const seen = recorder(uploader.target, ["before-upload"]);
  const heic = fileOf(SIGNATURES["image/heic"], "IMG_0001.HEIC", "");
  const handle = uploader.upload(heic);
  await handle.promise;
  assert.equal(handle.contentType, "image/heic");
  assert.equal(server.fetches[0].body.content_type, "image/heic");
  assert.equal(seen[0].detail.contentType, "image/heic");
  const fields = Object.fromEntries(server.xhrs[0].form.filter(([name]) => name !== "file"));
  assert.deepEqual(fields, { key: `uploads/${handle.id}/IMG_0001.HEIC`, policy: "p0l1cy" });
  assert.deepEqual(server.xhrs[0].form.map(([name]) => name), ["key", "policy", "file"], "file last, no field added");

  const handles = uploader.uploadMany([
    fileOf(SIGNATURES["image/avif"], "a.avif", "application/octet-stream"),
    fileOf(SIGNATURES["image/png"], "b.jpg", "image/jpeg"),
    fileOf(bytes("????"), "c.jpg", "image/jpeg"),
  ]);
  await Promise.all(handles.map((h) => h.promise));
  const batch = server.fetches.find((f) => f.url.endsWith("/batch/"));
  assert.deepEqual(batch.body.files.map((f) => f.content_type), ["image/avif", "image/png", "image/jpeg"]);
});

test("the client-side refusal judges the resolved type: allowed HEIC bytes pass, PNG bytes named .jpg do not", async () => {
  const server = new FakeServer();
  const uploader = createUploader(server.options({ limits: { contentTypes: ["image/jpeg", "image/heic"] } }));
  const heic = uploader.upload(fileOf(SIGNATURES["image/heic"], "IMG.HEIC", "application/octet-stream"));
  await heic.promise;
  const png = uploader.upload(fileOf(SIGNATURES["image/png"], "renamed.jpg", "image/jpeg"));
  await assert.rejects(png.promise, { code: "unsupported_format", message: "This kind of file is not accepted (use JPEG or HEIC)." });
  assert.equal(server.fetches.filter((f) => f.init.method === "POST").length, 1, "no presign for the refused file");
});
