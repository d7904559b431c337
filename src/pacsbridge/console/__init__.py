"""The operator console: dashboards, message browser, worklist, studies and reports at ``/``.

Server-rendered pages (Jinja2) over the store, for integration engineers and radiology
staff; see docs/console.md.
"""

from pacsbridge.console.router import console_routes

__all__ = ["console_routes"]
