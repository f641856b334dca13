// Small DOM helpers shared by every panel: element builder, messages, number/time formats, colours.

/** el("div", {class: "x", dataset: {id: 3}, onclick}, child, "text", ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "style") {
      // setProperty, not Object.assign: custom properties ("--c") are not assignable style fields.
      for (const [prop, v] of Object.entries(value)) {
        node.style.setProperty(prop.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`), v);
      }
    }
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

/** Shows (or, with an empty message, hides) an inline error box. */
export function showError(box, message) {
  box.textContent = message || "";
  box.hidden = !message;
}

/** A transient message in the corner; kind: "error" | "ok" | "info". Errors stay longer. */
export function toast(message, kind = "error") {
  const item = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  item.addEventListener("click", () => item.remove());
  $("toasts").append(item);
  setTimeout(() => item.remove(), kind === "error" ? 9000 : 4000);
}

/** A button that asks for a second click within 4 s before running `action` (no modal dialogs). */
export function confirmClick(button, label, action) {
  let armed = null;
  const original = button.textContent;
  button.addEventListener("click", (event) => {
    event.preventDefault();
    event.stopPropagation(); // a button inside a clickable row must not also click the row
    if (armed) {
      clearTimeout(armed);
      armed = null;
      button.textContent = original;
      button.classList.remove("armed");
      action();
      return;
    }
    button.textContent = typeof label === "function" ? label() : label;
    button.classList.add("armed");
    armed = setTimeout(() => {
      armed = null;
      button.textContent = original;
      button.classList.remove("armed");
    }, 4000);
  });
}

// ---- formats ------------------------------------------------------------------------------------------

/** A time on the recording's clock (s). Live RTSP streams use Unix time: shown as a clock time then. */
export function fmtT(t) {
  if (t === null || t === undefined || Number.isNaN(t)) return "–";
  if (t > 1e9) return new Date(t * 1000).toLocaleTimeString([], { hour12: false });
  if (t >= 3600) {
    const h = Math.floor(t / 3600);
    const m = Math.floor((t % 3600) / 60);
    return `${h}:${String(m).padStart(2, "0")}:${(t % 60).toFixed(1).padStart(4, "0")}`;
  }
  if (t >= 60) return `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, "0")}`;
  return `${t.toFixed(1)} s`;
}

/** A duration in seconds. */
export function fmtDuration(s) {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A Unix wall time (s) as the local clock time. */
export function fmtWall(tWall) {
  return new Date(tWall * 1000).toLocaleTimeString([], { hour12: false });
}

/** How long ago a Unix wall time (s) was, compactly. */
export function fmtAgo(tWall) {
  if (!tWall) return "never";
  const s = Math.max(0, Date.now() / 1000 - tWall);
  if (s < 2) return "now";
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** A "nice" step (1, 2 or 5 x 10^n) close to `raw`. */
export function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10) * power;
}

// ---- colours ------------------------------------------------------------------------------------------

/** A stable, well-spread colour per global id: the golden angle walks the hue circle, so consecutive ids
 * (the usual neighbours on screen) get clearly different colours. */
export function identityColour(globalId) {
  const hue = (globalId * 137.508 + 200) % 360;
  return `hsl(${hue.toFixed(1)} 85% 62%)`;
}

export const UNASSIGNED_COLOUR = "#9aa4b2";

const CAMERA_PALETTE = ["#38bdf8", "#f59e0b", "#a78bfa", "#34d399", "#f472b6", "#facc15", "#fb7185", "#22d3ee",
  "#c084fc", "#a3e635"];
const cameraOrder = [];

/** A colour per camera, stable for the session: the n-th camera the page learns about gets palette[n]. */
export function cameraColour(cameraId) {
  let index = cameraOrder.indexOf(cameraId);
  if (index < 0) {
    cameraOrder.push(cameraId);
    index = cameraOrder.length - 1;
  }
  return CAMERA_PALETTE[index % CAMERA_PALETTE.length];
}

/** Registers cameras in a fixed (sorted) order, so colours do not depend on which view loaded first. */
export function knowCameras(cameraIds) {
  for (const id of [...cameraIds].sort()) cameraColour(id);
}

/** A chip naming a camera, in its colour. */
export function cameraChip(cameraId) {
  return el("span", { class: "chip cam", style: { "--c": cameraColour(cameraId) }, dataset: { camera: cameraId } },
    cameraId);
}

/** A chip naming an identity, in its colour; clicking it calls `open(globalId)`. */
export function identityChip(globalId, open) {
  return el("button", {
    type: "button",
    class: "chip gid",
    style: { "--c": identityColour(globalId) },
    dataset: { globalId },
    title: `Open identity #${globalId}`,
    onclick: (event) => {
      event.stopPropagation();
      open(globalId);
    },
  }, `#${globalId}`);
}
