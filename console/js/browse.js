// Browse: datasets -> DICOM stores (metrics) -> studies (QIDO search, server-side paging) -> series ->
// instances -> one instance (rendered frame, metadata). Each view is async (ctx) -> Node.
import * as api from "./api.js";
import {el, dataTable, pager, showError, fmtBytes, fmtDate} from "./ui.js";
import {first, metadataTable, T} from "./dicom.js";
import {uploadZone} from "./upload.js";

const PAGE_SIZES = [25, 50, 100, 200];
const lastId = (name) => name.split("/").pop();

function createForm({legend, idLabel, inputId, onCreate}) {
  const input = el("input", {id: inputId, name: "id", required: true, pattern: "[A-Za-z0-9_.\\-]{1,256}",
                             autocomplete: "off", spellcheck: "false"});
  const form = el("form", {class: "inline"},
    el("fieldset", {}, el("legend", {text: legend}),
      el("label", {for: inputId, text: idLabel}), input,
      el("button", {type: "submit"}, "Create")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await onCreate(input.value.trim()); } catch (e) { showError(e); }
  });
  return form;
}

export async function datasets(ctx) {
  const r = await api.json(`${api.paths.datasets()}?pageSize=1000`);
  const rows = (r.datasets || []).map((d) => ({id: lastId(d.name), name: d.name}));
  return el("section", {},
    el("h1", {text: "Datasets"}),
    dataTable({id: "datasets", caption: `${rows.length} dataset${rows.length === 1 ? "" : "s"}`, rows,
               columns: [{label: "Dataset", get: (d) => d.id}],
               rowLabel: (d) => `Open dataset ${d.id}`,
               open: (d) => ctx.go({view: "stores", d: d.id})}),
    createForm({legend: "New dataset", idLabel: "Dataset ID", inputId: "new-dataset",
                onCreate: async (id) => {
                  await api.json(`${api.paths.datasets()}?datasetId=${encodeURIComponent(id)}`, {method: "POST", body: {}});
                  ctx.replace({view: "datasets"});
                }}));
}

export async function stores(ctx) {
  const {d} = ctx.state;
  const r = await api.json(`${api.paths.stores(d)}?pageSize=1000`);
  const rows = (r.dicomStores || []).map((s) => ({id: lastId(s.name)}));
  const cells = new Map();
  const metric = (s, k) => {
    const span = el("span", {class: "num", text: "…"});
    cells.set(`${s.id}/${k}`, span);
    return span;
  };
  const table = dataTable({
    id: "stores", caption: `DICOM stores of dataset ${d}`, rows,
    columns: [{label: "Store", get: (s) => s.id},
              {label: "Studies", get: (s) => metric(s, "studyCount"), class: "num"},
              {label: "Series", get: (s) => metric(s, "seriesCount"), class: "num"},
              {label: "Instances", get: (s) => metric(s, "instanceCount"), class: "num"},
              {label: "Size", get: (s) => metric(s, "structuredStorageSizeBytes"), class: "num"}],
    rowLabel: (s) => `Open store ${s.id}`,
    open: (s) => ctx.go({view: "studies", d, s: s.id}),
  });
  // Metrics load after the table is shown, one request per store.
  for (const s of rows) {
    api.json(`${api.paths.store(d, s.id)}:getDICOMStoreMetrics`).then((m) => {
      for (const k of ["studyCount", "seriesCount", "instanceCount"])
        cells.get(`${s.id}/${k}`).textContent = Number(m[k] || 0).toLocaleString("en");
      cells.get(`${s.id}/structuredStorageSizeBytes`).textContent = fmtBytes(m.structuredStorageSizeBytes);
    }).catch((e) => { if (!ctx.stale()) showError(e); });
  }
  return el("section", {},
    el("h1", {text: `Dataset ${d}`}),
    table,
    createForm({legend: "New DICOM store", idLabel: "Store ID", inputId: "new-store",
                onCreate: async (id) => {
                  await api.json(`${api.paths.stores(d)}?dicomStoreId=${encodeURIComponent(id)}`, {method: "POST", body: {}});
                  ctx.replace({view: "stores", d});
                }}));
}

/** QIDO with limit+1, so the pager knows whether a next page exists without counting. */
async function qido(path, params, offset, pageSize, signal) {
  const list = await api.json(path + api.qs({...params, limit: pageSize + 1, offset}), {
    headers: {Accept: "application/dicom+json"}, signal});
  const rows = Array.isArray(list) ? list : [];
  return {rows: rows.slice(0, pageSize), hasMore: rows.length > pageSize};
}

function searchForm(q, onSearch) {
  const f = (id, label, type = "text", extra = {}) => {
    const input = el("input", {id, name: id, type, value: q[id] || "", autocomplete: "off", spellcheck: "false", ...extra});
    return [el("label", {for: id, text: label}), input];
  };
  const size = el("select", {id: "pageSize", name: "pageSize"},
    PAGE_SIZES.map((n) => el("option", {value: String(n), selected: Number(q.pageSize || 50) === n}, String(n))));
  const form = el("form", {class: "search", role: "search", "aria-label": "Search studies"},
    el("div", {class: "fields"},
      el("div", {}, ...f("patient", "Patient name or ID", "text", {placeholder: "Doe* or 12345", "aria-keyshortcuts": "/"})),
      el("div", {}, ...f("dateFrom", "Study date from", "date")),
      el("div", {}, ...f("dateTo", "Study date to", "date")),
      el("div", {}, ...f("modality", "Modality", "text", {placeholder: "CT", size: "6"})),
      el("div", {}, ...f("accession", "Accession number")),
      el("div", {}, el("label", {for: "pageSize", text: "Per page"}), size)),
    el("div", {class: "actions"},
      el("button", {type: "submit", id: "search-go"}, "Search"),
      el("button", {type: "reset", id: "search-clear"}, "Clear")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    onSearch(data);
  });
  form.addEventListener("reset", () => setTimeout(() => onSearch({pageSize: size.value}), 0));
  return form;
}

/** The form's fields as QIDO matching keys. A patient text with a digit is a PatientID, else a name
 *  (case-insensitive with fuzzymatching; a trailing * is added when the user gave no wildcard). */
function qidoParams(q) {
  const p = {};
  const pat = (q.patient || "").trim();
  if (pat) {
    const wild = /[*?]/.test(pat) ? pat : pat + "*";
    if (/\d/.test(pat)) p.PatientID = wild; else { p.PatientName = wild; p.fuzzymatching = "true"; }
  }
  const da = (v) => (v || "").replaceAll("-", "");
  if (q.dateFrom || q.dateTo) p.StudyDate = `${da(q.dateFrom)}-${da(q.dateTo)}`;
  if ((q.modality || "").trim()) p.ModalitiesInStudy = q.modality.trim().toUpperCase();
  if ((q.accession || "").trim()) p.AccessionNumber = q.accession.trim();
  return p;
}

export async function studies(ctx) {
  const {d, s} = ctx.state;
  const q = ctx.state.q || {};
  const offset = ctx.state.offset || 0;
  const pageSize = Number(q.pageSize || 50);
  const t0 = performance.now();
  // A search the server refuses (400: a date range that ends before it starts) keeps the form, with the
  // server's reason in place of the table, so the user can correct it.
  let rows = [], hasMore = false, refused = "";
  try {
    ({rows, hasMore} = await qido(`${api.paths.web(d, s)}/studies`, qidoParams(q), offset, pageSize));
  } catch (e) {
    if (e.httpStatus !== 400) throw e;
    refused = e.message;
  }
  const table = dataTable({
    id: "studies", caption: "Studies", rows,
    columns: [
      {label: "Patient", get: (r) => first(r, T.PatientName)},
      {label: "Patient ID", get: (r) => first(r, T.PatientID)},
      {label: "Date", get: (r) => fmtDate(first(r, T.StudyDate))},
      {label: "Modalities", get: (r) => (r[T.ModalitiesInStudy]?.Value || []).join(", ")},
      {label: "Accession", get: (r) => first(r, T.AccessionNumber)},
      {label: "Description", get: (r) => first(r, T.StudyDescription)},
      {label: "Series", get: (r) => first(r, T.NumberOfStudyRelatedSeries), class: "num"},
      {label: "Instances", get: (r) => first(r, T.NumberOfStudyRelatedInstances), class: "num"},
    ],
    rowLabel: (r) => `Open study of ${first(r, T.StudyDate) || "unknown date"}`,
    open: (r) => ctx.go({view: "series", d, s, study: first(r, T.StudyInstanceUID)}),
  });
  table.dataset.renderMs = String(Math.round(performance.now() - t0));
  return el("section", {},
    el("h1", {text: `Store ${s}`}),
    searchForm(q, (nq) => ctx.go({view: "studies", d, s, q: nq, offset: 0})),
    refused ? el("p", {id: "search-refused", class: "message error", role: "alert",
                       text: `Search not accepted: ${refused}`})
            : table,
    pager({offset, shown: rows.length, hasMore, pageSize, label: "Study pages",
           onPage: (o) => ctx.go({view: "studies", d, s, q, offset: o})}),
    uploadZone({d, s, onDone: () => ctx.replace({...ctx.state})}));
}

export async function series(ctx) {
  const {d, s, study} = ctx.state;
  const list = await api.json(`${api.paths.web(d, s)}/studies/${study}/series?limit=5000`,
                              {headers: {Accept: "application/dicom+json"}});
  const rows = Array.isArray(list) ? list : [];
  const head = rows[0] || {};
  return el("section", {},
    el("h1", {text: "Study"}),
    el("p", {class: "summary"}, `${first(head, T.PatientName) || "(no name)"} · ${first(head, T.PatientID)} · `
       + `${fmtDate(first(head, T.StudyDate))} · ${rows.length} series`),
    dataTable({
      id: "series", caption: "Series", rows,
      columns: [
        {label: "Number", get: (r) => first(r, T.SeriesNumber), class: "num"},
        {label: "Modality", get: (r) => first(r, T.Modality)},
        {label: "Description", get: (r) => first(r, T.SeriesDescription)},
        {label: "Instances", get: (r) => first(r, T.NumberOfSeriesRelatedInstances), class: "num"},
      ],
      rowLabel: (r) => `Open series ${first(r, T.SeriesNumber)}`,
      open: (r) => ctx.go({view: "instances", d, s, study, series: first(r, T.SeriesInstanceUID)}),
    }));
}

export async function instances(ctx) {
  const {d, s, study} = ctx.state;
  const offset = ctx.state.offset || 0;
  const pageSize = 100;
  const {rows, hasMore} = await qido(`${api.paths.web(d, s)}/studies/${study}/series/${ctx.state.series}/instances`,
                                     {}, offset, pageSize);
  return el("section", {},
    el("h1", {text: "Series"}),
    dataTable({
      id: "instances", caption: "Instances", rows,
      columns: [
        {label: "Number", get: (r) => first(r, T.InstanceNumber), class: "num"},
        {label: "Frames", get: (r) => first(r, T.NumberOfFrames) || "1", class: "num"},
        {label: "Size", get: (r) => `${first(r, T.Columns)}×${first(r, T.Rows)}`},
        {label: "SOP Class", get: (r) => first(r, T.SOPClassUID), class: "mono"},
      ],
      rowLabel: (r) => `Open instance ${first(r, T.InstanceNumber)}`,
      open: (r) => ctx.go({view: "instance", d, s, study, series: ctx.state.series, sop: first(r, T.SOPInstanceUID),
                           frames: Number(first(r, T.NumberOfFrames) || 1)}),
    }),
    pager({offset, shown: rows.length, hasMore, pageSize, label: "Instance pages",
           onPage: (o) => ctx.go({...ctx.state, offset: o})}));
}

// Window presets (center/width) sent as the rendered resource's `window` parameter (PS3.18 8.3.5.1.3).
export const WINDOWS = [
  ["Default", null], ["Soft tissue", [40, 400]], ["Lung", [-600, 1500]], ["Bone", [300, 1500]],
  ["Brain", [40, 80]], ["Liver", [60, 160]],
];

export function instancePath(d, s, st, se, sop) {
  return `${api.paths.web(d, s)}/studies/${st}/series/${se}/instances/${sop}`;
}

/** An <img> showing one rendered frame, fetched with the token (an <img src> could not carry it). */
export async function loadRendered(img, base, frame, win, signal) {
  const q = win ? `?window=${win[0]},${win[1]},linear` : "";
  const r = await api.request(`${base}/frames/${frame}/rendered${q}`, {headers: {Accept: "image/png, image/jpeg"}, signal});
  const blob = await r.blob();
  const old = img.dataset.url;
  img.src = URL.createObjectURL(blob);
  img.dataset.url = img.src;
  if (old) URL.revokeObjectURL(old);
  await img.decode().catch(() => {});
  img.dataset.loaded = "true";
}

/** The rendered frame with its slider and window presets. overlay (boxes.js boxOverlay, optional): drawn
 *  over the picture, told each frame once it is shown. */
export function viewer(base, frames, {id = "frame", label = "Rendered frame", overlay = null} = {}) {
  const img = el("img", {id, alt: label, class: "frame"});
  const status = el("p", {class: "viewer-status", "aria-live": "polite"});
  let frame = 1, win = null, ctrl = null;
  const load = () => {
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    status.textContent = "Loading…";
    const shown = frame;
    loadRendered(img, base, frame, win, ctrl.signal).then(() => {
      status.textContent = frames > 1 ? `Frame ${frame} of ${frames}` : "";
      if (overlay) overlay.show(shown, img);
    })
      .catch((e) => { if (e.name !== "AbortError") { img.removeAttribute("src"); status.textContent = `No rendered frame: ${e.describe ? e.describe() : e.message}`; } });
  };
  const controls = el("div", {class: "viewer-controls"});
  if (frames > 1) {
    const slider = el("input", {type: "range", id: `${id}-slider`, min: "1", max: String(frames), value: "1", step: "1"});
    slider.addEventListener("input", () => { frame = Number(slider.value); load(); });
    controls.append(el("label", {for: `${id}-slider`, text: "Frame"}), slider);
  }
  const sel = el("select", {id: `${id}-window`}, WINDOWS.map(([n], i) => el("option", {value: String(i)}, n)));
  sel.addEventListener("change", () => { win = WINDOWS[Number(sel.value)][1]; load(); });
  controls.append(el("label", {for: `${id}-window`, text: "Window"}), sel);
  load();
  // The overlay is laid over the img by position in the figure (a positioned box: .viewer is sticky).
  return el("figure", {class: "viewer"}, img, overlay ? overlay.node : null,
            el("figcaption", {}, controls, status, overlay ? overlay.legend : null));
}

export async function instance(ctx) {
  const {d, s, study, series: se, sop} = ctx.state;
  const base = instancePath(d, s, study, se, sop);
  const meta = await api.json(`${base}/metadata`, {headers: {Accept: "application/dicom+json"}});
  const obj = Array.isArray(meta) ? meta[0] || {} : {};
  const frames = Number(first(obj, T.NumberOfFrames) || ctx.state.frames || 1);
  const hasPixels = obj["7FE00010"] !== undefined || obj["7FE00008"] !== undefined || obj["7FE00009"] !== undefined;
  return el("section", {class: "instance"},
    el("h1", {text: "Instance"}),
    el("div", {class: "two-col"},
      hasPixels ? viewer(base, frames) : el("p", {class: "viewer-status", text: "This instance has no pixel data."}),
      el("div", {class: "meta-wrap"}, el("h2", {text: "Metadata"}), metadataTable(obj))));
}

