// realtime-uploads browser client: ES modules, no dependencies, no build step.
// Types: index.d.ts. Protocol: the README's "API".

export { defaults, backoff } from "./config.js";
export { UploadError } from "./errors.js";
export { PREFIX } from "./events.js";
export { messages, builtinMessages, setMessages, messageFor, formatBytes, formatTypes } from "./messages.js";
export { checkLimits } from "./presign.js";
export { createUploader } from "./uploader.js";
export { upload } from "./legacy.js";
