"""Errors answered as DICOM statuses (PS3.4 Annexes C, F, K), most specific class first.

The DICOM face's one place where :mod:`pacsbridge.errors` become a status.
"""

from __future__ import annotations

from pacsbridge import errors

STATUS_FOR: dict[type[Exception], int] = {
    errors.MissingField: 0xA900,  # identifier does not match SOP class
    errors.BadValue: 0xA900,
    errors.InvalidContent: 0xA900,
    errors.UnknownKey: 0x0112,  # no such object instance
    errors.DuplicateKey: 0x0111,  # duplicate SOP instance
    errors.FinalState: 0x0110,  # processing failure: may no longer be updated
    errors.Unsupported: 0x0122,  # SOP class not supported
    errors.NotAuthorized: 0x0124,  # not authorized
}
UNABLE_TO_PROCESS = 0xC000


def status_for(exc: Exception) -> int:
    explicit = getattr(exc, "dicom_status", None)
    if isinstance(explicit, int):
        return explicit
    for cls in type(exc).__mro__:
        if cls in STATUS_FOR:
            return STATUS_FOR[cls]
    return UNABLE_TO_PROCESS
