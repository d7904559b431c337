"""A simulated HIS: an MLLP listener that takes what pacsbridge sends and answers AA.

A real HIS receives order status (ORM^O01 with ORC-1 SC) and reports (ORU^R01) from the
PACS side and acknowledges each one (HL7 v2.5.1 ch. 2, original mode: MSA-1 AA, MSA-2 the
message's MSH-10). This one keeps what it got, so that the demo can wait for a message
and show it, and tells its watcher about each arrival. It is written to be read, not to
test pacsbridge's sender: the test suite has its own (tests/outbox/his.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pacsbridge.formats.hl7v2.charsets import decode
from pacsbridge.formats.hl7v2.message import Message
from pacsbridge.formats.hl7v2.mllp import MllpFramer, frame
from pacsbridge.formats.hl7v2.parse import parse_message

READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class Received:
    """One message the HIS got, decoded in the character set its MSH-18 names."""

    raw: bytes
    message: Message

    @property
    def text(self) -> str:
        return str(self.message)

    @property
    def kind(self) -> str:
        """``ORM^O01``: MSH-9's message code and trigger event."""
        return f"{self.message.message_code}^{self.message.trigger_event}"

    def get(self, address: str) -> str:
        return self.message.get(address)


def acknowledge(message: Message, code: str = "AA") -> bytes:
    """The original-mode ACK: sender and receiver swapped, MSA-2 echoing MSH-10."""
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    header = "|".join(["MSH", "^~\\&", message.receiving_application or "DEMO_HIS",
                       message.receiving_facility, message.sending_application,
                       message.sending_facility, stamp, "",
                       f"ACK^{message.trigger_event}^ACK", f"ACK-{message.control_id}",
                       "P", message.version or "2.5"])  # fmt: skip
    return f"{header}\rMSA|{code}|{message.control_id}\r".encode("ascii", "replace")


class SimulatedHis:
    """Listens on one port, answers every message, and keeps them in ``received``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._arrived = asyncio.Event()

    async def start(self, host: str, port: int) -> int:
        """Listen; the port actually bound (``port`` 0 picks a free one)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and hang up on pacsbridge, as a HIS that goes away."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def wait_for(self, wanted: Callable[[Received], bool], seconds: float
                       ) -> Received | None:  # fmt: skip
        """The first message received (earlier or within ``seconds``) that is ``wanted``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            found = next((r for r in self.received if wanted(r)), None)
            left = deadline - loop.time()
            if found is not None or left <= 0:
                return found
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        framer = MllpFramer()
        try:
            while data := await reader.read(READ_SIZE):
                for payload in framer.feed(data):
                    writer.write(frame(self._take(payload)))
                    await writer.drain()
        except (ConnectionError, OSError):
            pass  # pacsbridge hung up; it reconnects for its next message
        finally:
            self._writers.discard(writer)
            writer.close()

    def _take(self, payload: bytes) -> bytes:
        """Keep one message and answer AA."""
        text, _ = decode(payload, default="8859/1")
        message = parse_message(text)
        received = Received(payload, message)
        self.received.append(received)
        self._arrived.set()
        return acknowledge(message)
