#!/bin/sh
# Entry of a camera worker pod (workers.yaml): pod crosscam-worker-N runs the camera on line N (from 0) of the
# camera-ids file, comments and blank lines skipped, then `exec`s so SIGTERM reaches crosscam itself.
# POSIX sh only (the image's /bin/sh); kept in a ConfigMap file rather than the pod's args because Kubernetes
# would try to expand every $(...) written there.
set -eu

ids_file="${CAMERA_IDS_FILE:-/etc/crosscam/cameras/camera-ids}"
ordinal="${POD_NAME##*-}"
case "$ordinal" in
  '' | *[!0-9]*)
    echo "error: POD_NAME '${POD_NAME}' does not end in a StatefulSet ordinal (crosscam-worker-N)" >&2
    exit 2
    ;;
esac

index=0
# `|| [ -n ... ]`: a last line without a newline still counts.
while read -r camera _comment || [ -n "${camera:-}" ]; do
  case "$camera" in '' | '#'*) continue ;; esac
  if [ "$index" -eq "$ordinal" ]; then
    exec crosscam worker --camera "$camera"
  fi
  index=$((index + 1))
done <"$ids_file"

echo "error: pod ${POD_NAME} has ordinal ${ordinal} but ${ids_file} lists ${index} cameras; append a camera" \
  "id to the crosscam-cameras ConfigMap or scale statefulset/crosscam-worker to ${index} replicas" >&2
exit 2
