"""The cross-camera associator fed by the workers' Redis Stream: what ``crosscam associator`` runs.

Each stream entry (a ``Tracklet``, ``service.streams``) goes ``Associator.add`` -> ``Recorder.record`` (the
store and its events). Entries are acknowledged (XACK) only once their effect is durable:

- with ``--snapshot-dir``: every ``--snapshot-every`` messages, when the stream goes idle, and on SIGTERM, the
  associator's state is snapshotted, then the messages processed up to it are acknowledged. After a crash the
  restarted process restores the latest snapshot and the group replays what was delivered but never
  acknowledged (its own pending entries, or, under a new ``--consumer`` name, a dead consumer's after
  ``--claim-idle-s``). A replay is harmless: ``record_tracklet`` replaces an earlier emission, ``add`` of a key
  the snapshot knows keeps its identity, and a key recorded after the snapshot gets back the identity id the
  store already gave it (so ids, events and the identity partition come out as without the crash).
- without: the store is the only durable state, so a batch is acknowledged once it is recorded; after a crash
  association starts empty (identities already in the store stay, new tracklets do not join them).

Snapshots are generations ``<dir>/snapshot-<n>/`` and ``<dir>/CURRENT`` names the last complete one (written
atomically after it), so a kill in the middle of a snapshot leaves the previous one usable.

Order: online association wants tracklets in the order the world produced them. Workers publish
independently, so entries from several cameras arrive interleaved in arrival order (a worker that runs
behind publishes late); each batch read (``--batch`` entries, default 64) is sorted into the single-process
run's order before it is associated (``emission_order``): by emission time ``t_emit``, ties in camera order
then track id, and the tracklets flushed at the end (``t_emit`` inf) last, by track end. That restores the
single-process order within a batch only: live association sees arrival order across batches, and a whole
recording read as one batch is associated as ``crosscam run`` associates it.

Run one associator per stream: association is one global state, so the consumer group gives durability and
take-over, not parallelism.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
from pathlib import Path

from service.recorder import Recorder
from service.store import NotFoundError, StateStore, tracklet_id
from service.streams import TrackletMessage, TrackletReader
from trackers.association import AssociationConfig, Associator
from trackers.atomic import atomic_write
from trackers.gallery import GalleryConfig
from trackers.types import Tracklet

DEFAULT_SNAPSHOT_EVERY = 100

log = logging.getLogger(__name__)


def emission_order(message: TrackletMessage) -> tuple[float, float, str, int]:
    """Sort key putting messages in the order ``trackers.multicam.MultiCameraAssociation`` assigns them: each
    at the frame its builder emitted it (cameras merged by time, ties in camera order, then track id), and the
    tracklets flushed at the end (``t_emit`` inf) after all of those, by (track end, camera, track id) as
    ``finish`` sorts them. Emissions at a frame tie on 0.0 so that track end does not reorder them."""
    t = message.tracklet
    return (message.t_emit, t.t_end if math.isinf(message.t_emit) else 0.0, t.camera_id, t.local_track_id)


class SnapshotError(ValueError):
    """The snapshot folder holds a snapshot that cannot be restored; the message names it and the fix."""


class SnapshotFolder:
    """Associator snapshots under ``root``: ``snapshot-<n>/`` generations, ``CURRENT`` naming the latest."""

    POINTER = "CURRENT"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def latest(self) -> Path | None:
        """The latest complete snapshot, or None when none was taken yet."""
        pointer = self.root / self.POINTER
        if not pointer.is_file():
            return None
        folder = self.root / pointer.read_text().strip()
        return folder if folder.is_dir() else None

    def save(self, associator: Associator) -> Path:
        """Snapshot ``associator`` as the next generation, point ``CURRENT`` at it, drop older ones."""
        latest = self.latest()
        number = int(latest.name.rsplit("-", 1)[1]) + 1 if latest is not None else 1
        folder = associator.snapshot(self.root / f"snapshot-{number:09d}")
        atomic_write(self.root / self.POINTER, lambda fh: fh.write(folder.name.encode()))
        for old in self.root.glob("snapshot-*"):  # earlier generations, and any a crash left half-written
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
        return folder


class StreamAssociator:
    """Consumes the tracklet stream into an ``Associator`` and the store; see the module docstring.

    snapshots: where state is kept (None: none). snapshot_every: messages between snapshots.
    """

    def __init__(
        self,
        store: StateStore,
        reader: TrackletReader,
        snapshots: SnapshotFolder | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        association_config: AssociationConfig | None = None,
        gallery_config: GalleryConfig | None = None,
    ) -> None:
        self.store = store
        self.reader = reader
        self.snapshots = snapshots
        self.snapshot_every = snapshot_every
        self.association_config = association_config or AssociationConfig.from_yaml()
        self.gallery_config = gallery_config
        self.recorder = Recorder(store)
        self.associator: Associator | None = None
        self.processed = 0  # messages associated and recorded by this process
        self._unacked: list[str] = []  # processed (or rejected) since the last checkpoint
        self._recorded_gid: int | None = None  # the store's identity of the tracklet being added, if any
        self._latest_t = float("-inf")  # latest track end seen (s): "now" for the gallery's expiry

    def restore(self) -> bool:
        """Load the latest snapshot, if any; True when one was loaded. SnapshotError for an unusable one."""
        latest = self.snapshots.latest() if self.snapshots is not None else None
        if latest is None:
            return False
        try:
            self.associator = Associator.restore(
                latest, self.association_config, self.gallery_config, new_id=self._new_identity_id
            )
        except ValueError as exc:
            raise SnapshotError(
                f"cannot restore the associator from {latest} ({exc}); restore a good copy of the snapshot "
                "folder, or empty it to start association afresh"
            ) from None
        log.info("restored %s: %d tracklets, %d identities", latest, *self._sizes())
        return True

    def run(self, stop: threading.Event, until_drained: bool = False) -> None:
        """Consume until ``stop`` is set (or, ``until_drained``, until a read finds nothing), then checkpoint."""
        while not stop.is_set():
            if self.step() == 0 and until_drained:
                break
        self.checkpoint()

    def step(self) -> int:
        """Read one batch and associate it; returns how many entries it held (0: none came in time)."""
        batch = self.reader.read()
        for entry_id, reason, fields in batch.rejected:
            self._reject(entry_id, reason, fields)
        for message in sorted(batch.messages, key=emission_order):
            self._associate(message)
            if self.snapshots is not None and len(self._unacked) >= self.snapshot_every:
                self.checkpoint()
        if self.snapshots is None or not len(batch):  # recorded is durable / idle: a good moment to snapshot
            self.checkpoint()
        return len(batch)

    def checkpoint(self) -> None:
        """Make what was processed durable (snapshot, when configured), then acknowledge it."""
        if not self._unacked:
            return
        if self.snapshots is not None and self.associator is not None:
            self.associator.expire(self._latest_t)
            folder = self.snapshots.save(self.associator)
            log.info("snapshot %s: %d tracklets, %d identities", folder.name, *self._sizes())
        self.reader.ack(self._unacked)
        self._unacked = []
        self.reader.trim_acknowledged()

    # ---- internals -------------------------------------------------------------------------------------

    def _associate(self, message: TrackletMessage) -> None:
        tracklet = message.tracklet
        dim = tracklet.embedding.shape[0]
        if self.associator is None:
            self.associator = Associator(
                dim, self.association_config, self.gallery_config, new_id=self._new_identity_id
            )
        if dim != self.associator.dim:
            self._reject(
                message.entry_id,
                f"tracklet {tracklet_id(*tracklet.key)} has a {dim}-dim embedding, the associator's gallery "
                f"{self.associator.dim}: run every worker with the same --embedder",
                None,
            )
            return
        self._recorded_gid = (
            None if tracklet.key in self.associator.gid_of else self._stored_identity(tracklet)
        )
        try:
            gid = self.associator.add(tracklet)
        finally:
            self._recorded_gid = None
        self.recorder.record(tracklet, gid)
        self._latest_t = max(self._latest_t, tracklet.t_end)
        self._unacked.append(message.entry_id)
        self.processed += 1

    def _stored_identity(self, tracklet: Tracklet) -> int | None:
        """The identity the store holds ``tracklet`` under: recorded after the snapshot, before a crash."""
        try:
            return self.store.get_tracklet(tracklet_id(*tracklet.key)).global_id
        except NotFoundError:
            return None

    def _new_identity_id(self) -> int:
        """The associator's id source: a replayed tracklet's stored identity when the associator does not
        use that id already (an id is never given to two identities), else a new id from the store."""
        gid = self._recorded_gid
        if gid is not None and self.associator is not None and gid not in self.associator.members:
            return gid
        return self.store.allocate_identity_id()

    def _reject(self, entry_id: str, reason: str, fields: dict | None) -> None:
        """Set aside an entry that can never be associated (on the rejected stream, with the reason)."""
        log.warning("stream entry %s set aside: %s", entry_id, reason)
        self.reader.set_aside(entry_id, reason, fields)
        self._unacked.append(entry_id)

    def _sizes(self) -> tuple[int, int]:
        if self.associator is None:
            return 0, 0
        return len(self.associator.tracklets), len(self.associator.members)
