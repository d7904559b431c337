"""The yardstick for ``hl7_ingest.py``: python-hl7's bare asyncio MLLP server.

It parses each message with ``hl7.parse`` (inside ``HL7StreamReader.readmessage``) and
answers ``message.create_ack()`` (AA), storing nothing: the floor cost of "frame in, parse,
ACK out" in Python on this machine, which pacsbridge's durable ingest is compared with.
Run alone in its own process, like pacsbridge, so that the two are measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio

import hl7
from hl7.mllp import HL7StreamReader, HL7StreamWriter, start_hl7_server


async def answer(reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
    """One connection: messages are answered in order, one at a time, like an HL7 peer."""
    try:
        while not reader.at_eof():
            message: hl7.Message = await reader.readmessage()
            writer.writemessage(message.create_ack())
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the sender hung up: normal at the end of a run
    finally:
        writer.close()


async def main(host: str, port: int) -> None:
    # A generous limit: python-hl7's default (64 KiB) is not what is being measured.
    async with await start_hl7_server(answer, host, port, limit=1024 * 1024) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
