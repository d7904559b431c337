"""One received frame → stored, applied, acknowledged: the HL7 face's whole pipeline.

Order of work (DESIGN.md, acknowledgements): pick the sender's profile from MSH-3/4 read
off the raw bytes; decode with MSH-18 (else the profile's charset); parse; answer a resend
with the stored ACK; check the header; apply the message to the store and write its log
row with the ACK in the same transaction; only then return the ACK. A message that fails
is still logged with its raw bytes and the AE/AR sent. Frames that arrive together on
several connections share one commit (``receive_group``). Runs on a worker thread: the
store is synchronous.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field

from pacsbridge import errors
from pacsbridge.formats.hl7v2.charsets import Charset, decode, encode, msh_line
from pacsbridge.formats.hl7v2.message import Message
from pacsbridge.formats.hl7v2.mllp import FrameTooLarge
from pacsbridge.formats.hl7v2.parse import HL7ParseError, parse_message, split_batch
from pacsbridge.hl7v2.ack import AckCode, UnsupportedMessage, ack_code_for, build_ack
from pacsbridge.hl7v2.inbound import MESSAGE_CODES, TRANSLATORS
from pacsbridge.profiles import Partner, select_partner
from pacsbridge.profiles.destination import Destination
from pacsbridge.rules.forwarding import forward_matching
from pacsbridge.store import Store, Transaction
from pacsbridge.store.message_log import (
    AlreadyReceived,
    MessageFacts,
    dedup_key,
    record,
    stored_ack,
)

log = logging.getLogger("pacsbridge.hl7v2")
PROCESSING_IDS = frozenset({"P", "D", "T"})


@dataclass
class Frame:
    """One MLLP payload and where it came from."""

    raw: bytes
    peer: str | None = None


@dataclass
class Receiver:
    store: Store
    partners: list[Partner]
    destinations: list[Destination] = field(default_factory=list)  # for forwarding rules

    def receive(self, raw: bytes, peer: str | None = None) -> bytes | None:
        """The answer to one MLLP frame."""
        return self.receive_group([Frame(raw, peer)])[0]

    def reprocess(self, raw: bytes, peer: str | None = None) -> bytes | None:
        """Apply a logged message again, past the duplicate check; it is logged anew."""
        return self.receive_group([Frame(raw, peer)], again=True)[0]

    def refuse_oversized(self, exc: FrameTooLarge, peer: str | None) -> bytes | None:
        """AR for a frame over the size limit, when its head shows an MSH; logged too."""
        message = _readable_head(exc.head) if b"MSH" in exc.head[:512] else None
        if message is None:
            return None
        ack = build_ack(message, AckCode.AR, exc)
        try:
            with self.store.transaction("hl7v2") as transaction:
                self._log(transaction, _facts(message, peer, None), exc.head, ack,
                          AckCode.AR, exc)  # fmt: skip
        except Exception:  # the AR still goes out: the sender must not wait in vain
            log.exception("could not log an oversized frame", extra={"peer": peer})
        return ack.encode("latin-1", "replace")

    def receive_group(self, frames: list[Frame], *, again: bool = False) -> list[bytes | None]:
        """Answers to several frames, all stored by one commit (group commit).

        Each message runs in a savepoint of the shared transaction, so one message's
        failure undoes only its own writes; its AE/AR is logged in the same commit. Over
        MLLP every message is answered, even when MSH-15 says NE: a sender that does not
        want the commit ACK ignores it, and one that waits is never left hanging. If the
        commit itself fails, nothing was stored and every frame is answered AR. A deadlock
        between groups (each locks its patients in message order) undoes one group, which
        then runs again.
        """
        try:
            return self.store.database.retrying(self._apply_group, frames, again)
        except Exception as exc:  # the commit failed: the senders must resend
            log.exception("could not store %d HL7 message(s)", len(frames))
            return [_refusal(f.raw, exc) for f in frames]

    def _apply_group(self, frames: list[Frame], again: bool) -> list[bytes | None]:
        try:  # the common case first: every message applies, no savepoints needed
            return self._group(frames, again, isolate=False)
        except _Isolate:  # one failed: again, each message in a savepoint of its own
            return self._group(frames, again, isolate=True)

    def _group(self, frames: list[Frame], again: bool, *, isolate: bool) -> list[bytes | None]:
        with self.store.transaction("hl7v2") as transaction:
            return [self._answer_frame(transaction, f, again, isolate) for f in frames]

    def _answer_frame(
        self, transaction: Transaction, frame: Frame, again: bool, isolate: bool
    ) -> bytes | None:
        try:
            sending_application, sending_facility = _msh_senders(frame.raw)
            partner = select_partner(self.partners, sending_application, sending_facility)
            try:
                text, charset = decode(frame.raw, partner.charset or "ASCII")
            except errors.BadValue as exc:
                message = _readable_head(frame.raw)
                facts = (
                    _facts(message, frame.peer, None)
                    if message
                    else MessageFacts(frame.peer, sending_application, sending_facility)
                )
                ack = build_ack(message, AckCode.AE, exc)
                self._log(transaction, facts, frame.raw, ack, AckCode.AE, exc)
                return ack.encode("latin-1", "replace")
            if _is_batch(text):  # each message of a batch is logged with its own bytes
                parts = [(p, Frame(encode(p, charset), frame.peer)) for p in split_batch(text)]
            else:
                parts = [(text, frame)]
            answers = [self._answer_message(transaction, part, one, partner, charset, again,
                                            isolate) for part, one in parts]  # fmt: skip
        except _Isolate:
            raise
        except Exception as exc:  # a bug must still be answered, never a dropped connection
            if self.store.database.is_transient(exc):
                raise  # the whole group runs again
            log.exception("could not handle an HL7 frame", extra={"peer": frame.peer})
            return _refusal(frame.raw, exc)
        if len(answers) == 1:
            return encode(answers[0], charset)
        acks = "".join(answers)
        return encode(f"BHS|^~\\&\r{acks}BTS|{len(answers)}\r", charset)

    def _answer_message(
        self,
        transaction: Transaction,
        text: str,
        frame: Frame,
        partner: Partner,
        charset: Charset,
        again: bool,
        isolate: bool,
    ) -> str:
        try:
            message = parse_message(text, codec=charset.codec)
        except HL7ParseError as exc:
            ack = build_ack(None, AckCode.AR, exc)
            self._log(transaction, MessageFacts(frame.peer), frame.raw, ack, AckCode.AR, exc)
            return ack
        facts = _facts(message, frame.peer, charset)
        key = dedup_key(facts)
        # A resend is rare: the log's unique key refuses it at the end of the fast path
        # (AlreadyReceived), and the isolated re-run looks for its stored ACK up front.
        previous = None if again or not isolate else stored_ack(transaction.connection, key)
        if previous is not None:
            log.info("duplicate message answered with the stored ACK",
                     extra={"control_id": facts.control_id, "peer": frame.peer})  # fmt: skip
            return previous.decode("utf-8", "replace")
        enhanced = bool(message.accept_ack_type or message.application_ack_type)
        try:
            with transaction.savepoint() if isolate else nullcontext():
                _check_header(message, partner)
                translator = TRANSLATORS[(message.message_code, message.trigger_event)]
                applied = translator(transaction, message, partner)
                transaction.run_hooks()
                facts.patient_id = applied.patient_id or facts.patient_id
                facts.accession = applied.accession or facts.accession
                code = AckCode.CA if enhanced else AckCode.AA
                ack = build_ack(message, code)
                record(transaction.connection, facts, raw=frame.raw, ack=ack.encode(),
                       outcome=code.value, resources=applied.resources,
                       dedup=not again)  # fmt: skip
                if self.destinations and not again:
                    patient = next((r.rsplit("/_history/", 1)[0] for r in applied.resources
                                    if r.startswith("Patient/")), None)  # fmt: skip
                    forward_matching(transaction, self.destinations, message, frame.raw,
                                     patient)  # fmt: skip
            return ack
        except AlreadyReceived as exc:  # the same message, applied meanwhile elsewhere
            if not isolate:
                raise _Isolate from exc
            previous = stored_ack(transaction.connection, key)
            if previous is not None:
                return previous.decode("utf-8", "replace")
            raise
        except Exception as exc:  # every failure is answered and logged
            if self.store.database.is_transient(exc):
                raise  # the whole group runs again
            if not isolate:
                raise _Isolate from exc
            code = ack_code_for(exc, enhanced=enhanced)
            if not isinstance(exc, errors.PacsbridgeError):
                log.exception("message not applied", extra={"control_id": facts.control_id})
            ack = build_ack(message, code, exc)
            self._log(transaction, facts, frame.raw, ack, code, exc)
            return ack

    def _log(
        self,
        transaction: Transaction,
        facts: MessageFacts,
        raw: bytes,
        ack: str,
        code: AckCode,
        exc: Exception,
    ) -> None:
        try:
            with transaction.savepoint():
                record(transaction.connection, facts, raw=raw, ack=ack.encode(),
                       outcome=code.value, error=str(exc)[:2000])  # fmt: skip
        except AlreadyReceived:
            pass


class _Isolate(Exception):
    """A message failed in a group run without savepoints: the group runs again with them."""


def _refusal(raw: bytes, exc: Exception) -> bytes:
    return build_ack(_readable_head(raw), AckCode.AR, exc).encode("latin-1", "replace")


def _readable_head(raw: bytes) -> Message | None:
    """The message as latin-1 (which decodes any byte), enough to address an ACK."""
    try:
        return parse_message(raw.decode("latin-1"))
    except Exception:  # nothing readable: the ACK goes out without MSH details
        return None


def _msh_senders(raw: bytes) -> tuple[str | None, str | None]:
    """MSH-3.1 and MSH-4.1 straight from the bytes: they pick the profile (and charset)."""
    line = msh_line(raw.lstrip(b"\xef\xbb\xbf \t\r\n"))  # a BOM or blank lines may lead
    if line is None:
        return None, None
    separator = line[3]
    fields = line.split(separator)
    component = line[4] if len(line) > 4 else "^"

    def first(n: int) -> str | None:
        return fields[n - 1].split(component)[0] or None if len(fields) >= n else None

    return first(3), first(4)


def _is_batch(text: str) -> bool:
    head = text.lstrip("\ufeff\r\n \t")[:3]
    return head in ("FHS", "BHS") or text.count("MSH") > 1 and "\rMSH" in text.replace("\n", "\r")


def _facts(message: Message, peer: str | None, charset: Charset | None) -> MessageFacts:
    pid = message.segment("PID")
    return MessageFacts(
        peer=peer,
        sending_application=message.sending_application or None,
        sending_facility=message.sending_facility or None,
        receiving_application=message.receiving_application or None,
        receiving_facility=message.receiving_facility or None,
        message_type=f"{message.message_code}^{message.trigger_event}".strip("^") or None,
        control_id=message.control_id or None,
        patient_id=pid.value(3) or None if pid is not None else None,
        charset=message.charset or (charset.name if charset else None),
    )


def _check_header(message: Message, partner: Partner) -> None:
    """Refuse what we do not take (AR with table 0357 codes 200-203)."""
    if not message.control_id:
        raise errors.MissingField("MSH-10 message control ID is empty", "MSH.10")
    if message.processing_id and message.processing_id not in PROCESSING_IDS:
        raise UnsupportedMessage(f"processing ID {message.processing_id!r} is not P, D or T",
                                 "MSH.11", 202)  # fmt: skip
    if not message.version.startswith("2."):
        raise UnsupportedMessage(f"HL7 version {message.version!r} is not 2.x", "MSH.12", 203)
    code, event = message.message_code, message.trigger_event
    if code not in MESSAGE_CODES:
        raise UnsupportedMessage(f"message type {code!r} is not supported", "MSH.9.1", 200)
    if (code, event) not in TRANSLATORS:
        raise UnsupportedMessage(f"event {code}^{event} is not supported", "MSH.9.2", 201)
    if not partner.accepts(f"{code}^{event}"):
        raise UnsupportedMessage(f"{code}^{event} is not accepted from this sender", "MSH.9", 200)
