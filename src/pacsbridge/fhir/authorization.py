"""The FHIR face's authorization interceptor: scopes and the patient compartment.

As HAPI FHIR's AuthorizationInterceptor, one place decides for every interaction, whether
it came alone or inside a batch or transaction. :func:`limit_for` turns the principal's
grants for one type and interaction into a :class:`Limit`: nothing (403), everything, or a
patient compartment plus granular parameters. A search is narrowed in SQL by adding the
compartment's parameter to the query, so what a patient can find and count is exactly what
it may read; reads, includes and history are checked resource by resource, and whatever
the limit hides answers exactly as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pacsbridge.auth.compartment import COMPARTMENT, holds_patient_data, in_compartment
from pacsbridge.auth.principal import Principal
from pacsbridge.auth.scopes import INTERACTION_ACTION
from pacsbridge.errors import Gone, NotAuthorized, UnknownKey
from pacsbridge.store.resources import StoredResource
from pacsbridge.store.search import SearchRegistry

ADMIN_ONLY = frozenset({"AuditEvent"})


@dataclass(frozen=True)
class Limit:
    """What one principal may see of one resource type in one interaction."""

    resource_type: str
    patient: str | None = None  # restricted to this patient's compartment
    granular: tuple[tuple[tuple[str, str], ...], ...] = ()  # any one of these must match

    @property
    def unlimited(self) -> bool:
        return self.patient is None and not self.granular

    def search_params(self, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The query, narrowed to the compartment and to the granular scopes' values."""
        narrowed = list(params)
        if self.patient is not None:
            name = COMPARTMENT[self.resource_type]
            value = self.patient if name == "_id" else f"Patient/{self.patient}"
            narrowed.append((name, value))
        names = {name for alternative in self.granular for name, _ in alternative}
        if len(names) == 1 and all(len(alternative) == 1 for alternative in self.granular):
            values = ",".join(value for alternative in self.granular for _, value in alternative)
            narrowed.append((names.pop(), values))  # one parameter: OR of the values
        return narrowed

    def allows(self, resource: dict[str, Any], registry: SearchRegistry) -> bool:
        if self.patient is not None and not in_compartment(resource, self.patient, registry):
            return False
        return not self.granular or any(
            all(_matches_token(resource, name, value) for name, value in alternative)
            for alternative in self.granular
        )


def limit_for(principal: Principal, resource_type: str, interaction: str) -> Limit:
    """The limit of ``interaction`` on ``resource_type``; NotAuthorized when not granted."""
    if principal.is_open:
        return Limit(resource_type)
    if resource_type in ADMIN_ONLY and not principal.is_admin:
        raise NotAuthorized(f"only administrators may read {resource_type}")
    action = INTERACTION_ACTION[interaction]
    grants = principal.grants_for(resource_type, action)
    if not grants:
        raise NotAuthorized(
            f"the access token grants no {_ACTION_WORDS[action]} of {resource_type}"
            f" (scope {_example_scope(principal, resource_type, action)} would)"
        )
    patient = None
    if holds_patient_data(resource_type) and all(g.context == "patient" for g in grants):
        if principal.patient is None:
            raise NotAuthorized("patient/ scopes need a patient in the launch context")
        patient = principal.patient
    granular: tuple[tuple[tuple[str, str], ...], ...] = ()
    if all(g.params for g in grants):
        granular = tuple(g.params for g in grants)
    return Limit(resource_type, patient, granular)


def as_unknown(resource_type: str, res_id: str, version: str | None = None) -> UnknownKey:
    """The 404 of a hidden resource, worded as the store words one that never existed."""
    where = f"{resource_type}/{res_id}"
    text = f"{where} has no version {version}" if version else f"{where} is not known"
    return UnknownKey(text, where)


@contextmanager
def hidden_when_gone(
    limit: Limit, resource_type: str, res_id: str, version: str | None = None
) -> Iterator[None]:
    """For a limited caller a deleted resource is unknown: whose it was cannot be told."""
    try:
        yield
    except Gone as exc:
        if limit.unlimited:
            raise
        raise as_unknown(resource_type, res_id, version) from exc


def check_readable(
    limit: Limit, stored: StoredResource, registry: SearchRegistry, *, version: bool = False
) -> None:
    """404, worded as for a resource (or version) that does not exist, when it is hidden."""
    if limit.unlimited or limit.allows(stored.resource, registry):
        return
    raise as_unknown(stored.type, stored.id, str(stored.version_id) if version else None)


def check_writable(limit: Limit, body: dict[str, Any], registry: SearchRegistry) -> None:
    """403 unless the limit allows ``body``: the resource written, or the one it replaces."""
    if not limit.unlimited and not limit.allows(body, registry):
        raise NotAuthorized(
            "the access token may only write resources in its own patient compartment"
            " and scope parameters"
        )


def visible(
    principal: Principal,
    interaction: str,
    items: Iterable[StoredResource],
    registry: SearchRegistry,
) -> list[StoredResource]:
    """The resources of a mixed list (includes, history) the principal may see."""
    if principal.is_open:
        return list(items)
    kept = []
    limits: dict[str, Limit | None] = {}
    for item in items:
        if item.type not in limits:
            try:
                limits[item.type] = limit_for(principal, item.type, interaction)
            except NotAuthorized:
                limits[item.type] = None
        limit = limits[item.type]
        if limit is None or item.content is None:
            continue  # hidden: no grant, or a deletion whose owner cannot be told
        if limit.unlimited or limit.allows(item.resource, registry):
            kept.append(item)
    return kept


def _matches_token(resource: dict[str, Any], name: str, value: str) -> bool:
    """Granular scopes name token parameters whose element has the same name (``category``,
    ``code``); the value is ``system|code`` or ``code``."""
    system, bar, code = value.rpartition("|")
    for item in _as_list(resource.get(name)):
        for coding in _as_list(item.get("coding")) if isinstance(item, dict) else []:
            if coding.get("code") == code and (not bar or coding.get("system") == system):
                return True
    return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


_ACTION_WORDS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


def _example_scope(principal: Principal, resource_type: str, action: str) -> str:
    contexts = [g.context for g in principal.scopes.grants] or ["user"]
    return f"{contexts[0]}/{resource_type}.{action}"
