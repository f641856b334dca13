"""FastAPI dependencies that hand a route the app's settings, store, camera control and search index.

``create_app`` puts them on ``app.state``; routes take them as ``Annotated`` parameters (``store: StoreDep``)
instead of reaching for module globals, so every app a test builds has its own. They are ``async`` because
they only read attributes: FastAPI runs a plain ``def`` dependency in its thread pool, and that hop cost more
than the rest of a cached identity read (bench/api.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from service.api.control import CameraControl
from service.api.search_index import SearchIndex
from service.settings import ServiceSettings
from service.store import StateStore


async def get_settings(connection: HTTPConnection) -> ServiceSettings:
    return connection.app.state.settings


async def get_store(connection: HTTPConnection) -> StateStore:
    return connection.app.state.store


async def get_control(connection: HTTPConnection) -> CameraControl | None:
    return connection.app.state.control


async def get_search_index(connection: HTTPConnection) -> SearchIndex:
    return connection.app.state.search


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
StoreDep = Annotated[StateStore, Depends(get_store)]
ControlDep = Annotated[CameraControl | None, Depends(get_control)]
SearchIndexDep = Annotated[SearchIndex, Depends(get_search_index)]
