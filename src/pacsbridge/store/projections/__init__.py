"""Projections: tables derived from resources for one fast purpose, never edited by hand.

``PROJECTIONS`` run first at pre-commit for every change, before the workflow rules, so
that rules see them up to date. They can be rebuilt from the resources at any time.
"""

from __future__ import annotations

from pacsbridge.store.projections.worklist import project_worklist

PROJECTIONS = [project_worklist]

__all__ = ["PROJECTIONS", "project_worklist"]
