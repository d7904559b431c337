"""The store's one way to read and write: a :class:`Transaction`, committed once.

Every face writes through ``store.transaction()``. Each write is validated against the R4
definitions, stored with its history, indexed, and recorded as a :class:`Change`. Before
the commit the ``resource_changed`` hooks run for every change, inside the same
transaction, and may write more (HAPI FHIR's STORAGE_PRECOMMIT pointcuts): a change and
its consequences commit together or not at all. The store does not import the rules;
``app.py`` registers them on :class:`Hooks`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.engine import Connection

from pacsbridge.errors import (
    BadValue,
    InvalidContent,
    InvalidResource,
    MultipleMatches,
    VersionConflict,
)
from pacsbridge.formats.fhir.validate import validate
from pacsbridge.store import resources as rows
from pacsbridge.store.database import Database, one_round_trip
from pacsbridge.store.hooks import Change, Hooks
from pacsbridge.store.projections import PROJECTIONS
from pacsbridge.store.reader import Reader
from pacsbridge.store.search.index import clear_index, write_index
from pacsbridge.store.search.params import SearchRegistry
from pacsbridge.store.search.query import find_pks
from pacsbridge.store.tables import INDEXED_STRING_LENGTH

STORED_TYPES = frozenset({
    "Patient", "ServiceRequest", "Appointment", "ImagingStudy", "DiagnosticReport",
    "Observation", "Endpoint", "Procedure", "Practitioner", "Organization",
})  # fmt: skip
"""The resource types the store holds; each face serves a subset of them."""

log = logging.getLogger("pacsbridge.store")

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
MAX_HOOK_CHANGES = 10_000


class Transaction(Reader):
    """A write transaction: validated, versioned, indexed writes, then hooks, then commit."""

    def __init__(self, store: Store, connection: Connection, origin: str = "") -> None:
        super().__init__(store, connection)
        self.origin = origin
        self.outbox_queued = False  # set by rules that queue outbound messages
        self._pending: list[Change] = []
        # Current versions read or written in this transaction: a message touches the same
        # Patient several times (lookup, update, worklist row). Emptied on savepoint rollback.
        self._current: dict[tuple[str, str], rows.StoredResource] = {}
        self._handled = 0
        self.now = rows.utc_now() - timedelta(microseconds=1)

    def _cached(self, res_type: str, res_id: str) -> rows.StoredResource | None:
        stored = self._current.get((res_type, res_id))
        if stored is None:
            stored = rows.select_current(self.connection, res_type, res_id)
            if stored is not None:
                self._current[(res_type, res_id)] = stored
        return stored

    # --- plain writes ---

    def create(self, body: dict[str, Any], *, res_id: str | None = None) -> rows.StoredResource:
        self._validate(body)
        res_id = res_id or str(uuid.uuid4())
        stored = rows.insert_resource(self.connection, body, res_id, self._tick())
        self._write_version(stored, replace_index=False)
        self._record("create", stored, None)
        return stored

    def update(
        self, body: dict[str, Any], *, if_match: int | None = None
    ) -> tuple[rows.StoredResource, bool]:
        """Write ``body`` as the next version of ``body['id']``; create it if unknown."""
        self._validate(body)
        res_type, res_id = body["resourceType"], body.get("id")
        if not res_id:
            raise BadValue("an update needs the resource's id", f"{res_type}.id")
        self.lock(f"{res_type}/{res_id}")
        current = rows.select_current(self.connection, res_type, res_id, for_update=True)
        if current is None:
            if if_match is not None:
                raise VersionConflict(f"{res_type}/{res_id} does not exist (If-Match given)")
            stored = rows.insert_resource(self.connection, body, res_id, self._tick(), "PUT")
            self._write_version(stored, replace_index=False)
            self._record("create", stored, None)
            return stored, True
        if if_match is not None and if_match != current.version_id:
            raise VersionConflict(
                f"{res_type}/{res_id} is at version {current.version_id}, not {if_match}"
            )
        stored = rows.replace_resource(
            self.connection, current, body, self._tick(), expected_version=if_match
        )
        self._write_version(stored, replace_index=True)
        previous = None if current.deleted else current.resource
        self._record("create" if current.deleted else "update", stored, previous)
        return stored, current.deleted

    def delete(
        self, res_type: str, res_id: str, *, if_match: int | None = None
    ) -> rows.StoredResource | None:
        """Delete; deleting what is unknown or already deleted changes nothing (R4 3.1.0.7)."""
        current = rows.select_current(self.connection, res_type, res_id, for_update=True)
        if current is None or current.deleted:
            return None
        if if_match is not None and if_match != current.version_id:
            raise VersionConflict(
                f"{res_type}/{res_id} is at version {current.version_id}, not {if_match}"
            )
        stored = rows.replace_resource(self.connection, current, None, self._tick())
        self._write_version(stored, replace_index=True)
        self._record("delete", stored, current.resource)
        return stored

    # --- conditional writes (R4 3.1.0.8, 3.1.0.4.3, 3.1.0.7.1) ---

    def conditional_create(
        self, body: dict[str, Any], criteria: str
    ) -> tuple[rows.StoredResource, bool]:
        """Create unless ``criteria`` match; racing requests with equal criteria make one."""
        res_type = body["resourceType"]
        self._validate(body)
        matches = self._matches(res_type, criteria, lock=True)
        if len(matches) > 1:
            raise MultipleMatches(f"If-None-Exist criteria match several {res_type} resources")
        if matches:
            return self.read(res_type, matches[0]), False
        return self.create(body), True

    def conditional_update(
        self, body: dict[str, Any], criteria: str, *, if_match: int | None = None
    ) -> tuple[rows.StoredResource, bool]:
        res_type = body["resourceType"]
        matches = self._matches(res_type, criteria, lock=True)
        if len(matches) > 1:
            raise MultipleMatches(f"the criteria match several {res_type} resources")
        if not matches:
            if body.get("id"):
                return self.update(body, if_match=if_match)
            return self.create(body), True
        if body.get("id") not in (None, matches[0]):
            raise BadValue(f"the body's id is not that of the matching resource {matches[0]}")
        return self.update({**body, "id": matches[0]}, if_match=if_match)

    def conditional_delete(self, res_type: str, criteria: str) -> list[rows.StoredResource]:
        deleted = []
        for res_id in self._matches(res_type, criteria, lock=True, limit=100):
            stored = self.delete(res_type, res_id)
            if stored is not None:
                deleted.append(stored)
        return deleted

    def find_by_identifier(
        self, res_type: str, value: str | list[str], system: str | None = None, limit: int = 10
    ) -> list[str]:
        """Ids of resources with this identifier value, or any of these (and the system).

        The common lookup of the HL7 face, on a prebuilt statement: the same as
        ``identifier=[system|]value`` but without parsing and building a search.
        """
        values = [value] if isinstance(value, str) else value
        found = rows.select_current_by_identifier(
            self.connection, res_type, [v[:INDEXED_STRING_LENGTH] for v in values], system, limit
        )
        for stored in found:  # the read that usually follows costs no round trip
            self._current[(stored.type, stored.id)] = stored
        return list(dict.fromkeys(stored.id for stored in found))

    def resolve_ids(self, res_type: str, criteria: str) -> list[str]:
        """Ids matching ``criteria`` (for conditional references in transactions)."""
        return self._matches(res_type, criteria, lock=False)

    def lock(self, key: str) -> None:
        self.store.database.lock(self.connection, key)

    def lock_identifier(self, res_type: str, value: str) -> None:
        """Hold off other writers that look up or create a ``res_type`` with this identifier
        value until this transaction ends: between the lookup that finds nothing and the
        create, a concurrent transaction (PostgreSQL) would otherwise create it too."""
        self.lock(f"{res_type}#identifier={value[:INDEXED_STRING_LENGTH]}")

    def find_or_lock_identifier(
        self, res_type: str, value: str, system: str | None = None
    ) -> list[str]:
        """``find_by_identifier``; when nothing is found, the value is locked and looked up
        once more (a new snapshot), so that the create which follows is the only one. The
        common case, a resource that exists, costs no lock."""
        found = self.find_by_identifier(res_type, value, system)
        if found or not self.store.database.is_postgresql:
            return found
        self.lock_identifier(res_type, value)
        return self.find_by_identifier(res_type, value, system)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that an error undoes alone (SQL SAVEPOINT)."""
        mark = len(self._pending)
        nested = self.connection.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            del self._pending[mark:]
            self._current.clear()
            raise
        nested.commit()

    # --- internals ---

    def _write_version(self, stored: rows.StoredResource, *, replace_index: bool) -> None:
        """A written version's history row and search index rows (none once deleted): no
        answer is read, so on PostgreSQL they leave in one round trip instead of up to 12."""
        with one_round_trip(self.connection):
            rows.append_version(self.connection, stored)
            if stored.deleted:
                clear_index(self.connection, stored.pk)
            else:
                write_index(self.connection, stored.pk, stored.resource, self.store.registry,
                            replace=replace_index)  # fmt: skip

    def _matches(self, res_type: str, criteria: str, *, lock: bool, limit: int = 2) -> list[str]:
        params = parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
        if not params:
            raise BadValue("conditional criteria must not be empty", "criteria")
        request = self.parse(res_type, params)
        if request.unknown:
            raise BadValue(f"unknown search parameter(s) in criteria: {', '.join(request.unknown)}")
        if lock:
            self.lock(f"{res_type}?{'&'.join(sorted(f'{k}={v}' for k, v in params))}")
            for value in sorted({v.rpartition("|")[2] for k, v in params if k == "identifier"}):
                self.lock_identifier(res_type, value)  # as the HL7 and DICOM faces do
        pks = find_pks(self.connection, request, limit)
        return [stored.id for stored in rows.select_current_by_pks(self.connection, pks)]

    def _validate(self, body: dict[str, Any]) -> None:
        try:
            validate(body, resource_types=self.store.resource_types)
        except InvalidContent as exc:
            raise InvalidResource(exc.text, exc.location, exc.issues) from exc
        res_id = body.get("id")
        if res_id is not None and not ID_PATTERN.match(res_id):
            raise BadValue(f"{res_id!r} is not a valid id", f"{body['resourceType']}.id")

    def _tick(self) -> datetime:
        """The transaction's timestamp, moved on so that versions within it stay ordered."""
        moment = rows.utc_now()
        self.now = moment if moment > self.now else self.now + timedelta(microseconds=1)
        return self.now

    def _record(self, action: Any, stored: rows.StoredResource, previous: Any) -> None:
        self._current[(stored.type, stored.id)] = stored
        body = stored.resource if stored.content is not None else None
        self._pending.append(
            Change(action, stored.type, stored.id, stored.version_id, body, previous)
        )

    def run_hooks(self) -> list[Change]:
        """Run ``resource_changed`` for every change, including those the hooks make."""
        done: list[Change] = []
        while self._pending:
            change = self._pending.pop(0)
            done.append(change)
            if len(done) > MAX_HOOK_CHANGES:
                raise RuntimeError("workflow rules keep changing resources: a rule loops")
            for projection in PROJECTIONS:
                projection(self, change)
            for hook in self.store.hooks.resource_changed:
                hook(self, change)
        return done


class Store:
    """The one store of FHIR resources; hands out readers and transactions."""

    def __init__(
        self,
        database: Database,
        registry: SearchRegistry,
        *,
        hooks: Hooks | None = None,
        resource_types: frozenset[str] = STORED_TYPES,
        default_count: int = 20,
        max_count: int = 1000,
    ) -> None:
        self.database = database
        self.registry = registry
        self.hooks = hooks or Hooks()
        self.resource_types = resource_types
        self.search_limits = {"default_count": default_count, "max_count": max_count}

    @contextmanager
    def reader(self, *, single_statement: bool = False) -> Iterator[Reader]:
        """A read-only view; ``single_statement`` skips BEGIN/COMMIT for one-query reads."""
        if single_statement:
            with self.database.single.connect() as connection:
                yield Reader(self, connection)
            return
        with self.database.reader.begin() as connection:
            yield Reader(self, connection)

    @contextmanager
    def transaction(self, origin: str = "") -> Iterator[Transaction]:
        """One write transaction; hooks run before the single commit, any error rolls back.

        ``origin`` names the face that writes (``fhir``, ``hl7v2``, ``dicom``), so that a
        rule can tell a report written through FHIR from one that arrived by HL7.
        """
        with self.database.writer.begin() as connection:
            transaction = Transaction(self, connection, origin)
            yield transaction
            transaction.run_hooks()
        for hook in self.hooks.committed:  # committed already: a failing hook only logs
            try:
                hook(transaction)
            except Exception:
                log.exception("a post-commit hook failed")
