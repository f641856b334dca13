// The identity's timeline: one row per camera (in order of first sighting), one bar per tracklet over
// [t_start, t_end] seconds, on a shared time axis. Plain DOM, so bars are focusable and carry data-*.

import { cameraChip, cameraColour, el, fmtDuration, fmtT, niceStep } from "./ui.js";

/** Time window (s) of the tracklets, padded 2 % each side; at least 2 s wide. */
function window_(tracklets) {
  let t0 = Math.min(...tracklets.map((t) => t.t_start));
  let t1 = Math.max(...tracklets.map((t) => t.t_end));
  if (t1 - t0 < 2) [t0, t1] = [(t0 + t1) / 2 - 1, (t0 + t1) / 2 + 1];
  const pad = (t1 - t0) * 0.02;
  return [t0 - pad, t1 + pad];
}

/**
 * Renders into `container`. tracklets: [{tracklet_id, camera_id, local_track_id, t_start, t_end, n_obs, final}];
 * highlight: a tracklet id drawn emphasised; onSelect(trackletId) when a bar is clicked.
 */
export function renderTimeline(container, tracklets, { highlight = null, onSelect = () => {} } = {}) {
  if (!tracklets.length) {
    container.replaceChildren();
    container.dataset.rows = "0";
    return;
  }
  const [t0, t1] = window_(tracklets);
  const at = (t) => `${((100 * (t - t0)) / (t1 - t0)).toFixed(3)}%`;
  const step = niceStep((t1 - t0) / 6);
  const ticks = [];
  for (let i = Math.ceil(t0 / step); i * step <= t1; i++) ticks.push(i * step);
  const gridLines = () => ticks.map((t) => el("span", { class: "tl-grid", style: { left: at(t) } }));

  const cameras = [];
  for (const t of [...tracklets].sort((a, b) => a.t_start - b.t_start)) {
    if (!cameras.includes(t.camera_id)) cameras.push(t.camera_id);
  }
  const rows = cameras.map((camera) => {
    const bars = tracklets.filter((t) => t.camera_id === camera).map((t) => {
      const span = t.t_end - t.t_start;
      return el("button", {
        type: "button",
        class: `tl-bar${t.final ? "" : " live"}${t.tracklet_id === highlight ? " selected" : ""}`,
        style: { left: at(t.t_start), width: `max(3px, ${at(t0 + span)})`, "--c": cameraColour(camera) },
        dataset: { trackletId: t.tracklet_id },
        title: `${t.tracklet_id} · ${fmtT(t.t_start)} – ${fmtT(t.t_end)} (${fmtDuration(span)}) · ${t.n_obs} obs` +
          (t.final ? "" : " · still being tracked"),
        onclick: () => onSelect(t.tracklet_id),
      }, el("span", { class: "tl-bar-label" }, `t${t.local_track_id}`));
    });
    return el("div", { class: "tl-row", dataset: { camera } },
      el("div", { class: "tl-label" }, cameraChip(camera)),
      el("div", { class: "tl-track" }, gridLines(), bars));
  });
  const axis = el("div", { class: "tl-row tl-axis-row" },
    el("div", { class: "tl-label muted small" }, "time"),
    el("div", { class: "tl-axis" },
      ticks.map((t) => el("span", { class: "tl-tick mono", style: { left: at(t) } }, fmtT(t)))));
  container.replaceChildren(...rows, axis);
  container.dataset.rows = String(rows.length);
}
