// Asking the application for presigned POSTs: one file (POST presignUrl) or
// many in one request (POST batchUrl), and the client-side check of the
// server's limits that refuses a file before any request. Protocol: docs/contract.md.

import { uploadError } from "./errors.js";

/** Normalise `limits` ({maxSize, contentTypes} or the server's {max_size, content_types}). */
export function normaliseLimits(limits) {
  if (!limits) return {};
  return {
    maxSize: limits.maxSize ?? limits.max_size ?? null,
    contentTypes: limits.contentTypes ?? limits.content_types ?? null,
  };
}

/**
 * Refuse `file` before any request when it breaks `limits`.
 * @param {File} file
 * @param {{maxSize?: number|null, contentTypes?: string[]|null}} limits bytes; MIME types
 * @param {object} [table] per-uploader messages
 * @param {string} [contentType] the type to judge: the uploader passes `await resolveType(file)`
 *   (sniff.js); default `file.type`
 * @returns {import("./errors.js").UploadError|null} `empty_file`, `too_large` or `unsupported_format`; null if fine
 */
export function checkLimits(file, limits, table, contentType = file.type) {
  const { maxSize, contentTypes } = normaliseLimits(limits);
  const context = { file, limit: maxSize, contentTypes, contentType };
  if (file.size === 0) return uploadError("empty_file", { context, messages: table });
  if (maxSize && file.size > maxSize) return uploadError("too_large", { context, messages: table });
  if (contentTypes?.length && !contentTypes.includes(contentType)) {
    return uploadError("unsupported_format", { context, messages: table });
  }
  return null;
}

/** The `csrftoken` cookie (Django's default name), or null. */
export function csrfCookie() {
  const jar = globalThis.document?.cookie || "";
  for (const part of jar.split(";")) {
    const eq = part.indexOf("=");
    if (part.slice(0, eq).trim() === "csrftoken") return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

// `ctx.typeOf(file)`: the type resolveType() found (sniff.js); else what the browser said.
const describe = (file, ctx) => ({
  filename: file.name,
  content_type: ctx.typeOf?.(file) || file.type || "application/octet-stream",
  size: file.size,
});

// DRF answers a refused field as {"field": ["message", ...]}: the field names the code.
function fieldError(errors, file, ctx) {
  const fields = errors && typeof errors === "object" ? errors : {};
  let code = "presign_rejected";
  if (fields.size) code = file.size === 0 ? "empty_file" : "too_large";
  else if (fields.content_type) code = "unsupported_format";
  else if (fields.filename) code = "bad_filename";
  const detail = Object.entries(fields)
    .map(([field, msgs]) => `${field}: ${[].concat(msgs).join(" ")}`)
    .join("; ");
  return uploadError(code, { status: 400, errors: fields, detail, context: ctx.context(file), messages: ctx.messages });
}

function httpError(response, body, file, ctx) {
  const detail = body && typeof body.detail === "string" ? body.detail : null;
  const info = { status: response.status, detail, context: ctx.context(file), messages: ctx.messages };
  if (response.status === 429) {
    const code = body?.code === "too_many_pending" ? "too_many_pending" : "throttled";
    return uploadError(code, info);
  }
  return uploadError("presign_failed", info);
}

function checkAnswer(answer, file, ctx) {
  if (answer && typeof answer.id === "string" && answer.upload?.url && answer.status_url) return null;
  const detail = "The presign answer lacks id, upload.url or status_url.";
  return uploadError("bad_response", { detail, context: ctx.context(file), messages: ctx.messages });
}

async function post(url, payload, ctx, signal) {
  const response = await ctx.fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      ...ctx.headers,
      ...(ctx.csrfToken ? { "X-CSRFToken": ctx.csrfToken } : {}),
    },
    body: JSON.stringify(payload),
    signal,
  });
  const body = await response.json().catch(() => null);
  return { response, body };
}

/**
 * Presign one file (`POST presignUrl` with {filename, content_type, size}).
 * @param {File} file
 * @param {object} ctx {fetch, presignUrl, headers, csrfToken, messages, context(file), typeOf?(file)}:
 *   `typeOf` gives the content_type to ask for (the uploader's resolved type), default `file.type`
 * @param {AbortSignal} [signal]
 * @returns {Promise<object>} the 201 answer {id, upload: {url, fields}, subscribe: {url, token}, status_url, ...}
 * @throws {UploadError} network_error, too_large/unsupported_format/... (400), throttled, presign_failed, bad_response
 */
export async function presignOne(file, ctx, signal) {
  let result;
  try {
    result = await post(ctx.presignUrl, describe(file, ctx), ctx, signal);
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw uploadError("network_error", { cause, context: ctx.context(file), messages: ctx.messages });
  }
  const { response, body } = result;
  if (response.status === 400) throw fieldError(body, file, ctx);
  if (!response.ok) throw httpError(response, body, file, ctx);
  const bad = checkAnswer(body, file, ctx);
  if (bad) throw bad;
  return body;
}

/**
 * Presign many files in one request: `POST batchUrl` with {"files": [{filename,
 * content_type, size}, ...]} -> 201 {"uploads": [answer, ...]} in the same order,
 * or 400 {"files": [{}, {"size": ["..."]}, ...]} (all or nothing: nothing was
 * created). After a 400 the files without errors are asked for once more on
 * their own, so one refused file does not stop the others.
 * @param {File[]} files
 * @param {object} ctx as {@link presignOne}, plus batchUrl
 * @returns {Promise<Array<{answer?: object, error?: UploadError}>>} one entry per file, same order; never rejects
 */
export async function presignBatch(files, ctx) {
  const results = new Array(files.length);
  let pending = files.map((_, i) => i);
  for (let round = 0; pending.length && round < 2; round++) {
    let result;
    try {
      result = await post(ctx.batchUrl, { files: pending.map((i) => describe(files[i], ctx)) }, ctx);
    } catch (cause) {
      for (const i of pending) {
        results[i] = { error: uploadError("network_error", { cause, context: ctx.context(files[i]), messages: ctx.messages }) };
      }
      return results;
    }
    const { response, body } = result;
    if (response.status === 201 && Array.isArray(body?.uploads) && body.uploads.length === pending.length) {
      pending.forEach((i, k) => {
        const error = checkAnswer(body.uploads[k], files[i], ctx);
        results[i] = error ? { error } : { answer: body.uploads[k] };
      });
      return results;
    }
    const items = response.status === 400 && Array.isArray(body?.files) ? body.files : null;
    const perItem = items?.length === pending.length && items.every((e) => e && typeof e === "object");
    if (!perItem) {
      for (const i of pending) {
        const error = response.status === 400 ? fieldError(body, files[i], ctx) : httpError(response, body, files[i], ctx);
        results[i] = { error: response.ok ? checkAnswer(null, files[i], ctx) : error };
      }
      return results;
    }
    const again = [];
    pending.forEach((i, k) => {
      if (Object.keys(items[k]).length) results[i] = { error: fieldError(items[k], files[i], ctx) };
      else again.push(i);
    });
    if (again.length === pending.length) break; // a 400 naming no file: asking again would not help
    pending = again;
  }
  for (const i of pending) results[i] = { error: fieldError({}, files[i], ctx) };
  return results;
}
