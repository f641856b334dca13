// Camera tiles: one per camera, the latest frame on a canvas with the tracked boxes drawn over it, and the
// worker's status under it. Frames are fetched (not <img src>) so the API key header goes with them.

import { ApiError, request } from "./api.js";
import { $, UNASSIGNED_COLOUR, el, fmtAgo, fmtT, identityColour, knowCameras, showError, toast } from "./ui.js";

const LIVE_PERIOD_MS = 500; // ~2 Hz, the rate workers publish live views at by default
const HIDDEN_PERIOD_MS = 3000; // a background tab polls slowly
const CAMERAS_PERIOD_MS = 3000; // status (received / processed fps, lag, dropped frames ...) and added / removed cameras

const GOOD_STATES = new Set(["streaming", "running", "connected", "ok", "live", "playing"]);
const BAD_STATES = new Set(["failed", "error", "stopped", "closed"]);

function stateClass(state) {
  if (!state) return "unknown";
  if (GOOD_STATES.has(state)) return "good";
  if (BAD_STATES.has(state)) return "bad";
  return "warn"; // pending, connecting, reconnecting, ended ...
}

function stat(label, value, title) {
  return el("div", { class: "stat", title }, el("dt", {}, label), el("dd", {}, value));
}

class CameraTile {
  constructor(camera, openIdentity) {
    this.cameraId = camera.camera_id;
    this.openIdentity = openIdentity;
    this.live = null; // the latest /live answer: frame index, size, boxes
    this.bitmap = null; // the frame those boxes belong to (roughly: both are the latest at ~2 Hz)
    this.stopped = false;
    this.timer = null;

    this.canvas = el("canvas", { class: "tile-canvas", width: 640, height: 360, dataset: { boxes: "0" } });
    this.overlay = el("div", { class: "tile-overlay" }, "Loading the latest frame…");
    this.legend = el("ul", { class: "tile-legend", "aria-label": `vehicles on ${this.cameraId}` });
    this.frameInfo = el("span", { class: "tile-frame mono" });
    this.stats = el("dl", { class: "tile-stats" });
    this.errorLine = el("div", { class: "tile-error mono", hidden: true });
    this.calibration = el("span", { class: "badge", hidden: true, title: "ground-plane calibration known" },
      "calibrated");
    this.url = el("span", { class: "tile-url mono" });
    this.root = el("article", { class: "tile", dataset: { cameraId: this.cameraId, frameIndex: "" } },
      el("header", { class: "tile-head" },
        el("span", { class: "tile-name" }, this.cameraId), this.calibration, this.url, this.frameInfo),
      el("div", { class: "tile-view" }, this.canvas, this.overlay),
      this.legend, this.stats, this.errorLine);

    this.canvas.addEventListener("click", (event) => this.onClick(event));
    this.canvas.addEventListener("mousemove", (event) => {
      this.canvas.style.cursor = this.boxAt(event)?.global_id != null ? "pointer" : "default";
    });
    this.update(camera);
    this.tick();
  }

  /** New CameraPublic (with its status). */
  update(camera) {
    this.calibration.hidden = !camera.has_calibration;
    this.url.textContent = camera.url;
    this.url.title = camera.url;
    const s = camera.status;
    const state = s ? s.state : "no report";
    this.root.dataset.state = state;
    this.stats.replaceChildren(
      el("div", { class: "stat state" },
        el("dt", {}, "state"), el("dd", {}, el("span", { class: `state-pill ${stateClass(s && s.state)}` }, state))),
      stat("received fps", s ? s.received_fps.toFixed(1) : "–", "frames received (decoded) per second"),
      stat("processed fps", s ? s.processed_fps.toFixed(1) : "–",
        s && s.process_fps ? `frames processed per second (asked for: ${s.process_fps})` : "frames processed per second"),
      stat("lag", s && s.lag_s != null ? `${s.lag_s.toFixed(2)} s` : "–",
        "seconds from a frame's capture to the end of its processing (latest frame)"),
      stat("skipped", s ? s.frames_skipped.toLocaleString() : "–",
        s ? `${s.frames_skipped} of ${s.frames_received} frames received were left out by the processing rate` : undefined),
      stat("dropped", s ? s.frames_dropped.toLocaleString() : "–",
        s ? `${s.frames_dropped} of ${s.frames_received} frames received were dropped because the pipeline fell behind` : undefined),
      stat("reconnects", s ? String(s.reconnects) : "–"),
      stat("queue", s ? String(s.queue_depth) : "–", "frames waiting for the pipeline"),
      stat("last frame", s ? fmtAgo(s.last_frame_wall) : "–",
        s && s.last_frame_wall ? new Date(s.last_frame_wall * 1000).toLocaleString() : undefined),
    );
    const error = s && s.last_error;
    this.errorLine.hidden = !error;
    this.errorLine.textContent = error ? `last error: ${error}` : "";
    this.errorLine.title = error || "";
  }

  async tick() {
    if (this.stopped) return;
    const id = encodeURIComponent(this.cameraId);
    try {
      const live = await request(`api/v1/cameras/${id}/live`, { what: `live view of ${this.cameraId}` });
      if (!this.bitmap || !this.live || live.frame_index !== this.live.frame_index) {
        const blob = await request(live.image_url || `api/v1/cameras/${id}/live.jpg`, {
          as: "blob",
          params: { _: `${live.frame_index}-${Date.now()}` }, // cache-bust: a frame per request
          what: `frame of ${this.cameraId}`,
        });
        let bitmap;
        try {
          bitmap = await createImageBitmap(blob);
        } catch {
          throw new ApiError(`frame of ${this.cameraId}: the image could not be decoded`, 200);
        }
        if (this.bitmap) this.bitmap.close();
        this.bitmap = bitmap;
      }
      this.live = live;
      this.draw();
      this.setOverlay("");
    } catch (err) {
      if (err.status === 404) this.setOverlay("Waiting for the first frame from this camera…");
      else this.setOverlay(err.message, true);
    } finally {
      if (!this.stopped) {
        this.timer = setTimeout(() => this.tick(), document.hidden ? HIDDEN_PERIOD_MS : LIVE_PERIOD_MS);
      }
    }
  }

  setOverlay(message, isError = false) {
    this.overlay.textContent = message;
    this.overlay.hidden = !message;
    this.overlay.classList.toggle("error", isError);
  }

  /** The frame, then each box in its identity's colour with a "#<global id>" (or "t<track id>") label. */
  draw() {
    const { bitmap, live, canvas } = this;
    if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
    }
    const ctx = canvas.getContext("2d");
    ctx.drawImage(bitmap, 0, 0);
    // Boxes are in the live view's pixel frame; the JPEG normally has the same size, but scale if not.
    const sx = canvas.width / (live.width || canvas.width);
    const sy = canvas.height / (live.height || canvas.height);
    const line = Math.max(2, canvas.width / 320);
    const fontPx = Math.max(12, Math.round(canvas.width / 48));
    ctx.font = `600 ${fontPx}px ui-sans-serif, system-ui, sans-serif`;
    ctx.textBaseline = "middle";
    for (const box of live.boxes) {
      const [x1, y1, x2, y2] = box.xyxy;
      const x = x1 * sx;
      const y = y1 * sy;
      const w = (x2 - x1) * sx;
      const h = (y2 - y1) * sy;
      const assigned = box.global_id !== null && box.global_id !== undefined;
      const colour = assigned ? identityColour(box.global_id) : UNASSIGNED_COLOUR;
      ctx.lineWidth = line;
      ctx.strokeStyle = colour;
      ctx.setLineDash(assigned ? [] : [line * 3, line * 2]);
      ctx.strokeRect(x, y, w, h);
      ctx.setLineDash([]);
      const label = assigned ? `#${box.global_id}` : `t${box.track_id}`;
      const padX = fontPx * 0.4;
      const labelW = ctx.measureText(label).width + 2 * padX;
      const labelH = fontPx * 1.45;
      const labelY = y - labelH >= 0 ? y - labelH : y; // above the box, inside it at the top edge
      ctx.fillStyle = colour;
      ctx.fillRect(x - line / 2, labelY, labelW, labelH);
      ctx.fillStyle = "#0b1220";
      ctx.fillText(label, x - line / 2 + padX, labelY + labelH / 2 + 1);
    }
    this.renderLegend(live);
  }

  renderLegend(live) {
    const assigned = live.boxes.filter((b) => b.global_id != null).sort((a, b) => a.global_id - b.global_id);
    const pending = live.boxes.filter((b) => b.global_id == null).sort((a, b) => a.track_id - b.track_id);
    this.legend.replaceChildren(
      ...assigned.map((b) => el("li", {}, el("button", {
        type: "button",
        class: "chip gid",
        style: { "--c": identityColour(b.global_id) },
        dataset: { globalId: b.global_id, trackId: b.track_id },
        title: `track ${b.track_id} on ${this.cameraId}: open identity #${b.global_id}`,
        onclick: () => this.openIdentity(b.global_id),
      }, `#${b.global_id}`))),
      ...pending.map((b) => el("li", {}, el("span", {
        class: "chip pending",
        dataset: { trackId: b.track_id },
        title: `track ${b.track_id}: not associated with a global identity yet`,
      }, `t${b.track_id}`))),
    );
    if (!live.boxes.length) this.legend.append(el("li", { class: "muted small" }, "no vehicles in view"));
    this.canvas.dataset.boxes = String(live.boxes.length);
    this.root.dataset.frameIndex = String(live.frame_index);
    this.root.dataset.globalIds = assigned.map((b) => b.global_id).join(",");
    this.frameInfo.textContent = `frame ${live.frame_index} · ${fmtT(live.t)}`;
  }

  boxAt(event) {
    if (!this.live) return null;
    const rect = this.canvas.getBoundingClientRect();
    const sx = this.canvas.width / (this.live.width || this.canvas.width);
    const sy = this.canvas.height / (this.live.height || this.canvas.height);
    const x = ((event.clientX - rect.left) * this.canvas.width) / rect.width / sx;
    const y = ((event.clientY - rect.top) * this.canvas.height) / rect.height / sy;
    const hits = this.live.boxes.filter((b) => x >= b.xyxy[0] && x <= b.xyxy[2] && y >= b.xyxy[1] && y <= b.xyxy[3]);
    const area = (b) => (b.xyxy[2] - b.xyxy[0]) * (b.xyxy[3] - b.xyxy[1]);
    return hits.sort((a, b) => area(a) - area(b))[0] || null; // the innermost box under the pointer
  }

  onClick(event) {
    const box = this.boxAt(event);
    if (!box) return;
    if (box.global_id == null) toast(`Track t${box.track_id} on ${this.cameraId} has no global identity yet`, "info");
    else this.openIdentity(box.global_id);
  }

  destroy() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.bitmap) this.bitmap.close();
    this.root.remove();
  }
}

/** The grid of tiles, kept in step with GET /api/v1/cameras. onCameras(ids) hears every camera list. */
export class CameraWall {
  constructor({ openIdentity, onCameras }) {
    this.openIdentity = openIdentity;
    this.onCameras = onCameras;
    this.tiles = new Map();
    this.timer = null;
  }

  start() {
    this.refresh();
  }

  /** Re-reads the camera list shortly (camera events arrive in bursts when the feed catches up). */
  refreshSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 200);
  }

  async refresh() {
    clearTimeout(this.timer);
    try {
      const cameras = await request("api/v1/cameras", { what: "camera list" });
      showError($("cams-error"), "");
      this.render(cameras);
    } catch (err) {
      showError($("cams-error"), err.message);
    } finally {
      this.timer = setTimeout(() => this.refresh(), CAMERAS_PERIOD_MS);
    }
  }

  render(cameras) {
    knowCameras(cameras.map((c) => c.camera_id));
    const seen = new Set();
    for (const camera of cameras) {
      seen.add(camera.camera_id);
      const tile = this.tiles.get(camera.camera_id);
      if (tile) tile.update(camera);
      else this.tiles.set(camera.camera_id, new CameraTile(camera, this.openIdentity));
    }
    for (const [id, tile] of this.tiles) {
      if (!seen.has(id)) {
        tile.destroy();
        this.tiles.delete(id);
      }
    }
    const grid = $("tiles");
    const order = [...this.tiles.keys()].sort();
    order.forEach((id, index) => {
      const node = this.tiles.get(id).root;
      if (grid.children[index] !== node) grid.insertBefore(node, grid.children[index] || null);
    });
    $("cams-count").textContent = String(cameras.length);
    const running = cameras.filter((c) => c.status && stateClass(c.status.state) === "good").length;
    $("cams-note").textContent = cameras.length ? `${running} of ${cameras.length} streaming` : "";
    if (!cameras.length) {
      grid.replaceChildren(el("div", { class: "empty-state" },
        "No cameras yet. Add one with POST /api/v1/cameras (body: camera_id, url)."));
    } else {
      grid.querySelector(":scope > .empty-state")?.remove();
    }
    this.onCameras(cameras.map((c) => c.camera_id));
  }
}
