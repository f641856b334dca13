"""Ingest: camera streams (RTSP) and video files as ``Frame`` sources, with reconnect and bounded latency.

from service.ingest import SourceConfig, open_source

with open_source(SourceConfig(camera_id="c001", url="rtsp://user:pass@10.0.0.7/stream1")) as source:
    for frame in source.frames():
        ...  # frame.image: (H, W, 3) uint8 BGR; source.status() for health
"""

from service.ingest.config import SUPPORTED_SCHEMES, SourceConfig, redact_text, redact_url
from service.ingest.readers import FileReader, VideoInfo, open_source, probe_video
from service.ingest.rtsp import DropOldestQueue, RtspReader
from service.ingest.source import FpsMeter, ReaderState, ReaderStatus, Source, SourceError

__all__ = [
    "SUPPORTED_SCHEMES",
    "DropOldestQueue",
    "FileReader",
    "FpsMeter",
    "ReaderState",
    "ReaderStatus",
    "RtspReader",
    "Source",
    "SourceConfig",
    "SourceError",
    "VideoInfo",
    "open_source",
    "probe_video",
    "redact_text",
    "redact_url",
]
