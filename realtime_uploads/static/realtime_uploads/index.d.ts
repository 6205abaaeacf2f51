// Types of the realtime-uploads browser client (index.js / realtime-uploads.js).
// Times are milliseconds unless named otherwise; sizes are bytes.

/** The server's event: snapshot, push, status GET and long-poll answer (README "API"). */
export interface UploadEvent {
  type: "upload.status";
  id: string;
  status: "pending" | "processing" | "completed" | "failed" | "expired";
  seq: number;
  original?: { width: number; height: number; format: string } | null;
  variants?: Array<{ name: string; width: number; height: number; format: string; size: number; url: string }>;
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
  /** Resolves with the completed event; rejects with UploadError (code "cancelled" after cancel()). */
  readonly promise: Promise<UploadEvent>;
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
  "realtime-uploads:before-upload": CustomEvent<UploadDetail>;
  "realtime-uploads:presigned": CustomEvent<UploadDetail & { presign: PresignAnswer }>;
  "realtime-uploads:progress": CustomEvent<UploadDetail & { loaded: number; total: number; percent: number }>;
  "realtime-uploads:uploaded": CustomEvent<UploadDetail>;
  "realtime-uploads:processing": CustomEvent<UploadDetail & { event: UploadEvent }>;
  "realtime-uploads:completed": CustomEvent<UploadDetail & { event: UploadEvent }>;
  "realtime-uploads:failed": CustomEvent<UploadDetail & { error: UploadError; event: UploadEvent | null }>;
  "realtime-uploads:cancelled": CustomEvent<UploadDetail & { error: UploadError }>;
  "realtime-uploads:connection": CustomEvent<{ state: ConnectionState; attempt?: number; delay?: number }>;
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
export function checkLimits(file: File, limits: Limits, table?: MessageTable): UploadError | null;
