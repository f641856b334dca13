// The selected identity: its summary, ground-plane map, timeline and tracklets, and the operator's
// corrections (merge another identity into it, split a tracklet off it).

import { request } from "./api.js";
import { renderTimeline } from "./timeline.js";
import { TrajectoryMap } from "./trajectory_map.js";
import {
  $, cameraChip, cameraColour, confirmClick, el, fmtDuration, fmtT, identityChip, identityColour, showError, toast,
} from "./ui.js";

const TRAJECTORY_PAGE = 1000; // the API's largest page
const MAX_TRAJECTORY_POINTS = 200_000; // beyond this the map would only get slower, not clearer
const LIVE_REFRESH_MS = 5000; // how often an identity with a live tracklet is re-read

export class IdentityDetail {
  constructor({ onChanged, onShown }) {
    this.onChanged = onChanged; // called after a merge / split changed identities
    this.onShown = onShown; // called with the id of each identity rendered
    this.globalId = null;
    this.identity = null;
    this.points = [];
    this.highlight = null;
    this.loadToken = 0;
    this.refreshTimer = null;
    this.map = new TrajectoryMap($("map"), $("map-tip"), $("map-empty"));
  }

  start() {
    // A first submit arms the button for that id; a second submit (within 4 s, same id) merges.
    let armedFor = null;
    let disarmTimer = null;
    const button = $("merge-btn");
    const disarm = () => {
      clearTimeout(disarmTimer);
      armedFor = null;
      button.textContent = "Merge into this";
      button.classList.remove("armed");
    };
    $("merge-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const absorb = Number($("merge-id").value);
      if (!Number.isInteger(absorb) || absorb < 1) {
        this.status("Enter the id of the identity to merge into this one (a whole number of 1 or more).", "error");
        return;
      }
      if (armedFor === absorb) {
        disarm();
        this.merge(absorb);
        return;
      }
      disarm();
      armedFor = absorb;
      button.textContent = `Confirm: #${absorb} → #${this.globalId}`;
      button.classList.add("armed");
      disarmTimer = setTimeout(disarm, 4000);
    });
  }

  /** Shows identity `globalId` (a merged-away id shows the identity that absorbed it). */
  async open(globalId) {
    const token = ++this.loadToken; // a slower earlier request must not overwrite a later one
    $("detail-empty").hidden = true;
    showError($("detail-error"), "");
    $("detail-body").classList.add("loading");
    try {
      const identity = await request(`api/v1/identities/${globalId}`, { what: `identity #${globalId}` });
      const points = await this.loadTrajectory(identity.global_id, token);
      if (token !== this.loadToken) return;
      this.requested = globalId;
      this.render(identity, points);
      history.replaceState(null, "", `#identity=${identity.global_id}`);
    } catch (err) {
      if (token !== this.loadToken) return;
      showError($("detail-error"), err.message);
      if (!this.identity) $("detail-empty").hidden = false;
    } finally {
      if (token === this.loadToken) $("detail-body").classList.remove("loading");
    }
  }

  /** Every trajectory point, page by page (time-ordered across cameras). */
  async loadTrajectory(globalId, token) {
    const points = [];
    let offset = 0;
    for (;;) {
      const page = await request(`api/v1/identities/${globalId}/trajectory`, {
        params: { offset, limit: TRAJECTORY_PAGE }, what: `trajectory of #${globalId}`,
      });
      if (token !== this.loadToken) return points;
      points.push(...page.items);
      offset += page.items.length;
      this.truncated = offset < page.total && offset >= MAX_TRAJECTORY_POINTS;
      if (!page.items.length || offset >= page.total || this.truncated) return points;
    }
  }

  /** Re-reads the identity shortly; bursts of events about it cost one reload. */
  refresh(delayMs = 300) {
    if (this.globalId === null || this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      if (this.globalId !== null) this.open(this.globalId);
    }, delayMs);
  }

  /** Whether an event about `globalId` concerns what is shown. */
  shows(globalId) {
    return globalId !== null && (globalId === this.globalId || globalId === this.requested);
  }

  render(identity, points) {
    const changed = this.globalId !== identity.global_id;
    this.identity = identity;
    this.globalId = identity.global_id;
    this.points = points;
    if (changed) {
      this.highlight = null;
      $("merge-id").value = "";
      this.status("");
    }
    const panel = $("detail");
    panel.dataset.globalId = String(identity.global_id);
    $("detail-body").hidden = false;
    $("detail-swatch").style.background = identityColour(identity.global_id);
    $("detail-id").textContent = `#${identity.global_id}`;
    $("detail-cams").replaceChildren(...identity.cameras.map(cameraChip));
    const notes = [];
    if (this.requested !== identity.global_id) notes.push(`#${this.requested} was merged into #${identity.global_id}`);
    if (this.truncated) notes.push(`map shows the first ${points.length.toLocaleString()} points`);
    $("detail-note").textContent = notes.join(" · ");
    $("detail-meta").textContent =
      `${fmtT(identity.first_seen)} – ${fmtT(identity.last_seen)} · ` +
      `${fmtDuration(identity.last_seen - identity.first_seen)} · ${identity.tracklets.length} tracklets · ` +
      `${identity.n_points.toLocaleString()} points`;
    this.map.setPoints(points, this.highlight);
    $("map-legend").replaceChildren(...identity.cameras.map((c) =>
      el("span", { class: "legend-item" }, el("span", { class: "legend-line", style: { background: cameraColour(c) } }), c)),
    el("span", { class: "legend-item" }, el("span", { class: "legend-line dashed" }), "transit"),
    ...this.endpointLegend(points));
    this.renderTracklets();
    this.onShown(identity.global_id);
    // A live track grows without events (its interim emissions replace each other): follow it.
    if (identity.tracklets.some((t) => !t.final)) this.refresh(LIVE_REFRESH_MS);
  }

  /** Legend entries for the map's start (circle) and end (square) markers, with their times. */
  endpointLegend(points) {
    const located = points.filter((p) => Array.isArray(p.world));
    if (!located.length) return [];
    const [first, last] = [located[0], located.at(-1)];
    return [
      el("span", { class: "legend-item" },
        el("span", { class: "legend-mark start", style: { background: cameraColour(first.camera_id) } }),
        `start ${fmtT(first.t)}`),
      el("span", { class: "legend-item" },
        el("span", { class: "legend-mark end", style: { background: cameraColour(last.camera_id) } }),
        `end ${fmtT(last.t)}`),
    ];
  }

  renderTracklets() {
    const identity = this.identity;
    renderTimeline($("timeline"), identity.tracklets, {
      highlight: this.highlight,
      onSelect: (id) => this.select(id),
    });
    const only = identity.tracklets.length === 1;
    const rows = identity.tracklets.map((t) => {
      const split = el("button", {
        type: "button",
        class: "btn ghost small",
        disabled: only,
        title: only ? "An identity's only tracklet cannot be split off" : `Make ${t.tracklet_id} a new identity`,
      }, "Split off");
      if (only) split.addEventListener("click", (event) => event.stopPropagation());
      else confirmClick(split, "Confirm split", () => this.split(t.tracklet_id));
      return el("tr", {
        class: t.tracklet_id === this.highlight ? "selected" : "",
        dataset: { trackletId: t.tracklet_id },
        onclick: () => this.select(t.tracklet_id),
      },
      el("td", { class: "mono" }, t.tracklet_id),
      el("td", {}, cameraChip(t.camera_id)),
      el("td", { class: "num mono" }, fmtT(t.t_start)),
      el("td", { class: "num mono" }, fmtT(t.t_end)),
      el("td", { class: "num mono" }, String(t.n_obs)),
      el("td", { class: "muted small" }, t.final ? "" : "live"),
      el("td", { class: "num" }, split));
    });
    $("tracklet-rows").replaceChildren(...rows);
  }

  /** Emphasises one tracklet on the map, timeline and table (a second click clears it). */
  select(trackletId) {
    this.highlight = this.highlight === trackletId ? null : trackletId;
    this.map.setHighlight(this.highlight);
    this.renderTracklets();
  }

  status(message, kind = "ok") {
    const box = $("action-status");
    box.hidden = !message;
    box.className = `action-status ${kind}`;
    box.replaceChildren(...(Array.isArray(message) ? message : [message]));
  }

  async merge(absorb) {
    const keep = this.globalId;
    try {
      const kept = await request("api/v1/identities/merge", {
        method: "POST", json: { keep, absorb }, what: `merge #${absorb} into #${keep}`,
      });
      this.status(`Merged #${absorb} into #${kept.global_id}.`, "ok");
      toast(`Merged #${absorb} into #${kept.global_id}`, "ok");
      $("merge-id").value = "";
      this.onChanged();
      await this.open(kept.global_id);
    } catch (err) {
      this.status(err.message, "error");
      toast(err.message);
    }
  }

  async split(trackletId) {
    try {
      const created = await request(`api/v1/tracklets/${encodeURIComponent(trackletId)}/split`, {
        method: "POST", what: `split ${trackletId}`,
      });
      this.status([`Split ${trackletId} off: it is now identity `,
        identityChip(created.global_id, (id) => this.open(id)), "."], "ok");
      toast(`${trackletId} is now identity #${created.global_id}`, "ok");
      this.highlight = null;
      this.onChanged();
      await this.open(this.globalId); // the same identity: the status line (with the new id) stays
    } catch (err) {
      this.status(err.message, "error");
      toast(err.message);
      this.renderTracklets(); // disarms the button
    }
  }
}
