"""The live runtime: cameras running in threads of this process, their tracklets associated across cameras
and recorded in the state store as they happen (DESIGN.md, "How a frame flows", the one-process form).

from service.live import LiveRuntime

with LiveRuntime(store, settings, realtime=True) as runtime:
    runtime.start_camera(CameraRecord(camera_id="cam01", url="rtsp://...", added_wall=time.time()))
    ...

Modules: ``camera`` (one thread per camera: source -> pipeline), ``association`` (the one thread that turns
every camera's results into tracklets and identities), ``messages`` (what passes between them),
``pipelines`` (detector or ground truth), ``runtime`` (``LiveRuntime``, which starts and stops them and
publishes statuses). Track ids of a restarted camera: ``service.track_ids``.
"""

from service.live.runtime import LiveRuntime

__all__ = ["LiveRuntime"]
