// Upload Part 10 files by drag and drop (or the file picker) with STOW-RS: files go in batches (at most
// 50 files or 64 MiB per request), each batch's response counted (ReferencedSOPSequence stored,
// FailedSOPSequence failed, with their FailureReason codes).
import * as api from "./api.js";
import {el, showError} from "./ui.js";
import {stowBody} from "./multipart.js";
import {T} from "./dicom.js";

const BATCH_FILES = 50;
const BATCH_BYTES = 64 << 20;

function batches(files) {
  const out = [];
  let cur = [], bytes = 0;
  for (const f of files) {
    if (cur.length && (cur.length >= BATCH_FILES || bytes + f.size > BATCH_BYTES)) { out.push(cur); cur = []; bytes = 0; }
    cur.push(f);
    bytes += f.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Upload files to the store; progress(done, total, stored, failed). Returns {stored, failed, reasons}. */
export async function upload(d, s, files, progress) {
  let stored = 0, failed = 0, done = 0;
  const reasons = new Map();
  for (const b of batches(files)) {
    const {body, contentType} = stowBody(b);
    let resp;
    try {
      resp = await api.request(`${api.paths.web(d, s)}/studies`, {method: "POST", body,
        headers: {"Content-Type": contentType, Accept: "application/dicom+json"}});
    } catch (e) {
      // 409: nothing in the batch stored; the body is the STOW response, not an error (PS3.18 10.5.3).
      if (e.httpStatus !== 409) throw e;
      failed += b.length;
      reasons.set("none stored (409)", (reasons.get("none stored (409)") || 0) + b.length);
      done += b.length;
      progress(done, files.length, stored, failed);
      continue;
    }
    const r = await resp.json().catch(() => ({}));
    const ok = r[T.ReferencedSOPSequence]?.Value || [];
    const bad = r[T.FailedSOPSequence]?.Value || [];
    stored += ok.length;
    failed += bad.length;
    for (const item of bad) {
      const code = item["00081197"]?.Value?.[0];
      const k = code === undefined ? "unknown" : "0x" + Number(code).toString(16).toUpperCase().padStart(4, "0");
      reasons.set(k, (reasons.get(k) || 0) + 1);
    }
    done += b.length;
    progress(done, files.length, stored, failed);
  }
  return {stored, failed, reasons};
}

const REASONS = {"0x0111": "already in the store", "0xC000": "not DICOM", "0xA900": "other study",
                 "0xA700": "too large", "0x0110": "processing failure"};

// The last upload's summary per store, shown again after the view refreshes to list the new studies.
const lastSummary = new Map();

export function uploadZone({d, s, onDone}) {
  const input = el("input", {type: "file", id: "upload-input", multiple: true, class: "visually-hidden"});
  const status = el("p", {id: "upload-status", "aria-live": "polite"});
  const key = `${d}/${s}`;
  if (lastSummary.has(key)) {
    status.textContent = lastSummary.get(key);
    status.dataset.done = "true";
    lastSummary.delete(key);
  }
  const zone = el("section", {class: "dropzone", id: "dropzone", "aria-labelledby": "upload-title"},
    el("h2", {id: "upload-title", text: "Upload"}),
    el("p", {}, "Drop DICOM Part 10 files here, or ",
      el("label", {for: "upload-input", class: "button", tabindex: "0", id: "upload-pick"}, "choose files"), "."),
    input, status);
  const run = async (files) => {
    if (!files.length) return;
    zone.classList.add("busy");
    delete status.dataset.done;
    try {
      const r = await upload(d, s, files, (done, total, stored, failed) => {
        status.textContent = `Uploading: ${done} of ${total} files sent, ${stored} stored, ${failed} failed`;
      });
      const why = [...r.reasons].map(([k, n]) => `${n} ${REASONS[k] || k}`).join(", ");
      status.textContent = `Upload finished: ${r.stored} stored, ${r.failed} failed${why ? ` (${why})` : ""}.`;
      if (r.stored && onDone) {
        lastSummary.set(key, status.textContent);
        setTimeout(onDone, 0);
      } else {
        status.dataset.done = "true";
      }
    } catch (e) {
      status.textContent = "Upload failed.";
      showError(e);
    } finally {
      zone.classList.remove("busy");
    }
  };
  // The picker is emptied once its files are taken: Chromium saves a file input's chosen paths with the history
  // entry's form state in the profile's session-restore file, where a folder named after a patient would
  // outlive the page (docs/console.md "What the console keeps").
  input.addEventListener("change", () => { const files = [...input.files]; input.value = ""; run(files); });
  zone.querySelector("label.button").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); input.click(); }
  });
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    run([...ev.dataTransfer.files]);
  });
  return zone;
}
