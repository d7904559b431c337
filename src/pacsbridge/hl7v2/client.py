"""A small MLLP client: send one message, wait for its ACK, check it answers that message.

Used by ``pacsbridge send`` (and later the outbound sender): a kept-open connection,
optional TLS, a timeout per ACK, and MSA-2 matched to the control ID sent, so a late or
foreign ACK is never taken for the current message.
"""

from __future__ import annotations

import socket
import ssl

from pacsbridge.formats.hl7v2.acknowledgement import AckError as MllpError
from pacsbridge.formats.hl7v2.acknowledgement import Acknowledgement, read_ack
from pacsbridge.formats.hl7v2.mllp import MllpFramer, frame

READ_SIZE = 64 * 1024


class MllpClient:
    def __init__(
        self, host: str, port: int, *, timeout: float = 30.0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.host, self.port, self.timeout, self.tls = host, port, timeout, tls
        self._socket: socket.socket | None = None
        self._framer = MllpFramer()
        self._pending: list[bytes] = []

    def __enter__(self) -> MllpClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket = self.tls.wrap_socket(raw, server_hostname=self.host) if self.tls else raw

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def send(self, payload: bytes, control_id: str | None = None) -> Acknowledgement:
        """Send one message and return its ACK; ACKs for other control IDs are skipped."""
        if self._socket is None:
            self.connect()
        assert self._socket is not None
        self._socket.sendall(frame(payload))
        while True:
            ack = read_ack(self._next_frame())
            if control_id is None or ack.control_id == control_id:
                return ack

    def _next_frame(self) -> bytes:
        assert self._socket is not None
        while not self._pending:
            try:
                data = self._socket.recv(READ_SIZE)
            except TimeoutError as exc:
                raise MllpError(f"no ACK within {self.timeout} s") from exc
            if not data:
                raise MllpError("the peer closed the connection without an ACK")
            self._pending.extend(self._framer.feed(data))
        return self._pending.pop(0)
