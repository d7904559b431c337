"""The directly encoded C-STORE response against pynetdicom's encoder (the oracle)."""

from __future__ import annotations

import pytest
from pynetdicom import dimse_messages
from pynetdicom.dimse_primitives import C_STORE

from pacsbridge.dicom.store_response import encode_store_response

CT = "1.2.840.10008.5.1.4.1.1.2"


def _response(status: int, instance: str, message_id: int = 1) -> C_STORE:
    primitive = C_STORE()
    primitive.MessageIDBeingRespondedTo = message_id
    primitive.AffectedSOPClassUID = CT
    primitive.AffectedSOPInstanceUID = instance
    primitive.Status = status
    return primitive


def _pynetdicom_bytes(primitive: C_STORE) -> bytes:
    message = dimse_messages.C_STORE_RSP()
    message.primitive_to_message(primitive)
    (pdata,) = message.encode_msg(1, 0)
    ((_, fragment),) = pdata.presentation_data_value_list
    assert fragment[:1] == b"\x03"  # command, last fragment
    return fragment[1:]


@pytest.mark.parametrize("status", [0x0000, 0xB000, 0xA700, 0xA900, 0xC000])
@pytest.mark.parametrize("instance", ["1.2.3.4", "1.2.3.45", "2.25." + "9" * 59])
@pytest.mark.parametrize("message_id", [1, 65535])
def test_the_same_bytes_as_pynetdicom(status: int, instance: str, message_id: int) -> None:
    primitive = _response(status, instance, message_id)
    assert encode_store_response(primitive) == _pynetdicom_bytes(primitive)


def test_an_error_comment_is_left_to_pynetdicom() -> None:
    primitive = _response(0xC000, "1.2.3.4")
    primitive.ErrorComment = "disk full"
    assert encode_store_response(primitive) is None
    assert b"disk full" in _pynetdicom_bytes(primitive)
