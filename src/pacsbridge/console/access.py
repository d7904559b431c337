"""Who may use the console, and who may also operate the interfaces from it.

The console shows and changes every patient's data, so it is for staff: a staff or admin
user, a token granting ``user/*.cruds``, or the open network in the ``open`` mode. A
patient's login never sees it, whatever its scopes. Moving interface traffic (reprocess
an HL7 message, retry or cancel an outbound one) is for administrators only, as on the
operations API (``/api``): the console must not be a way around that rule.
"""

from __future__ import annotations

from pacsbridge.auth.principal import Principal

STAFF_ROLES = frozenset({"admin", "staff"})
ALL = frozenset("cruds")


def may_use_console(principal: Principal) -> bool:
    if principal.role == "patient" or principal.kind == "patient" or principal.patient:
        return False
    if principal.is_admin or principal.role in STAFF_ROLES:
        return True
    return any(
        g.context == "user" and g.resource == "*" and g.actions == ALL and not g.params
        for g in principal.scopes.grants
    )


def may_operate(principal: Principal) -> bool:
    """Reprocess, retry and cancel: the operations API's rule (``Principal.is_admin``)."""
    return may_use_console(principal) and principal.is_admin


def who(principal: Principal) -> str:
    """The name the console's header shows."""
    if principal.is_open:
        return "anonymous (open mode)"
    role = f" ({principal.role})" if principal.role else ""
    return f"{principal.subject}{role}"
