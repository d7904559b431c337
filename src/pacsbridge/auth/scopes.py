"""SMART scopes: what a token may do to which resource type, in which context.

SMART App Launch 2.x writes ``patient/ImagingStudy.rs`` (the letters c r u d s, in that
order, any subset), optionally narrowed by search parameters (``?category=...``); 1.x
wrote ``patient/ImagingStudy.read``, ``.write`` and ``.*``, which mean ``rs``, ``cud`` and
``cruds``. Scopes that name no resource (``openid``, ``fhirUser``, ``launch/patient``,
``offline_access``) are identity and launch requests, not grants, and are ignored here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

CONTEXTS = ("patient", "user", "system")
ACTIONS = "cruds"
_V1_ACTIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(
    r"(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)"
    r"\.(?P<actions>read|write|\*|c?r?u?d?s?)(?:\?(?P<query>.+))?"
)

# What each FHIR interaction needs (SMART 2.x, scopes-and-launch-context).
INTERACTION_ACTION = {
    "read": "r", "vread": "r", "history-instance": "r",
    "search-type": "s", "history-type": "s", "history-system": "s",
    "create": "c", "update": "u", "delete": "d",
}  # fmt: skip


@dataclass(frozen=True)
class Grant:
    """One resource scope: ``context/type.actions?params``."""

    context: str
    resource: str  # a resource type, or "*"
    actions: frozenset[str]
    params: tuple[tuple[str, str], ...] = ()  # granular scope: only resources matching these

    def covers(self, resource_type: str, action: str) -> bool:
        return action in self.actions and self.resource in ("*", resource_type)


def parse_scope(text: str) -> Grant | None:
    """One scope string as a grant; ``None`` for identity, launch or malformed scopes."""
    match = _SCOPE.fullmatch(text)
    if match is None or not match["actions"]:
        return None
    actions = _V1_ACTIONS.get(match["actions"], match["actions"])
    params = tuple(parse_qsl(match["query"], keep_blank_values=True)) if match["query"] else ()
    return Grant(match["context"], match["type"], frozenset(actions), params)


@dataclass(frozen=True)
class Scopes:
    """Every grant of a token, and the scope text it came from."""

    text: str
    grants: tuple[Grant, ...]

    @classmethod
    def parse(cls, text: str) -> Scopes:
        words = text.split()
        return cls(" ".join(words), tuple(g for w in words if (g := parse_scope(w)) is not None))

    def names(self) -> set[str]:
        return set(self.text.split())

    def covering(self, resource_type: str, action: str) -> list[Grant]:
        return [g for g in self.grants if g.covers(resource_type, action)]

    def has_context(self, context: str) -> bool:
        return any(g.context == context for g in self.grants)


def narrow(requested: str, allowed: str) -> str:
    """The requested scopes a client may have: those its registration allows.

    A requested resource scope is kept when one allowed scope grants at least as much
    (same or wider context word, type ``*`` or the same, a superset of actions, and no
    granular parameters the request lacks); identity and launch scopes must be listed.
    """
    allowed_words = set(allowed.split())
    allowed_grants = [g for w in allowed_words if (g := parse_scope(w)) is not None]
    kept = []
    for word in requested.split():
        grant = parse_scope(word)
        if grant is None:
            if word in allowed_words:
                kept.append(word)
            continue
        if any(_within(grant, a) for a in allowed_grants):
            kept.append(word)
    return " ".join(dict.fromkeys(kept))


def _within(grant: Grant, allowed: Grant) -> bool:
    return (
        grant.context == allowed.context
        and allowed.resource in ("*", grant.resource)
        and grant.actions <= allowed.actions
        and set(allowed.params) <= set(grant.params)
    )


def join(words: Iterable[str]) -> str:
    return " ".join(dict.fromkeys(w for w in words if w))
