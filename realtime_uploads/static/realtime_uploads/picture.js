// A <picture> for a completed upload: one <source> per modern format every
// chosen variant has, and an <img> with the fallback files as a `w` srcset.
// The server's template tag produces the same markup; both follow these rules
// (contract 0.2, "<picture>"):
//
// 1. Variants. Each variant of `event.variants` with a `name`, a positive
//    integer `width` (px) and a safe fallback URL (rule 5). Its formats are
//    `variant.formats`, in order of preference; an event without them (0.1)
//    has formats = [{format, url, size}] of the variant itself. A format is
//    named by `format` upper-cased ("JPG" is "JPEG"); its type is
//    image/avif, image/webp, image/jpeg, image/png or image/gif by that name,
//    else the entry's own `type` when it is "image/<subtype>"; an entry
//    without a type or without a safe URL does not count. The fallback is
//    the variant's own `url` and `format` (the last of formats, contract 0.2).
// 2. Chosen: `options.variants` (names) picks some of them, always in the
//    event's order, never in the option's; default all. None usable: no
//    <picture> at all (pictureFor and pictureHTML return null).
// 3. <source type="T" srcset="S" [sizes="Z"]>, one per format F that every
//    chosen variant has, except a format that is the fallback of every chosen
//    variant; in the order F appears in the first chosen variant's formats.
//    S = "<url of F> <width>w" for each chosen variant in order, joined ", ".
// 4. <img src srcset [sizes] width height alt loading="lazy" decoding="async"
//    [style]>: src is the fallback URL of the widest chosen variant (the first
//    of equal widths), srcset "<fallback url> <width>w" for each chosen
//    variant, joined ", ", width and height the widest's (height omitted when
//    it is not a positive integer), alt `options.alt` (default ""),
//    style="background-color: #rrggbb" only when `event.color` is exactly
//    "#" and six hex digits (written lower-case).
// 5. A safe URL has no ASCII whitespace or control character (so srcset
//    cannot be split, nor a scheme hidden) and is http:, https: (any case) or
//    relative (no scheme: "/media/…", "//cdn…", "a/b.webp"); anything else
//    (javascript:, data:, blob:, …) is dropped, never escaped into place.
// 6. Markup (pictureHTML): attributes in exactly the order above, sizes only
//    when `options.sizes` is a non-empty string, `class="…"` on <picture>
//    when `options.className` is; values escaped as Django's escape() does
//    (& < > " ' -> &amp; &lt; &gt; &quot; &#x27;); no "/>"; no whitespace
//    between elements: <picture><source …><img …></picture>.

import { placeholderColor } from "./placeholder.js";

/** Output format name -> MIME type. */
export const FORMAT_TYPES = Object.freeze({
  AVIF: "image/avif",
  WEBP: "image/webp",
  JPEG: "image/jpeg",
  PNG: "image/png",
  GIF: "image/gif",
});

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * `url` when it may go into src, srcset or href (rule 5 above), else null.
 * @param {unknown} url
 * @returns {string|null}
 */
export function safeUrl(url) {
  if (typeof url !== "string" || !url || /[\u0000-\u0020\u007f]/.test(url)) return null;
  const scheme = SCHEME.exec(url)?.[1].toLowerCase();
  return scheme === undefined || scheme === "http" || scheme === "https" ? url : null;
}

const formatName = (format) => {
  const name = String(format ?? "").toUpperCase();
  return name === "JPG" ? "JPEG" : name;
};

function formatEntry(entry) {
  const format = formatName(entry?.format);
  const typed = typeof entry?.type === "string" && /^image\/[a-z0-9.+-]+$/i.test(entry.type) ? entry.type.toLowerCase() : null;
  const type = FORMAT_TYPES[format] ?? typed;
  const url = safeUrl(entry?.url);
  return format && type && url ? { format, type, url } : null;
}

/**
 * Variants as pictureFor reads them (rule 1): {name, width, height, fallback, formats}, with
 * `formats` a Map of format name -> {format, type, url} in order of preference.
 * @param {Array<object>|undefined} variants an event's `variants`
 * @returns {Array<{name: string, width: number, height: number|null, fallback: {format: string, type: string, url: string}, formats: Map<string, object>}>}
 */
export function normaliseVariants(variants) {
  const out = [];
  for (const v of Array.isArray(variants) ? variants : []) {
    if (!v || typeof v.name !== "string" || !Number.isInteger(v.width) || v.width <= 0) continue;
    const fallback = formatEntry(v);
    if (!fallback) continue;
    const listed = Array.isArray(v.formats) && v.formats.length ? v.formats : [v];
    const formats = new Map();
    for (const entry of listed.map(formatEntry)) if (entry && !formats.has(entry.format)) formats.set(entry.format, entry);
    if (!formats.has(fallback.format)) formats.set(fallback.format, fallback);
    const height = Number.isInteger(v.height) && v.height > 0 ? v.height : null;
    out.push({ name: v.name, width: v.width, height, fallback, formats });
  }
  return out;
}

/**
 * A `w` srcset: "<url> <width>w, ..." over `variants` (an event's, or normalised ones).
 * @param {Array<object>} variants
 * @param {string} [format] "AVIF", "WEBP", ...: that format's files (variants without it are left
 *   out); default each variant's fallback file
 * @returns {string} "" when no variant has a usable file
 */
export function srcsetFor(variants, format) {
  const list = variants?.[0]?.formats instanceof Map ? variants : normaliseVariants(variants);
  const wanted = format === undefined ? null : formatName(format);
  return list
    .map((v) => [wanted ? v.formats.get(wanted)?.url : v.fallback.url, v.width])
    .filter(([url]) => url)
    .map(([url, width]) => `${url} ${width}w`)
    .join(", ");
}

/**
 * The parts of the <picture> for `event` (rules 1-4), for pictureFor, pictureHTML or a page's own markup.
 * @param {object} event a completed event (or history item)
 * @param {{sizes?: string, alt?: string, variants?: string[], className?: string}} [options]
 * @returns {{className: string|null, sources: Array<{type: string, srcset: string, sizes: string|null}>,
 *   img: {src: string, srcset: string, sizes: string|null, width: number, height: number|null, alt: string,
 *   loading: "lazy", decoding: "async", style: string|null}}|null} null when no variant is usable
 */
export function pictureParts(event, options = {}) {
  const names = Array.isArray(options.variants) ? new Set(options.variants.map(String)) : null;
  const chosen = normaliseVariants(event?.variants).filter((v) => !names || names.has(v.name));
  if (!chosen.length) return null;
  const sizes = typeof options.sizes === "string" && options.sizes ? options.sizes : null;
  const sources = [];
  for (const format of chosen[0].formats.keys()) {
    if (!chosen.every((v) => v.formats.has(format))) continue;
    if (chosen.every((v) => v.fallback.format === format)) continue;
    sources.push({ type: chosen[0].formats.get(format).type, srcset: srcsetFor(chosen, format), sizes });
  }
  const widest = chosen.reduce((best, v) => (v.width > best.width ? v : best));
  const color = placeholderColor(event);
  return {
    className: typeof options.className === "string" && options.className ? options.className : null,
    sources,
    img: {
      src: widest.fallback.url,
      srcset: srcsetFor(chosen),
      sizes,
      width: widest.width,
      height: widest.height,
      alt: typeof options.alt === "string" ? options.alt : "",
      loading: "lazy",
      decoding: "async",
      style: color ? `background-color: ${color}` : null,
    },
  };
}

// [name, value] in markup order, null values left out.
const sourceAttrs = (s) => [["type", s.type], ["srcset", s.srcset], ["sizes", s.sizes]].filter(([, v]) => v !== null);
const imgAttrs = (i) =>
  [["src", i.src], ["srcset", i.srcset], ["sizes", i.sizes], ["width", i.width], ["height", i.height], ["alt", i.alt],
    ["loading", i.loading], ["decoding", i.decoding], ["style", i.style]].filter(([, v]) => v !== null);

/**
 * An HTMLPictureElement for a completed `event` (rules at the top of picture.js).
 * @param {object} event the `completed` event (or a history item)
 * @param {{sizes?: string, alt?: string, variants?: string[], className?: string, document?: Document}} [options]
 *   `sizes` as the HTML attribute (default none: the browser assumes 100vw); `alt` the image's text
 *   alternative (""); `variants` names to use (all); `className` for the <picture>; `document` to build with
 * @returns {HTMLPictureElement|null} null when the event has no usable variant
 * @throws {TypeError} when there is no document to build with
 */
export function pictureFor(event, options = {}) {
  const doc = options.document ?? globalThis.document;
  if (!doc?.createElement) throw new TypeError("pictureFor needs a document: pass options.document outside a page.");
  const parts = pictureParts(event, options);
  if (!parts) return null;
  const element = (tag, attrs) => {
    const el = doc.createElement(tag);
    for (const [name, value] of attrs) el.setAttribute(name, String(value));
    return el;
  };
  const picture = element("picture", parts.className ? [["class", parts.className]] : []);
  picture.append(...parts.sources.map((s) => element("source", sourceAttrs(s))), element("img", imgAttrs(parts.img)));
  return picture;
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };
const escape = (value) => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
const tag = (name, attrs) => `<${name}${attrs.map(([k, v]) => ` ${k}="${escape(v)}"`).join("")}>`;

/**
 * The same <picture> as markup (rule 6), e.g. to compare with the server's template tag.
 * @param {object} event
 * @param {{sizes?: string, alt?: string, variants?: string[], className?: string}} [options]
 * @returns {string|null}
 */
export function pictureHTML(event, options = {}) {
  const parts = pictureParts(event, options);
  if (!parts) return null;
  const sources = parts.sources.map((s) => tag("source", sourceAttrs(s))).join("");
  return `${tag("picture", parts.className ? [["class", parts.className]] : [])}${sources}${tag("img", imgAttrs(parts.img))}</picture>`;
}

/** Every sentence guardImage shows, in one object a project can translate. */
export const imageMessages = {
  unavailable: "Image not available",
  retry: "Retry",
  retrying: "Loading…",
  retryLabel: (alt) => (alt ? `Retry loading ${alt}` : "Retry loading the image"),
};

const imgOf = (element) => (element?.tagName === "IMG" ? element : element?.querySelector?.("img"));

/**
 * A state for an image whose file does not load (a variant URL answering 404 after storage lost the file),
 * instead of the browser's broken-image icon. `element` is a <picture> or an <img>, in a page or not yet.
 *
 * `element.dataset.imageState` is "loading", then "loaded" or "broken". When broken the element is hidden
 * (inline `display: none`) and a `<span class="realtime-uploads-broken" data-image-state="broken">` after it
 * says `imageMessages.unavailable` with a Retry button (`imageMessages.retryLabel(alt)` its accessible
 * name), and `realtime-uploads:image-error` (detail `{element, src}`) bubbles from the element. Retry loads
 * the image again: a copy of `element` (the same URLs, loaded eagerly), or the element `options.retry()`
 * returns or resolves to (e.g. one built from a fresh status GET, when presigned URLs expired). The copy is
 * guarded in turn and takes the element's place once it has loaded; if it fails, a new Retry button
 * replaces the old one. Keyboard focus stays on Retry, or moves to the image once it loaded.
 * @param {HTMLElement} element a <picture> (as pictureFor makes) or an <img>
 * @param {{retry?: () => (HTMLElement|null|Promise<HTMLElement|null>), alt?: string}} [options]
 * @returns {HTMLElement} `element`
 */
export function guardImage(element, options = {}) {
  const img = imgOf(element);
  if (!img || element.realtimeUploadsGuarded) return element;
  element.realtimeUploadsGuarded = true;
  const doc = element.ownerDocument;
  const alt = options.alt ?? img.getAttribute("alt") ?? "";

  const retry = async (box, button) => {
    const hadFocus = doc.activeElement === button;
    button.disabled = true;
    button.textContent = imageMessages.retrying;
    let next = null;
    try {
      next = options.retry ? await options.retry() : null;
    } catch {
      next = null; // no fresh URLs: try the same ones again
    }
    next ??= element.cloneNode(true);
    delete next.dataset.imageState;
    next.style.display = "none";
    const nextImg = imgOf(next);
    if (nextImg) nextImg.loading = "eager"; // a lazy image that is not displayed would never load
    box.before(next);
    next.addEventListener("realtime-uploads:image-error", () => {
      box.remove();
      if (hadFocus) next.nextElementSibling?.querySelector("button")?.focus();
    }, { once: true });
    nextImg?.addEventListener("load", () => {
      box.remove();
      next.style.display = "";
      if (hadFocus) {
        nextImg.tabIndex = -1; // focus would otherwise fall back to the page's start
        nextImg.focus();
      }
    }, { once: true });
    element.remove();
    guardImage(next, options);
  };

  const broken = () => {
    if (element.dataset.imageState === "broken") return;
    element.dataset.imageState = "broken";
    element.style.display = "none";
    const box = doc.createElement("span");
    box.className = "realtime-uploads-broken";
    box.dataset.imageState = "broken";
    const words = doc.createElement("span");
    words.textContent = imageMessages.unavailable;
    const button = doc.createElement("button");
    button.type = "button";
    button.textContent = imageMessages.retry;
    button.setAttribute("aria-label", imageMessages.retryLabel(alt));
    button.addEventListener("click", () => retry(box, button));
    box.append(words, " ", button);
    element.after(box);
    element.dispatchEvent(new CustomEvent("realtime-uploads:image-error", {
      bubbles: true, detail: { element, src: img.currentSrc || img.src },
    }));
  };

  element.dataset.imageState = "loading";
  img.addEventListener("load", () => {
    element.dataset.imageState = "loaded";
  });
  img.addEventListener("error", broken);
  // It may have failed (or loaded) before this ran: a module script runs after the page's images started.
  if (img.complete && (img.currentSrc || img.getAttribute("src"))) {
    if (img.naturalWidth) element.dataset.imageState = "loaded";
    else broken();
  }
  return element;
}
