// Operations of a dataset: live progress (the Operation's counter), elapsed time, rate, cancel, the error log
// (operations/{o}/errors), and the way to the review of a finished de-identification.
import * as api from "./api.js";
import {el, showError} from "./ui.js";

const lastId = (name) => name.split("/").pop();
const n = (x) => Number(x || 0);

function elapsed(md) {
  const t0 = Date.parse(md.createTime);
  const t1 = md.endTime ? Date.parse(md.endTime) : Date.now();
  return Math.max(0, (t1 - t0) / 1000);
}

function stateOf(op) {
  if (!op.done) return op.metadata?.cancelRequested ? "cancelling" : "running";
  if (op.error) return op.error.code === 1 ? "cancelled" : "failed";
  return "done";
}

function fmtSecs(s) {
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

async function errorLog(d, opId, box) {
  const r = await api.json(`${api.paths.operations(d)}/${opId}/errors?pageSize=200`);
  const entries = r.entries || [];
  box.replaceChildren(el("h3", {text: `Error log (${entries.length}${r.nextPageToken ? "+" : ""})`}),
    entries.length ? el("table", {class: "list errors"},
      el("thead", {}, el("tr", {}, el("th", {scope: "col", text: "Resource"}), el("th", {scope: "col", text: "Error class"}))),
      el("tbody", {}, entries.map((x) => el("tr", {}, el("td", {class: "mono", text: x.resource}), el("td", {text: x.errorClass})))))
      : el("p", {text: "No failed instance."}));
}

export async function operations(ctx) {
  const d = ctx.state.d;
  const datasets = (await api.json(`${api.paths.datasets()}?pageSize=1000`)).datasets || [];
  const sel = el("select", {id: "ops-dataset"}, datasets.map((x) => el("option", {value: lastId(x.name), selected: lastId(x.name) === d}, lastId(x.name))));
  sel.addEventListener("change", () => ctx.go({view: "operations", d: sel.value}));
  const tableWrap = el("div", {id: "ops-wrap"});
  const detail = el("div", {id: "ops-detail"});
  const root = el("section", {},
    el("h1", {text: "Operations"}),
    el("div", {class: "inline-field"}, el("label", {for: "ops-dataset", text: "Dataset"}), sel),
    tableWrap, detail);
  const dd = d || (datasets[0] && lastId(datasets[0].name));
  if (!dd) { tableWrap.append(el("p", {text: "No dataset yet."})); return root; }

  async function refresh() {
    const r = await api.json(`${api.paths.operations(dd)}?pageSize=100`);
    const ops = (r.operations || []).sort((a, b) => Number(lastId(b.name)) - Number(lastId(a.name)));
    const table = el("table", {class: "list", id: "operations"},
      el("caption", {text: `${ops.length} operation${ops.length === 1 ? "" : "s"} of dataset ${dd}`}),
      el("thead", {}, el("tr", {}, ["Operation", "Method", "State", "Done", "Failed", "Pending", "Elapsed", "Rate", ""]
        .map((h) => el("th", {scope: "col", text: h})))));
    const body = el("tbody");
    let running = false;
    for (const op of ops) {
      const md = op.metadata || {};
      const c = md.counter || {};
      const st = stateOf(op);
      if (!op.done) running = true;
      const secs = elapsed(md);
      const finished = n(c.success) + n(c.failure);
      const id = lastId(op.name);
      const actions = el("td", {class: "actions"});
      if (!op.done) {
        actions.append(el("button", {type: "button", class: "secondary", "data-action": "cancel",
          "aria-label": `Cancel operation ${id}`, onclick: async () => {
            try { await api.json(`${api.paths.operations(dd)}/${id}:cancel`, {method: "POST", body: {}}); refresh(); }
            catch (e) { showError(e); }
          }}, "Cancel"));
      }
      actions.append(el("button", {type: "button", class: "secondary", "data-action": "errors",
        "aria-label": `Error log of operation ${id}`, onclick: () => errorLog(dd, id, detail).catch(showError)}, "Errors"));
      if (op.done && /deidentify/i.test(md.apiMethodName || "")) {
        actions.append(el("button", {type: "button", "data-action": "review", "aria-label": `Review operation ${id}`,
          onclick: () => ctx.go({view: "review", d: dd, op: op.name})}, "Review"));
      }
      body.append(el("tr", {"data-op": id, "data-state": st, class: op.name === ctx.state.focus ? "focus" : ""},
        el("td", {class: "mono", text: id}), el("td", {text: (md.apiMethodName || "").split(".").pop(), title: md.apiMethodName || ""}),
        el("td", {}, el("span", {class: `badge ${st}`, text: st})),
        el("td", {class: "num", text: String(n(c.success))}), el("td", {class: "num", text: String(n(c.failure))}),
        el("td", {class: "num", text: String(n(c.pending))}), el("td", {class: "num", text: fmtSecs(secs)}),
        el("td", {class: "num", text: secs > 0 ? `${(finished / secs).toFixed(1)}/s` : "—"}), actions));
    }
    if (!ops.length) body.append(el("tr", {}, el("td", {colspan: "9", class: "empty", text: "No operation yet."})));
    table.append(body);
    tableWrap.replaceChildren(table);
    return running;
  }

  const running = await refresh();
  // Live: poll every second while an operation runs and this view is shown.
  const poll = async () => {
    if (ctx.stale()) return;
    try { if (await refresh()) setTimeout(poll, 1000); } catch (e) { if (!ctx.stale()) showError(e); }
  };
  if (running) setTimeout(poll, 1000);
  return root;
}
