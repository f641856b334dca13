"""The lowest layer: typed component configs, model export, and the runtimes that run models (DESIGN.md).

ultralytics installs a missing package with pip when it meets one (a weights format's runtime, an image
plugin) unless told not to. Nothing here may change its own environment at run time, and these machines (and
many deployment sites) have no internet, so the default is set here, before any module of this project can
import ultralytics: every one that does imports this package first.
"""

import os

os.environ.setdefault("YOLO_AUTOINSTALL", "false")
