"""The HTTP face of the daemon: /healthz, /readyz, /metrics, /api/alerts, /api/feeds and the page at /."""

from monitor.web.server import DaemonState, WebServer

__all__ = ["DaemonState", "WebServer"]
