// upload(file, options): the first API of this client, kept for pages written
// against it (the demo). A thin wrapper over createUploader(): calls with the
// same presignUrl / socketUrl / csrfToken share one uploader, so one socket.

import { UploadError } from "./errors.js";
import { defaultTarget, dispatch } from "./events.js";
import { createUploader } from "./uploader.js";

const shared = new Map();

function uploaderFor(options) {
  const { presignUrl, batchUrl, socketUrl, csrfToken } = options;
  const key = JSON.stringify([presignUrl, batchUrl, socketUrl, csrfToken]);
  if (!shared.has(key)) {
    const clean = Object.fromEntries(Object.entries({ presignUrl, batchUrl, socketUrl, csrfToken }).filter(([, v]) => v !== undefined));
    shared.set(key, createUploader({ ...clean, target: defaultTarget() }));
  }
  return shared.get(key);
}

/**
 * Upload one file; resolves with the `completed` event, rejects with an
 * {@link UploadError}. Events go to `options.target` (default `document`).
 * Aborting `options.signal` rejects with code `aborted` and dispatches
 * `realtime-uploads:failed` (after the new `:cancelled`), as this API always did.
 * @param {File} file
 * @param {{target?: EventTarget, signal?: AbortSignal, csrfToken?: string, presignUrl?: string,
 *   socketUrl?: string, deadline?: number, onEvent?: (event: object) => void}} [options]
 * @returns {Promise<object>}
 */
export async function upload(file, options = {}) {
  const target = options.target ?? defaultTarget();
  const handle = uploaderFor(options).upload(file, {
    target,
    signal: options.signal,
    deadline: options.deadline,
    onEvent: options.onEvent,
  });
  try {
    return await handle.promise;
  } catch (error) {
    if (error.code !== "cancelled") throw error;
    const aborted = new UploadError(error.message, { code: "aborted", cause: error });
    dispatch(target, "failed", { id: handle.id, file, error: aborted, event: null });
    throw aborted;
  }
}
