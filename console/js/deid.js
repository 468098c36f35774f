// The de-identify wizard: source (a dataset, or one DICOM store) -> destination (a new dataset, or an
// existing store) -> config (a preset, then the JSON editor, validated live by the server's dry run
// /dicomveil/v1/deidentifyConfig:validate: the error is shown at the JSON path the server names) -> optional
// filter (studies / series ticked from the source store, handed over as a filter file) -> start.
import * as api from "./api.js";
import {el, showError} from "./ui.js";
import {first, T} from "./dicom.js";
import {PRESETS} from "./presets.js";

const lastId = (name) => name.split("/").pop();
const FULL = (d, s) => `projects/local/locations/local/datasets/${d}` + (s ? `/dicomStores/${s}` : "");

/** A request body holding the editor's config text as typed: JSON.parse and JSON.stringify would let a
 *  repeated key's last value win silently (the first of two "actions" lists dropped), where the server refuses
 *  a repeated key, as the CLI does. configText must be one JSON value (JSON.parse accepted it). */
function withConfig(fields, configText) {
  // The config first, on lines of its own: line N of the editor is line N + 1 of the body, same column, so a
  // position the server gives is turned back into the editor's (editorPosition).
  const rest = JSON.stringify(fields).slice(1, -1);
  return {method: "POST", headers: {"Content-Type": "application/json"},
          body: `{"config":\n${configText}\n${rest ? "," + rest : ""}}`};
}

/** A refused body's position ("request body: invalid JSON at line L column C: why") as the editor's line. */
export function editorPosition(message) {
  const m = /^request body: invalid JSON at line (\d+) column (\d+): (.*)$/.exec(message || "");
  return m && +m[1] > 1 ? `Not accepted: line ${+m[1] - 1}, column ${m[2]} of the config: ${m[3]}` : message;
}

/** What the review page needs about operations started here: source and destination stores. */
export const started = new Map(); // operation name -> {src: {d, s}, dst: {d, s}}

async function listDatasets() {
  const r = await api.json(`${api.paths.datasets()}?pageSize=1000`);
  return (r.datasets || []).map((x) => lastId(x.name));
}
async function listStores(d) {
  const r = await api.json(`${api.paths.stores(d)}?pageSize=1000`);
  return (r.dicomStores || []).map((x) => lastId(x.name));
}

function select(id, label, options, value) {
  const s = el("select", {id, name: id}, options.map(([v, t]) => el("option", {value: v, selected: v === value}, t)));
  return [el("label", {for: id, text: label}), s];
}

/** The server's JSON path in a config error message ("config: config.a.b[0]: why") or "". */
export function errorPath(message) {
  const m = /^config: (config(?:\.[A-Za-z0-9_]+|\[\d+\])*)[: ]/.exec(message || "");
  return m ? m[1] : "";
}

export async function wizard(ctx) {
  const datasets = await listDatasets();
  const st = {srcD: ctx.state.d || datasets[0] || "", srcS: ctx.state.s || "", dstD: "", dstS: "", newDataset: ""};
  const root = el("section", {class: "wizard"}, el("h1", {text: "De-identify"}));

  // 1. Source.
  const srcBox = el("fieldset", {id: "step-source"}, el("legend", {text: "1. Source"}));
  const srcStoreWrap = el("div");
  const srcD = select("src-dataset", "Dataset", datasets.map((d) => [d, d]), st.srcD)[1];
  srcBox.append(el("label", {for: "src-dataset", text: "Dataset"}), srcD, srcStoreWrap);
  // 2. Destination.
  const dstBox = el("fieldset", {id: "step-destination"}, el("legend", {text: "2. Destination"}));
  // 3. Config.
  const presetSel = el("select", {id: "preset"}, PRESETS.map((p) => el("option", {value: p.id}, p.label)));
  const editor = el("textarea", {id: "config-editor", rows: "14", spellcheck: "false", "aria-describedby": "config-status",
                                 "aria-label": "DeidentifyConfig JSON"});
  const cfgStatus = el("p", {id: "config-status", class: "config-status", "aria-live": "polite"});
  const cfgBox = el("fieldset", {id: "step-config"}, el("legend", {text: "3. Config"}),
    el("label", {for: "preset", text: "Preset"}), presetSel,
    el("label", {for: "config-editor", text: "DeidentifyConfig (JSON)"}), editor, cfgStatus);
  // 4. Filter.
  const filterBox = el("fieldset", {id: "step-filter"}, el("legend", {text: "4. Filter (optional)"}));
  // 5. Start.
  const startBtn = el("button", {type: "button", id: "deid-start"}, "Start de-identification");
  const startBox = el("fieldset", {id: "step-start"}, el("legend", {text: "5. Start"}), startBtn);
  root.append(srcBox, dstBox, cfgBox, filterBox, startBox);

  const ticked = new Map(); // "/studies/x[/series/y]" -> true

  async function renderSource() {
    const stores = st.srcD ? await listStores(st.srcD) : [];
    if (st.srcS && !stores.includes(st.srcS)) st.srcS = "";
    const [l, s] = select("src-store", "Scope", [["", "The whole dataset (every store)"], ...stores.map((x) => [x, `Store ${x}`])], st.srcS);
    s.addEventListener("change", () => { st.srcS = s.value; renderDestination(); renderFilter(); });
    srcStoreWrap.replaceChildren(l, s);
    renderDestination();
    renderFilter();
  }
  srcD.addEventListener("change", () => { st.srcD = srcD.value; st.srcS = ""; renderSource(); });

  async function renderDestination() {
    dstBox.replaceChildren(el("legend", {text: "2. Destination"}));
    if (!st.srcS) {
      const input = el("input", {id: "dst-new-dataset", required: true, pattern: "[A-Za-z0-9_.\\-]{1,256}",
                                 value: st.newDataset, autocomplete: "off"});
      input.addEventListener("input", () => { st.newDataset = input.value.trim(); });
      dstBox.append(el("label", {for: "dst-new-dataset", text: "New dataset ID (created by the operation)"}), input);
      return;
    }
    const [l1, ds] = select("dst-dataset", "Dataset", datasets.map((d) => [d, d]), st.dstD || st.srcD);
    st.dstD = ds.value;
    const storeWrap = el("div");
    const fill = async () => {
      const stores = (await listStores(st.dstD)).filter((x) => !(st.dstD === st.srcD && x === st.srcS));
      const [l2, ss] = select("dst-store", "Existing store", [["", "— new store —"], ...stores.map((x) => [x, x])], st.dstS);
      const nw = el("input", {id: "dst-new-store", pattern: "[A-Za-z0-9_.\\-]{1,256}", autocomplete: "off",
                              placeholder: "deidentified"});
      const nl = el("label", {for: "dst-new-store", text: "or a new store ID"});
      ss.addEventListener("change", () => { st.dstS = ss.value; });
      nw.addEventListener("input", () => { st.newStore = nw.value.trim(); });
      storeWrap.replaceChildren(l2, ss, nl, nw);
    };
    ds.addEventListener("change", () => { st.dstD = ds.value; st.dstS = ""; fill(); });
    dstBox.append(l1, ds, storeWrap);
    await fill();
  }

  // Live validation: JSON syntax here, the config's rules by the server (debounced).
  let timer = null, seq = 0, valid = false;
  function setStatus(ok, text, path) {
    cfgStatus.className = "config-status " + (ok ? "ok" : "bad");
    cfgStatus.textContent = text;
    cfgStatus.dataset.path = path || "";
    editor.setAttribute("aria-invalid", ok ? "false" : "true");
    valid = ok;
  }
  function validate() {
    clearTimeout(timer);
    const text = editor.value || "{}";
    try { JSON.parse(text); } catch (e) {
      setStatus(false, `Not JSON: ${e.message}`);
      return;
    }
    cfgStatus.textContent = "Checking…";
    const mine = ++seq;
    timer = setTimeout(async () => {
      try {
        const r = await api.json("/dicomveil/v1/deidentifyConfig:validate", withConfig({}, text));
        const warn = (r.warnings || []).map((w) => ` Warning: ${w}.`).join("");
        if (mine === seq) setStatus(true, "The server accepts this config." + warn);
      } catch (e) {
        if (mine !== seq) return;
        const path = errorPath(e.message);
        setStatus(false, path ? `At ${path}: ${e.message.slice(("config: " + path).length).replace(/^[: ]+/, "")}`
                              : editorPosition(e.message), path);
      }
    }, 250);
  }
  editor.addEventListener("input", validate);
  const applyPreset = () => {
    editor.value = JSON.stringify(PRESETS.find((p) => p.id === presetSel.value).config, null, 2);
    validate();
  };
  presetSel.addEventListener("change", applyPreset);
  applyPreset();

  async function renderFilter() {
    ticked.clear();
    filterBox.replaceChildren(el("legend", {text: "4. Filter (optional)"}));
    if (!st.srcS) {
      filterBox.append(el("p", {class: "hint", text: "A filter applies to a store: choose a store as the source to pick studies and series."}));
      return;
    }
    const list = await api.json(`${api.paths.web(st.srcD, st.srcS)}/studies?limit=200`);
    const ul = el("ul", {class: "tree", id: "filter-tree"});
    for (const s of list) {
      const uid = first(s, T.StudyInstanceUID);
      const key = `/studies/${uid}`;
      const cb = el("input", {type: "checkbox", id: `f-${uid}`, "data-path": key});
      cb.addEventListener("change", () => { if (cb.checked) ticked.set(key, true); else ticked.delete(key); });
      const seriesUl = el("ul");
      const more = el("button", {type: "button", class: "link", "aria-expanded": "false"}, "series…");
      more.addEventListener("click", async () => {
        if (seriesUl.childElementCount) { seriesUl.replaceChildren(); more.setAttribute("aria-expanded", "false"); return; }
        more.setAttribute("aria-expanded", "true");
        const ser = await api.json(`${api.paths.web(st.srcD, st.srcS)}/studies/${uid}/series`);
        for (const x of ser) {
          const su = first(x, T.SeriesInstanceUID), k2 = `${key}/series/${su}`;
          const c2 = el("input", {type: "checkbox", id: `f-${su}`, "data-path": k2});
          c2.addEventListener("change", () => { if (c2.checked) ticked.set(k2, true); else ticked.delete(k2); });
          seriesUl.append(el("li", {}, c2, el("label", {for: `f-${su}`, class: "inline",
            text: `Series ${first(x, T.SeriesNumber)} ${first(x, T.Modality)} ${first(x, T.SeriesDescription)}`})));
        }
      });
      ul.append(el("li", {}, cb, el("label", {for: `f-${uid}`, class: "inline",
        text: `${first(s, T.PatientName) || "(no name)"} · ${first(s, T.StudyDate)} · ${(s[T.ModalitiesInStudy]?.Value || []).join(", ")}`}),
        " ", more, seriesUl));
    }
    filterBox.append(el("p", {class: "hint", text: "Nothing ticked: every instance of the store."}), ul);
  }

  startBtn.addEventListener("click", async () => {
    if (!valid) { showError(new Error("Fix the config first: " + cfgStatus.textContent)); return; }
    const config = editor.value || "{}";
    try {
      JSON.parse(config); // one JSON value, or this throws before anything is sent
      let op;
      if (!st.srcS) {
        if (!st.newDataset) throw new Error("Enter the new dataset's ID (destination).");
        op = await api.json(`${api.paths.dataset(st.srcD)}:deidentify`,
                            withConfig({destinationDataset: FULL(st.newDataset)}, config));
        started.set(op.name, {src: {d: st.srcD, s: ""}, dst: {d: st.newDataset, s: ""}});
      } else {
        let dstS = st.dstS;
        if (!dstS) {
          if (!st.newStore) throw new Error("Choose an existing destination store or enter a new store ID.");
          await api.json(`${api.paths.stores(st.dstD)}?dicomStoreId=${encodeURIComponent(st.newStore)}`, {method: "POST", body: {}});
          dstS = st.newStore;
        }
        const body = {destinationStore: FULL(st.dstD, dstS)};
        if (ticked.size) {
          const text = [...ticked.keys()].join("\n") + "\n";
          const f = await api.json("/dicomveil/v1/filterFiles", {method: "POST", body: text,
                                   headers: {"Content-Type": "text/plain"}});
          body.filterConfig = {resourcePathsGcsUri: f.resourcePathsGcsUri};
        }
        try {
          op = await api.json(`${api.paths.store(st.srcD, st.srcS)}:deidentify`, withConfig(body, config));
        } finally {
          // The file names source UIDs; the operation keeps its own copy of the paths once started.
          if (body.filterConfig) {
            const q = encodeURIComponent(body.filterConfig.resourcePathsGcsUri);
            await api.json(`/dicomveil/v1/filterFiles?resourcePathsGcsUri=${q}`, {method: "DELETE"})
              .catch(() => {});
          }
        }
        started.set(op.name, {src: {d: st.srcD, s: st.srcS}, dst: {d: st.dstD, s: dstS}});
      }
      ctx.go({view: "operations", d: st.srcD, focus: op.name});
    } catch (e) {
      showError(e);
    }
  });

  await renderSource();
  return root;
}
