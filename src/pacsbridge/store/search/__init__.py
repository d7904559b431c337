"""The search index: search parameters as data, value normalisation, and row extraction.

``params.json`` lists the FHIR R4 search parameters we support (plus pacsbridge's own);
``params`` loads them into a registry; ``values`` normalises values the same way for the
index and for queries; ``extract`` turns a resource into index rows at write time.

The function ``extract`` is not re-exported here: it would hide its module of the same name
(``import pacsbridge.store.search.extract`` would give the function, and patching it would
break). Import it as ``from pacsbridge.store.search.extract import extract``.
"""

from __future__ import annotations

from pacsbridge.store.search.extract import IndexRows
from pacsbridge.store.search.params import SearchParam, SearchRegistry, load_registry
from pacsbridge.store.search.values import (
    MAX_DATE,
    MIN_DATE,
    date_range,
    decimal_range,
    normalize_string,
    parse_decimal,
    parse_reference,
)

__all__ = [
    "MAX_DATE",
    "MIN_DATE",
    "IndexRows",
    "SearchParam",
    "SearchRegistry",
    "date_range",
    "decimal_range",
    "load_registry",
    "normalize_string",
    "parse_decimal",
    "parse_reference",
]
