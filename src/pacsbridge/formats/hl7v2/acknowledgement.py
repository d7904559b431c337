"""Reading an ACK: MSA-1 code, MSA-2 control ID, and its text (MSA-3, else ERR-8).

Both MLLP clients (``pacsbridge send`` and the outbox senders) read ACKs here, so that
an ACK is matched to the message it answers in one way only.
"""

from __future__ import annotations

from dataclasses import dataclass


class AckError(Exception):
    """The peer closed, timed out, or answered something that is not our ACK."""


@dataclass(frozen=True)
class Acknowledgement:
    code: str  # MSA-1
    control_id: str  # MSA-2
    text: str  # MSA-3, or ERR-8 when MSA-3 is empty
    raw: bytes


def read_ack(payload: bytes) -> Acknowledgement:
    text = payload.decode("latin-1")
    segments = [s for s in text.replace("\n", "\r").split("\r") if s]
    msa = next((s for s in segments if s.startswith("MSA")), None)
    if msa is None or len(msa) < 4:
        raise AckError(f"the answer has no MSA segment: {text[:200]!r}")
    fields = msa.split(msa[3])
    err = next((s for s in segments if s.startswith("ERR")), "")
    err_fields = err.split(err[3]) if err else []
    note = fields[3] if len(fields) > 3 and fields[3] else ""
    if not note and len(err_fields) > 8:
        note = err_fields[8]
    return Acknowledgement(fields[1] if len(fields) > 1 else "", fields[2] if len(fields) > 2
                           else "", note, payload)  # fmt: skip
