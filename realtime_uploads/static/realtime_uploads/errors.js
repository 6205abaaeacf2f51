// The one error class of the client. Its `message` is a plain sentence for
// the person uploading (from messages.js); `detail` keeps the technical text.

import { messageFor } from "./messages.js";

/**
 * What every failed upload rejects with, and the `error` of a
 * `realtime-uploads:failed` / `:cancelled` event.
 *
 * - `code`: stable. Processing codes from the server's event (`not_an_image`,
 *   `too_many_pixels`, `unsupported_format`, `corrupt_image`, `aspect_ratio`,
 *   `too_large_to_decode`, `time_limit`, `storage_error`, `too_large`,
 *   `internal_error`, `timeout`), `expired`, the client's own `timeout`
 *   (the `deadline` passed), `cancelled`, `empty_file`, `bad_filename`,
 *   `presign_rejected`, `throttled`, `too_many_pending`, `presign_failed`,
 *   S3 codes from the storage answer (`EntityTooLarge`, `AccessDenied`, ...),
 *   `upload_failed`, `forbidden` / `not_found` / `malformed_id` /
 *   `bad_request` (the server refused to show the status), `network_error`,
 *   `bad_response`.
 * - `status`: the HTTP status involved, else `null`.
 * - `event`: the server's terminal event for `failed` / `expired`, else `null`.
 * - `errors`: the server's per-field errors for a refused presign, else `null`.
 * - `detail`: technical text (a server message): log it, do not show it.
 */
export class UploadError extends Error {
  /**
   * @param {string} message a plain sentence
   * @param {{code?: string, status?: number|null, event?: object|null,
   *   errors?: object|null, detail?: string|null, cause?: unknown}} [info]
   */
  constructor(message, { code = "upload_failed", status = null, event = null, errors = null, detail = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "UploadError";
    this.code = code;
    this.status = status;
    this.event = event;
    this.errors = errors;
    this.detail = detail;
  }
}

/**
 * An {@link UploadError} whose message is `messages[code]` rendered with `context`.
 * @param {string} code
 * @param {object} [info] `context` (for the sentence: `limit`, `file`, ...),
 *   `messages` (the table to use), and the {@link UploadError} fields
 */
export function uploadError(code, { context = {}, messages, ...info } = {}) {
  return new UploadError(messageFor(code, context, messages), { code, ...info });
}
