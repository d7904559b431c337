"""What a signed-in user can give an app: the scopes offered on the consent page.

The request was already narrowed to the client's registration; here it is narrowed to
the user (SMART App Launch 2.x, scopes and launch context). A patient gets ``patient/``
scopes only, always in the context of their own Patient. Staff and administrators get
``user/`` scopes, and ``patient/`` scopes only inside an EHR launch that names a patient
(there is no patient picker). ``system/`` scopes are for Backend Services alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from pacsbridge.auth.authorize_request import AuthorizationRequest
from pacsbridge.auth.scopes import join, parse_scope
from pacsbridge.store.users import User

IDENTITY = ("openid", "fhirUser", "profile", "offline_access", "online_access")
_ACTION_WORDS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
_PLAIN = {
    "openid": "Know who you are",
    "fhirUser": "Know which record on this server is you",
    "profile": "Know who you are",
    "offline_access": "Keep access after you sign out, until you revoke it",
    "online_access": "Keep access while you stay signed in",
    "launch": "Know which patient was open when the app was launched",
    "launch/patient": "Know which patient the app is used for",
}


class Refusal(Exception):
    """The user cannot grant this request; ``error`` is the RFC 6749 code to redirect."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


@dataclass(frozen=True)
class Offer:
    """The scopes the user may approve, and the context the token will carry."""

    scope: str
    patient: str | None
    fhir_user: str | None


def offer(request: AuthorizationRequest, user: User) -> Offer:
    if user.role == "patient":
        patient = user.patient_id
        if request.launch_patient and request.launch_patient != patient:
            raise Refusal("access_denied", "this launch is for another patient")
    else:
        patient = request.launch_patient
    kept = [word for word in request.scope.split() if _allowed(word, user, patient, request)]
    if not any(parse_scope(word) for word in kept):
        raise Refusal(
            "invalid_scope",
            f"none of the requested data scopes can be granted to a {user.role} user",
        )
    return Offer(join(kept), patient, user.fhir_user_reference)


def _allowed(word: str, user: User, patient: str | None, request: AuthorizationRequest) -> bool:
    grant = parse_scope(word)
    if grant is not None:
        if grant.context == "patient":
            return patient is not None
        return grant.context == "user" and user.role != "patient"
    if word == "launch":
        return request.launch is not None
    if word == "launch/patient":
        return patient is not None
    return word in IDENTITY


def chosen(offered: str, ticked: list[str]) -> str:
    """The offered scopes the user left ticked (a form cannot add any)."""
    picked = set(ticked)
    return join(word for word in offered.split() if word in picked)


def describe(word: str) -> str:
    """A scope in words for the consent page."""
    if word in _PLAIN:
        return _PLAIN[word]
    grant = parse_scope(word)
    if grant is None:
        return word
    actions = ", ".join(_ACTION_WORDS[a] for a in "cruds" if a in grant.actions)
    what = "all data" if grant.resource == "*" else f"{grant.resource} records"
    whose = {"patient": "of this patient", "user": "you can see", "system": ""}[grant.context]
    return f"{actions.capitalize()} {what} {whose}".strip()
