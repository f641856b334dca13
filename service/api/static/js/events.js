// The live event feed. Server-Sent Events through EventSource by default. EventSource cannot send the
// X-API-Key header (nor can a browser's WebSocket), so when the server refuses the stream (reads need a key)
// the feed reads the same SSE stream with fetch(), which can. Either way it resumes after the last event shown.

import { apiUrl, currentKey } from "./api.js";
import { $, cameraChip, el, fmtT, fmtWall, identityChip } from "./ui.js";

const EVENT_TYPES = ["identity.new", "identity.handoff", "identity.merged", "tracklet.split", "camera.added",
  "camera.removed"];
const MAX_SHOWN = 300; // older entries leave the list (the store keeps them; the API can page through them)
const RETRY_MAX_MS = 15000;

export class EventFeed {
  /** onEvent(event) hears every event once (after it is shown), to refresh what it changes. */
  constructor({ openIdentity, onEvent }) {
    this.openIdentity = openIdentity;
    this.onEvent = onEvent;
    this.lastId = null;
    this.seen = new Set();
    this.count = 0;
    this.source = null; // the EventSource, or
    this.reading = null; // the AbortController of the fetch() reader
    this.retryMs = 1000;
    this.retryTimer = null;
    this.transport = "eventsource"; // or "fetch"
  }

  start() {
    const toggle = $("events-identity-only");
    const apply = () => $("events").classList.toggle("identity-only", toggle.checked);
    toggle.addEventListener("change", apply);
    apply();
    this.connect();
  }

  /** Starts over on the preferred transport (e.g. after the API key changed). */
  restart() {
    this.transport = "eventsource";
    this.retryMs = 1000;
    this.connect();
  }

  close() {
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    if (this.reading) this.reading.abort();
    this.source = null;
    this.reading = null;
  }

  connect() {
    this.close();
    if (this.transport === "fetch") this.connectFetch();
    else this.connectEventSource();
  }

  streamUrl() {
    return apiUrl("api/v1/events", { after: this.lastId });
  }

  connectEventSource() {
    this.setState("connecting", "events: connecting");
    const source = new EventSource(this.streamUrl());
    this.source = source;
    source.onopen = () => {
      this.retryMs = 1000;
      this.setState("live", "events: live");
      this.showError("");
    };
    const receive = (message) => this.receive(message.data);
    for (const type of EVENT_TYPES) source.addEventListener(type, receive);
    source.onmessage = receive; // an event without an `event:` line
    source.onerror = () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CONNECTING) {
        this.setState("reconnecting", "events: reconnecting…"); // EventSource retries by itself
        return;
      }
      // Refused (an HTTP error such as 401): EventSource does not say why, nor can it send the key.
      source.close();
      this.transport = "fetch";
      this.connect();
    };
  }

  /** The SSE stream read with fetch(): sends the API key, and names the HTTP error when refused. */
  async connectFetch() {
    const reading = new AbortController();
    this.reading = reading;
    this.setState("connecting", "events: connecting");
    const headers = { Accept: "text/event-stream" };
    if (currentKey()) headers["X-API-Key"] = currentKey();
    try {
      const response = await fetch(this.streamUrl(), { headers, cache: "no-store", signal: reading.signal });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        const detail = typeof body.detail === "string" ? body.detail : response.statusText;
        const hint = response.status === 401 && !currentKey() ? " — enter an API key in the header" : "";
        this.fail(`Live events: ${detail} (HTTP ${response.status})${hint}.`);
        return;
      }
      this.retryMs = 1000;
      this.setState("live", "events: live · key");
      this.showError("");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          this.receiveBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      this.fail("Live events: the stream ended.");
    } catch (err) {
      if (reading.signal.aborted) return; // closed on purpose
      this.fail(`Live events: cannot reach the crosscam API at ${location.host} (${err.message}).`);
    }
  }

  /** One SSE message block: its `data:` lines joined (comments and `id:` / `event:` lines need nothing). */
  receiveBlock(block) {
    const data = block.split("\n").filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
    if (data.length) this.receive(data.join("\n"));
  }

  fail(message) {
    this.showError(`${message} Retrying in ${Math.round(this.retryMs / 1000)} s…`);
    this.setState("offline", "events: offline");
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  receive(text) {
    let event;
    try {
      event = JSON.parse(text);
    } catch {
      this.showError("Live events: the server sent a message that is not JSON; it was skipped.");
      return;
    }
    if (!event || typeof event !== "object" || this.seen.has(event.event_id)) return; // resumed twice
    this.seen.add(event.event_id);
    if (this.seen.size > 4 * MAX_SHOWN) this.seen = new Set([...this.seen].slice(-MAX_SHOWN));
    this.lastId = event.event_id;
    this.render(event);
    this.onEvent(event);
  }

  render(event) {
    const list = $("events");
    const open = this.openIdentity;
    const gid = event.global_id;
    const data = event.data || {};
    const kind = event.type.split(".")[0]; // identity | tracklet | camera
    let body;
    switch (event.type) {
      case "identity.new":
        body = ["new identity ", identityChip(gid, open), " on ", cameraChip(event.camera_id)];
        break;
      case "identity.handoff":
        body = [identityChip(gid, open), " ", data.from_camera ? cameraChip(data.from_camera) : "?", " → ",
          cameraChip(event.camera_id)];
        break;
      case "identity.merged":
        body = [data.absorbed != null ? `#${data.absorbed}` : "an identity", " merged into ", identityChip(gid, open)];
        break;
      case "tracklet.split":
        body = [el("span", { class: "mono" }, data.tracklet_id || "a tracklet"),
          data.from_identity != null ? ` left #${data.from_identity} as ` : " split off as ", identityChip(gid, open)];
        break;
      case "camera.added":
      case "camera.removed":
        body = ["camera ", cameraChip(event.camera_id), event.type === "camera.added" ? " added" : " removed"];
        break;
      default:
        body = [event.type, gid != null ? [" ", identityChip(gid, open)] : ""];
    }
    const item = el("li", {
      class: `event ${kind}`,
      dataset: { type: event.type, eventId: event.event_id, globalId: gid ?? "" },
      onclick: gid != null ? () => open(gid) : undefined,
    },
    el("span", { class: `event-type t-${event.type.replace(".", "-")}` }, event.type.split(".")[1]),
    el("span", { class: "event-body" }, body),
    el("span", { class: "event-time mono", title: new Date(event.t_wall * 1000).toLocaleString() },
      data.t != null ? `${fmtWall(event.t_wall)} · ${fmtT(data.t)}` : fmtWall(event.t_wall)));
    list.prepend(item);
    while (list.children.length > MAX_SHOWN) list.lastElementChild.remove();
    this.count += 1;
    list.dataset.count = String(this.count);
    $("events-count").textContent = this.count.toLocaleString();
    $("events-empty").hidden = true;
  }

  setState(state, label) {
    const pill = $("stream-state");
    pill.dataset.state = state;
    pill.querySelector(".pill-label").textContent = label;
  }

  showError(message) {
    const box = $("events-error");
    box.textContent = message;
    box.hidden = !message;
  }
}
