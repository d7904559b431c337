"""The image viewer face: OHIF, installed into the data dir and served at ``/viewer``."""

from pacsbridge.viewer.install import OHIF_VERSION, ViewerInstallError, install_viewer
from pacsbridge.viewer.routes import viewer_routes

__all__ = ["OHIF_VERSION", "ViewerInstallError", "install_viewer", "viewer_routes"]
