// The console's shell: sign-in, navigation (in-page history: the browser's Back works, and nothing —
// no name, no UID, no search value — ever appears in the URL), and the views.
import * as api from "./api.js";
import {el, showError, clearMessage} from "./ui.js";
import * as browse from "./browse.js";
import {wizard} from "./deid.js";
import {operations} from "./operations.js";
import {review} from "./review.js";

const views = {
  datasets: browse.datasets,
  stores: browse.stores,
  studies: browse.studies,
  series: browse.series,
  instances: browse.instances,
  instance: browse.instance,
  deidentify: wizard,
  operations,
  review,
};

let current = {view: "datasets"};
let renderSeq = 0;

// A view's state (search values, UIDs) stays in this page's memory: history entries hold only a number.
// Browsers write history.state to the profile for session restore, where a patient name searched for or a
// study's UID would outlive the sign-out and the browser (docs/console.md "What the console keeps").
const navStates = new Map();
let navNext = 1;
function entry(state) {
  const k = navNext++;
  navStates.set(k, state);
  return {k};
}
function stateOf(h) {
  return (h && navStates.get(h.k)) || {view: "datasets"};
}

/** The current view's state (for tests: it is not in history.state). */
export function currentState() {
  return current;
}

/** Go to a view; push: add a history entry (the URL stays /console/). */
export function go(state, {push = true} = {}) {
  current = state;
  if (push) history.pushState(entry(state), "", location.pathname);
  render();
}

/** Re-render the current view with a changed state, without a new history entry. */
export function replace(state) {
  current = state;
  history.replaceState(entry(state), "", location.pathname);
  render();
}

/** What the previous user saw goes when the token does (sign-out, a refused token): the view, the
 *  breadcrumbs, the messages, every history entry's state, and the rendered frames' blob URLs (the images go
 *  with the view; browse.js revokes its URL when its image is replaced or dropped). */
function forgetView() {
  renderSeq++; // a render still running must not put its view back
  const main = document.getElementById("main");
  main.querySelectorAll("img[src^='blob:']").forEach((img) => URL.revokeObjectURL(img.src));
  main.replaceChildren();
  delete main.dataset.view;
  document.getElementById("crumbs").replaceChildren();
  clearMessage();
  navStates.clear();
  current = {view: "datasets"};
  history.replaceState(entry(current), "", location.pathname);
}

function crumbs(s) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren();
  if (["deidentify", "operations", "review"].includes(s.view)) {
    const ol = el("ol");
    const items = [["Datasets", {view: "datasets"}], ["Operations", {view: "operations", d: s.d}]];
    if (s.view === "deidentify") items.push(["De-identify", null]);
    if (s.view === "review") items.push(["Review", null]);
    items.forEach(([label, target], i) => ol.append(el("li", {}, i === items.length - 1 || !target
      ? el("span", {"aria-current": "page", text: label})
      : el("button", {type: "button", class: "link", onclick: () => go(target)}, label))));
    nav.append(ol);
    return;
  }
  const items = [["Datasets", {view: "datasets"}]];
  if (s.d) items.push([`Dataset ${s.d}`, {view: "stores", d: s.d}]);
  if (s.s) items.push([`Store ${s.s}`, {view: "studies", d: s.d, s: s.s}]);
  if (s.study) items.push(["Study", {view: "series", d: s.d, s: s.s, study: s.study}]);
  if (s.series) items.push(["Series", {view: "instances", d: s.d, s: s.s, study: s.study, series: s.series}]);
  if (s.sop) items.push(["Instance", null]);
  const ol = el("ol");
  items.forEach(([label, target], i) => {
    const last = i === items.length - 1;
    ol.append(el("li", {}, last || !target
      ? el("span", {"aria-current": "page", text: label})
      : el("button", {type: "button", class: "link", onclick: () => go(target)}, label)));
  });
  nav.append(ol);
}

async function render() {
  const seq = ++renderSeq;
  const main = document.getElementById("main");
  clearMessage();
  crumbs(current);
  const view = views[current.view] || views.datasets;
  const ctx = {go, replace, state: current, stale: () => seq !== renderSeq};
  main.setAttribute("aria-busy", "true");
  try {
    const node = await view(ctx);
    if (seq !== renderSeq) return;
    main.replaceChildren(node);
    main.dataset.view = current.view;
    main.dataset.render = String(seq); // a new number per finished render (tests wait on it)
    const h = main.querySelector("h1");
    if (h) { h.tabIndex = -1; h.focus({preventScroll: true}); }
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e.httpStatus === 401) return; // the sign-in prompt is up
    main.replaceChildren(el("h1", {text: "Error"}));
    showError(e);
  } finally {
    if (seq === renderSeq) main.removeAttribute("aria-busy");
  }
}

// --- sign-in --------------------------------------------------------------------------------------------

function showSignIn(reason) {
  const dlg = document.getElementById("signin");
  const why = document.getElementById("signin-reason");
  why.textContent = reason || "";
  document.getElementById("app").setAttribute("inert", "");
  dlg.hidden = false;
  const input = document.getElementById("token-input");
  input.value = "";
  input.focus();
}

function hideSignIn() {
  document.getElementById("signin").hidden = true;
  document.getElementById("app").removeAttribute("inert");
}

api.onUnauthorized(() => {
  const had = api.token() !== "";
  api.setToken("");
  forgetView();
  showSignIn(had ? "The server refused this token (401 UNAUTHENTICATED). Enter the token again."
                 : "This server needs an access token.");
});

document.getElementById("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const t = document.getElementById("token-input").value.trim();
  api.setToken(t);
  hideSignIn();
  render();
});

document.getElementById("nav-deidentify").addEventListener("click", () => go({view: "deidentify", d: current.d, s: current.s}));
document.getElementById("nav-operations").addEventListener("click", () => go({view: "operations", d: current.d}));

document.getElementById("signout").addEventListener("click", () => {
  api.setToken("");
  forgetView();
  showSignIn("Signed out.");
});

// Keyboard: "/" focuses the search form's first field, "[" / "]" page, "g d" is not needed: the
// breadcrumbs are buttons in the tab order.
document.addEventListener("keydown", (ev) => {
  if (ev.target.closest && ev.target.closest("input,textarea,select")) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const click = (id) => { const b = document.getElementById(id); if (b && !b.disabled) { ev.preventDefault(); b.click(); } };
  if (ev.key === "/") {
    const f = document.querySelector("#main form.search input");
    if (f) { ev.preventDefault(); f.focus(); }
  } else if (ev.key === "[") click("page-prev");
  else if (ev.key === "]") click("page-next");
});

window.addEventListener("popstate", (ev) => { current = stateOf(ev.state); render(); });
window.dicomveilConsole = Object.freeze({state: currentState}); // read by tests/integration/test_console.py

// A reload starts at the datasets: the states of the page before are gone with its memory (see navStates).
current = {view: "datasets"};
history.replaceState(entry(current), "", location.pathname);
render();
