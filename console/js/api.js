// The console's only door to the server: every call goes through request(), which adds the bearer token
// from sessionStorage (never localStorage, never the URL) and turns the API's error JSON
// ({"error": {"code", "message", "status"}}) into an ApiError. A 401 asks the app to show the sign-in
// prompt again (onUnauthorized).

const TOKEN_KEY = "dicomveil.token";
export const BASE = "/v1beta1/projects/local/locations/local";

let unauthorizedHandler = () => {};
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(httpStatus, status, message, details) {
    super(message);
    this.httpStatus = httpStatus;
    this.status = status;
    this.details = details || [];
  }
  describe() { return `${this.httpStatus} ${this.status}: ${this.message}`; }
}

async function toError(resp) {
  let status = resp.statusText || "ERROR", message = `HTTP ${resp.status}`, details = [];
  try {
    const body = await resp.json();
    if (body && body.error) {
      status = body.error.status || status;
      message = body.error.message || message;
      details = body.error.details || [];
    }
  } catch (_) { /* not JSON: keep the HTTP status line */ }
  return new ApiError(resp.status, status, message, details);
}

/** fetch() with the token; resolves to the Response (ok), rejects with ApiError. */
export async function request(path, {method = "GET", body, headers = {}, signal} = {}) {
  const h = new Headers(headers);
  const t = token();
  if (t) h.set("Authorization", "Bearer " + t);
  let resp;
  try {
    resp = await fetch(path, {method, body, headers: h, signal, cache: "no-store", credentials: "omit",
                              referrerPolicy: "no-referrer"});
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "UNAVAILABLE", "the server cannot be reached");
  }
  if (resp.status === 401) unauthorizedHandler();
  if (!resp.ok) throw await toError(resp);
  return resp;
}

export async function json(path, opts = {}) {
  const o = {...opts};
  if (o.body !== undefined && typeof o.body !== "string" && !(o.body instanceof Blob)) {
    o.body = JSON.stringify(o.body);
    o.headers = {"Content-Type": "application/json", ...(o.headers || {})};
  }
  const r = await request(path, o);
  const text = await r.text();
  return text ? JSON.parse(text) : {};
}

/** A query string from an object, skipping empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? "?" + s : "";
}

// Resource paths (IDs are [A-Za-z0-9_.-], UIDs digits and dots: nothing to escape, but encode anyway).
const e = encodeURIComponent;
export const paths = {
  datasets: () => `${BASE}/datasets`,
  dataset: (d) => `${BASE}/datasets/${e(d)}`,
  stores: (d) => `${BASE}/datasets/${e(d)}/dicomStores`,
  store: (d, s) => `${BASE}/datasets/${e(d)}/dicomStores/${e(s)}`,
  web: (d, s) => `${BASE}/datasets/${e(d)}/dicomStores/${e(s)}/dicomWeb`,
  operations: (d) => `${BASE}/datasets/${e(d)}/operations`,
};
