"""What the API asks of the process that runs cameras, when that process is this one."""

from __future__ import annotations

from typing import Protocol

from service.store import CameraRecord


class CameraControl(Protocol):
    """Starts and stops camera pipelines in this process (the embedded runtime). Without one (``control``
    None in ``create_app``) cameras are only recorded in the store and separate worker processes run them."""

    def start_camera(self, camera: CameraRecord) -> None:
        """Start running ``camera``; raises ValueError (e.g. SourceError) for a source that cannot be used."""
        ...

    def stop_camera(self, camera_id: str) -> None:
        """Stop the camera's pipeline (nothing happens for a camera that is not running)."""
        ...
