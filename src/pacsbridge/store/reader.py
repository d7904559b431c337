"""Reads of the store inside one database transaction: one snapshot for several reads.

A :class:`Reader` serves the FHIR face's reads and searches; a write transaction
(``transaction.py``) is a Reader too, so that it reads what it has written.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from pacsbridge.errors import Gone, UnknownKey
from pacsbridge.store import resources as rows
from pacsbridge.store.cursor import decode_cursor, encode_cursor
from pacsbridge.store.search.parse import SearchRequest, parse_search
from pacsbridge.store.search.query import SearchResult, run_search

if TYPE_CHECKING:
    from pacsbridge.store.transaction import Store


class Reader:
    """Reads inside one database transaction, so that several reads see one snapshot."""

    def __init__(self, store: Store, connection: Connection) -> None:
        self.store = store
        self.connection = connection

    def read(self, res_type: str, res_id: str) -> rows.StoredResource:
        stored = self._cached(res_type, res_id)
        if stored is None:
            raise UnknownKey(f"{res_type}/{res_id} is not known", f"{res_type}/{res_id}")
        if stored.deleted:
            raise Gone(f"{res_type}/{res_id} was deleted", f"{res_type}/{res_id}")
        return stored

    def _cached(self, res_type: str, res_id: str) -> rows.StoredResource | None:
        return rows.select_current(self.connection, res_type, res_id)

    def vread(self, res_type: str, res_id: str, version_id: int) -> rows.StoredResource:
        stored = rows.select_version(self.connection, res_type, res_id, version_id)
        if stored is None:
            raise UnknownKey(
                f"{res_type}/{res_id} has no version {version_id}", f"{res_type}/{res_id}"
            )
        if stored.deleted:
            raise Gone(f"{res_type}/{res_id} version {version_id} is a deletion")
        return stored

    def parse(self, res_type: str, params: list[tuple[str, str]]) -> SearchRequest:
        settings = self.store.search_limits
        return parse_search(res_type, params, self.store.registry, **settings)

    def search(self, request: SearchRequest) -> SearchResult:
        return run_search(self.connection, request, self.store.registry)

    def history(
        self,
        res_type: str | None = None,
        res_id: str | None = None,
        *,
        since: datetime | None = None,
        at: datetime | None = None,
        count: int = 20,
        cursor: str | None = None,
    ) -> tuple[rows.HistoryPage, str | None]:
        """A page of versions, newest first, and the cursor of the next page."""
        after = None
        if cursor:
            moment, pk = decode_cursor(cursor, 2)
            after = (moment, int(pk))
        page = rows.select_history(
            self.connection, res_type=res_type, res_id=res_id, since=since, at=at,
            count=count, after=after, with_total=cursor is None,
        )  # fmt: skip
        next_cursor = encode_cursor(list(page.next_cursor)) if page.next_cursor else None
        return page, next_cursor
