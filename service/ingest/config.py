"""Where one camera's frames come from: a validated source config, and URL redaction for anything printed.

A source is a video file (a path or ``file://...``) or a live RTSP stream (``rtsp://[user:pass@]host[:port]/path``).
Credentials may sit in the URL, so every message, log line and status that names a source goes through
``redact_url`` first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FILE_SCHEME = "file"
RTSP_SCHEME = "rtsp"
SUPPORTED_SCHEMES = (FILE_SCHEME, RTSP_SCHEME)
SUPPORTED_FORMS = "a file path, file:///path/to/video.mp4, or rtsp://[user:pass@]host[:port]/path"
REDACTED = "***"
MAX_PORT = 65535
MAX_PROCESS_FPS = 120.0
# The processing rate a camera gets unless it asks for another: the rate the tracker's config is tuned for
# (trackers/configs/deepsort.yaml), and one a 2-core machine can keep for a few cameras.
DEFAULT_PROCESS_FPS = 10.0
Transport = Literal["tcp", "udp", "auto"]
# A processing rate (frames per second): what the API, the settings and a source config accept alike.
ProcessFps = Annotated[float, Field(gt=0, le=MAX_PROCESS_FPS)]
TRANSPORTS: tuple[str, ...] = ("tcp", "udp", "auto")

# Back-off between reconnect attempts, seconds: quick first retries for a brief network blip, then capped at
# the last value so a camera that is down for hours costs one attempt every few seconds.
DEFAULT_BACKOFF_S = (1.0, 2.0, 5.0, 10.0)
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_READ_TIMEOUT_S = 5.0
# Small on purpose: a frame older than a few frame periods is useless to a real-time tracker, and a short
# queue keeps latency bounded when the pipeline falls behind (the oldest frame is dropped instead).
DEFAULT_QUEUE_SIZE = 8


def _scheme(url: str) -> str:
    """The URL's scheme in lower case, or "" for a plain path."""
    if "://" not in url:
        return ""
    return url.split("://", 1)[0].lower()


def _credentials(url: str) -> tuple[str, str, str] | None:
    """Split ``url`` into ("scheme://user", "password", "@host:port/path..."), or None without a password.

    The user info is taken up to the last "@" before any "?" or "#", not only within the RFC 3986
    authority, so a password with an unescaped "/" is still found: showing a little too much as ``***``
    is harmless, showing a password is not.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = min((i for i in (rest.find(c) for c in "?#") if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, end)
    user, colon, password = rest[: max(at, 0)].partition(":")
    if at < 0 or not colon:
        return None
    return f"{scheme}://{user}", password, rest[at:]


def redact_url(url: str) -> str:
    """``url`` with the password (if any) replaced by ``***``; the user name stays for diagnosis.

    Safe on malformed URLs: it never raises and never returns the password.
    """
    parts = _credentials(url)
    if parts is None:
        return url
    prefix, _, host_and_rest = parts
    return f"{prefix}:{REDACTED}{host_and_rest}"


def url_password(url: str) -> str | None:
    """The password in ``url`` (raw as written), or None: used to scrub it from third-party error text."""
    parts = _credentials(url)
    return (parts[1] or None) if parts else None


def redact_text(text: str, url: str) -> str:
    """``text`` (e.g. an FFmpeg error that quotes the URL) with ``url``'s password replaced by ``***``."""
    text = text.replace(url, redact_url(url))
    password = url_password(url)
    if password:
        for form in {password, unquote(password)}:
            text = text.replace(form, REDACTED)
    return text


def _check_rtsp_url(url: str) -> None:
    """Raise ValueError naming the problem when an rtsp:// URL cannot be used."""
    shown = redact_url(url)
    if any(c.isspace() for c in url):
        raise ValueError(f"RTSP URL {shown!r} contains whitespace; percent-encode it (%20) or remove it")
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"RTSP URL {shown!r} has no host; expected rtsp://[user:pass@]host[:port]/path")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port <= MAX_PORT:
        raise ValueError(f"RTSP URL {shown!r} has an invalid port; use a number from 1 to {MAX_PORT}")


class SourceConfig(BaseModel):
    """One camera's source. Validated at construction: a bad URL fails here, with the fix in the message."""

    # hide_input_in_errors: pydantic would otherwise quote the raw URL, password included, in its errors.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    camera_id: str = Field(
        min_length=1,
        pattern=r"^\S+$",
        description="Camera name used in every output row; no whitespace (AI City files are space separated).",
    )
    url: str = Field(
        min_length=1,
        description=f"Where frames come from: {SUPPORTED_FORMS}. A password in the URL is never printed.",
    )
    transport: Transport = Field(
        default="auto",
        description="RTSP only: carry RTP over the RTSP TCP connection (tcp: robust through NAT and firewalls, "
        "no packet loss), over UDP (udp: lower latency on a clean LAN), or auto: try TCP, then UDP, and keep "
        "the one that delivers frames.",
    )
    process_fps: ProcessFps | None = Field(
        default=None,
        description="Frames per second of the stream to process (decimated at the source, evenly spaced); "
        "None = every frame. A 25 fps camera processed at 10 fps keeps 10 of its 25 frames each second.",
    )
    connect_timeout_s: float = Field(
        default=DEFAULT_CONNECT_TIMEOUT_S,
        gt=0,
        description="RTSP only: seconds to wait for the camera to answer before counting the attempt failed.",
    )
    read_timeout_s: float = Field(
        default=DEFAULT_READ_TIMEOUT_S,
        gt=0,
        description="RTSP only: stall watchdog; no frame for this many seconds means reconnect.",
    )
    reconnect_backoff_s: tuple[float, ...] = Field(
        default=DEFAULT_BACKOFF_S,
        min_length=1,
        description="RTSP only: seconds to wait before the 1st, 2nd, ... reconnect attempt; the last value "
        "repeats. Restarts from the first after a connection delivers frames.",
    )
    queue_size: int = Field(
        default=DEFAULT_QUEUE_SIZE,
        ge=1,
        description="RTSP only: frames buffered for a slow consumer; when full the oldest is dropped (and "
        "counted) so latency stays bounded.",
    )
    loop: bool = Field(
        default=False,
        description="Files only: start again at the end, to replay a file as if it were a live camera.",
    )
    realtime: bool = Field(
        default=False,
        description="Files only: deliver frames at the file's frame rate (as a camera would); a frame already "
        "late when the consumer asks for it is dropped (and counted), so the replay never falls behind.",
    )

    @field_validator("reconnect_backoff_s")
    @classmethod
    def _positive_backoff(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay <= 0 for delay in value):
            raise ValueError(f"reconnect_backoff_s must hold positive seconds, got {list(value)}")
        return value

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        scheme = _scheme(url)
        if scheme and scheme not in SUPPORTED_SCHEMES:
            raise ValueError(
                f"unsupported URL scheme {scheme!r} in {redact_url(url)!r}; supported: {SUPPORTED_FORMS}"
            )
        if scheme == RTSP_SCHEME:
            _check_rtsp_url(url)
        elif scheme == FILE_SCHEME and not url.split("://", 1)[1]:
            raise ValueError(f"file URL {url!r} names no file; expected file:///path/to/video.mp4")
        return url

    @model_validator(mode="after")
    def _file_only_options(self) -> SourceConfig:
        if self.is_live and (self.loop or self.realtime):
            raise ValueError(
                f"loop and realtime apply to video files only, not to {redact_url(self.url)!r}; remove them"
            )
        return self

    @property
    def is_live(self) -> bool:
        """True for an RTSP stream, False for a video file."""
        return _scheme(self.url) == RTSP_SCHEME

    @property
    def path(self) -> Path:
        """The video file's path (files only)."""
        if self.is_live:
            raise ValueError(f"{self.redacted_url} is a live stream, not a file")
        if _scheme(self.url) == FILE_SCHEME:
            # file:///abs/path -> /abs/path; file://localhost/abs/path is the same file.
            rest = self.url.split("://", 1)[1]
            if rest.startswith("localhost/"):
                rest = rest[len("localhost") :]
            return Path(unquote(rest))
        return Path(self.url)

    @property
    def redacted_url(self) -> str:
        """The URL with its password replaced by ``***``: the only form that is ever printed."""
        return redact_url(self.url)
