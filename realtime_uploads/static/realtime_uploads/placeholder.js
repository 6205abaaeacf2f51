// The placeholder of a completed upload: `event.placeholder` (a base64
// ThumbHash of a few dozen bytes) as a tiny PNG data URL to show at once, and
// `event.color` (the dominant colour, "#rrggbb") to paint the space with,
// while the real variant image loads. Both are contract 0.2 (docs/contract.md).

import { thumbHashToRGBA, rgbaToDataURL } from "./thumbhash.js";

/** Longest ThumbHash accepted, bytes (the server sends at most 64 base64 characters, 48 bytes). */
const MAX_HASH_BYTES = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const COLOR = /^#[0-9a-f]{6}$/i;

/**
 * The ThumbHash bytes of `base64` (standard or URL-safe alphabet, padding optional), or null.
 * @param {unknown} base64
 * @returns {Uint8Array|null} null unless it decodes to 5..64 bytes (a ThumbHash's header is 5)
 */
export function thumbHashBytes(base64) {
  if (typeof base64 !== "string" || !base64) return null;
  let text = base64.replace(/-/g, "+").replace(/_/g, "/");
  if (text.length % 4) text += "=".repeat(4 - (text.length % 4));
  if (!BASE64.test(text)) return null;
  let binary;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  if (binary.length < 5 || binary.length > MAX_HASH_BYTES) return null;
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * The placeholder of a completed event as a PNG data URL (about 32 px on the long side,
 * the original's approximate aspect ratio): show it while the variant loads.
 * @param {{placeholder?: string|null}|null|undefined} event the `completed` event (or a history item)
 * @returns {string|null} "data:image/png;base64,..."; null when the event has no placeholder or a
 *   malformed one. Never throws.
 */
export function placeholderURL(event) {
  try {
    const hash = thumbHashBytes(event?.placeholder);
    if (!hash) return null;
    const { w, h, rgba } = thumbHashToRGBA(hash);
    if (!(w >= 1 && h >= 1)) return null; // a header claiming a 0 x n grid
    return rgbaToDataURL(w, h, rgba);
  } catch {
    return null;
  }
}

/**
 * The event's dominant colour when it is a valid "#rrggbb" (lower-cased), else null:
 * safe to put into a style attribute.
 * @param {{color?: string|null}|null|undefined} event
 * @returns {string|null}
 */
export function placeholderColor(event) {
  const color = event?.color;
  return typeof color === "string" && COLOR.test(color) ? color.toLowerCase() : null;
}
