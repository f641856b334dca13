"""The REST API (FastAPI): cameras, identities, trajectories, search by image, operator corrections, events.

``create_app(settings, store)`` builds the application; ``crosscam serve`` runs it on uvicorn. The API reads
the state store and applies operator corrections; it never imports torch (DESIGN.md).
"""

from service.api.app import create_app
from service.api.control import CameraControl

__all__ = ["CameraControl", "create_app"]
