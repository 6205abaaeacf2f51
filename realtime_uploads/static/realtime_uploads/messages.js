// Every sentence the client shows a person, in one place, keyed by the stable
// error `code`. A project translates or rewords them with setMessages() (for
// every uploader) or createUploader({messages}) (for one). A value is a string
// or a function of the context ({file, limit, contentTypes, seconds, ...}).

/**
 * Human size: 1024-based, at most one decimal, no trailing ".0"
 * (10485760 -> "10 MB", 10608645 -> "10.1 MB", 512 -> "512 bytes").
 * The one helper for every size the client or a page shows, so a file's size
 * and a limit are always comparable.
 * @param {number} bytes
 * @returns {string} "" when `bytes` is not a finite number
 */
export function formatBytes(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return "";
  if (n < 1024) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
  return `${shown} ${units[unit]}`;
}

/**
 * Readable list of accepted types: "image/jpeg" -> "JPEG".
 * @param {string[]} [contentTypes]
 */
export function formatTypes(contentTypes) {
  const names = (contentTypes || []).map((t) => String(t).split("/").pop().replace(/^x-/, "").toUpperCase());
  if (names.length < 2) return names.join("");
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

const TOO_LARGE = ({ limit }) =>
  limit ? `This file is too big (the limit is ${formatBytes(limit)}).` : "This file is too big.";

/** The built-in sentences (English). Keys are error codes; `default` covers unknown codes. */
export const builtinMessages = Object.freeze({
  too_large: TOO_LARGE,
  EntityTooLarge: TOO_LARGE,
  empty_file: "This file is empty.",
  EntityTooSmall: "This file is empty.",
  unsupported_format: ({ contentTypes }) =>
    contentTypes?.length
      ? `This kind of file is not accepted (use ${formatTypes(contentTypes)}).`
      : "This kind of file is not accepted.",
  not_an_image: "This file is not an image.",
  too_many_pixels: "This image has too many pixels; try a smaller one.",
  aspect_ratio: "This image is too long and thin; try a less extreme shape.",
  too_large_to_decode: "This image is too large to open; try a smaller one.",
  time_limit: "This image took too long to process; try a smaller one.",
  corrupt_image: "This image is damaged and could not be read.",
  bad_filename: "This file's name is not accepted; rename it and try again.",
  storage_error: "The result could not be saved. Please try again.",
  internal_error: "Something went wrong on our side. Please try again, or try a JPEG or PNG.",
  timeout: "This took too long. Please upload the file again.",
  expired: "The upload link expired before the file arrived. Please try again.",
  throttled: "Too many uploads at once. Please wait a moment and try again.",
  too_many_pending: "Too many uploads are still unfinished. Please wait for them, then try again.",
  cancelled: "Cancelled.",
  network_error: "The connection failed. Check your network and try again.",
  AccessDenied: "Storage refused the upload; the link may have expired. Please try again.",
  forbidden: "You are not allowed to follow this upload.",
  not_found: "The server does not know this upload.",
  presign_rejected: "The server did not accept this file.",
  default: "The upload failed. Please try again.",
});

/** The table every uploader uses unless given its own `messages`; change it with {@link setMessages}. */
export const messages = { ...builtinMessages };

/**
 * Replace sentences for every uploader: `setMessages({too_large: ({limit}) => "…"})`.
 * Keys not given keep their current sentence; `setMessages(null)` restores the built-in table.
 * @param {Record<string, string|((context: object) => string)>|null} overrides
 */
export function setMessages(overrides) {
  if (overrides === null) {
    for (const key of Object.keys(messages)) delete messages[key];
    Object.assign(messages, builtinMessages);
  } else {
    Object.assign(messages, overrides);
  }
}

/**
 * The sentence for `code`: `table[code]`, else `messages[code]`, else the `default` one.
 * @param {string} code
 * @param {object} [context] values the sentence may use: `limit` (bytes), `contentTypes`, `file`, ...
 * @param {Record<string, string|Function>} [table] per-uploader overrides
 * @returns {string}
 */
export function messageFor(code, context = {}, table = undefined) {
  const entry = table?.[code] ?? messages[code] ?? table?.default ?? messages.default;
  return typeof entry === "function" ? String(entry(context)) : String(entry);
}
