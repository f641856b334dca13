"""The Redis state store (``REDIS_URL``): shared by every service process, survives restarts.

Same contract and semantics as ``MemoryStore`` (the contract test suite runs against both). Writes that touch
several keys (record_tracklet, merge, split) are optimistic transactions (WATCH the identities they change,
read, MULTI/EXEC, retry on a conflict); reads that span keys (an identity and its tracklets or points) are one
Lua script, so a reader never sees half a merge. The scripts name keys they compute from the prefix, which a
single Redis server (not Redis Cluster) allows.

Modules: ``keys`` (the key layout, every key under ``<prefix>:``), ``scripts`` (the Lua scripts), ``codec``
(how records, points and embeddings are stored), ``store`` (``RedisStore``).
"""

from service.store.redis.keys import DEFAULT_PREFIX
from service.store.redis.store import DEFAULT_MAX_EVENTS, RedisStore

__all__ = ["DEFAULT_MAX_EVENTS", "DEFAULT_PREFIX", "RedisStore"]
