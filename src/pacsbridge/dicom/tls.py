"""TLS for the DICOM listener (DICOM PS3.15 B.1, the TLS Secure Transport Connection Profile).

pynetdicom wraps each accepted socket on its one accept thread, and a plain
``SSLContext`` runs the handshake right there: a peer that connects and says nothing
would hold every other modality at the door. Our context defers the handshake to the
first read, which pynetdicom makes on the association's own thread, and bounds it with
a timeout. Client certificates are required when a client CA is configured.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

from pacsbridge.config import Settings


class DeferredHandshakeContext(ssl.SSLContext):
    """A server context whose handshake happens on the first read, not on accept."""

    timeout: float = 60.0

    def wrap_socket(  # type: ignore[override]
        self, sock: socket.socket, server_side: bool = False, **options: Any
    ) -> ssl.SSLSocket:
        sock.settimeout(self.timeout)
        options["do_handshake_on_connect"] = False
        return super().wrap_socket(sock, server_side=server_side, **options)


def server_context(settings: Settings, timeout: float = 60.0) -> ssl.SSLContext | None:
    """The listener's TLS context from the settings; None when no certificate is set."""
    if settings.dicom_tls_certificate is None or settings.dicom_tls_key is None:
        return None
    context = DeferredHandshakeContext(ssl.PROTOCOL_TLS_SERVER)
    context.timeout = timeout
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # BCP 195, as dcmtk's default profile
    context.load_cert_chain(settings.dicom_tls_certificate, settings.dicom_tls_key)
    if settings.dicom_tls_client_ca is not None:
        context.load_verify_locations(settings.dicom_tls_client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
