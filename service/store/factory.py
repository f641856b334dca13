"""Which state store the service uses: Redis when ``REDIS_URL`` is set, else the in-memory one."""

from __future__ import annotations

from service.settings import ServiceSettings
from service.store.base import StateStore
from service.store.memory import MemoryStore
from service.store.redis import RedisStore


def open_store(settings: ServiceSettings) -> StateStore:
    """The store ``settings`` ask for. A Redis store is pinged at once, so an unreachable server stops the
    service at start with StoreUnavailableError (its redacted URL and the fix), not at the first request."""
    if settings.redis_url is None:
        return MemoryStore()
    store = RedisStore(settings.redis_url.get_secret_value(), prefix=settings.redis_prefix)
    try:
        store.ping()
    except Exception:
        store.close()
        raise
    return store
