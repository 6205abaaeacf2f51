// Types of the realtime-uploads browser client (index.js / realtime-uploads.js).
// Times are milliseconds unless named otherwise; sizes are bytes.

/** Output formats of the processor. */
export type VariantFormatName = "AVIF" | "WEBP" | "JPEG" | "PNG" | (string & {});

/** One file of a variant (contract 0.2). */
export interface VariantFormat {
  format: VariantFormatName;
  /** "image/avif", "image/webp", ... */
  type: string;
  size: number;
  url: string;
}

/** A rendered variant. `format`/`size`/`url` are its fallback file, the last of `formats` (as in 0.1). */
export interface Variant {
  name: string;
  width: number;
  height: number;
  format: VariantFormatName;
  size: number;
  url: string;
  /** 0.2: an animated WebP of an animated original (then `formats` is that one WEBP file). */
  animated?: boolean;
  /** 0.2: every file of this variant, in order of preference; absent from 0.1 events. */
  formats?: VariantFormat[];
}

/** The server's event: snapshot, push, status GET and long-poll answer (docs/contract.md, "The event"). */
export interface UploadEvent {
  type: "upload.status";
  id: string;
  status: "pending" | "processing" | "completed" | "failed" | "expired" | "cancelled" | "deleted";
  seq: number;
  original?: { width: number; height: number; format: string } | null;
  /** 0.2, completed only: a base64 ThumbHash (a few dozen bytes); see placeholderURL(). */
  placeholder?: string | null;
  /** 0.2, completed only: the dominant colour, "#rrggbb". */
  color?: string | null;
  variants?: Variant[];
  error?: { code: string; message: string } | null;
  updated_at?: string;
}

/** The 201 answer of a presign (one per file of a batch). */
export interface PresignAnswer {
  id: string;
  status: "pending";
  upload: { url: string; fields: Record<string, string> };
  subscribe: { url: string; token: string };
  status_url: string;
  expires_at: string;
}

export type ErrorCode =
  | "too_large" | "empty_file" | "unsupported_format" | "bad_filename" | "not_an_image" | "too_many_pixels"
  | "aspect_ratio" | "too_large_to_decode" | "time_limit" | "corrupt_image" | "storage_error" | "internal_error"
  | "timeout" | "expired" | "throttled" | "too_many_pending" | "cancelled" | "network_error"
  | "presign_rejected" | "presign_failed" | "bad_response" | "upload_failed"
  | "forbidden" | "not_found" | "malformed_id" | "bad_request"
  | "EntityTooLarge" | "EntityTooSmall" | "AccessDenied"
  | (string & {});

export class UploadError extends Error {
  constructor(message: string, info?: { code?: string; status?: number | null; event?: UploadEvent | null;
    errors?: Record<string, unknown> | null; detail?: string | null; cause?: unknown });
  name: "UploadError";
  /** Stable code; `message` is the plain sentence from the messages table. */
  code: ErrorCode;
  /** HTTP status involved, else null. */
  status: number | null;
  /** The server's terminal event for failed/expired. */
  event: UploadEvent | null;
  /** The server's per-field errors of a refused presign. */
  errors: Record<string, unknown> | null;
  /** Technical text (a server message) for logs, not for people. */
  detail: string | null;
}

export interface Limits {
  /** Bytes; larger files are refused before any request (code too_large). */
  maxSize?: number | null;
  /** Accepted MIME types; others are refused before any request (code unsupported_format). */
  contentTypes?: string[] | null;
  /** Files per batch presign request, if the server says. */
  maxBatch?: number | null;
}

export interface BackoffTuning { minDelay: number; maxDelay: number; factor: number }

export type MessageTable = Record<string, string | ((context: MessageContext) => string)>;
export interface MessageContext { file?: File; limit?: number | null; contentTypes?: string[] | null; seconds?: number; [key: string]: unknown }

export interface UploaderOptions {
  presignUrl?: string; // "/api/uploads/"
  batchUrl?: string; // "/api/uploads/batch/"
  /** The multiplexed socket; default ws(s)://<page host>/ws/uploads/. */
  socketUrl?: string | null;
  /** Sent with presign and status requests (never to storage). */
  headers?: Record<string, string>;
  /** Sent as X-CSRFToken on presign requests; default the csrftoken cookie. */
  csrfToken?: string | null;
  /** Storage POSTs in flight at once (3). */
  concurrency?: number;
  /** Files per batch presign request (20). */
  batchSize?: number;
  /** Per upload, from upload() to its end; rejects with code "timeout". 0: none. */
  deadline?: number;
  limits?: Limits | { max_size?: number; content_types?: string[] } | null;
  /** Per-uploader sentences over the global table. */
  messages?: MessageTable;
  /** Where events are dispatched (document). */
  target?: EventTarget;
  reconnect?: Partial<BackoffTuning>; // 500 ... 10000, factor 2
  socketOpenTimeout?: number; // 4000: no socket open by then -> long-poll
  pingInterval?: number; // 25000
  longPollWait?: number; // seconds, 25
  storageRetries?: number; // 3
  storageRetry?: Partial<BackoffTuning>;
  /** Injection points (tests, other runtimes); default the globals. */
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket | undefined;
  XMLHttpRequest?: typeof XMLHttpRequest;
}

export interface PerUploadOptions {
  target?: EventTarget;
  signal?: AbortSignal;
  deadline?: number;
  onEvent?: (event: UploadEvent) => void;
}

export interface UploadHandle {
  readonly file: File;
  /** The upload id once presigned, else null. */
  readonly id: string | null;
  /** The content type asked for at presign (resolveType), once the first bytes were read; else null. */
  readonly contentType: string | null;
  /** Resolves with the completed event; rejects with UploadError (code "cancelled" after cancel()). */
  readonly promise: Promise<UploadEvent>;
  /** Stop here; once presigned, also `DELETE status_url?token=` so the server cancels it (contract 0.3). */
  cancel(): void;
}

/** An item of `GET /api/uploads/`: the event plus what a client needs to follow it again. */
export interface HistoryItem extends Partial<UploadEvent> {
  id: string;
  /** A fresh subscribe token. */
  token: string;
  filename?: string;
  created_at?: string;
  status_url?: string;
}

export type ConnectionState = "closed" | "connecting" | "open" | "reconnecting" | "polling";

export interface Uploader {
  upload(file: File, options?: PerUploadOptions): UploadHandle;
  /** Presigns in batch requests, then uploads with the concurrency limit; one handle per file, same order. */
  uploadMany(files: Iterable<File> | ArrayLike<File>, options?: PerUploadOptions): UploadHandle[];
  /** Follow an upload made earlier (an item of GET /api/uploads/, e.g. after a reload); same events and promise. */
  follow(item: HistoryItem, options?: PerUploadOptions): UploadHandle;
  /**
   * Live history: `realtime-uploads:created` for each upload the same user or session starts in another tab,
   * over this uploader's socket (kept open for it; not while long-polling). Returns a function that stops it.
   */
  followHistory(): () => void;
  readonly state: ConnectionState;
  readonly target: EventTarget;
  close(): void;
}

export function createUploader(options?: UploaderOptions): Uploader;

/** The first API: one file, resolves with the completed event; aborting `signal` rejects with code "aborted". */
export function upload(file: File, options?: PerUploadOptions & {
  csrfToken?: string; presignUrl?: string; batchUrl?: string; socketUrl?: string;
}): Promise<UploadEvent>;

export interface UploadDetail { id: string | null; file: File }
/** `realtime-uploads:<name>` events; before-upload and presigned are cancelable (preventDefault cancels that file). */
export interface UploadEventMap {
  /** `contentType`: resolveType(file), what the presign will ask for and the limits judged. */
  "realtime-uploads:before-upload": CustomEvent<UploadDetail & { contentType: string }>;
  "realtime-uploads:presigned": CustomEvent<UploadDetail & { presign: PresignAnswer }>;
  "realtime-uploads:progress": CustomEvent<UploadDetail & { loaded: number; total: number; percent: number }>;
  "realtime-uploads:uploaded": CustomEvent<UploadDetail>;
  "realtime-uploads:processing": CustomEvent<UploadDetail & { event: UploadEvent }>;
  "realtime-uploads:completed": CustomEvent<UploadDetail & { event: UploadEvent }>;
  "realtime-uploads:failed": CustomEvent<UploadDetail & { error: UploadError; event: UploadEvent | null }>;
  "realtime-uploads:cancelled": CustomEvent<UploadDetail & { error: UploadError }>;
  "realtime-uploads:connection": CustomEvent<{ state: ConnectionState; attempt?: number; delay?: number }>;
  /** Live history (followHistory): another tab of this user or session presigned `item`; follow(item) watches it. */
  "realtime-uploads:created": CustomEvent<{ id: string; item: HistoryItem }>;
  /** guardImage: an image's file did not load; a Retry button is shown in its place. */
  "realtime-uploads:image-error": CustomEvent<{ element: HTMLElement; src: string }>;
}

export const PREFIX: "realtime-uploads:";
export const defaults: Required<Omit<UploaderOptions, "headers" | "csrfToken" | "limits" | "messages" | "target" |
  "fetch" | "WebSocket" | "XMLHttpRequest" | "reconnect" | "storageRetry">> & { reconnect: BackoffTuning; storageRetry: BackoffTuning };
export function backoff(tuning: BackoffTuning, attempt: number, random?: () => number): number;
export const messages: MessageTable;
export const builtinMessages: Readonly<MessageTable>;
export function setMessages(overrides: MessageTable | null): void;
export function messageFor(code: string, context?: MessageContext, table?: MessageTable): string;
/** 1024-based, "10 MB", "10.1 MB", "512 bytes". */
export function formatBytes(bytes: number): string;
/** ["image/jpeg", "image/png"] -> "JPEG or PNG". */
export function formatTypes(contentTypes?: string[] | null): string;
/** Judges `contentType` (default `file.type`; the uploader passes resolveType(file)). */
export function checkLimits(file: File, limits: Limits, table?: MessageTable, contentType?: string): UploadError | null;

/**
 * The type to presign `file` with: its first 64 bytes (JPEG, PNG, GIF, WebP, ISO-BMFF AVIF/HEIC/HEIF)
 * win; else `file.type` unless "" or generic (application/octet-stream); else the name's extension
 * (.jpg .jpeg .png .gif .webp .avif .heic .heif); else "application/octet-stream". Never rejects.
 */
export function resolveType(file: Blob & { name?: string }): Promise<string>;
/** The type the first bytes announce, or null. */
export function sniffType(head: Uint8Array | ArrayBuffer): string | null;
/** The type of a name's extension (case-insensitive), or null. */
export function typeFromName(name: string): string | null;

/** `event.placeholder` as a PNG data URL (~32 px); null when absent or malformed. Never throws. */
export function placeholderURL(event: Pick<UploadEvent, "placeholder"> | null | undefined): string | null;
/** `event.color` when it is a valid "#rrggbb" (lower-cased), else null. */
export function placeholderColor(event: Pick<UploadEvent, "color"> | null | undefined): string | null;

export interface PictureOptions {
  /** The `sizes` attribute of every <source> and the <img>; default none (the browser assumes 100vw). */
  sizes?: string;
  /** The <img>'s alt text; default "". */
  alt?: string;
  /** Names of the variants to use, default all (always in the event's order). */
  variants?: string[];
  /** The `class` of the <picture>. */
  className?: string;
}
export interface PictureParts {
  className: string | null;
  sources: Array<{ type: string; srcset: string; sizes: string | null }>;
  img: { src: string; srcset: string; sizes: string | null; width: number; height: number | null; alt: string;
    loading: "lazy"; decoding: "async"; style: string | null };
}
/**
 * A <picture> for a completed event: a <source> per format every chosen variant has (not the fallback of
 * them all), an <img> with the fallback files as a `w` srcset; rules at the top of picture.js.
 * Only http(s) or relative URLs are used. Null when no variant is usable.
 */
export function pictureFor(event: Partial<UploadEvent>, options?: PictureOptions & { document?: Document }): HTMLPictureElement | null;
/** The same markup as a string (the server's template tag writes the same). */
export function pictureHTML(event: Partial<UploadEvent>, options?: PictureOptions): string | null;
export function pictureParts(event: Partial<UploadEvent>, options?: PictureOptions): PictureParts | null;
/** "<url> <width>w, ..." of each variant's `format` file (variants without it left out), default the fallbacks. */
export function srcsetFor(variants: Variant[], format?: VariantFormatName): string;
/** `url` if http:, https: or relative, with no whitespace or control characters; else null. */
export function safeUrl(url: unknown): string | null;

/** Sentences guardImage shows; replace them to translate. */
export const imageMessages: {
  unavailable: string; retry: string; retrying: string; retryLabel: (alt: string) => string;
};
/**
 * A visible state and a Retry button for an image whose file does not load, instead of a broken icon:
 * `element.dataset.imageState` "loading" | "loaded" | "broken"; when broken the element is hidden and a
 * `span.realtime-uploads-broken` after it holds the words and the button; `realtime-uploads:image-error`
 * bubbles. `retry` may give a fresh element (new URLs) to load instead of the same one again.
 */
export function guardImage<T extends HTMLElement>(element: T, options?: {
  retry?: () => HTMLElement | null | Promise<HTMLElement | null>; alt?: string;
}): T;

/** The vendored ThumbHash decoder (thumbhash@0.1.1, MIT, Evan Wallace). */
export function thumbHashToRGBA(hash: ArrayLike<number>): { w: number; h: number; rgba: Uint8Array };
export function thumbHashToAverageRGBA(hash: ArrayLike<number>): { r: number; g: number; b: number; a: number };
export function thumbHashToApproximateAspectRatio(hash: ArrayLike<number>): number;
export function rgbaToDataURL(w: number, h: number, rgba: ArrayLike<number>): string;
export function thumbHashToDataURL(hash: ArrayLike<number>): string;
