"""The SQL tables of the store; Alembic migrations in ``migrations/`` create and evolve them.

``resource`` holds the current version of each resource (its JSON exactly as served, so a
read is one row and no re-serialisation); ``resource_version`` holds every version for
history and vread. The ``idx_*`` tables are the search index, one per search parameter
type, rebuilt from the current version on every write.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64 bits.
Pk = BigInteger().with_variant(Integer(), "sqlite")


# Byte-wise ordering on PostgreSQL too, so that prefix ranges and keyset paging agree
# with SQLite whatever the database's locale.
def _ordered_string(length: int) -> String:
    return String(length).with_variant(String(length, collation="C"), "postgresql")


INDEXED_STRING_LENGTH = 200
"""Longer values are cut for the index; prefix and exact search still work on the cut."""

resource = Table(
    "resource",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", _ordered_string(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", DateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", Text, nullable=True),
    UniqueConstraint("res_type", "res_id", name="uq_resource_type_id"),
    Index("ix_resource_type_updated", "res_type", "last_updated"),
)

resource_version = Table(
    "resource_version",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("resource_pk", Pk, ForeignKey("resource.pk"), nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", DateTime, nullable=False),
    Column("method", String(8), nullable=False),
    Column("content", Text, nullable=True),
    UniqueConstraint("resource_pk", "version_id", name="uq_version_resource_version"),
    Index("ix_version_type_updated", "res_type", "last_updated"),
    Index("ix_version_updated", "last_updated"),
)


def _index_table(name: str, *columns: Column, keys: list[list[str]]) -> Table:
    table = Table(
        name,
        metadata,
        Column("resource_pk", Pk, ForeignKey("resource.pk"), nullable=False),
        Column("res_type", String(64), nullable=False),
        Column("param", String(64), nullable=False),
        *columns,
    )
    Index(f"ix_{name}_resource", table.c.resource_pk)
    for number, key in enumerate(keys):
        Index(f"ix_{name}_{number}", table.c.res_type, table.c.param, *(table.c[k] for k in key))
    return table


idx_string = _index_table(
    "idx_string",
    Column("value_norm", _ordered_string(INDEXED_STRING_LENGTH), nullable=False),
    Column("value_exact", Text, nullable=False),
    keys=[["value_norm"]],
)

idx_token = _index_table(
    "idx_token",
    Column("system", String(256), nullable=True),
    Column("code", _ordered_string(INDEXED_STRING_LENGTH), nullable=False),
    keys=[["code", "system"]],
)

idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(64), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("url", String(512), nullable=True),
    keys=[["target_type", "target_id"], ["url"]],
)
Index("ix_idx_reference_target", idx_reference.c.target_type, idx_reference.c.target_id)

idx_date = _index_table(
    "idx_date",
    Column("low", DateTime, nullable=False),
    Column("high", DateTime, nullable=False),
    keys=[["low"], ["high"]],
)

idx_uri = _index_table(
    "idx_uri",
    Column("uri", String(512), nullable=False),
    keys=[["uri"]],
)

idx_number = _index_table(
    "idx_number",
    Column("value", Numeric(30, 10), nullable=False),
    keys=[["value"]],
)

idx_quantity = _index_table(
    "idx_quantity",
    Column("value", Numeric(30, 10), nullable=False),
    Column("system", String(256), nullable=True),
    Column("code", String(64), nullable=True),
    Column("unit", String(64), nullable=True),
    keys=[["value"], ["code", "value"]],
)

INDEX_TABLES: dict[str, Table] = {
    "string": idx_string,
    "token": idx_token,
    "reference": idx_reference,
    "date": idx_date,
    "uri": idx_uri,
    "number": idx_number,
    "quantity": idx_quantity,
}
"""The index table of each search parameter type."""
