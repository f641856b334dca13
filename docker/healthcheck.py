"""Container health check: GET http://127.0.0.1:$CROSSCAM_PORT/healthz, exit 0 when it answers 200 ok.

Python's standard library only: the images carry no curl or wget. Used by the images' HEALTHCHECK (the API
is their default command); compose and Kubernetes probe the other roles their own way.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 3.0  # below the HEALTHCHECK --timeout, so a hung API reports itself instead of being killed


def main() -> int:
    port = os.environ.get("CROSSCAM_PORT", "8080")
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            body = json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if body.get("status") != "ok":
        print(f"unhealthy: {url} answered {body!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
