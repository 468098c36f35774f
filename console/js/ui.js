// Small DOM helpers shared by the views: element builder, messages, keyboard-navigable tables, pager.

export function el(name, props = {}, ...kids) {
  const n = document.createElement(name);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") n.className = v;
    else if (k === "text") n.textContent = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false) n.append(k);
  return n;
}

const msgBox = () => document.getElementById("message");

/** Show an error (ApiError or any Error) in the alert region. */
export function showError(e) {
  const box = msgBox();
  box.className = "message error";
  box.textContent = e && e.describe ? e.describe() : String(e && e.message ? e.message : e);
  box.hidden = false;
}

export function clearMessage() {
  const box = msgBox();
  box.hidden = true;
  box.textContent = "";
}

export function fmtBytes(n) {
  n = Number(n || 0);
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

export function fmtDate(da) {
  return /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6)}` : da;
}

/**
 * A table whose rows open something: each row is focusable, ArrowUp/ArrowDown move between rows,
 * Enter or a click opens. columns: [{label, get(row) -> text|Node, class}]; open(row) or null.
 */
export function dataTable({caption, columns, rows, open, id, rowLabel}) {
  const table = el("table", {class: "list", id});
  if (caption) table.append(el("caption", {text: caption}));
  table.append(el("thead", {}, el("tr", {}, columns.map((c) => el("th", {scope: "col", text: c.label})))));
  const body = el("tbody");
  rows.forEach((r, i) => {
    const tr = el("tr", {"data-index": String(i)});
    for (const c of columns) {
      const v = c.get(r);
      tr.append(el("td", {class: c.class}, v instanceof Node ? v : String(v ?? "")));
    }
    if (open) {
      tr.tabIndex = 0;
      tr.classList.add("openable");
      if (rowLabel) tr.setAttribute("aria-label", rowLabel(r));
      tr.addEventListener("click", (ev) => { if (!ev.target.closest("input,button,a,label")) open(r); });
      tr.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && ev.target === tr) { ev.preventDefault(); open(r); }
        else if (ev.key === "ArrowDown" && tr.nextElementSibling) { ev.preventDefault(); tr.nextElementSibling.focus(); }
        else if (ev.key === "ArrowUp" && tr.previousElementSibling) { ev.preventDefault(); tr.previousElementSibling.focus(); }
      });
    }
    body.append(tr);
  });
  if (rows.length === 0) body.append(el("tr", {}, el("td", {colspan: String(columns.length), class: "empty", text: "Nothing here yet."})));
  table.append(body);
  return table;
}

/** Previous / next buttons and the range shown ("51–100"); hasMore from a limit+1 request. */
export function pager({offset, shown, hasMore, onPage, pageSize, label}) {
  const nav = el("nav", {class: "pager", "aria-label": label || "Pages"});
  nav.append(
    el("button", {type: "button", id: "page-prev", disabled: offset === 0, onclick: () => onPage(Math.max(0, offset - pageSize)),
                  "aria-keyshortcuts": "["}, "‹ Previous"),
    el("span", {class: "range", "aria-live": "polite",
                text: shown ? `${offset + 1}–${offset + shown}${hasMore ? "" : " (end)"}` : "none"}),
    el("button", {type: "button", id: "page-next", disabled: !hasMore, onclick: () => onPage(offset + pageSize),
                  "aria-keyshortcuts": "]"}, "Next ›"));
  return nav;
}
