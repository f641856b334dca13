"""Service settings (pydantic-settings): environment variables ``CROSSCAM_*`` (and ``REDIS_URL``), or a
``.env`` file; validated once at start, so a bad value stops the service with one line naming the variable.

Every field's description is the reference documentation of that setting.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.ingest import redact_url
from service.ingest.config import DEFAULT_PROCESS_FPS, ProcessFps, Transport


class ApiKey:
    """A named API key. ``name`` is what the audit log records; the secret is never logged or shown."""

    __slots__ = ("_secret", "name")

    def __init__(self, name: str, secret: str) -> None:
        self.name = name
        self._secret = secret.encode()

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison (no timing leak of how much of the key was right)."""
        return hmac.compare_digest(self._secret, candidate.encode())

    def __repr__(self) -> str:
        return f"ApiKey(name={self.name!r}, secret=***)"


def parse_api_keys(text: str, source: str) -> list[ApiKey]:
    """Keys from ``name:secret`` entries separated by commas or newlines (``#`` starts a comment); a bare
    ``secret`` is named ``key1``, ``key2`` ... by position. ``source`` names where the text came from."""
    keys: list[ApiKey] = []
    for raw in text.replace(",", "\n").splitlines():
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        name, sep, secret = entry.partition(":")
        if not sep:
            name, secret = f"key{len(keys) + 1}", entry
        name, secret = name.strip(), secret.strip()
        if len(secret) < 16:
            raise ValueError(
                f"{source}: API key {name!r} is shorter than 16 characters; use a long random secret "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        keys.append(ApiKey(name, secret))
    return keys


class ServiceSettings(BaseSettings):
    """Settings of ``crosscam serve``, ``crosscam worker`` and ``crosscam associator``."""

    model_config = SettingsConfigDict(
        env_prefix="CROSSCAM_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port the API listens on.")
    redis_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "CROSSCAM_REDIS_URL"),
        description="Redis server for the state store (redis://[:password@]host:port/db); unset = in-memory "
        "store (one process, nothing kept across restarts).",
    )
    redis_prefix: str = Field(
        default="crosscam", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Prefix of every Redis key."
    )
    api_keys: SecretStr | None = Field(
        default=None,
        description="API keys as `name:secret` entries separated by commas; required in the X-API-Key header "
        "for every write endpoint. Unset (and no key file) = writes are open (loopback development only).",
    )
    api_keys_file: Path | None = Field(
        default=None, description="A file of API keys, one `name:secret` per line (e.g. a mounted Secret)."
    )
    require_key_for_reads: bool = Field(
        default=False, description="Also require an API key for read endpoints (not /healthz, /readyz)."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins allowed by CORS, as a JSON list (["https://ops.example"]); empty = same origin only.',
    )
    max_upload_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Largest image upload accepted (bytes)."
    )
    max_upload_pixels: int = Field(
        default=4096 * 4096, ge=64 * 64, description="Largest image upload accepted (width x height pixels)."
    )
    search_top_k: int = Field(default=10, ge=1, le=100, description="Default number of search results.")
    embedder: str = Field(
        default="reid", description="Appearance model for search by image: reid or colourhog."
    )
    reid_weights: Path | None = Field(
        default=None,
        description="Re-ID weights (.onnx or .engine) for search by image; unset = shipped model.",
    )
    live_view_fps: float = Field(
        default=2.0,
        gt=0,
        le=30,
        description="How often each camera publishes its latest annotated frame (Hz).",
    )
    process_fps: ProcessFps = Field(
        default=DEFAULT_PROCESS_FPS,
        description="Frames per second each camera processes unless it sets its own (decimated at the source, "
        "evenly spaced; the tracker counts processed frames). The pipeline is tuned for 10.",
    )
    rtsp_transport: Transport = Field(
        default="auto",
        description="RTSP transport of cameras that set none: tcp, udp, or auto (try TCP, then UDP, keep what "
        "delivers frames).",
    )
    status_interval_s: float = Field(
        default=1.0, gt=0, description="How often each camera worker publishes its status (s)."
    )
    snapshot_dir: Path | None = Field(
        default=None,
        description="Where the associator snapshots its state (gallery, topology); unset = none.",
    )
    log_level: str = Field(default="info", pattern=r"^(debug|info|warning|error)$", description="Log level.")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError(
                f"REDIS_URL {redact_url(value.get_secret_value())!r} must start with redis://, rediss:// or "
                "unix:// (e.g. redis://127.0.0.1:6379/0)"
            )
        return value

    @model_validator(mode="after")
    def _keys_readable(self) -> ServiceSettings:
        self.keys()  # a malformed key or unreadable file fails at start, not at the first request
        return self

    def keys(self) -> list[ApiKey]:
        """Every configured API key (settings and file)."""
        keys = parse_api_keys(self.api_keys.get_secret_value(), "CROSSCAM_API_KEYS") if self.api_keys else []
        if self.api_keys_file is not None:
            try:
                text = self.api_keys_file.read_text()
            except OSError as exc:
                raise ValueError(
                    f"CROSSCAM_API_KEYS_FILE {self.api_keys_file}: cannot read it ({exc.strerror}); "
                    "point it at a readable file of `name:secret` lines"
                ) from None
            keys += parse_api_keys(text, str(self.api_keys_file))
        return keys

    @property
    def redis_url_redacted(self) -> str | None:
        return redact_url(self.redis_url.get_secret_value()) if self.redis_url else None
