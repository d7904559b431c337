"""The presentation contexts the DICOM port accepts, made cheap to copy.

pynetdicom deep-copies every supported context for each association it accepts. With
every storage SOP class in every transfer syntax that is 170 contexts and 6,630 UIDs,
each rebuilt and validated again by pydicom: 50-80 ms before a modality's echo or
C-STORE is even negotiated, for each association. UIDs are immutable strings, so the
copies here share them and copy only what negotiation changes.
"""

from __future__ import annotations

from typing import Any

from pydicom.uid import AllTransferSyntaxes
from pynetdicom import DEFAULT_TRANSFER_SYNTAXES, AllStoragePresentationContexts
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    Verification,
)


class SharedUidContext(PresentationContext):
    """A context whose deep copy shares its UIDs (a new list, the same strings)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedUidContext:
        copied = SharedUidContext.__new__(SharedUidContext)
        copied.__dict__ = {
            name: list(value) if isinstance(value, list) else value
            for name, value in self.__dict__.items()
        }
        return copied


def supported_contexts() -> list[PresentationContext]:
    """Verification, worklist, MPPS, and every storage class in every transfer syntax."""
    services = (Verification, ModalityWorklistInformationFind, ModalityPerformedProcedureStep)
    contexts = [_context(sop_class, None) for sop_class in services]
    contexts += [_context(c.abstract_syntax, AllTransferSyntaxes)
                 for c in AllStoragePresentationContexts]  # fmt: skip
    return contexts


def _context(abstract_syntax: Any, transfer_syntaxes: list[str] | None) -> SharedUidContext:
    context = SharedUidContext()
    context.abstract_syntax = abstract_syntax
    for syntax in transfer_syntaxes or DEFAULT_TRANSFER_SYNTAXES:  # as add_supported_context
        context.add_transfer_syntax(syntax)
    return context
