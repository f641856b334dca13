"""``crosscam associator``: the cross-camera associator as its own process, fed by the workers' Redis Stream.

Reads the tracklets ``crosscam worker`` processes publish, associates them into global identities and records
them in the Redis store; snapshots its state so a crash loses nothing (``service.stream_associator`` explains
the acknowledgement scheme, the replay after a crash, and the order tracklets are associated in).
Exit codes: 0 stopped by SIGTERM / Ctrl-C (after a last snapshot), 1 lost its Redis server while running
(unacknowledged entries are replayed at the next start), 2 could not start.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from service.commands.errors import user_errors

DEFAULT_CONSUMER = "associator"
# The process failed while running (lost its Redis server); 2 (USER_ERROR_EXIT) is a bad start.
RUNTIME_FAILURE_EXIT = 1

log = logging.getLogger(__name__)


def associator(
    redis_url: Annotated[
        str | None, typer.Option(help="Redis server, redis://[:password@]host:port/db (default: REDIS_URL).")
    ] = None,
    snapshot_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the associator's snapshots (default: CROSSCAM_SNAPSHOT_DIR). Without one a crash "
            "loses the association state (the store keeps what was recorded)."
        ),
    ] = None,
    consumer: Annotated[
        str, typer.Option(help="This process's name in the consumer group; keep it across restarts.")
    ] = DEFAULT_CONSUMER,
    snapshot_every: Annotated[
        int | None,
        typer.Option(
            min=1, help="Messages between snapshots; entries are acknowledged at each (default 100)."
        ),
    ] = None,
    claim_idle_s: Annotated[
        float | None,
        typer.Option(
            min=0, help="Take over entries another consumer left pending this long (s; default 60)."
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Stream entries read (XREADGROUP COUNT) and sorted into time order at once (default 64). "
            "A batch holding a whole recording associates it in the single-process order.",
        ),
    ] = None,
    association_config: Annotated[Path | None, typer.Option(help="Association YAML.")] = None,
    gallery_config: Annotated[Path | None, typer.Option(help="Gallery YAML.")] = None,
) -> None:
    """Associate the camera workers' tracklets across cameras (Redis Stream -> global identities in the store)."""
    import redis

    from service.settings import ServiceSettings
    from service.store import StoreUnavailableError
    from service.store.redis import RedisStore
    from service.stream_associator import (
        DEFAULT_SNAPSHOT_EVERY,
        SnapshotError,
        SnapshotFolder,
        StreamAssociator,
    )
    from service.streams import (
        DEFAULT_BATCH,
        DEFAULT_CLAIM_IDLE_S,
        RedisRequiredError,
        TrackletReader,
        redis_client,
        redis_url_of,
    )
    from trackers.association import AssociationConfig
    from trackers.config import ConfigError
    from trackers.gallery import GalleryConfig, GalleryError

    with user_errors(ConfigError, GalleryError, RedisRequiredError, StoreUnavailableError, SnapshotError):
        settings = ServiceSettings(**({"REDIS_URL": redis_url} if redis_url else {}))
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
        url = redis_url_of(settings, "crosscam associator")
        store = RedisStore(url, prefix=settings.redis_prefix)
        store.ping()
        folder = snapshot_dir or settings.snapshot_dir
        try:
            consumer_loop = StreamAssociator(
                store,
                TrackletReader(
                    redis_client(url),
                    settings.redis_prefix,
                    consumer,
                    claim_idle_s=DEFAULT_CLAIM_IDLE_S if claim_idle_s is None else claim_idle_s,
                    batch=DEFAULT_BATCH if batch is None else batch,
                ),
                SnapshotFolder(folder) if folder is not None else None,
                snapshot_every or DEFAULT_SNAPSHOT_EVERY,
                AssociationConfig.from_yaml(association_config),
                GalleryConfig.from_yaml(gallery_config),
            )
            consumer_loop.restore()
        except redis.RedisError as exc:
            raise store.unavailable(exc) from None
    stop = threading.Event()
    # SIGTERM (Kubernetes stopping the pod) and Ctrl-C end the run cleanly; the caller's handlers come back after.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.info(
        "associator %r reading %s (prefix %r)", consumer, settings.redis_url_redacted, settings.redis_prefix
    )
    try:
        consumer_loop.run(stop)
    except (redis.RedisError, StoreUnavailableError) as exc:
        # Lost the server mid-run: what was not acknowledged is replayed by the next start.
        shown = store.unavailable(exc) if isinstance(exc, redis.RedisError) else exc
        typer.secho(f"error: {shown}", fg=typer.colors.RED, err=True)
        raise typer.Exit(RUNTIME_FAILURE_EXIT) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
    log.info("stopped after %d messages", consumer_loop.processed)
