"""API keys: who may write (and, with ``require_key_for_reads``, read), and the name the audit log records.

A request names its key in the ``X-API-Key`` header. Every configured key is compared, in constant time, on
every request (no early exit that would tell a caller which key nearly matched). The secret is never logged,
echoed or put in a response; only the key's *name* travels on, as the actor of audit entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import APIKeyHeader
from starlette.requests import HTTPConnection

from service.settings import ApiKey

API_KEY_HEADER = "X-API-Key"
API_KEY_SCHEME = "APIKey"
# Read routes name their own scheme so the OpenAPI pass (service.api.openapi) can tell them from writes;
# both read the same header, and the pass folds this one into API_KEY_SCHEME (or drops it: reads open).
READ_KEY_SCHEME = "APIKeyForReads"
ANONYMOUS = "anonymous"  # the actor when no keys are configured (or reads are open)
UNAUTHORIZED_DETAIL = f"missing or invalid API key: send it in the {API_KEY_HEADER} header"

_KEY_DESCRIPTION = "An API key configured with CROSSCAM_API_KEYS or CROSSCAM_API_KEYS_FILE."
# auto_error=False: a missing key is answered by ``authenticate`` (401 with our message), not FastAPI's own.
write_key_header = APIKeyHeader(
    name=API_KEY_HEADER, scheme_name=API_KEY_SCHEME, description=_KEY_DESCRIPTION, auto_error=False
)
read_key_header = APIKeyHeader(
    name=API_KEY_HEADER, scheme_name=READ_KEY_SCHEME, description=_KEY_DESCRIPTION, auto_error=False
)


def matching_key_name(keys: Sequence[ApiKey], candidate: str | None) -> str | None:
    """The name of the key ``candidate`` is, or None. Compares against every key before answering."""
    if candidate is None:
        return None
    results = [key.matches(candidate) for key in keys]  # all of them: no short circuit
    return next((key.name for key, ok in zip(keys, results, strict=True) if ok), None)


def authenticate(connection: HTTPConnection, candidate: str | None) -> str:
    """The actor for a request carrying ``candidate`` (``anonymous`` when no keys are configured).
    Raises 401 (``WWW-Authenticate: APIKey``) for a missing or wrong key."""
    keys: tuple[ApiKey, ...] = connection.app.state.api_keys
    if not keys:
        return ANONYMOUS
    name = matching_key_name(keys, candidate)
    if name is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=UNAUTHORIZED_DETAIL,
            headers={"WWW-Authenticate": API_KEY_SCHEME},
        )
    return name


def reads_need_key(connection: HTTPConnection) -> bool:
    """Whether this app asks read requests for a key (keys configured and ``require_key_for_reads``)."""
    return bool(connection.app.state.api_keys) and connection.app.state.settings.require_key_for_reads


async def require_write(
    connection: HTTPConnection, api_key: Annotated[str | None, Security(write_key_header)] = None
) -> str:
    """Dependency of every write endpoint: the API key's name, or 401."""
    return authenticate(connection, api_key)


async def require_read(
    connection: HTTPConnection, api_key: Annotated[str | None, Security(read_key_header)] = None
) -> str:
    """Dependency of every read endpoint: open (``anonymous``) unless ``require_key_for_reads``."""
    if not reads_need_key(connection):
        return ANONYMOUS
    return authenticate(connection, api_key)


WriteActor = Annotated[str, Depends(require_write)]
ReadActor = Annotated[str, Depends(require_read)]
