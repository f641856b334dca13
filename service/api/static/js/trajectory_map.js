// The ground-plane map of one identity's trajectory: world x/y in metres, fitted to the canvas with equal
// scale on both axes (y up, as on a map), a metre grid and scale bar, one path per tracklet in its camera's
// colour, dashed transits between cameras, and start (circle) / end (square) markers, which the page's
// legend explains. Hovering a point names it.

import { cameraColour, fmtT, niceStep } from "./ui.js";

const MARGIN = { left: 46, right: 14, top: 14, bottom: 26 }; // CSS px around the plot (axis labels)
const HIT_RADIUS_PX = 9;

export class TrajectoryMap {
  /** canvas: the <canvas>; tip: a positioned element for the hover text; empty: the "no positions" note. */
  constructor(canvas, tip, empty) {
    this.canvas = canvas;
    this.tip = tip;
    this.empty = empty;
    this.points = [];
    this.highlight = null;
    this.screen = []; // [{x, y, point}] in CSS px, for hover
    new ResizeObserver(() => this.draw()).observe(canvas);
    canvas.addEventListener("mousemove", (event) => this.hover(event));
    canvas.addEventListener("mouseleave", () => (this.tip.hidden = true));
  }

  /** points: trajectory items ({tracklet_id, camera_id, t, frame, world: [x, y] | null}), time-ordered. */
  setPoints(points, highlight = null) {
    this.points = points.filter((p) => Array.isArray(p.world));
    this.highlight = highlight;
    this.draw();
    const withoutWorld = points.length - this.points.length;
    this.empty.hidden = this.points.length > 0;
    this.empty.textContent = points.length
      ? `None of its ${points.length} observations has a ground position: its cameras have no calibration.`
      : "No observations recorded for this identity.";
    this.canvas.title = withoutWorld && this.points.length
      ? `${withoutWorld} of ${points.length} observations have no ground position (not shown)`
      : "";
  }

  setHighlight(trackletId) {
    this.highlight = trackletId;
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    this.screen = [];
    canvas.dataset.points = "0";
    if (!this.points.length) return;

    const view = fitView(this.points, width, height);
    drawGrid(ctx, view, width, height);
    const tracks = groupByTracklet(this.points);
    drawTransits(ctx, view, tracks);
    for (const track of tracks) {
      const faded = this.highlight && track.id !== this.highlight;
      drawTrack(ctx, view, track, faded, track.id === this.highlight);
    }
    for (const p of this.points) this.screen.push({ ...view.toScreen(p.world), point: p });
    drawEndpoints(ctx, view, this.points);
    drawScaleBar(ctx, view);
    canvas.dataset.points = String(this.points.length);
  }

  hover(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    let best = null;
    let bestD = HIT_RADIUS_PX ** 2;
    for (const s of this.screen) {
      const d = (s.x - x) ** 2 + (s.y - y) ** 2;
      if (d < bestD) [best, bestD] = [s, d];
    }
    if (!best) {
      this.tip.hidden = true;
      return;
    }
    const p = best.point;
    this.tip.textContent =
      `${p.camera_id} · ${fmtT(p.t)} · frame ${p.frame} · (${p.world[0].toFixed(1)}, ${p.world[1].toFixed(1)}) m`;
    this.tip.hidden = false;
    this.tip.style.left = `${Math.min(best.x + 12, rect.width - this.tip.offsetWidth - 4)}px`;
    this.tip.style.top = `${Math.max(best.y - 30, 4)}px`;
  }
}

/** World -> CSS px: the points' bounds, padded, at one scale (px per metre) for both axes, centred. */
function fitView(points, width, height) {
  // Loops, not Math.min(...xs): a long trajectory would overflow the argument list.
  let [xMin, xMax, yMin, yMax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const { world: [x, y] } of points) {
    [xMin, xMax, yMin, yMax] = [Math.min(xMin, x), Math.max(xMax, x), Math.min(yMin, y), Math.max(yMax, y)];
  }
  const cx = (xMin + xMax) / 2;
  const cy = (yMin + yMax) / 2;
  // At least 10 m across, so one parked car is not a blur; 10 % of the larger side as a margin.
  const spanX = Math.max(xMax - xMin, 10);
  const spanY = Math.max(yMax - yMin, 10);
  const pad = Math.max(spanX, spanY) * 0.1;
  const [x0, x1, y0, y1] = [cx - spanX / 2 - pad, cx + spanX / 2 + pad, cy - spanY / 2 - pad, cy + spanY / 2 + pad];
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const scale = Math.min(plotW / (x1 - x0), plotH / (y1 - y0)); // px per metre
  const midX = MARGIN.left + plotW / 2;
  const midY = MARGIN.top + plotH / 2;
  return {
    scale,
    plot: { left: MARGIN.left, top: MARGIN.top, right: MARGIN.left + plotW, bottom: MARGIN.top + plotH },
    toScreen: ([x, y]) => ({ x: midX + (x - cx) * scale, y: midY - (y - cy) * scale }),
    toWorld: (sx, sy) => [cx + (sx - midX) / scale, cy - (sy - midY) / scale],
  };
}

function drawGrid(ctx, view, width, height) {
  const { plot } = view;
  const [wx0, wy1] = view.toWorld(plot.left, plot.top);
  const [wx1, wy0] = view.toWorld(plot.right, plot.bottom);
  const step = niceStep(Math.max(wx1 - wx0, wy1 - wy0) / 8);
  ctx.save();
  ctx.fillStyle = "#0b1220";
  ctx.fillRect(plot.left, plot.top, plot.right - plot.left, plot.bottom - plot.top);
  ctx.strokeStyle = "rgba(148, 163, 184, 0.10)";
  ctx.lineWidth = 1;
  ctx.fillStyle = "#7d8799";
  ctx.font = "10px ui-monospace, SFMono-Regular, Menlo, monospace";
  const digits = step < 1 ? 1 : 0;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let i = Math.ceil(wx0 / step); i * step <= wx1; i++) {
    const x = i * step; // an integer count of steps: no drift from repeated float addition
    const sx = Math.round(view.toScreen([x, 0]).x) + 0.5;
    ctx.beginPath();
    ctx.moveTo(sx, plot.top);
    ctx.lineTo(sx, plot.bottom);
    ctx.stroke();
    ctx.fillText(x.toFixed(digits), sx, plot.bottom + 5);
  }
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = Math.ceil(wy0 / step); i * step <= wy1; i++) {
    const y = i * step;
    const sy = Math.round(view.toScreen([0, y]).y) + 0.5;
    ctx.beginPath();
    ctx.moveTo(plot.left, sy);
    ctx.lineTo(plot.right, sy);
    ctx.stroke();
    ctx.fillText(y.toFixed(digits), plot.left - 6, sy);
  }
  ctx.textAlign = "left";
  ctx.fillText("y (m)", 4, MARGIN.top + 4);
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  ctx.fillText("x (m)", width - 4, height - 1);
  ctx.strokeStyle = "rgba(148, 163, 184, 0.25)";
  ctx.strokeRect(plot.left + 0.5, plot.top + 0.5, plot.right - plot.left - 1, plot.bottom - plot.top - 1);
  ctx.restore();
}

/** Consecutive runs of one tracklet's points, in order of their first point (the input is time-ordered). */
function groupByTracklet(points) {
  const byId = new Map();
  for (const p of points) {
    if (!byId.has(p.tracklet_id)) byId.set(p.tracklet_id, { id: p.tracklet_id, camera: p.camera_id, points: [] });
    byId.get(p.tracklet_id).points.push(p);
  }
  return [...byId.values()];
}

function drawTransits(ctx, view, tracks) {
  ctx.save();
  ctx.strokeStyle = "rgba(203, 213, 225, 0.45)";
  ctx.lineWidth = 1.5;
  ctx.setLineDash([5, 5]);
  for (let i = 1; i < tracks.length; i++) {
    const a = view.toScreen(tracks[i - 1].points.at(-1).world);
    const b = view.toScreen(tracks[i].points[0].world);
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }
  ctx.restore();
}

function drawTrack(ctx, view, track, faded, highlighted) {
  const colour = cameraColour(track.camera);
  const screen = track.points.map((p) => view.toScreen(p.world));
  ctx.save();
  ctx.globalAlpha = faded ? 0.3 : 1;
  ctx.strokeStyle = colour;
  ctx.lineWidth = highlighted ? 4 : 2.5;
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  ctx.beginPath();
  screen.forEach((s, i) => (i ? ctx.lineTo(s.x, s.y) : ctx.moveTo(s.x, s.y)));
  ctx.stroke();
  ctx.fillStyle = colour;
  for (const s of screen) {
    ctx.beginPath();
    ctx.arc(s.x, s.y, highlighted ? 3 : 2.2, 0, 2 * Math.PI);
    ctx.fill();
  }
  if (screen.length >= 2) drawArrow(ctx, screen.at(-2), screen.at(-1), colour);
  ctx.restore();
}

/** An arrowhead at `to`, pointing from `from`: the direction of travel at a tracklet's end. */
function drawArrow(ctx, from, to, colour) {
  const angle = Math.atan2(to.y - from.y, to.x - from.x);
  if (Math.hypot(to.y - from.y, to.x - from.x) < 0.5) return;
  ctx.save();
  ctx.translate(to.x, to.y);
  ctx.rotate(angle);
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.moveTo(4, 0);
  ctx.lineTo(-7, -5);
  ctx.lineTo(-7, 5);
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}

function drawEndpoints(ctx, view, points) {
  const first = points[0];
  const last = points.at(-1);
  const a = view.toScreen(first.world);
  const b = view.toScreen(last.world);
  ctx.save();
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#f8fafc";
  ctx.fillStyle = cameraColour(first.camera_id);
  ctx.beginPath();
  ctx.arc(a.x, a.y, 6, 0, 2 * Math.PI);
  ctx.fill();
  ctx.stroke();
  ctx.fillStyle = cameraColour(last.camera_id);
  ctx.fillRect(b.x - 5.5, b.y - 5.5, 11, 11);
  ctx.strokeRect(b.x - 5.5, b.y - 5.5, 11, 11);
  ctx.restore();
}

/** A bar of a round number of metres (about a fifth of the plot wide) in the plot's bottom-left corner. */
function drawScaleBar(ctx, view) {
  const { plot, scale } = view;
  const metres = niceStep((plot.right - plot.left) / scale / 5);
  const px = metres * scale;
  const x = plot.left + 12;
  const y = plot.bottom - 14;
  ctx.save();
  ctx.fillStyle = "rgba(11, 18, 32, 0.8)";
  ctx.fillRect(x - 6, y - 20, px + 12, 26);
  ctx.strokeStyle = "#e2e8f0";
  ctx.fillStyle = "#e2e8f0";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(x, y - 4);
  ctx.lineTo(x, y);
  ctx.lineTo(x + px, y);
  ctx.lineTo(x + px, y - 4);
  ctx.stroke();
  ctx.font = "600 10px ui-sans-serif, system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  ctx.fillText(`${metres >= 1 ? metres : metres.toFixed(1)} m`, x + px / 2, y - 4);
  ctx.restore();
}
