// The REST client: every request goes through `request`, which adds the operator's API key and turns
// any failure (network, HTTP status, FastAPI validation list) into an ApiError with one readable message.

const KEY_STORAGE = "crosscam.apiKey";

export class ApiError extends Error {
  /** status: the HTTP status, or 0 when the server could not be reached. */
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return ""; // storage disabled (private mode policies): behave as "no key"
  }
}

export function setApiKey(value) {
  const key = value.trim();
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    /* not persisted, but the page still works for this session */
  }
  sessionKey = key;
}

let sessionKey = apiKey();

export function currentKey() {
  return sessionKey;
}

/** The URL of an API path. The page's own paths are relative ("api/v1/cameras"), so the console also works
 * behind a reverse proxy that mounts the service under a prefix; URLs the server hands out ("/api/v1/...",
 * already carrying that prefix) resolve from the origin as they are. */
export function apiUrl(path, params) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  return url;
}

function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI's 422 body: [{loc: ["query", "limit"], msg: "..."}]
    return detail
      .map((item) => {
        const where = (item.loc || []).filter((part) => part !== "body").join(".");
        return where ? `${where}: ${item.msg}` : item.msg;
      })
      .join("; ");
  }
  return detail === undefined ? "" : JSON.stringify(detail);
}

async function errorFromResponse(response, what) {
  let detail = "";
  try {
    const text = await response.text();
    try {
      detail = describeDetail(JSON.parse(text).detail);
    } catch {
      detail = text.slice(0, 300);
    }
  } catch {
    /* body unreadable: the status says enough */
  }
  let message = `${what}: ${detail || response.statusText || "request failed"} (HTTP ${response.status})`;
  if (response.status === 401 && !currentKey()) message += " — enter an API key in the header";
  return new ApiError(message, response.status);
}

/**
 * One API call. options: method, params (query), json (body), form (FormData), as ("json" | "blob" |
 * "none"), what (a short description of the action for error messages), signal.
 */
export async function request(path, options = {}) {
  const { method = "GET", params, json, form, as = "json", what = `${method} ${path}`, signal } = options;
  const headers = { Accept: as === "blob" ? "image/*" : "application/json" };
  const key = currentKey();
  if (key) headers["X-API-Key"] = key;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser sets the multipart boundary
  }
  let response;
  try {
    response = await fetch(apiUrl(path, params), { method, headers, body, cache: "no-store", signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(`${what}: cannot reach the crosscam API at ${location.host} (is the service running?)`, 0);
  }
  if (!response.ok) throw await errorFromResponse(response, what);
  if (as === "none" || response.status === 204) return null;
  if (as === "blob") return response.blob();
  try {
    return await response.json();
  } catch {
    throw new ApiError(`${what}: the server answered something that is not JSON`, response.status);
  }
}
