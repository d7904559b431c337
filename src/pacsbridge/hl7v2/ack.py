"""Acknowledgements: the answer a sender expects, built from the message and the outcome.

HL7 v2.5.1 ch. 2.9 and IHE RAD TF-2 2.4 (DESIGN.md): MSA-1 AA/AE/AR (or CA/CE/CR in
enhanced mode), MSA-2 echoes MSH-10, the ACK's MSH swaps sender and receiver and keeps
MSH-11/MSH-12, MSH-9 is ``ACK^<event>^ACK``. Errors carry an ERR segment with the
location and the table 0357 code, and the same text in MSA-3. This module is the HL7
face's one place where :mod:`pacsbridge.errors` become an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum

from pacsbridge import errors
from pacsbridge.formats.hl7v2.encode import new_control_id
from pacsbridge.formats.hl7v2.escape import escape
from pacsbridge.formats.hl7v2.message import Message, Separators


class AckCode(StrEnum):
    AA = "AA"
    AE = "AE"
    AR = "AR"
    CA = "CA"
    CE = "CE"
    CR = "CR"


class UnsupportedMessage(errors.Unsupported):
    """A message we refuse whole; ``hl7_code`` is its table 0357 code (200-203)."""

    def __init__(self, text: str, location: str | None, hl7_code: int) -> None:
        super().__init__(text, location)
        self.hl7_code = hl7_code


# HL7 table 0357, most specific class first (looked up along the MRO).
HL7_CODE_FOR: dict[type[Exception], int] = {
    errors.MissingField: 101,
    errors.BadValue: 102,
    errors.InvalidContent: 102,
    errors.UnknownKey: 204,
    errors.DuplicateKey: 205,
    errors.FinalState: 207,
    errors.Unsupported: 200,
}
HL7_CODE_TEXT = {
    101: "Required field missing", 102: "Data type error", 103: "Table value not found",
    200: "Unsupported message type", 201: "Unsupported event code",
    202: "Unsupported processing id", 203: "Unsupported version id", 204: "Unknown key identifier",
    205: "Duplicate key identifier", 206: "Application record locked",
    207: "Application internal error",
}  # fmt: skip


def hl7_code_for(exc: Exception) -> int:
    code = getattr(exc, "hl7_code", None)
    if isinstance(code, int):
        return code
    for cls in type(exc).__mro__:
        if cls in HL7_CODE_FOR:
            return HL7_CODE_FOR[cls]
    return 207


def ack_code_for(exc: Exception | None, *, enhanced: bool) -> AckCode:
    """AA on success; AR when the message is refused whole or we failed; else AE."""
    if exc is None:
        return AckCode.CA if enhanced else AckCode.AA
    refused = isinstance(exc, errors.Unsupported) or not isinstance(exc, errors.PacsbridgeError)
    if enhanced:
        return AckCode.CR if refused else AckCode.CE
    return AckCode.AR if refused else AckCode.AE


def build_ack(message: Message | None, code: AckCode, exc: Exception | None = None) -> str:
    """The ACK text (segments joined by CR), in the message's own separators."""
    seps = message.separators if message is not None else Separators()
    f = seps.field

    def e(text: str | None) -> str:
        return escape(text or "", seps)

    version = (message.version if message else "") or "2.5"
    event = message.trigger_event if message else ""
    msh = [
        "MSH",
        seps.component + seps.repetition + seps.escape + seps.subcomponent
        + (seps.truncation or ""),
        e(message.receiving_application if message else "PACSBRIDGE"),
        e(message.receiving_facility if message else ""),
        e(message.sending_application if message else ""),
        e(message.sending_facility if message else ""),
        datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000"),
        "",
        _message_type(event, version, seps.component, e),
        new_control_id(),
        e((message.processing_id if message else "") or "P"),
        e(version),
    ]  # fmt: skip
    charset = message.charset if message else ""
    if charset:
        msh += ["", "", "", "", "", e(charset)]
    text = _text_for(exc)
    # MSA-3 was withdrawn in v2.7: the text then lives in ERR-8 only.
    msa_text = "" if _at_least(version, (2, 7)) else e(text)
    segments = [
        f.join(msh),
        f.join(["MSA", code.value, e(message.control_id if message else ""), msa_text]),
    ]
    if exc is not None:
        segments.append(_err_segment(exc, seps, version, text))
    return "\r".join(segments) + "\r"


def _at_least(version: str, wanted: tuple[int, ...]) -> bool:
    numbers = tuple(int(p) for p in version.split(".") if p.isdigit())
    return numbers >= wanted


def _message_type(event: str, version: str, component: str, e: Callable[[str], str]) -> str:
    """``ACK^event^ACK``; the message structure component exists from v2.3.1 on."""
    if not event:
        return "ACK"
    if _at_least(version, (2, 3, 1)):
        return f"ACK{component}{e(event)}{component}ACK"
    return f"ACK{component}{e(event)}"


def _text_for(exc: Exception | None) -> str:
    if exc is None:
        return ""
    if isinstance(exc, errors.PacsbridgeError):
        return exc.text[:200]
    return "internal error: the message was not applied; send it again later"


def _err_segment(exc: Exception, seps: Separators, version: str, text: str) -> str:
    """ERR in the layout of the sender's version: ERR-1 (v2.3/2.4) or ERR-2..8 (v2.5+)."""
    code = hl7_code_for(exc)
    location = exc.location if isinstance(exc, errors.PacsbridgeError) else None
    c, s = seps.component, seps.subcomponent
    erl = _location(location, c)
    code_cwe = c.join([str(code), HL7_CODE_TEXT.get(code, ""), "HL70357"])
    if version[:3] in ("2.1", "2.2", "2.3", "2.4"):
        # ELD: segment ^ sequence ^ field ^ code (a CE, so its parts are subcomponents)
        code_ce = s.join([str(code), HL7_CODE_TEXT.get(code, ""), "HL70357"])
        eld = c.join([*_padded(erl.split(c)[:3] if erl else [], 3), code_ce])
        return seps.field.join(["ERR", eld])
    severity = "E"
    user_text = escape(text, seps)
    return seps.field.join(["ERR", "", erl, code_cwe, severity, "", "", "", user_text])


def _padded(parts: list[str], size: int) -> list[str]:
    return (parts + [""] * size)[:size]


def _location(location: str | None, component: str) -> str:
    """``"PID.3.1"`` → ERL ``PID^1^3^1`` (segment, sequence, field, repetition/component)."""
    if not location or "." not in location:
        return ""
    parts = location.replace("[", ".").replace("]", "").split(".")
    segment, numbers = parts[0], [p for p in parts[1:] if p.isdigit()]
    if len(segment) != 3 or not numbers:
        return ""
    return component.join([segment, "1", *numbers[:1], "1", *numbers[1:3]])
