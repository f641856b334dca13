// Finding identities: open one by id, search by an image of the vehicle, or list them with filters
// (camera, "seen in A then in B", time range, minimum number of cameras).

import { request } from "./api.js";
import { $, cameraChip, el, fmtT, identityChip, identityColour, showError } from "./ui.js";

const PAGE_SIZE = 25;
const SEARCH_K = 10;

export class IdentityFinder {
  /** openIdentity(id) opens one; selectedId() is the id shown now (its row is marked), or null. */
  constructor({ openIdentity, selectedId }) {
    this.openIdentity = openIdentity;
    this.selectedId = selectedId;
    this.offset = 0;
    this.total = 0;
    this.cameraIds = [];
    this.listTimer = null;
  }

  start() {
    $("open-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = Number($("open-id").value);
      if (!Number.isInteger(value) || value < 1) {
        showError($("search-error"), "A global id is a whole number of 1 or more.");
        return;
      }
      showError($("search-error"), "");
      this.openIdentity(value);
    });
    $("search-file").addEventListener("change", () => {
      const file = $("search-file").files[0];
      $("search-file-name").textContent = file ? file.name : "Choose a vehicle crop (JPEG/PNG)…";
    });
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.searchByImage();
    });
    $("filter-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.offset = 0;
      this.loadList();
    });
    $("filter-form").addEventListener("reset", () => {
      setTimeout(() => {
        this.offset = 0;
        this.loadList();
      }); // after the browser has cleared the fields
    });
    $("page-prev").addEventListener("click", () => {
      this.offset = Math.max(0, this.offset - PAGE_SIZE);
      this.loadList();
    });
    $("page-next").addEventListener("click", () => {
      if (this.offset + PAGE_SIZE < this.total) this.offset += PAGE_SIZE;
      this.loadList();
    });
    this.loadList();
  }

  /** Camera ids for the filter selects (kept when the list has not changed). */
  setCameras(ids) {
    if (ids.join("\n") === this.cameraIds.join("\n")) return;
    this.cameraIds = ids;
    for (const [selectId, blank] of [["f-camera", "any"], ["f-seen", "—"], ["f-later", "—"]]) {
      const select = $(selectId);
      const chosen = select.value;
      select.replaceChildren(el("option", { value: "" }, blank), ...ids.map((id) => el("option", { value: id }, id)));
      if (ids.includes(chosen)) select.value = chosen;
    }
  }

  /** Marks the row of the identity shown now. */
  markSelected(globalId) {
    for (const row of $("identity-rows").children) {
      row.classList.toggle("selected", row.dataset.globalId === String(globalId));
    }
  }

  /** Re-reads the current page soon (new identities arrive on the event stream); coalesces bursts. */
  refreshSoon() {
    if (this.listTimer) return;
    this.listTimer = setTimeout(() => {
      this.listTimer = null;
      this.loadList();
    }, 1000);
  }

  filters() {
    const number = (id) => {
      const text = $(id).value.trim();
      return text === "" ? undefined : Number(text);
    };
    return {
      camera: $("f-camera").value,
      seen_in: $("f-seen").value,
      later_in: $("f-later").value,
      t_from: number("f-from"),
      t_to: number("f-to"),
      min_cameras: number("f-min"),
      offset: this.offset,
      limit: PAGE_SIZE,
    };
  }

  async loadList() {
    const params = this.filters();
    if (params.later_in && !params.seen_in) {
      showError($("list-error"), "“then in” needs “seen in”: pick the camera the vehicle was seen in first.");
      return;
    }
    try {
      const page = await request("api/v1/identities", { params, what: "identity list" });
      showError($("list-error"), "");
      this.total = page.total;
      this.renderList(page);
    } catch (err) {
      showError($("list-error"), err.message);
    }
  }

  renderList(page) {
    const rows = page.items.map((identity) =>
      el("tr", {
        class: identity.global_id === this.selectedId() ? "selected" : "",
        dataset: { globalId: identity.global_id },
        onclick: () => this.openIdentity(identity.global_id),
      },
        el("td", {}, identityChip(identity.global_id, this.openIdentity)),
        el("td", {}, el("span", { class: "chips" }, identity.cameras.map(cameraChip))),
        el("td", { class: "num mono" }, fmtT(identity.first_seen)),
        el("td", { class: "num mono" }, fmtT(identity.last_seen)),
        el("td", { class: "num mono" }, identity.n_points.toLocaleString())));
    if (!rows.length) {
      rows.push(el("tr", { class: "empty" }, el("td", { colspan: 5, class: "muted" }, "No identity matches.")));
    }
    $("identity-rows").replaceChildren(...rows);
    const first = page.total ? page.offset + 1 : 0;
    const last = page.offset + page.items.length;
    $("page-info").textContent = `${first}–${last} of ${page.total.toLocaleString()}`;
    $("page-prev").disabled = page.offset === 0;
    $("page-next").disabled = last >= page.total;
  }

  async searchByImage() {
    const file = $("search-file").files[0];
    if (!file) {
      showError($("search-error"), "Choose an image of the vehicle first (a JPEG or PNG crop).");
      return;
    }
    const form = new FormData();
    form.append("image", file, file.name);
    const status = $("search-status");
    status.hidden = false;
    status.textContent = "Searching… (the first search also loads the appearance model)";
    showError($("search-error"), "");
    try {
      const answer = await request("api/v1/search", {
        method: "POST", form, params: { k: SEARCH_K }, what: "search by image",
      });
      this.renderResults(answer.results, file);
    } catch (err) {
      $("search-results-wrap").hidden = true;
      showError($("search-error"), err.message);
    } finally {
      status.hidden = true;
    }
  }

  renderResults(results, file) {
    const preview = $("search-preview");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    const best = Math.max(1e-6, ...results.map((r) => r.score));
    const items = results.map((r) =>
      el("li", { dataset: { globalId: r.global_id }, onclick: () => this.openIdentity(r.global_id) },
        identityChip(r.global_id, this.openIdentity),
        el("span", { class: "score mono", title: "cosine similarity" }, r.score.toFixed(3)),
        el("span", { class: "score-bar" }, el("span", {
          style: { width: `${Math.max(2, (100 * r.score) / best)}%`, background: identityColour(r.global_id) },
        })),
        el("span", { class: "chips" }, r.cameras.map(cameraChip)),
        el("span", { class: "muted small mono", title: "first and last seen" }, `${fmtT(r.first_seen)}–${fmtT(r.last_seen)}`)));
    if (!items.length) items.push(el("li", { class: "muted" }, "No identity recorded yet to compare with."));
    $("search-results").replaceChildren(...items);
    $("search-results-wrap").hidden = false;
  }
}
