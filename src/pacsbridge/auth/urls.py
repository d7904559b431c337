"""Our own addresses, as the caller sees them: the FHIR base (token audience) and the issuer.

Built from the request (scheme, Host) unless a public ``base_url`` is configured, like
every link pacsbridge writes (``formats/urls.py``). The same rule makes the audiences the
auth middleware accepts, so a token issued here is valid where it is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pacsbridge.formats.urls import public_base

FHIR_MOUNT, AUTH_MOUNT = "/fhir/R4", "/auth"


@dataclass(frozen=True)
class ServerUrls:
    fhir: str  # the FHIR base URL: ``aud`` of every access token
    auth: str  # the authorization server: ``iss`` of every token we sign

    @property
    def token(self) -> str:
        return self.auth + "/token"


def server_urls(scope: Mapping[str, Any], configured: str | None) -> ServerUrls:
    headers = scope.get("headers") or []
    host = next((v.decode("latin-1") for k, v in headers if k == b"host"), None)
    return ServerUrls(
        fhir=public_base({**scope, "root_path": FHIR_MOUNT}, host, configured, FHIR_MOUNT),
        auth=public_base({**scope, "root_path": AUTH_MOUNT}, host, configured, AUTH_MOUNT),
    )
