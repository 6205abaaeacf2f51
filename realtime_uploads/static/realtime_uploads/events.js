// The DOM events of the client: the public seam, as ActiveStorage's
// `direct-upload:*` events are. Every name is "realtime-uploads:<stage>".

export const PREFIX = "realtime-uploads:";

/** Stages whose event may be cancelled with `preventDefault()` (cancelling that file). */
export const CANCELABLE = new Set(["before-upload", "presigned"]);

/**
 * Dispatch `realtime-uploads:<name>` (bubbling) on `target` with `detail`.
 * @param {EventTarget|null|undefined} target
 * @param {string} name
 * @param {object} detail
 * @returns {boolean} false when a listener called preventDefault() on a cancelable event
 */
export function dispatch(target, name, detail) {
  if (!target) return true;
  const event = new CustomEvent(PREFIX + name, { bubbles: true, cancelable: CANCELABLE.has(name), detail });
  return target.dispatchEvent(event);
}

/** `globalThis.document` when there is one, else a fresh EventTarget (workers, Node). */
export const defaultTarget = () => globalThis.document ?? new EventTarget();
