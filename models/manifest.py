"""Manifests of shipped weights: a JSON file beside each weights file with its sha256, size, the command
that produced it and its measured figures (DESIGN.md, "Weights")."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

HASH_BLOCK = 1 << 20


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(weights: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Write ``<weights>.json``: file name, sha256 and size first, then ``fields``; returns the manifest."""
    manifest = {
        "file": weights.name,
        "sha256": sha256(weights),
        "size_bytes": weights.stat().st_size,
        **fields,
    }
    weights.with_suffix(".json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest
