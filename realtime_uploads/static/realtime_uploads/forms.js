// realtime-uploads forms: progressive enhancement of <input type="file" data-realtime-uploads>.
//
// Choosing files uploads them at once (./realtime-uploads.js `upload`), shows
// each file's progress, and when one is processed puts "<id>:<token>" into the
// form's hidden input (comma-separated with `multiple`), which
// realtime_uploads.forms.UploadField checks on the server. Submitting is held
// back, and submit buttons disabled, while uploads run. Without JavaScript the
// input stays a plain file input and the server says JavaScript is needed.
//
// Markup: the Django widget renders a wrapper [data-realtime-uploads-field]
// holding the hidden [data-realtime-uploads-ids], the file input, a list
// [data-realtime-uploads-list] and a status line [data-realtime-uploads-status],
// all spans (valid inside form.as_p's <p>); realtime-uploads.css styles them.
// A thumbnail that does not load shows a state and a Retry button (picture.js guardImage).
// A hand-written <input type="file" name="photo" data-realtime-uploads> works
// too: its name moves to a hidden input created next to it.
// Options from the file input: data-presign-url, data-max-size (bytes), multiple.

import { guardImage, upload } from "./realtime-uploads.js";

/** Every sentence shown, in one object a project can translate. */
export const messages = {
  uploading: (percent) => `Uploading ${percent} %`,
  processing: "Processing…",
  ready: "Ready",
  tooLarge: (max) => `This file is larger than the ${humanSize(max)} allowed.`,
  failed: (message) => `Not uploaded: ${message}`,
  wait: "Wait until the uploads have finished, then submit again.",
  cancel: (name) => `Cancel ${name}`,
  remove: (name) => `Remove ${name}`,
  progress: (name) => `Uploading ${name}`,
  announce: (name, words) => `${name}: ${words}`,
  started: "uploading",
};

const pendingByForm = new WeakMap(); // form -> uploads running in any of its fields

/** A size for people: "10 MB", "2 KB", "900 bytes" (binary units, one decimal at most). */
export function humanSize(bytes) {
  const round = (n) => Math.round(n * 10) / 10;
  if (bytes >= 1048576) return `${round(bytes / 1048576)} MB`;
  if (bytes >= 1024) return `${round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

function make(tag, props = {}, parent = null) {
  const node = Object.assign(document.createElement(tag), props);
  parent?.append(node);
  return node;
}

/** Enhance one file input (idempotent). Returns the field's controller: `{values, pending}`. */
export function enhance(input) {
  if (input.realtimeUploads) return input.realtimeUploads;
  const wrapper = input.closest("[data-realtime-uploads-field]");
  let hidden = wrapper?.querySelector("[data-realtime-uploads-ids]");
  if (!hidden) {
    hidden = make("input", { type: "hidden", name: input.dataset.name || input.name });
    input.after(hidden);
  }
  input.removeAttribute("name"); // the bytes go to storage, never with the form
  // The input is emptied after each choice: left required, the browser would refuse every submit.
  // Whether an upload is there is the server's to say (UploadField's "required").
  input.required = false;
  const list = wrapper?.querySelector("[data-realtime-uploads-list]") ??
    make("span", { className: "realtime-uploads-files" });
  const status = wrapper?.querySelector("[data-realtime-uploads-status]") ??
    make("span", { className: "realtime-uploads-status" });
  if (!list.isConnected) { // the widget's markup, made for a hand-written input
    list.setAttribute("role", "list");
    list.dataset.realtimeUploadsList = "";
    status.dataset.realtimeUploadsStatus = "";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    // In a box of the wrapper's class (the stylesheet's rules are under it), after the input's <label>
    // if it has one: buttons inside a label would be part of its text and its click target.
    const box = make("span", { className: "realtime-uploads-field" });
    box.append(list, status);
    (input.closest("label") ?? hidden).after(box);
  }
  // Screen readers hear each file's changes of state (not every percent), as on the demo page.
  let announcer = wrapper?.querySelector("[data-realtime-uploads-announce]");
  if (!announcer) {
    announcer = make("span", { className: "realtime-uploads-announce" });
    announcer.setAttribute("aria-live", "polite");
    status.after(announcer);
  }
  const announce = (name, words) => {
    announcer.textContent = messages.announce(name, words);
  };
  // A row: <li> in a list a page wrote as <ul>/<ol>, else a span (phrasing content, as the widget's).
  const newRow = () => {
    const items = list.tagName === "UL" || list.tagName === "OL";
    const row = make(items ? "li" : "span", { className: "realtime-uploads-file" }, list);
    if (!items) row.setAttribute("role", "listitem");
    return row;
  };
  const field = { values: new Map(), pending: 0 };
  input.realtimeUploads = field;

  const write = () => {
    hidden.value = [...field.values.values()].join(",");
    input.dispatchEvent(new CustomEvent("realtime-uploads:field-change", {
      bubbles: true, detail: { value: hidden.value },
    }));
  };
  // Keep only what the page shows: the server lists the uploads it accepted (or the form started with);
  // an id it refused would otherwise ride along, unseen and unremovable, on every later submit.
  const shown = new Set([...list.querySelectorAll("[data-upload-id]")].map((row) => row.dataset.uploadId));
  for (const item of hidden.value.split(",").filter(Boolean)) {
    const key = item.split(":")[0];
    if (shown.has(key)) field.values.set(key, item);
  }
  if (hidden.value !== [...field.values.values()].join(",")) hidden.value = [...field.values.values()].join(",");
  const removable = (row, key, name) => {
    const button = make("button", { type: "button", textContent: "×" }, row);
    button.setAttribute("aria-label", messages.remove(name));
    button.addEventListener("click", () => {
      field.values.delete(key);
      row.remove();
      write();
    });
  };
  for (const row of list.querySelectorAll("[data-upload-id]")) {
    removable(row, row.dataset.uploadId, row.textContent.trim());
    for (const img of row.querySelectorAll("img")) guardImage(img);
  }

  const busy = (delta) => {
    field.pending += delta;
    const form = input.form;
    if (!form) return;
    // Counted per form: two enhanced fields share its submit buttons.
    const running = (pendingByForm.get(form) || 0) + delta;
    pendingByForm.set(form, running);
    for (const button of form.querySelectorAll("button:not([type=button]), input[type=submit]")) {
      if (running > 0 && !button.disabled) {
        button.disabled = true;
        button.dataset.realtimeUploadsDisabled = "";
      } else if (running === 0 && "realtimeUploadsDisabled" in button.dataset) {
        button.disabled = false;
        delete button.dataset.realtimeUploadsDisabled;
      }
    }
    if (field.pending === 0) status.textContent = "";
  };
  const running = new Set(); // AbortControllers of this field's unfinished uploads

  const start = (file) => {
    const row = newRow();
    make("span", { className: "realtime-uploads-name", textContent: file.name }, row);
    row.append(" "); // read as "photo.jpg Ready", never "photo.jpgReady", with or without the stylesheet
    const state = make("span", { className: "realtime-uploads-state" }, row);
    const maxSize = Number(input.dataset.maxSize || 0);
    if (maxSize && file.size > maxSize) {
      state.textContent = messages.tooLarge(maxSize);
      row.dataset.state = "failed";
      announce(file.name, state.textContent);
      return removable(row, null, file.name);
    }
    const bar = make("progress", { max: 100, value: 0 }, row);
    bar.setAttribute("aria-label", messages.progress(file.name));
    const stop = new AbortController();
    running.add(stop);
    const cancel = make("button", { type: "button", textContent: "×" }, row);
    cancel.setAttribute("aria-label", messages.cancel(file.name));
    cancel.addEventListener("click", () => stop.abort());
    let token = null;
    row.addEventListener("realtime-uploads:presigned", (e) => {
      token = e.detail?.presign?.subscribe?.token ?? null;
    });
    row.addEventListener("realtime-uploads:progress", (e) => {
      bar.value = e.detail.percent;
      state.textContent = messages.uploading(e.detail.percent);
    });
    row.addEventListener("realtime-uploads:processing", () => {
      bar.removeAttribute("value"); // indeterminate while the server works
      state.textContent = messages.processing;
      announce(file.name, messages.processing);
    });
    row.dataset.state = "uploading";
    announce(file.name, messages.started);
    busy(+1);
    const options = { target: row, signal: stop.signal };
    if (input.dataset.presignUrl) options.presignUrl = input.dataset.presignUrl;
    upload(file, options).then((event) => {
      const key = event.id;
      field.values.set(key, token ? `${key}:${token}` : key);
      row.dataset.uploadId = key;
      row.dataset.state = "ready";
      state.textContent = messages.ready;
      announce(file.name, messages.ready);
      const smallest = [...(event.variants || [])].sort((a, b) => a.width * a.height - b.width * b.height)[0];
      if (smallest) {
        const img = make("img", { className: "realtime-uploads-thumb", src: smallest.url, alt: file.name, height: 48 });
        row.prepend(img, " ");
        guardImage(img);
      }
      bar.remove();
      cancel.remove();
      removable(row, key, file.name);
      write();
    }, (error) => {
      if (error?.code === "aborted") return row.remove();
      row.dataset.state = "failed";
      state.textContent = messages.failed(error?.message || String(error));
      announce(file.name, state.textContent);
      bar.remove();
      cancel.remove();
      removable(row, null, file.name);
    }).finally(() => {
      running.delete(stop);
      busy(-1);
    });
  };

  input.addEventListener("change", () => {
    const files = [...input.files];
    if (!files.length) return;
    if (!input.multiple) {
      for (const stop of running) stop.abort(); // the new choice replaces the one still uploading
      field.values.clear();
      list.replaceChildren();
      write();
    }
    files.forEach(start);
    input.value = ""; // choosing the same file again is a new change
  });
  input.form?.addEventListener("submit", (event) => {
    if (field.pending > 0) {
      event.preventDefault();
      status.textContent = messages.wait;
    }
  });
  return field;
}

/** Enhance every matching input under `root` (document by default). */
export function enhanceAll(root = document) {
  return [...root.querySelectorAll("input[type=file][data-realtime-uploads]")].map(enhance);
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => enhanceAll());
  else enhanceAll();
}
