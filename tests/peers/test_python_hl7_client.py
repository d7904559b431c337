"""python-hl7's asyncio MLLP client, a client nobody here wrote, talks to our listener."""

from __future__ import annotations

import asyncio
from pathlib import Path

import hl7
from hl7.mllp import open_hl7_connection

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hl7"


def test_python_hl7_client_sends_several_messages_on_one_connection(server, unique):
    text = (FIXTURES / "design-orm-o01.hl7").read_bytes().decode("latin-1")

    async def exchange() -> list[str]:
        reader, writer = await open_hl7_connection("127.0.0.1", server.mllp_port)
        codes = []
        try:
            for n in range(3):
                message = hl7.parse(text.replace("MSG001", f"PY{n}-{unique}")
                                    .replace("ORD-2025-001", f"PY-{unique}-{n}"))  # fmt: skip
                writer.writemessage(message)
                await writer.drain()
                ack = await asyncio.wait_for(reader.readmessage(), 30)
                assert str(ack.segment("MSA")[2]) == f"PY{n}-{unique}"
                codes.append(str(ack.segment("MSA")[1]))
        finally:
            writer.close()
        return codes

    assert asyncio.run(exchange()) == ["AA", "AA", "AA"]
