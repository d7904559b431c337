"""FHIR resources, their versions and their history, as rows.

The current version lives in ``resource`` with its JSON exactly as served (``id`` and
``meta.versionId``/``meta.lastUpdated`` written in), and every version is also appended to
``resource_version``. Updates check the version they replace in the ``UPDATE`` itself, so
that of two writers holding the same ``If-Match`` exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from pacsbridge.errors import VersionConflict
from pacsbridge.store.driver import DriverStatement
from pacsbridge.store.tables import idx_token, resource, resource_version


@dataclass(frozen=True)
class StoredResource:
    """One version of a resource as the store holds it."""

    pk: int
    type: str
    id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    content: str | None
    method: str = "PUT"

    @property
    def resource(self) -> dict[str, Any]:
        assert self.content is not None, "a deleted version has no content"
        return orjson.loads(self.content)


def utc_now() -> datetime:
    """Naive UTC, as the tables store it."""
    return datetime.now(UTC).replace(tzinfo=None)


def format_instant(moment: datetime) -> str:
    """A FHIR ``instant`` for a naive UTC datetime."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stamp(body: dict[str, Any], res_id: str, version_id: int, moment: datetime) -> str:
    """The JSON text to store: the body with its id and meta filled in by the server."""
    meta = dict(body.get("meta") or {})
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = format_instant(moment)
    stamped = {"resourceType": body["resourceType"], "id": res_id, "meta": meta}
    stamped.update((k, v) for k, v in body.items() if k not in stamped)
    return orjson.dumps(stamped).decode()


_CURRENT = (
    resource.c.pk,
    resource.c.res_type,
    resource.c.res_id,
    resource.c.version_id,
    resource.c.last_updated,
    resource.c.deleted,
    resource.c.content,
)


def _from_current(row: Any) -> StoredResource:
    return StoredResource(
        row.pk, row.res_type, row.res_id, row.version_id, row.last_updated, row.deleted, row.content
    )


# Built once and run on the driver: reads by id are the hottest path, and SQLAlchemy's
# work per call costs more than the SQL.
_BY_ID_SELECT = select(*_CURRENT).where(
    resource.c.res_type == bindparam("res_type"), resource.c.res_id == bindparam("res_id")
)
_BY_ID = DriverStatement(_BY_ID_SELECT)
_BY_ID_FOR_UPDATE = DriverStatement(_BY_ID_SELECT.with_for_update())
_IDENTIFIED = (
    select(*_CURRENT)
    .join(idx_token, idx_token.c.resource_pk == resource.c.pk)
    .where(
        idx_token.c.res_type == bindparam("res_type"),
        idx_token.c.param == "identifier",
        resource.c.deleted.is_(False),
    )
    .limit(bindparam("limit"))
)
_IN_SYSTEM = idx_token.c.system == bindparam("system")
_BY_IDENTIFIER = _IDENTIFIED.where(idx_token.c.code.in_(bindparam("codes", expanding=True)))
_BY_IDENTIFIER_SYSTEM = _BY_IDENTIFIER.where(_IN_SYSTEM)
# The common case, one value: no expanding IN, so it runs on the driver.
_BY_ONE_IDENTIFIER = _IDENTIFIED.where(idx_token.c.code == bindparam("code"))
_BY_ONE_IDENTIFIER_ANY_SYSTEM = DriverStatement(_BY_ONE_IDENTIFIER)
_BY_ONE_IDENTIFIER_SYSTEM = DriverStatement(_BY_ONE_IDENTIFIER.where(_IN_SYSTEM))
_INSERT_RESOURCE = DriverStatement(insert(resource).returning(resource.c.pk))
_INSERT_VERSION = DriverStatement(insert(resource_version))  # every write runs it
_UPDATE_RESOURCE = DriverStatement(
    update(resource)
    .where(resource.c.pk == bindparam("b_pk"), resource.c.version_id == bindparam("b_guard"))
    .values(
        version_id=bindparam("version_id"),
        last_updated=bindparam("last_updated"),
        deleted=bindparam("deleted"),
        content=bindparam("content"),
    )
)


def select_current(
    conn: Connection, res_type: str, res_id: str, *, for_update: bool = False
) -> StoredResource | None:
    query = _BY_ID_FOR_UPDATE if for_update and conn.dialect.name == "postgresql" else _BY_ID
    row = query.first(conn, {"res_type": res_type, "res_id": res_id})
    return _from_current(row) if row else None


def select_current_by_identifier(
    conn: Connection, res_type: str, codes: list[str], system: str | None, limit: int
) -> list[StoredResource]:
    """Current resources with one of these identifier values (and this system), whole:
    the caller that looks up by identifier nearly always reads what it found next."""
    if len(codes) == 1:
        one = _BY_ONE_IDENTIFIER_SYSTEM if system is not None else _BY_ONE_IDENTIFIER_ANY_SYSTEM
        params = {"res_type": res_type, "code": codes[0], "limit": limit}
        if system is not None:
            params["system"] = system
        return [_from_current(row) for row in one.all(conn, params)]
    query = _BY_IDENTIFIER_SYSTEM if system is not None else _BY_IDENTIFIER
    rows = conn.execute(
        query, {"res_type": res_type, "codes": codes, "system": system, "limit": limit}
    )
    return [_from_current(row) for row in rows]


def select_current_by_pks(conn: Connection, pks: list[int]) -> list[StoredResource]:
    """Current, non-deleted resources in the order of ``pks``."""
    if not pks:
        return []
    rows = conn.execute(
        select(*_CURRENT).where(resource.c.pk.in_(pks), resource.c.deleted.is_(False))
    ).all()
    by_pk = {row.pk: _from_current(row) for row in rows}
    return [by_pk[pk] for pk in pks if pk in by_pk]


def select_version(
    conn: Connection, res_type: str, res_id: str, version_id: int
) -> StoredResource | None:
    row = conn.execute(
        select(resource_version).where(
            resource_version.c.res_type == res_type,
            resource_version.c.res_id == res_id,
            resource_version.c.version_id == version_id,
        )
    ).first()
    return _from_version(row) if row else None


def _from_version(row: Any) -> StoredResource:
    return StoredResource(
        row.resource_pk,
        row.res_type,
        row.res_id,
        row.version_id,
        row.last_updated,
        row.method == "DELETE",
        row.content,
        row.method,
    )


def insert_resource(
    conn: Connection, body: dict[str, Any], res_id: str, moment: datetime, method: str = "POST"
) -> StoredResource:
    """The resource's current row; its history row follows (``append_version``)."""
    res_type = body["resourceType"]
    content = stamp(body, res_id, 1, moment)
    values = {"res_type": res_type, "res_id": res_id, "version_id": 1,
              "last_updated": moment, "deleted": False, "content": content}  # fmt: skip
    pk = int(_INSERT_RESOURCE.scalar(conn, values))
    return StoredResource(pk, res_type, res_id, 1, moment, False, content, method)


def replace_resource(
    conn: Connection,
    current: StoredResource,
    body: dict[str, Any] | None,
    moment: datetime,
    *,
    expected_version: int | None = None,
) -> StoredResource:
    """Write the next version (``body`` None deletes); 412-style conflict if overtaken."""
    version_id = current.version_id + 1
    content = stamp(body, current.id, version_id, moment) if body is not None else None
    guard = expected_version if expected_version is not None else current.version_id
    result = _UPDATE_RESOURCE.execute(
        conn,
        {"b_pk": current.pk, "b_guard": guard, "version_id": version_id,
         "last_updated": moment, "deleted": body is None, "content": content},
    )  # fmt: skip
    if result.rowcount != 1:
        raise VersionConflict(
            f"{current.type}/{current.id} is no longer at version {guard}: it changed meanwhile",
        )
    method = "DELETE" if body is None else "PUT"
    return StoredResource(
        current.pk, current.type, current.id, version_id, moment, body is None, content, method
    )


def append_version(conn: Connection, stored: StoredResource) -> None:
    """The history row of a version written by ``insert_resource`` or ``replace_resource``."""
    _INSERT_VERSION.execute(
        conn,
        {"resource_pk": stored.pk, "res_type": stored.type, "res_id": stored.id,
         "version_id": stored.version_id, "last_updated": stored.last_updated,
         "method": stored.method, "content": stored.content},
    )  # fmt: skip


@dataclass(frozen=True)
class HistoryPage:
    versions: list[StoredResource]
    total: int | None
    next_cursor: tuple[datetime, int] | None


def select_history(
    conn: Connection,
    *,
    res_type: str | None = None,
    res_id: str | None = None,
    since: datetime | None = None,
    at: datetime | None = None,
    count: int = 20,
    after: tuple[datetime, int] | None = None,
    with_total: bool = True,
) -> HistoryPage:
    """Versions newest first, keyset-paged on (last_updated, pk) so pages stay put."""
    conditions = []
    if res_type:
        conditions.append(resource_version.c.res_type == res_type)
    if res_id:
        conditions.append(resource_version.c.res_id == res_id)
    if since:
        conditions.append(resource_version.c.last_updated >= since)
    if at:
        conditions.append(resource_version.c.last_updated <= at)
    total = None
    if with_total:
        total = conn.execute(
            select(func.count()).select_from(resource_version).where(and_(True, *conditions))
        ).scalar_one()
    if after:
        moment, pk = after
        conditions.append(
            or_(
                resource_version.c.last_updated < moment,
                and_(resource_version.c.last_updated == moment, resource_version.c.pk < pk),
            )
        )
    rows = conn.execute(
        select(resource_version)
        .where(and_(True, *conditions))
        .order_by(resource_version.c.last_updated.desc(), resource_version.c.pk.desc())
        .limit(count + 1)
    ).all()
    more = len(rows) > count
    rows = rows[:count]
    versions = [_from_version(row) for row in rows]
    # _count=0 asks for the total alone: no page, so no next page either
    cursor = (rows[-1].last_updated, rows[-1].pk) if more and rows else None
    return HistoryPage(versions, total, cursor)
