// realtime-uploads browser client: ES modules, no dependencies, no build step.
// Types: index.d.ts. Protocol: docs/contract.md.

export { defaults, backoff } from "./config.js";
export { UploadError } from "./errors.js";
export { PREFIX } from "./events.js";
export { messages, builtinMessages, setMessages, messageFor, formatBytes, formatTypes } from "./messages.js";
export { checkLimits } from "./presign.js";
export { resolveType, sniffType, typeFromName } from "./sniff.js";
export { placeholderURL, placeholderColor } from "./placeholder.js";
export { guardImage, imageMessages, pictureFor, pictureHTML, pictureParts, srcsetFor, safeUrl } from "./picture.js";
export {
  thumbHashToRGBA, thumbHashToAverageRGBA, thumbHashToApproximateAspectRatio, rgbaToDataURL, thumbHashToDataURL,
} from "./thumbhash.js";
export { createUploader } from "./uploader.js";
export { upload } from "./legacy.js";
