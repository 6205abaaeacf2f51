// The storage POST: the presigned `fields`, then `file` last, as
// multipart/form-data straight to S3 (or the local backend's emulation), via
// XMLHttpRequest for upload progress. Nothing of the application travels with
// it: no cookies or credentials (withCredentials = false) and no custom
// headers; the presigned policy is the only authority.
// Source: AWS S3 API Reference, "POST Object" and "Error responses".

import { backoff } from "./config.js";
import { uploadError } from "./errors.js";

// S3 answers POST errors as <Error><Code>…</Code><Message>…</Message></Error>.
function s3Error(xhr, ctx) {
  const text = xhr.responseText || "";
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] || "upload_failed";
  const detail = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] || `Storage answered HTTP ${xhr.status}.`;
  return uploadError(code, { status: xhr.status, detail, context: ctx.context, messages: ctx.messages });
}

function attempt(answer, file, ctx) {
  return new Promise((resolve) => {
    const xhr = new ctx.XMLHttpRequest();
    const stop = () => {
      xhr.abort();
      resolve({ kind: "aborted" });
    };
    if (ctx.signal?.aborted) return resolve({ kind: "aborted" });
    ctx.signal?.addEventListener("abort", stop, { once: true });
    const done = (result) => {
      ctx.signal?.removeEventListener("abort", stop);
      resolve(result);
    };
    xhr.open("POST", answer.upload.url);
    xhr.withCredentials = false;
    xhr.upload.onprogress = (e) => {
      const total = e.lengthComputable ? e.total : file.size;
      const percent = total ? Math.min(100, Math.floor((e.loaded / total) * 100)) : 0;
      ctx.onProgress?.({ loaded: e.loaded, total, percent });
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) done({ kind: "ok" });
      else done({ kind: xhr.status >= 500 ? "retry" : "refused", error: s3Error(xhr, ctx) });
    };
    xhr.onerror = xhr.ontimeout = () => done({ kind: "retry", error: null });
    const form = new FormData();
    for (const [name, value] of Object.entries(answer.upload.fields || {})) form.append(name, value);
    form.append("file", file); // S3 ignores every field after the file: it goes last.
    xhr.send(form);
  });
}

/**
 * POST `file` to storage with the presign answer's `upload` {url, fields}.
 * Network errors and 5xx are retried `retries` times with backoff; 4xx are not.
 * A 4xx after an earlier attempt failed on the network is *ambiguous*: the
 * earlier bytes may have arrived (a second POST for one upload is refused,
 * the first file wins), so it resolves `{ambiguous: true}` and the caller
 * lets the server's status events decide.
 *
 * @param {{upload: {url: string, fields?: Record<string, string>}}} answer
 * @param {File|Blob} file
 * @param {{XMLHttpRequest: Function, signal?: AbortSignal, onProgress?: Function,
 *   onRetry?: Function, retries: number, retry: object, sleep: Function, context?: object, messages?: object}} ctx
 * @returns {Promise<{ambiguous: boolean}>}
 * @throws {UploadError} the S3 code of a 4xx (`EntityTooLarge`, `AccessDenied`, ...),
 *   `network_error` / `upload_failed` after the last retry; an AbortError when `signal` aborts
 */
export async function postToStorage(answer, file, ctx) {
  let networkFailed = false;
  for (let n = 0; ; n++) {
    const result = await attempt(answer, file, ctx);
    if (result.kind === "aborted") throw new DOMException("The storage POST was aborted.", "AbortError");
    if (result.kind === "ok") return { ambiguous: false };
    if (result.kind === "refused") {
      if (networkFailed) return { ambiguous: true };
      throw result.error;
    }
    networkFailed ||= !result.error;
    if (n >= ctx.retries) {
      throw result.error || uploadError("network_error", { context: ctx.context, messages: ctx.messages });
    }
    const delay = backoff(ctx.retry, n);
    ctx.onRetry?.({ attempt: n + 1, delay });
    await ctx.sleep(delay, ctx.signal);
  }
}
