"""The base URL of a mounted face, as clients should see it in links.

Read from the ASGI scope directly (scheme, Host, root_path): building Starlette's
``request.url`` costs more than a database read on the hottest path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def public_base(
    scope: Mapping[str, Any], host: str | None, configured: str | None, mount: str
) -> str:
    """``configured`` + ``mount`` when a public URL is set, else what the client called.

    Under a Starlette Mount, ``root_path`` already ends with the mount path.
    """
    if configured:
        return configured.rstrip("/") + mount
    if not host:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}".rstrip("/")
