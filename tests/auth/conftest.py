"""A second running server on the same store, with ``--auth required``, and token minting.

``mint`` signs tokens with the server's own key ring, as the authorization server would,
so that enforcement tests do not depend on driving a login; the authorization server's
own tests obtain their tokens through its endpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pacsbridge.auth.tokens import Grantee, issue_access_token
from pacsbridge.config import Settings
from pacsbridge.store import Store
from tests.conftest import RunningServer, free_port


@pytest.fixture(scope="session")
def secured(settings: Settings, store: Store) -> Iterator[RunningServer]:
    """pacsbridge serve --auth required, on fresh ports, sharing the session's store."""
    locked = settings.model_copy(
        update={"auth": "required", "http_port": free_port(), "mllp_port": free_port(),
                "dicom_port": free_port()}
    )  # fmt: skip
    with RunningServer(locked, store) as running:
        yield running


@pytest.fixture(scope="session")
def mint(secured: RunningServer) -> Callable[..., str]:
    """``mint("patient/*.rs", patient="p1")``: a signed access token for the secured server."""

    def make(
        scope: str,
        *,
        patient: str | None = None,
        kind: str = "user",
        subject: str = "tester",
        role: str | None = None,
        lifetime: int = 300,
        audience: str | None = None,
    ) -> str:
        grantee = Grantee(subject=subject, client_id="test-client", scope=scope, kind=kind,
                          patient=patient, role=role)  # fmt: skip
        token, _ = issue_access_token(
            secured.app.state.keys, grantee, issuer=f"{secured.url}/auth",
            audience=audience or f"{secured.url}/fhir/R4", lifetime=lifetime,
        )  # fmt: skip
        return token

    return make
