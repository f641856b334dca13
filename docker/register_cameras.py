"""Registers a scene's cameras with the API: one ``POST /api/v1/cameras`` per ``calibration/camNN.json``.

The compose demo runs it once: each camera's URL is ``<rtsp-base>/camNN`` (the demo source publishes the
scene's videos there) and its calibration is the scene's file. A camera already registered (409) counts as
done, so a second ``docker compose up`` passes. Python's standard library only (no curl in the images).

    python register_cameras.py --api http://api:8080 --scene /data/scene --rtsp-base rtsp://rtsp:8554 \
        --key-file /run/secrets/api_keys

Exit codes: 0 every camera registered, 1 the API refused one or never became ready, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REQUEST_TIMEOUT_S = 10.0


def first_key_secret(key_file: Path) -> str:
    """The secret of the first ``name:secret`` line of an API key file (``#`` starts a comment)."""
    for raw in key_file.read_text().splitlines():
        entry = raw.split("#", 1)[0].strip()
        if entry:
            return entry.partition(":")[2].strip() or entry
    raise ValueError(f"{key_file}: no `name:secret` line; write one API key per line")


def wait_ready(api: str, timeout_s: float) -> None:
    """Poll ``/readyz`` until it answers 200, for at most ``timeout_s`` seconds (the API loads its models)."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{api}/readyz", timeout=REQUEST_TIMEOUT_S):
                return
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(1.0)
    raise TimeoutError(f"{api}/readyz not ready after {timeout_s:.0f} s ({last}); is the api service up?")


def register(api: str, camera_id: str, url: str, calibration: dict, secret: str | None) -> str:
    """POST one camera; returns "registered" or "already registered", raises RuntimeError otherwise."""
    body = json.dumps({"camera_id": camera_id, "url": url, "calibration": calibration}).encode()
    headers = {"Content-Type": "application/json", **({"X-API-Key": secret} if secret else {})}
    request = urllib.request.Request(f"{api}/api/v1/cameras", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S):
            return "registered"
    except urllib.error.HTTPError as exc:
        if exc.code == 409:
            return "already registered"
        detail = exc.read().decode(errors="replace")
        raise RuntimeError(f"{camera_id}: the API answered {exc.code}: {detail}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True, help="API base URL, e.g. http://api:8080")
    parser.add_argument("--scene", required=True, type=Path, help="scene folder with calibration/camNN.json")
    parser.add_argument("--rtsp-base", required=True, help="RTSP server base URL, e.g. rtsp://rtsp:8554")
    parser.add_argument("--key-file", type=Path, help="API key file (name:secret lines); unset = no key")
    parser.add_argument("--ready-timeout-s", type=float, default=300.0, help="how long to wait for /readyz")
    args = parser.parse_args(argv)

    api, rtsp_base = args.api.rstrip("/"), args.rtsp_base.rstrip("/")
    calibrations = sorted((args.scene / "calibration").glob("cam*.json"))
    if not calibrations:
        print(
            f"error: {args.scene}/calibration has no camNN.json; run `crosscam synth` first", file=sys.stderr
        )
        return 2
    try:
        secret = first_key_secret(args.key_file) if args.key_file else None
        wait_ready(api, args.ready_timeout_s)
        for path in calibrations:
            camera_id = path.stem
            outcome = register(
                api, camera_id, f"{rtsp_base}/{camera_id}", json.loads(path.read_text()), secret
            )
            print(f"{camera_id}: {outcome} ({rtsp_base}/{camera_id})")
    except (OSError, ValueError, RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
