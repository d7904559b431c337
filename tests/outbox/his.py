"""A HIS simulator: a real MLLP server on a real socket that records and answers.

Each received message is kept (raw bytes, with the time it came); the answer is chosen
by ``behaviour(message) -> list of frames to send`` (an empty list: silence), so a test
can answer AA, AE twice then AA, never, or a late ACK for an earlier message.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pacsbridge.formats.hl7v2.mllp import MllpFramer, frame

Behaviour = Callable[[bytes], list[bytes]]


def field_of(message: bytes, segment: str, number: int) -> str:
    """A field of the first such segment (MSH counted as the standard does)."""
    for line in message.split(b"\r"):
        if line.startswith(segment.encode()):
            parts = line.decode("latin-1").split("|")
            index = number - 1 if segment == "MSH" else number
            return parts[index] if index < len(parts) else ""
    return ""


def ack_for(message: bytes, code: str = "AA", text: str = "") -> bytes:
    control = field_of(message, "MSH", 10)
    return (f"MSH|^~\\&|HIS|HOSPITAL_A|PACSBRIDGE||20250315120000||ACK^O01^ACK|A{control}|P|2.5\r"
            f"MSA|{code}|{control}|{text}\r").encode()  # fmt: skip


def always_aa(message: bytes) -> list[bytes]:
    return [ack_for(message)]


@dataclass
class Received:
    at: float
    raw: bytes

    def field(self, segment: str, number: int) -> str:
        return field_of(self.raw, segment, number)


@dataclass
class HisSimulator:
    behaviour: Behaviour = always_aa
    received: list[Received] = field(default_factory=list)
    port: int = 0
    connections: list[socket.socket] = field(default_factory=list)

    def start(self) -> HisSimulator:
        simulator = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                simulator.connections.append(self.request)
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                framer = MllpFramer()
                while True:
                    try:
                        data = self.request.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    for message in framer.feed(data):
                        simulator.received.append(Received(time.monotonic(), message))
                        for answer in simulator.behaviour(message):
                            self.request.sendall(frame(answer))

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening; open connections are cut too, as when the HIS goes down."""
        self.server.shutdown()
        self.server.server_close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.connections.clear()

    def restart(self) -> None:
        """Listen again on the same port, as a HIS that comes back."""
        self.start()

    def of_patient(self, patient_id: str) -> list[Received]:
        return [r for r in self.received if r.field("PID", 3).split("^")[0] == patient_id]

    def wait_for(self, count: int, patient_id: str | None = None,
                 seconds: float = 30) -> list[Received]:  # fmt: skip
        deadline = time.monotonic() + seconds
        while True:
            got = self.of_patient(patient_id) if patient_id else list(self.received)
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.05)
