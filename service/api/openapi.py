"""The OpenAPI document says which operations need an API key *in this configuration*.

FastAPI marks every operation whose route depends on a security scheme as secured. Which ones really ask for
a key depends on the settings: writes (scheme ``APIKey``) when keys are configured, reads (scheme
``APIKeyForReads``, the same header) only with ``require_key_for_reads`` as well. This pass folds the read
scheme into ``APIKey`` or removes it, drops ``APIKey`` when no keys are configured, and removes the 401
answer from operations left open, so clients and schema-driven tests are told the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.api.security import API_KEY_SCHEME, READ_KEY_SCHEME

_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def apply_key_policy(schema: dict[str, Any], writes_need_key: bool, reads_need_key: bool) -> dict[str, Any]:
    """``schema`` (changed in place) with security only on the operations that enforce a key."""
    enforced = {API_KEY_SCHEME: writes_need_key, READ_KEY_SCHEME: reads_need_key}
    any_secured = False
    for path_item in schema.get("paths", {}).values():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            if any(enforced.get(name, False) for name in schemes):
                operation["security"] = [{API_KEY_SCHEME: []}]
                any_secured = True
            else:
                operation.pop("security", None)
                operation.get("responses", {}).pop("401", None)
    security_schemes = schema.get("components", {}).get("securitySchemes", {})
    security_schemes.pop(READ_KEY_SCHEME, None)
    if not any_secured:
        security_schemes.pop(API_KEY_SCHEME, None)
    return schema


def secured_openapi(
    app: FastAPI, writes_need_key: bool, reads_need_key: bool
) -> Callable[[], dict[str, Any]]:
    """An ``app.openapi`` replacement: FastAPI's document under ``apply_key_policy``, built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = apply_key_policy(schema, writes_need_key, reads_need_key)
        return app.openapi_schema

    return openapi
