// The type of a chosen file, judged from its first bytes before any request.
// Browsers often give a phone's HEIC photo an empty or generic type ("" or
// application/octet-stream), and some give a renamed file the type of its
// name: the presign request and the client-side limits use the type found
// here instead. The server looks at the bytes again after the upload; this
// only decides which content_type to ask for.
// Sources: the JPEG, PNG, GIF and RIFF/WebP signatures; ISO/IEC 14496-12
// (ISO-BMFF) `ftyp` box; brands from ISO/IEC 23008-12 (HEIF) and the AVIF spec.

/** Bytes read from the start of a file (`file.slice(0, SNIFF_BYTES)`). */
export const SNIFF_BYTES = 64;

/** Types a browser gives when it does not know: they never win over the bytes or the name. */
export const GENERIC_TYPES = new Set(["", "application/octet-stream", "binary/octet-stream", "application/unknown"]);

/**
 * File name extension (lower case, no dot) -> MIME type: the last resort after the bytes and the browser.
 * The server maps the same table for a generic type (realtime_uploads.core.formats.EXTENSION_CONTENT_TYPES).
 */
export const EXTENSION_TYPES = Object.freeze({
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jpe: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  heic: "image/heic",
  heics: "image/heic",
  heif: "image/heif",
  heifs: "image/heif",
  hif: "image/heif",
});

// ISO-BMFF brands, most specific first: AVIF, then the HEVC-coded HEIF family, then plain HEIF.
const AVIF_BRANDS = new Set(["avif", "avis"]);
const HEIC_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"]);
const HEIF_BRANDS = new Set(["mif1", "msf1"]);

const ascii = (bytes, start, end) => String.fromCharCode(...bytes.subarray(start, end));
const startsWith = (bytes, signature, at = 0) => signature.every((b, i) => bytes[at + i] === b);

function brandType(brand) {
  if (AVIF_BRANDS.has(brand)) return "image/avif";
  if (HEIC_BRANDS.has(brand)) return "image/heic";
  if (HEIF_BRANDS.has(brand)) return "image/heif";
  return null;
}

// ftyp box: size (u32 BE), "ftyp", major brand, minor version (u32), compatible brands (4 bytes each).
// A specific major brand decides; else the most specific compatible brand; mif1/msf1 alone mean HEIF.
function ftypType(bytes) {
  const declared = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  // size 0 means "to the end of the file" and 1 a 64-bit size: read what we have.
  const end = Math.min(bytes.length, declared >= 16 ? declared : bytes.length);
  const major = ascii(bytes, 8, 12);
  const compatible = [];
  for (let at = 16; at + 4 <= end; at += 4) compatible.push(ascii(bytes, at, at + 4));
  const majorType = brandType(major);
  if (majorType === "image/avif" || majorType === "image/heic") return majorType;
  for (const wanted of ["image/avif", "image/heic", "image/heif"]) {
    if (majorType === wanted || compatible.some((brand) => brandType(brand) === wanted)) return wanted;
  }
  return null;
}

/**
 * The image type the first bytes of a file announce, or null when they are none of
 * JPEG, PNG, GIF87a/89a, WebP (RIFF....WEBP) or an ISO-BMFF image (AVIF, HEIC, HEIF).
 * @param {Uint8Array|ArrayBuffer} head the first bytes ({@link SNIFF_BYTES} are enough)
 * @returns {string|null} "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/heic", "image/heif"
 */
export function sniffType(head) {
  const bytes = head instanceof Uint8Array ? head : new Uint8Array(head ?? []);
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a")) return "image/gif";
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "image/webp";
  if (bytes.length >= 12 && ascii(bytes, 4, 8) === "ftyp") return ftypType(bytes);
  return null;
}

/**
 * The type a file name's extension stands for (case-insensitive), or null.
 * @param {string} name "IMG_0001.HEIC"
 * @returns {string|null}
 */
export function typeFromName(name) {
  const match = /\.([a-z0-9]+)$/i.exec(String(name ?? ""));
  return (match && EXTENSION_TYPES[match[1].toLowerCase()]) || null;
}

/** The browser's type, lower-cased, or null when it is empty or generic. */
function browserType(file) {
  const type = String(file?.type ?? "").trim().toLowerCase();
  return GENERIC_TYPES.has(type) ? null : type;
}

/**
 * The content type to presign `file` with: the type its first bytes announce
 * ({@link sniffType}); else the browser's `file.type` when it is neither empty
 * nor generic; else its name's extension ({@link typeFromName}); else
 * "application/octet-stream". Never rejects: a file that cannot be read
 * (or an object without `slice`) is judged by its type and name.
 * @param {File|Blob|{name?: string, type?: string}} file
 * @returns {Promise<string>}
 */
export async function resolveType(file) {
  let sniffed = null;
  try {
    if (typeof file?.slice === "function") sniffed = sniffType(await file.slice(0, SNIFF_BYTES).arrayBuffer());
  } catch {
    sniffed = null; // unreadable (e.g. a file removed from disk since it was chosen): the server will say
  }
  return sniffed ?? browserType(file) ?? typeFromName(file?.name) ?? "application/octet-stream";
}
