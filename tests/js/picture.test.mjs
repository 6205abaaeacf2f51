// pictureFor() / pictureHTML(): the <picture> of a completed event, by the rules at the top of
// picture.js (contract 0.2), built with a minimal fake document in node.
import assert from "node:assert/strict";
import { test } from "node:test";

import { pictureFor, pictureHTML, safeUrl, srcsetFor } from "../../realtime_uploads/static/realtime_uploads/index.js";

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };

/** Just what pictureFor may use: createElement, setAttribute, append; outerHTML to look at the result. */
class FakeElement {
  constructor(tagName) {
    this.tagName = tagName.toUpperCase();
    this.attributes = new Map();
    this.children = [];
  }
  setAttribute(name, value) {
    assert.equal(typeof value, "string", `${name} is set as a string`);
    this.attributes.set(name, value);
  }
  getAttribute(name) {
    return this.attributes.get(name) ?? null;
  }
  append(...nodes) {
    this.children.push(...nodes);
  }
  get outerHTML() {
    const tag = this.tagName.toLowerCase();
    const attrs = [...this.attributes].map(([k, v]) => ` ${k}="${v.replace(/[&<>"']/g, (c) => ESC[c])}"`).join("");
    const inner = this.children.map((c) => c.outerHTML).join("");
    return tag === "source" || tag === "img" ? `<${tag}${attrs}>` : `<${tag}${attrs}>${inner}</${tag}>`;
  }
}
const fakeDocument = { createElement: (tag) => new FakeElement(tag) };

const M = "/media/variants/0b5e/";
const f = (format, url, size = 1000) => ({ format, type: `image/${format.toLowerCase()}`, size, url });
/** A 0.2 event as the contract's defaults make it: thumb [AVIF, WEBP], large [AVIF, JPEG]. */
const EVENT = {
  type: "upload.status", id: "0b5e", status: "completed", seq: 4,
  placeholder: "15YCnZp3eHiIh3h3eIeHj49394h3", color: "#336699",
  variants: [
    { name: "thumb", width: 320, height: 240, format: "WEBP", size: 10422, url: `${M}thumb.webp`, animated: false,
      formats: [f("AVIF", `${M}thumb.avif`), f("WEBP", `${M}thumb.webp`)] },
    { name: "large", width: 1280, height: 960, format: "JPEG", size: 90000, url: `${M}large.jpg`, animated: false,
      formats: [f("AVIF", `${M}large.avif`), f("JPEG", `${M}large.jpg`)] },
  ],
};
const SIZES = "(max-width: 40rem) 100vw, 40rem";

test("the contract's example: an AVIF source over both variants, the fallbacks in the img's srcset", () => {
  assert.equal(
    pictureHTML(EVENT, { sizes: SIZES, alt: "Beach", className: "photo" }),
    '<picture class="photo">'
      + `<source type="image/avif" srcset="${M}thumb.avif 320w, ${M}large.avif 1280w" sizes="${SIZES}">`
      + `<img src="${M}large.jpg" srcset="${M}thumb.webp 320w, ${M}large.jpg 1280w" sizes="${SIZES}" width="1280" height="960"`
      + ' alt="Beach" loading="lazy" decoding="async" style="background-color: #336699">'
      + "</picture>",
  );
});

test("pictureFor builds the same elements with the given document", () => {
  const picture = pictureFor(EVENT, { sizes: SIZES, alt: "Beach", className: "photo", document: fakeDocument });
  assert.equal(picture.tagName, "PICTURE");
  assert.deepEqual(picture.children.map((c) => c.tagName), ["SOURCE", "IMG"]);
  const img = picture.children[1];
  assert.equal(img.getAttribute("src"), `${M}large.jpg`);
  assert.equal(img.getAttribute("loading"), "lazy");
  assert.equal(picture.outerHTML, pictureHTML(EVENT, { sizes: SIZES, alt: "Beach", className: "photo" }));
  // Without sizes, alt or className: no sizes attribute, alt="", no class.
  const plain = pictureFor(EVENT, { document: fakeDocument });
  assert.equal(plain.getAttribute("class"), null);
  assert.equal(plain.children[0].getAttribute("sizes"), null);
  assert.equal(plain.children[1].getAttribute("alt"), "");
  assert.equal(plain.children[1].getAttribute("sizes"), null);
});

test("pictureFor uses globalThis.document by default, and says so when there is none", () => {
  assert.throws(() => pictureFor(EVENT), { name: "TypeError", message: /needs a document/ });
  globalThis.document = fakeDocument;
  try {
    assert.equal(pictureFor(EVENT).outerHTML, pictureHTML(EVENT));
  } finally {
    delete globalThis.document;
  }
});

test("a source only for a format every chosen variant has, in the first variant's order, never the common fallback", () => {
  const event = (...lists) => ({
    variants: lists.map((formats, i) => ({ name: `v${i}`, width: 100 * (i + 1), height: 50 * (i + 1),
      format: formats.at(-1), url: `/v${i}.${formats.at(-1).toLowerCase()}`,
      formats: formats.map((name) => f(name, `/v${i}.${name.toLowerCase()}`)) })),
  });
  const types = (e) => pictureFor(e, { document: fakeDocument }).children.slice(0, -1).map((s) => s.getAttribute("type"));
  assert.deepEqual(types(event(["AVIF", "WEBP"], ["AVIF", "WEBP"])), ["image/avif"], "WEBP is every variant's fallback");
  assert.deepEqual(types(event(["AVIF", "WEBP"], ["WEBP", "JPEG"])), ["image/webp"], "AVIF is not in v1; WEBP is not v1's fallback");
  assert.deepEqual(types(event(["AVIF", "WEBP", "JPEG"], ["WEBP", "AVIF", "JPEG"])), ["image/avif", "image/webp"], "v0's order");
  assert.deepEqual(types(event(["WEBP"], ["AVIF", "JPEG"])), [], "nothing in common");
  const webp = pictureFor(event(["AVIF", "WEBP"], ["WEBP", "JPEG"]), { document: fakeDocument }).children[0];
  assert.equal(webp.getAttribute("srcset"), "/v0.webp 100w, /v1.webp 200w");
});

test("options.variants chooses by name, always in the event's order; the widest gives src, width and height", () => {
  const thumb = pictureHTML(EVENT, { variants: ["thumb"] });
  assert.equal(thumb, `<picture><source type="image/avif" srcset="${M}thumb.avif 320w"><img src="${M}thumb.webp"`
    + ` srcset="${M}thumb.webp 320w" width="320" height="240" alt="" loading="lazy" decoding="async"`
    + ' style="background-color: #336699"></picture>');
  assert.equal(pictureHTML(EVENT, { variants: ["large", "thumb"] }), pictureHTML(EVENT));
  assert.equal(pictureHTML(EVENT, { variants: ["nope"] }), null);
  // The widest variant, wherever it is in the list, gives src; srcset keeps the event's order.
  const reversed = { ...EVENT, variants: [...EVENT.variants].reverse() };
  const img = pictureFor(reversed, { document: fakeDocument }).children.at(-1);
  assert.equal(img.getAttribute("src"), `${M}large.jpg`);
  assert.equal(img.getAttribute("srcset"), `${M}large.jpg 1280w, ${M}thumb.webp 320w`);
  assert.deepEqual([img.getAttribute("width"), img.getAttribute("height")], ["1280", "960"]);
});

test("an old event without formats: no source, the variants' files in the img's srcset, no colour", () => {
  const old = { status: "completed", variants: [
    { name: "thumb", width: 320, height: 240, format: "WEBP", size: 9000, url: "https://cdn.test/t.webp" },
    { name: "large", width: 1280, height: 960, format: "WEBP", size: 80000, url: "https://cdn.test/l.webp" },
  ] };
  assert.equal(pictureHTML(old), '<picture><img src="https://cdn.test/l.webp" srcset="https://cdn.test/t.webp 320w, '
    + 'https://cdn.test/l.webp 1280w" width="1280" height="960" alt="" loading="lazy" decoding="async"></picture>');
  const mixed = { variants: [old.variants[0], { ...old.variants[1], format: "JPEG", url: "/l.jpg" }] };
  assert.equal(pictureFor(mixed, { document: fakeDocument }).children.length, 1, "WEBP and JPEG: nothing in common");
  const oneOldOneNew = { variants: [old.variants[0], EVENT.variants[1]] };
  assert.equal(pictureFor(oneOldOneNew, { document: fakeDocument }).children.length, 1, "the old variant has no AVIF");
});

test("unsafe URLs are dropped: a format whose URL is unsafe does not count, a variant whose fallback is unsafe is left out", () => {
  const withUrl = (i, url, formatIndex = null) => {
    const event = structuredClone(EVENT);
    const v = event.variants[i];
    if (formatIndex === null) v.url = url;
    else v.formats[formatIndex].url = url;
    return event;
  };
  for (const bad of ["javascript:alert(1)", "JavaScript:alert(1)", "java\tscript:alert(1)", " javascript:alert(1)",
    "data:image/avif;base64,AAAA", "blob:https://app.test/1", "vbscript:x", "/a b.avif 9000w, /evil.avif"]) {
    const html = pictureHTML(withUrl(0, bad, 0));
    assert.ok(!html.includes("<source"), `${bad}: thumb has no safe AVIF, so no source`);
    assert.ok(!html.includes(bad.trim()), bad);
    const dropped = pictureHTML(withUrl(1, bad));
    assert.ok(!dropped.includes(bad.trim()) && !dropped.includes("large"), `${bad}: large is left out`);
    assert.ok(dropped.includes(`src="${M}thumb.webp"`), "thumb stays");
  }
  const none = { variants: [{ name: "x", width: 10, height: 10, format: "WEBP", url: "javascript:alert(1)" }] };
  assert.equal(pictureHTML(none), null);
  assert.equal(pictureFor(none, { document: fakeDocument }), null);
  for (const good of ["https://cdn.test/a.webp", "HTTP://cdn.test/a.webp", "//cdn.test/a.webp", "/media/a.webp", "a/b.webp", "a.webp?x=1&y=2"]) {
    assert.equal(safeUrl(good), good, good);
  }
  for (const bad of [null, 42, "", "javascript:x", "a b", "x\n", "ftp://x/y"]) assert.equal(safeUrl(bad), null, String(bad));
});

test("values are escaped in the markup; a malformed colour or variant is ignored", () => {
  const html = pictureHTML({ ...EVENT, color: "red; background: url(x)" }, { alt: `"Tom & Jerry" <3 'n'` });
  assert.ok(html.includes(' alt="&quot;Tom &amp; Jerry&quot; &lt;3 &#x27;n&#x27;"'), html);
  assert.ok(!html.includes("style="), "no style from a colour that is not #rrggbb");
  assert.ok(pictureHTML(EVENT, { variants: ["thumb"], alt: "x" }).includes('src="/media/variants/0b5e/thumb.webp"'));
  const escaped = pictureHTML({ variants: [{ name: "t", width: 10, height: 10, format: "WEBP", url: '/a.webp?q="><script>' }] });
  assert.ok(escaped.includes('src="/a.webp?q=&quot;&gt;&lt;script&gt;"') && !escaped.includes("<script>"), escaped);
  for (const variants of [undefined, null, "x", [], [null], [{ name: "t", width: 0, format: "WEBP", url: "/a" }],
    [{ name: "t", width: 1.5, format: "WEBP", url: "/a" }], [{ width: 10, format: "WEBP", url: "/a" }],
    [{ name: "t", width: 10, format: "TIFF", url: "/a.tif" }]]) {
    assert.equal(pictureHTML({ variants }), null, JSON.stringify(variants));
  }
  assert.equal(pictureHTML(null), null);
  const noHeight = pictureHTML({ variants: [{ name: "t", width: 10, format: "PNG", url: "/a.png" }] });
  assert.ok(noHeight.includes('width="10" alt=""'), noHeight);
});

test("srcsetFor: one format's files, variants without it left out; default the fallbacks", () => {
  assert.equal(srcsetFor(EVENT.variants, "AVIF"), `${M}thumb.avif 320w, ${M}large.avif 1280w`);
  assert.equal(srcsetFor(EVENT.variants, "webp"), `${M}thumb.webp 320w`);
  assert.equal(srcsetFor(EVENT.variants), `${M}thumb.webp 320w, ${M}large.jpg 1280w`);
  assert.equal(srcsetFor([], "AVIF"), "");
  assert.equal(srcsetFor(undefined), "");
});
