"""Who may search, retrieve and store over DICOMweb, and which studies each one sees.

PS3.18 defines no access control (it leaves it to the deployment, 8.2), so the face speaks
SMART on FHIR: a study is the ImagingStudy resource that describes it, QIDO-RS needs the
``s`` of ImagingStudy, every WADO-RS retrieval (instances, metadata, bulk data, frames,
rendered, thumbnails) its ``r``, STOW-RS its ``c``. Without the grant the answer is 403.

A principal whose every covering grant is in the ``patient`` context sees the studies of
its patient only. Searches are narrowed in SQL (``store/patient_studies.py``), and a
retrieval of another patient's study answers the very 404 of a study that does not exist,
so that a UID never reveals whether it is stored. STOW-RS is refused to patient-context
principals: the patient of a stored file is whatever its header says, which such a caller
must not choose. Granular scopes (``?category=...``) name FHIR search parameters that the
DICOM index does not hold, so they are not honoured here: a grant that has them does not
count, and the request is refused rather than widened.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from pacsbridge.auth.principal import Principal
from pacsbridge.dicomweb.wado import Target, not_found
from pacsbridge.errors import NotAuthorized
from pacsbridge.store.patient_studies import patients_of, visible_to

RESOURCE = "ImagingStudy"
_WORDS = {"s": "search", "r": "read", "c": "create"}


@dataclass(frozen=True)
class Access:
    """What one request may reach: every study, or only those of ``patient``."""

    patient: str | None = None


EVERYTHING = Access()


def authorize(principal: Principal, action: str) -> Access:
    """The reach of ``principal`` for ``action`` (``s``, ``r`` or ``c``); 403 when none.

    The open principal and user or system grants cost no query: the answer is
    :data:`EVERYTHING`.
    """
    if principal.is_open:
        return EVERYTHING
    covering = principal.grants_for(RESOURCE, action)
    grants = [g for g in covering if not g.params]
    if not grants:
        why = " (granular scopes do not apply to DICOMweb)" if covering else ""
        raise NotAuthorized(
            f"the access token grants no {_WORDS[action]} of {RESOURCE}{why}; "
            f"DICOMweb needs a scope such as user/{RESOURCE}.{action}"
        )
    if any(g.context != "patient" for g in grants):
        return EVERYTHING
    if principal.patient is None:
        raise NotAuthorized("patient/ scopes need a patient in the launch context")
    return Access(principal.patient)


def authorize_store(principal: Principal) -> Access:
    """STOW-RS: the ``c`` of ImagingStudy, and not in a patient context."""
    access = authorize(principal, "c")
    if access.patient is not None:
        raise NotAuthorized(
            "STOW-RS is not open to patient-context tokens: a stored file names its own "
            "patient; store with a user/ or system/ scope"
        )
    return access


def study_condition(access: Access) -> ColumnElement[bool] | None:
    """The SQL condition on ``dicom_study`` that a search adds, or None for everything."""
    return None if access.patient is None else visible_to(access.patient)


def target_patients(
    connection: Connection, access: Access, target: Target, *, audited: bool
) -> set[str]:
    """The Patient ids of the target's study, read when a check or the audit needs them.

    Unrestricted and unaudited requests skip the query and get an empty set.
    """
    if access.patient is None and not audited:
        return set()
    return patients_of(connection, [target.study]).get(target.study, set())


def check_visible(access: Access, target: Target, patients: set[str]) -> None:
    """404, exactly as for a missing study, when the target belongs to another patient."""
    if access.patient is not None and access.patient not in patients:
        raise not_found(target)
