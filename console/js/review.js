// Review of a finished de-identification: original and de-identified instance side by side — rendered frames
// and a metadata diff that marks every attribute (nested ones included) removed / emptied / replaced /
// regenerated / kept / added. A reviewer can mark an instance "needs attention"; the marks are kept with the
// operation by the server and listed here.
//
// Pairing: the output's UIDs are keyed hashes the browser cannot compute, so an original is paired with the
// output instance that agrees on the most attributes no profile changes (SOP class, instance and series
// numbers, modality, rows, columns, frames) plus any UID the config kept; ties are said so on the page.
import * as api from "./api.js";
import {el, showError} from "./ui.js";
import {first, text, keyword, tagLabel, T} from "./dicom.js";
import {viewer, instancePath} from "./browse.js";
import {started} from "./deid.js";
import {fetchBoxes, boxOverlay, describeRecord} from "./boxes.js";

const lastId = (name) => name.split("/").pop();
const PAIR_KEYS = [T.SOPClassUID, T.InstanceNumber, T.SeriesNumber, T.Modality, T.Rows, T.Columns, T.NumberOfFrames,
                   T.SOPInstanceUID, T.SeriesInstanceUID, T.StudyInstanceUID];

/** Attribute status of one tag: removed (absent in the output), emptied, regenerated (a UI value changed),
 *  replaced (another value), kept, added (only in the output). */
export function classify(a, b) {
  if (a && !b) return "removed";
  if (!a && b) return "added";
  const ta = text(a), tb = text(b);
  const emptyB = !b.Value || b.Value.length === 0 || tb === "";
  if (a.vr === "SQ") return null; // decided item by item
  if (ta === tb) return "kept";
  if (emptyB && ta !== "") return "emptied";
  if (a.vr === "UI") return "regenerated";
  return "replaced";
}

/** Flat diff rows [{path, depth, tag, vr, before, after, status}] over two DICOM JSON objects. */
export function diff(a, b, depth = 0, path = "") {
  const rows = [];
  const tags = [...new Set([...Object.keys(a || {}), ...Object.keys(b || {})])].sort();
  for (const tag of tags) {
    const x = a ? a[tag] : undefined, y = b ? b[tag] : undefined;
    const p = path + tagLabel(tag);
    const vr = (x || y).vr;
    if (vr === "SQ" && x && y) {
      const ia = x.Value || [], ib = y.Value || [];
      let status = "kept";
      if (ia.length && !ib.length) status = "emptied";
      const sub = [];
      for (let i = 0; i < Math.max(ia.length, ib.length); i++)
        sub.push(...diff(ia[i] || (i < ia.length ? {} : null), ib[i] || (i < ib.length ? {} : null), depth + 1, `${p}[${i + 1}] › `));
      if (status === "kept" && sub.some((r) => r.status !== "kept")) status = "changed inside";
      rows.push({path: p, depth, tag, vr, before: `${ia.length} item(s)`, after: `${ib.length} item(s)`, status});
      rows.push(...sub);
      continue;
    }
    const status = classify(x, y);
    rows.push({path: p, depth, tag, vr, before: x ? (vr === "SQ" ? `${(x.Value || []).length} item(s)` : text(x)) : "",
               after: y ? (vr === "SQ" ? `${(y.Value || []).length} item(s)` : text(y)) : "", status});
    // A sequence only on one side: its items' attributes are listed too (all removed, or all added).
    if (vr === "SQ") {
      ((x || y).Value || []).forEach((item, i) =>
        rows.push(...diff(x ? item : null, y ? item : null, depth + 1, `${p}[${i + 1}] › `)));
    }
  }
  return rows;
}

/** n instances of store (d, s) drawn at random from the whole store, not from its first page: the store's
 * instance count, then n distinct random positions, each read as a one-row QIDO page (the server's order is
 * stable). Before, the sample came from the first 5,000 instances, so the rest of a large store was never
 * reviewed (test_console.py "review sample of the whole store"). */
export async function sampleInstances(d, s, n) {
  const m = await api.json(`${api.paths.store(d, s)}:getDICOMStoreMetrics`);
  const count = Number(m.instanceCount || 0);
  const at = new Set();
  while (at.size < Math.min(n, count)) at.add(Math.floor(Math.random() * count));
  const rows = [];
  for (const k of at) rows.push(...await api.json(`${api.paths.web(d, s)}/instances?limit=1&offset=${k}`));
  return rows;
}

/** Each original of srcRows with its output in store (d, s): {src, dst (null: none that could be), ties}. The outputs an
 * original may pair with: for a short list (a sample, a small study), the destination's instances that agree on
 * the original's attributes no profile changes, searched in the whole store (a sample drawn past the
 * destination's first 5,000 instances found no output there); when none agree, or for a long list (one request,
 * not one per original), firstPage(): the destination's first 5,000 instances. (test_console.py "review pairs
 * past the first 5,000") */
// Instance-level only (not Modality or SeriesNumber, series-level match keys: see SAME_IN_OUTPUT below).
const PAIR_QUERY = [T.SOPClassUID, T.InstanceNumber, T.Rows, T.Columns];
export async function pairOutputs(srcRows, d, s, firstPage) {
  const used = new Set(); // SOP Instance UIDs of the outputs paired already
  const pairs = [];
  for (const r of srcRows) {
    let outs = [];
    if (srcRows.length <= 50) {
      const q = {limit: 100};
      for (const k of PAIR_QUERY) if (first(r, k) !== "") q[k] = first(r, k);
      outs = await api.json(`${api.paths.web(d, s)}/instances${api.qs(q)}`);
    }
    if (!outs.length) outs = await firstPage();
    let best = null, bestScore = -1, ties = 0;
    for (const o of outs) {
      if (!couldBeOutput(r, o)) continue;
      const sc = pairScore(r, o) - (used.has(first(o, T.SOPInstanceUID)) ? 0.5 : 0);
      if (sc > bestScore) { best = o; bestScore = sc; ties = 0; } else if (sc === bestScore) ties++;
    }
    if (best) used.add(first(best, T.SOPInstanceUID));
    pairs.push({src: r, dst: best, ties});
  }
  return pairs;
}

// An output of src disagrees with it on none of the instance-level attributes no profile changes (an attribute
// either lacks may have been removed) and shares its SOP class: without this, an original with no output was
// shown "paired" with the best of the destination's first page (stop 42's review; test_console.py "review pairs
// no stranger"). Not Modality and SeriesNumber: a QIDO row gives them from the series, and a series whose
// instances disagree on them (dcm_qa_ts) has its first-stored instance's in each store.
const SAME_IN_OUTPUT = [T.SOPClassUID, T.InstanceNumber, T.Rows, T.Columns, T.NumberOfFrames];
function couldBeOutput(src, dst) {
  if (first(src, T.SOPClassUID) !== first(dst, T.SOPClassUID)) return false;
  return SAME_IN_OUTPUT.every((k) => first(src, k) === "" || first(dst, k) === "" || first(src, k) === first(dst, k));
}

function pairScore(src, dst) {
  let s = 0;
  for (const k of PAIR_KEYS) {
    const a = first(src, k), b = first(dst, k);
    if (a !== "" && a === b) s += k === T.SOPInstanceUID ? 10 : 1;
  }
  return s;
}

// choose: no store is preselected (a first "choose" option of value ""), for a destination this page does not
// know: defaulting to the first store would pair the originals with themselves under "De-identified".
function storeSelectors(datasets, init, prefix, label, {choose = false} = {}) {
  const ds = el("select", {id: `${prefix}-dataset`}, datasets.map((d) => el("option", {value: d, selected: d === init.d}, d)));
  const ss = el("select", {id: `${prefix}-store`});
  const fill = async () => {
    const r = await api.json(`${api.paths.stores(ds.value)}?pageSize=1000`);
    const stores = (r.dicomStores || []).map((x) => lastId(x.name));
    ss.replaceChildren(...(choose ? [el("option", {value: ""}, "(choose the store the operation wrote)")] : []),
                       ...stores.map((x) => el("option", {value: x, selected: x === init.s}, x)));
  };
  ds.addEventListener("change", fill);
  return {node: el("fieldset", {}, el("legend", {text: label}), el("label", {for: ds.id, text: "Dataset"}), ds,
                   el("label", {for: ss.id, text: "Store"}), ss), fill, get: () => ({d: ds.value, s: ss.value})};
}

export async function review(ctx) {
  const {d, op} = ctx.state;
  const datasets = ((await api.json(`${api.paths.datasets()}?pageSize=1000`)).datasets || []).map((x) => lastId(x.name));
  // Where the operation wrote is known only for one started from this page (no API method names an
  // operation's destination): otherwise the reviewer picks the destination store.
  const known = started.get(op) || {src: {d, s: ""}, dst: {d, s: ""}};
  const src = storeSelectors(datasets, known.src, "rv-src", "Original");
  const dst = storeSelectors(datasets, known.dst.s ? known.dst : {d: known.dst.d, s: known.src.s}, "rv-dst",
                             "De-identified", {choose: !started.has(op)});
  await Promise.all([src.fill(), dst.fill()]);
  const listBox = el("div", {id: "review-list"});
  const compare = el("div", {id: "review-compare"});
  const sampleBtn = el("button", {type: "button", id: "review-sample"}, "Random sample (5)");
  const studySel = el("select", {id: "review-study"});
  // The options' values are positions in studyUids, not the UIDs: Chromium saves a <select>'s value (its
  // autocomplete="off" is not honoured there) in the profile's session-restore file, where a source study UID
  // would outlive the page and the sign-out (docs/console.md "What the console keeps").
  let studyUids = [];
  const studyBtn = el("button", {type: "button", id: "review-by-study", class: "secondary"}, "Instances of this study");

  // Reviewer marks ("needs attention"), kept with the operation by the server (/dicomveil/v1/reviewMarks),
  // keyed by the original instance's resource path (as the operation's error log is).
  const marksBox = el("section", {id: "review-marks", "aria-live": "polite"});
  let marks = [];
  function showMarks() {
    marksBox.replaceChildren(el("h2", {text: `Needs attention (${marks.length})`}),
      marks.length ? el("ul", {class: "marks"}, marks.map((m) => el("li", {class: "mono", text: m})))
                   : el("p", {class: "hint", text: "No instance marked yet."}));
  }
  async function loadMarks() {
    if (!op) return;
    marks = (await api.json(`/dicomveil/v1/reviewMarks${api.qs({operation: op})}`)).marks || [];
    showMarks();
  }
  async function setMark(path, on) {
    marks = (await api.json("/dicomveil/v1/reviewMarks", {method: "POST",
      body: {operation: op, instance: path, needsAttention: on}})).marks || [];
    showMarks();
  }

  let dstInstances = null;
  async function destination() {
    if (dstInstances === null) {
      const {d: dd, s: ds} = dst.get();
      dstInstances = await api.json(`${api.paths.web(dd, ds)}/instances?limit=5000`);
    }
    return dstInstances;
  }
  async function loadStudies() {
    const {d: sd, s: ss} = src.get();
    const studies = await api.json(`${api.paths.web(sd, ss)}/studies?limit=500`);
    studyUids = studies.map((s) => first(s, T.StudyInstanceUID));
    studySel.replaceChildren(...studies.map((s, i) => el("option", {value: String(i)},
      `${first(s, T.PatientName) || "(no name)"} · ${first(s, T.StudyDate)}`)));
  }

  // The pair's right column says "De-identified": never an original's store (nor none) there.
  function checkStores() {
    const a = src.get(), b = dst.get();
    if (!b.s) throw new Error("Choose the de-identified store (the store the operation wrote) first.");
    if (a.d === b.d && a.s === b.s)
      throw new Error("The de-identified store is the original store: choose the store the operation wrote.");
  }

  async function showList(srcRows) {
    checkStores();
    const {d: dd, s: ds} = dst.get();
    const pairs = await pairOutputs(srcRows, dd, ds, destination);
    const table = el("table", {class: "list", id: "review-pairs"},
      el("caption", {text: `${pairs.length} original instance(s), each with its de-identified output`}),
      el("thead", {}, el("tr", {}, ["Instance", "Modality", "Series", "Output", ""].map((h) => el("th", {scope: "col", text: h})))));
    const body = el("tbody");
    pairs.forEach((p, i) => {
      const tr = el("tr", {tabindex: "0", class: "openable", "data-index": String(i)},
        el("td", {text: first(p.src, T.InstanceNumber) || "—"}), el("td", {text: first(p.src, T.Modality)}),
        el("td", {text: first(p.src, T.SeriesNumber)}),
        el("td", {text: p.dst ? (p.ties ? `paired (${p.ties + 1} equally likely)` : "paired") : "no output"}),
        el("td", {}, el("span", {class: "hint", text: "Enter to compare"})));
      const open = () => p.dst ? compareOne(p).catch(showError)
                               : showError(new Error("No de-identified output for this instance."));
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") open(); });
      body.append(tr);
    });
    table.append(body);
    listBox.replaceChildren(table);
  }

  async function compareOne(p) {
    checkStores();
    const {d: sd, s: ss} = src.get(), {d: dd, s: ds} = dst.get();
    const a = instancePath(sd, ss, first(p.src, T.StudyInstanceUID), first(p.src, T.SeriesInstanceUID), first(p.src, T.SOPInstanceUID));
    const b = instancePath(dd, ds, first(p.dst, T.StudyInstanceUID), first(p.dst, T.SeriesInstanceUID), first(p.dst, T.SOPInstanceUID));
    // The boxes the operation painted are kept by the OUTPUT instance's UIDs (op_boxes.h).
    const outPath = `/studies/${first(p.dst, T.StudyInstanceUID)}/series/${first(p.dst, T.SeriesInstanceUID)}/instances/${first(p.dst, T.SOPInstanceUID)}`;
    const [ma, mb, rec] = await Promise.all([api.json(`${a}/metadata`), api.json(`${b}/metadata`),
                                             op ? fetchBoxes(op, outPath) : null]);
    const A = ma[0] || {}, B = mb[0] || {};
    const frames = Number(first(A, T.NumberOfFrames) || 1);
    const size = [Number(first(B, T.Columns)), Number(first(B, T.Rows))];
    const rows = diff(A, B);
    const counts = {};
    for (const r of rows) counts[r.status] = (counts[r.status] || 0) + 1;
    const onlyChanged = el("input", {type: "checkbox", id: "diff-changed-only"});
    const table = el("table", {class: "meta diff", id: "diff"},
      el("thead", {}, el("tr", {}, ["Attribute", "Keyword", "Original", "De-identified", "Result"].map((h) => el("th", {scope: "col", text: h})))),
      el("tbody", {}, rows.map((r) => el("tr", {"data-tag": r.tag, "data-path": r.path, "data-status": r.status, class: `st-${r.status.replace(/ /g, "-")}`},
        el("td", {class: `mono depth-${Math.min(r.depth, 5)}`, text: r.path.split(" › ").pop()}),
        el("td", {text: keyword(r.tag)}), el("td", {text: r.before}), el("td", {text: r.after}),
        el("td", {}, el("span", {class: `badge ${r.status.replace(/ /g, "-")}`, text: r.status}))))));
    onlyChanged.addEventListener("change", () => table.classList.toggle("changed-only", onlyChanged.checked));
    const srcPath = `/studies/${first(p.src, T.StudyInstanceUID)}/series/${first(p.src, T.SeriesInstanceUID)}/instances/${first(p.src, T.SOPInstanceUID)}`;
    const markBtn = el("button", {type: "button", id: "mark-attention", class: "secondary",
                                  "aria-pressed": marks.includes(srcPath) ? "true" : "false"},
                       marks.includes(srcPath) ? "Marked: needs attention (click to clear)" : "Mark: needs attention");
    markBtn.addEventListener("click", async () => {
      const on = markBtn.getAttribute("aria-pressed") !== "true";
      try {
        await setMark(srcPath, on);
        markBtn.setAttribute("aria-pressed", on ? "true" : "false");
        markBtn.textContent = on ? "Marked: needs attention (click to clear)" : "Mark: needs attention";
      } catch (e) { showError(e); }
    });
    // Outlines of the redacted boxes: solid on the output, dashed on the original; a checkbox (keyboard:
    // Tab to it, Space) hides them to see the pixels underneath.
    const outlines = el("input", {type: "checkbox", id: "review-outlines", checked: true, "aria-controls": "review-frames"});
    const frameBox = el("div", {class: "two-col", id: "review-frames"},
      el("div", {}, el("h3", {text: "Original"}), viewer(a, frames, {id: "frame-original", label: "Original frame",
        overlay: boxOverlay(rec, {id: "frame-original", dashed: true, size})})),
      el("div", {}, el("h3", {text: "De-identified"}), viewer(b, frames, {id: "frame-deid", label: "De-identified frame",
        overlay: boxOverlay(rec, {id: "frame-deid", size})})));
    outlines.addEventListener("change", () => frameBox.classList.toggle("outlines-hidden", !outlines.checked));
    compare.replaceChildren(...[
      el("h2", {text: "Original and de-identified"}), markBtn,
      el("p", {id: "review-boxes", class: "hint", "data-recorded": rec ? "true" : "false", text: describeRecord(rec)}),
      rec && rec.boxCount ? el("div", {}, outlines, el("label", {for: "review-outlines", class: "inline", text: " Outline the redacted boxes"})) : null,
      frameBox,
      el("p", {class: "summary", id: "diff-summary", text: Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(" · ")}),
      el("div", {}, onlyChanged, el("label", {for: "diff-changed-only", class: "inline", text: " Changed attributes only"})),
      el("div", {class: "meta-wrap"}, table)].filter(Boolean));
    compare.querySelector("h2").focus?.();
  }

  sampleBtn.addEventListener("click", async () => {
    try {
      checkStores();
      const {d: sd, s: ss} = src.get();
      await showList(await sampleInstances(sd, ss, 5));
    } catch (e) { showError(e); }
  });
  studyBtn.addEventListener("click", async () => {
    try {
      checkStores();
      const {d: sd, s: ss} = src.get();
      await showList(await api.json(`${api.paths.web(sd, ss)}/studies/${studyUids[Number(studySel.value)]}/instances?limit=5000`));
    } catch (e) { showError(e); }
  });
  const refetch = () => { dstInstances = null; loadStudies().catch(showError); };
  src.node.addEventListener("change", refetch);
  dst.node.addEventListener("change", () => { dstInstances = null; });
  await loadStudies().catch(showError);
  await loadMarks().catch(showError);

  return el("section", {class: "review"},
    el("h1", {text: `Review operation ${lastId(op || "")}`}),
    el("div", {class: "review-stores"}, src.node, dst.node),
    el("div", {class: "review-pick"}, sampleBtn, el("label", {for: "review-study", class: "inline", text: "or a study: "}), studySel, studyBtn),
    marksBox, listBox, compare);
}
