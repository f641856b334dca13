// The operator console: wires the panels together. Each panel lives in its own module under js/.

import { currentKey, request, setApiKey } from "./js/api.js";
import { CameraWall } from "./js/cameras.js";
import { IdentityDetail } from "./js/detail.js";
import { EventFeed } from "./js/events.js";
import { IdentityFinder } from "./js/identities.js";
import { $, toast } from "./js/ui.js";

const READY_PERIOD_MS = 10000;

const detail = new IdentityDetail({
  onChanged: () => finder.refreshSoon(),
  onShown: (globalId) => finder.markSelected(globalId),
});
const openIdentity = (globalId) => {
  $("open-id").value = String(globalId);
  detail.open(globalId);
};
const finder = new IdentityFinder({ openIdentity, selectedId: () => detail.globalId });
const cameras = new CameraWall({ openIdentity, onCameras: (ids) => finder.setCameras(ids) });
const feed = new EventFeed({
  openIdentity,
  onEvent: (event) => {
    if (event.type.startsWith("camera.")) cameras.refreshSoon();
    else finder.refreshSoon();
    const data = event.data || {};
    const touched = [event.global_id, data.absorbed, data.from_identity];
    if (event.type !== "identity.new" && touched.some((id) => detail.shows(id ?? null))) {
      detail.refresh(); // what is on screen changed
    }
  },
});

function showKeyState() {
  $("key-state").textContent = currentKey() ? "key saved" : "";
  $("api-key").value = currentKey();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setApiKey($("api-key").value);
  showKeyState();
  toast(currentKey() ? "API key saved in this browser" : "API key cleared", "info");
  cameras.refresh();
  finder.loadList();
  feed.restart();
});

async function checkReady() {
  const pill = $("store-state");
  try {
    const ready = await request("readyz", { what: "readiness" });
    pill.dataset.state = "live";
    pill.querySelector(".pill-label").textContent = `store: ${ready.store}`;
    pill.title = "GET /readyz: ready";
  } catch (err) {
    pill.dataset.state = "offline";
    pill.querySelector(".pill-label").textContent = err.status === 503 ? "store: unavailable" : "store: ?";
    pill.title = err.message;
  } finally {
    setTimeout(checkReady, READY_PERIOD_MS);
  }
}

function openFromHash() {
  const match = /identity=(\d+)/.exec(location.hash);
  if (match) openIdentity(Number(match[1]));
}

window.addEventListener("unhandledrejection", (event) => {
  // Every request handles its own errors; anything reaching here is a page bug, still shown, never silent.
  toast(`Unexpected error: ${event.reason && event.reason.message ? event.reason.message : event.reason}`);
});

showKeyState();
detail.start();
finder.start();
cameras.start();
feed.start();
checkReady();
openFromHash();
window.addEventListener("hashchange", openFromHash);
