#!/usr/bin/env bash
# Installs, with apt-get, the system programs the tests need (only those missing):
#   ffmpeg                 publishes the test video to the RTSP server
#   rtsp-server-perl       Debian's RTSP relay server (RTP over UDP), for the UDP / reconnect tests
#   GStreamer RTSP server  (python3-gi + gir1.2-gst-rtsp-server-1.0) for the RTP-over-TCP test, which
#                          rtsp-server-perl cannot serve
#   chromium               Debian's browser, driven by Playwright in the operator web page test
# Idempotent: prints one line per component and exits 0 at once when everything is present.
set -euo pipefail

RTSP_SERVER_BIN=/usr/bin/rtsp-server-perl
CHROMIUM_BIN=/usr/bin/chromium
GST_PACKAGES=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good)

missing=()
if command -v ffmpeg >/dev/null 2>&1; then
    echo "ffmpeg: present ($(command -v ffmpeg))"
else
    echo "ffmpeg: missing"
    missing+=(ffmpeg)
fi
if [ -x "$RTSP_SERVER_BIN" ] && dpkg -s rtsp-server-perl >/dev/null 2>&1; then
    echo "rtsp-server-perl: present ($RTSP_SERVER_BIN)"
else
    echo "rtsp-server-perl: missing"
    missing+=(rtsp-server-perl)
fi
if dpkg -s "${GST_PACKAGES[@]}" >/dev/null 2>&1; then
    echo "gstreamer rtsp server: present (${GST_PACKAGES[*]})"
else
    echo "gstreamer rtsp server: missing"
    missing+=("${GST_PACKAGES[@]}")
fi
if [ -x "$CHROMIUM_BIN" ]; then
    echo "chromium: present ($CHROMIUM_BIN)"
else
    echo "chromium: missing"
    missing+=(chromium)
fi

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "error: installing ${missing[*]} needs root: re-run this script as root, or run" \
        "'sudo apt-get install -y --no-install-recommends ${missing[*]}'" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: ${missing[*]} missing and apt-get is not available; install them with this system's" \
        "package manager" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A policy-rc.d that answers 101 keeps rtsp-server-perl's package from starting a system-wide server on
# install (the tests start their own on free loopback ports). Docker images ship one; add it only if absent.
policy=/usr/sbin/policy-rc.d
made_policy=0
cleanup() {
    if [ "$made_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
fi

echo "apt-get update"
apt-get update -qq
echo "apt-get install ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
