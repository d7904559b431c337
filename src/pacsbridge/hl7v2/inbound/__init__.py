"""Inbound translators: one per message family, each writing FHIR through the store.

``TRANSLATORS`` maps (MSH-9.1, MSH-9.2) to the function that applies it inside the
message's transaction; a pair not listed is refused with AR 200/201.
"""

from __future__ import annotations

from collections.abc import Callable

from pacsbridge.formats.hl7v2.message import Message
from pacsbridge.hl7v2.inbound.adt import MERGE_EVENTS, UPDATE_EVENTS, apply_adt
from pacsbridge.hl7v2.inbound.applied import Applied
from pacsbridge.hl7v2.inbound.omi import apply_omi
from pacsbridge.hl7v2.inbound.orm import apply_orm
from pacsbridge.hl7v2.inbound.oru import apply_oru
from pacsbridge.hl7v2.inbound.siu import STATUS as SIU_EVENTS
from pacsbridge.hl7v2.inbound.siu import apply_siu
from pacsbridge.profiles import Partner
from pacsbridge.store import Transaction

Translator = Callable[[Transaction, Message, Partner], Applied]

TRANSLATORS: dict[tuple[str, str], Translator] = {
    **{("ADT", event): apply_adt for event in UPDATE_EVENTS | MERGE_EVENTS},
    ("ORM", "O01"): apply_orm,
    ("OMI", "O23"): apply_omi,
    **{("SIU", event): apply_siu for event in SIU_EVENTS},
    ("ORU", "R01"): apply_oru,
}
MESSAGE_CODES = frozenset(code for code, _ in TRANSLATORS)

__all__ = ["MESSAGE_CODES", "TRANSLATORS", "Applied", "Translator"]
