"""Workflow rules, run inside the store's transaction when a resource changes.

``RULES`` lists them in the order they run; ``app.py`` registers each on the store's
``resource_changed`` hook. A rule takes ``(transaction, change)`` and may write more
through the same transaction, so a change and its consequences commit together.
The order-to-worklist, MPPS and report rules arrive with the HL7, DICOM and outbound faces.
"""

from __future__ import annotations

from pacsbridge.store.hooks import ChangeHook

RULES: list[ChangeHook] = []

__all__ = ["RULES"]
