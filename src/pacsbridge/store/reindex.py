"""Rebuild the search index from the stored resources.

The index is derived data: after search parameters change (one line in ``params.json``)
this makes old resources findable by the new parameter. Runs in batches, each its own
transaction, so a large store does not hold one huge transaction open.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from sqlalchemy import func, select

from pacsbridge.store.search.index import write_index
from pacsbridge.store.tables import resource
from pacsbridge.store.transaction import Store

BATCH = 500


def reindex_all(store: Store, on_progress: Callable[[int, int], None] | None = None) -> int:
    live = resource.c.deleted.is_(False)
    with store.reader() as reader:
        total = reader.connection.execute(select(func.count()).where(live)).scalar_one()
    done, last_pk = 0, 0
    while True:
        with store.database.writer.begin() as connection:
            rows = connection.execute(
                select(resource.c.pk, resource.c.content)
                .where(live, resource.c.pk > last_pk)
                .order_by(resource.c.pk)
                .limit(BATCH)
            ).all()
            for row in rows:
                write_index(connection, row.pk, orjson.loads(row.content), store.registry,
                            replace=True)  # fmt: skip
        if not rows:
            return done
        done += len(rows)
        last_pk = rows[-1].pk
        if on_progress:
            on_progress(done, total)
