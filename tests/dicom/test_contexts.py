"""The DICOM port's presentation contexts: all of them, and cheap to copy per association."""

from __future__ import annotations

import copy

from pydicom.uid import AllTransferSyntaxes
from pynetdicom import AllStoragePresentationContexts
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification

from pacsbridge.dicom.contexts import supported_contexts


def test_every_storage_class_in_every_transfer_syntax_and_the_services():
    contexts = {c.abstract_syntax: c for c in supported_contexts()}
    for storage in AllStoragePresentationContexts:
        assert contexts[storage.abstract_syntax].transfer_syntax == list(AllTransferSyntaxes)
    assert Verification in contexts and ModalityWorklistInformationFind in contexts


def test_a_copy_is_independent_where_negotiation_writes():
    original = supported_contexts()
    copied = copy.deepcopy(original)
    copied[0].context_id = 7
    copied[0].result = 0
    copied[0].transfer_syntax.append("1.2.3")
    assert original[0].context_id is None and original[0].result is None
    assert "1.2.3" not in original[0].transfer_syntax
    assert copied[5].transfer_syntax == original[5].transfer_syntax


def test_a_copy_shares_the_uids_instead_of_rebuilding_them():
    """What makes the copy cheap (pynetdicom's own rebuilds and validates 6,630 UIDs)."""
    original = supported_contexts()
    copied = copy.deepcopy(original)
    assert copied[5] is not original[5]
    assert copied[5].transfer_syntax[0] is original[5].transfer_syntax[0]
    assert copied[5].abstract_syntax is original[5].abstract_syntax
