"""QIDO-RS (PS3.18 10.6): query parameters to one SQL query on the DICOM index tables.

Matching (PS3.4 C.2.2.2) runs in the database: single value, wildcard (``*``, ``?``) on
PatientName (case-insensitive, as PS3.18 10.6.1.2.1 allows), PatientID and
AccessionNumber, UID lists (comma or backslash separated), and date ranges on StudyDate.
With ``fuzzymatching=true`` (PS3.18 10.6.1.2) PatientName matches when every word asked
starts a word of the name, in any component and any order, ignoring case: ``jan do``
finds ``DOE^JANE``.

Attributes come from the index columns; the rest of what a level must return (PS3.18
Table 10.6.3-3 to -5) and any ``includefield`` are read from the stored metadata of one
instance: the first received of the study or series, or the instance itself. Matching
keys we do not index are ignored, which PS3.18 10.6.1.2 permits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from pacsbridge.errors import BadValue
from pacsbridge.store.tables import dicom_instance, dicom_series, dicom_study

Level = Literal["study", "series", "instance"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CONTROL_PARAMS = frozenset({"limit", "offset", "includefield", "fuzzymatching", "charset"})

# What each level answers besides the index columns, taken from the representative metadata.
FROM_METADATA: dict[Level, tuple[str, ...]] = {
    "study": ("SpecificCharacterSet", "StudyTime", "ReferringPhysicianName", "StudyID",
              "StudyDescription", "PatientBirthDate", "PatientSex", "TimezoneOffsetFromUTC"),
    "series": ("SpecificCharacterSet", "PerformedProcedureStepStartDate",
               "PerformedProcedureStepStartTime", "RequestAttributesSequence"),
    "instance": ("SpecificCharacterSet", "Rows", "Columns", "BitsAllocated", "NumberOfFrames"),
}  # fmt: skip

_DATE = re.compile(r"^\d{8}$")
_UID = re.compile(r"^[0-9.]{1,64}$")


@dataclass
class Query:
    """A parsed QIDO request: matching keys by keyword, paging, and extra attribute tags."""

    level: Level
    match: dict[str, str] = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    include_all: bool = False
    include: set[str] = field(default_factory=set)  # tags as 8 hex digits
    fuzzy: bool = False


def parse_query(level: Level, params: list[tuple[str, str]], path: dict[str, str]) -> Query:
    """The query of ``params`` plus the UIDs fixed by the path (``/studies/{study}/...``)."""
    query = Query(level)
    for name, value in params:
        if name == "limit":
            query.limit = min(_non_negative(name, value), MAX_LIMIT)
        elif name == "offset":
            query.offset = _non_negative(name, value)
        elif name == "includefield":
            for item in filter(None, (v.strip() for v in value.split(","))):
                if item == "all":
                    query.include_all = True
                elif (tag := _tag(item)) is not None:
                    query.include.add(tag)  # unknown names are ignored
        elif name == "fuzzymatching":
            if value.lower() not in ("true", "false"):
                raise BadValue(f"fuzzymatching must be true or false, not {value!r}", name)
            query.fuzzy = value.lower() == "true"
        elif name not in CONTROL_PARAMS and (keyword := _keyword(name)) and value != "":
            query.match[keyword] = value
    for keyword, uid in path.items():
        query.match[keyword] = uid
    if level == "study" and "Modality" in query.match:
        query.match.setdefault("ModalitiesInStudy", query.match.pop("Modality"))
    return query


def search(connection: Connection, query: Query, base: str,
           restriction: ColumnElement[bool] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The DICOM JSON objects of one page of matches, in a stable order.

    ``restriction`` is a condition on ``dicom_study`` that every level joins (a patient's
    studies only, ``authorization.py``): paging and counts then see only what may be seen.
    """
    statement = _SELECTS[query.level]()
    conditions = _conditions(query)
    if restriction is not None:
        conditions.append(restriction)
    if conditions:
        statement = statement.where(and_(*conditions))
    statement = statement.limit(query.limit).offset(query.offset)
    render = _RENDER[query.level]
    return [render(row, query, base) for row in connection.execute(statement)]


# --- parsing ---


def _non_negative(name: str, value: str) -> int:
    if not value.isdigit():
        raise BadValue(f"{name} must be a non-negative integer, not {value!r}", name)
    return int(value)


def _keyword(name: str) -> str | None:
    """A matching key given as keyword (``PatientID``) or tag (``00100020``)."""
    if tag_for_keyword(name) is not None:
        return name
    if re.fullmatch(r"[0-9A-Fa-f]{8}", name):
        return keyword_for_tag(int(name, 16)) or None
    return None


def _tag(name: str) -> str | None:
    if re.fullmatch(r"[0-9A-Fa-f]{8}", name):
        return name.upper()
    tag = tag_for_keyword(name)
    return f"{tag:08X}" if tag is not None else None


# --- SQL ---


def _first_metadata(column: ColumnElement[Any]) -> Any:
    """The metadata of the first instance received under ``column`` (study or series)."""
    key = dicom_instance.c.study_uid if column.table is dicom_study else dicom_instance.c.series_uid
    return (
        select(dicom_instance.c.metadata).where(key == column)
        .order_by(dicom_instance.c.received_at, dicom_instance.c.sop_instance_uid)
        .limit(1).scalar_subquery()
    )  # fmt: skip


def _count(key: ColumnElement[Any], value: ColumnElement[Any]) -> Any:
    """How many rows of ``key``'s table belong to the outer row (an indexed count)."""
    return select(func.count()).where(key == value).scalar_subquery()


def _study_select() -> Select[Any]:
    s = dicom_study
    series_count = _count(dicom_series.c.study_uid, s.c.study_uid)
    instance_count = _count(dicom_instance.c.study_uid, s.c.study_uid)
    return select(
        s.c.study_uid, s.c.patient_id, s.c.patient_name, s.c.study_date, s.c.accession,
        s.c.modalities, series_count.label("series_count"),
        instance_count.label("instance_count"),
        _first_metadata(s.c.study_uid).label("metadata"),
    ).order_by(s.c.study_date.desc(), s.c.study_uid)  # fmt: skip


def _series_select() -> Select[Any]:
    r = dicom_series
    instance_count = _count(dicom_instance.c.series_uid, r.c.series_uid)
    return (
        select(r.c.series_uid, r.c.study_uid, r.c.modality, r.c.series_number, r.c.description,
               instance_count.label("instance_count"),
               _first_metadata(r.c.series_uid).label("metadata"))
        .join(dicom_study, dicom_study.c.study_uid == r.c.study_uid)
        .order_by(r.c.study_uid, r.c.series_number, r.c.series_uid)
    )  # fmt: skip


def _instance_select() -> Select[Any]:
    i = dicom_instance
    return (
        select(i.c.sop_instance_uid, i.c.series_uid, i.c.study_uid, i.c.sop_class_uid,
               i.c.instance_number, i.c.metadata)
        .join(dicom_series, dicom_series.c.series_uid == i.c.series_uid)
        .join(dicom_study, dicom_study.c.study_uid == i.c.study_uid)
        .order_by(i.c.series_uid, i.c.instance_number, i.c.sop_instance_uid)
    )  # fmt: skip


_SELECTS = {"study": _study_select, "series": _series_select, "instance": _instance_select}


def _conditions(query: Query) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    m = query.match
    for keyword, column in (("PatientID", dicom_study.c.patient_id),
                            ("AccessionNumber", dicom_study.c.accession)):  # fmt: skip
        if keyword in m:
            found.append(_string_match(column, m[keyword], fold_case=False))
    if "PatientName" in m and query.fuzzy:
        found.append(_fuzzy_name(dicom_study.c.patient_name, m["PatientName"]))
    elif "PatientName" in m:
        found.append(_string_match(dicom_study.c.patient_name, m["PatientName"], fold_case=True))
    if "StudyDate" in m:
        found.append(_date_match(dicom_study.c.study_date, m["StudyDate"]))
    for keyword, column in (("StudyInstanceUID", dicom_study.c.study_uid),
                            ("SeriesInstanceUID", dicom_series.c.series_uid),
                            ("SOPInstanceUID", dicom_instance.c.sop_instance_uid),
                            ("SOPClassUID", dicom_instance.c.sop_class_uid)):  # fmt: skip
        if keyword in m and (query.level != "study" or column.table is dicom_study):
            found.append(column.in_(_uid_list(keyword, m[keyword])))
    if "ModalitiesInStudy" in m and query.level == "study":
        wanted = [v for v in re.split(r"[\\,]", m["ModalitiesInStudy"]) if v]
        found.append(exists().where(dicom_series.c.study_uid == dicom_study.c.study_uid,
                                    dicom_series.c.modality.in_(wanted)))  # fmt: skip
    if "Modality" in m and query.level != "study":
        wanted = [v for v in re.split(r"[\\,]", m["Modality"]) if v]
        found.append(dicom_series.c.modality.in_(wanted))
    if "SeriesNumber" in m and query.level != "study":
        found.append(dicom_series.c.series_number == _integer("SeriesNumber", m["SeriesNumber"]))
    if "InstanceNumber" in m and query.level == "instance":
        number = _integer("InstanceNumber", m["InstanceNumber"])
        found.append(dicom_instance.c.instance_number == number)
    return found


def _string_match(column: Any, value: str, *, fold_case: bool) -> ColumnElement[bool]:
    """Single value or wildcard matching; ``!`` escapes SQL's own wildcards in the value."""
    target = func.upper(column) if fold_case else column
    value = value.upper() if fold_case else value
    if "*" not in value and "?" not in value:
        return target == value
    pattern = re.sub(r"([!%_])", r"!\1", value).replace("*", "%").replace("?", "_")
    return target.like(pattern, escape="!")


def _fuzzy_name(column: Any, value: str) -> ColumnElement[bool]:
    """Each word of ``value`` starts a word of the name (after ``^``, ``=``, a space or at
    the start), case folded; ``*`` and ``?`` keep their wildcard meaning inside a word."""
    words = [w for w in re.split(r"[\s^=,]+", value.upper()) if w.strip("*")]
    if not words:
        return _string_match(column, value, fold_case=True)
    name = func.upper(column)
    conditions = []
    for word in words:
        body = re.sub(r"([!%_])", r"!\1", word).replace("*", "%").replace("?", "_")
        conditions.append(or_(*(name.like(f"{before}{body}%", escape="!")
                                for before in ("", "%^", "% ", "%="))))  # fmt: skip
    return and_(*conditions)


def _date_match(column: Any, value: str) -> ColumnElement[bool]:
    """``A``, ``A-B``, ``A-`` or ``-B`` on DA values, which compare as strings."""
    low, dash, high = value.partition("-")
    for part in (low, high):
        if part and not _DATE.match(part):
            raise BadValue(f"StudyDate {value!r} is not YYYYMMDD or a range of them", "StudyDate")
    if not dash:
        return column == low
    if not low and not high:
        raise BadValue("StudyDate '-' is an empty range", "StudyDate")
    bounds = [column >= low] if low else []
    return and_(*bounds, *([column <= high] if high else []))


def _uid_list(keyword: str, value: str) -> list[str]:
    uids = [v.strip() for v in re.split(r"[\\,]", value) if v.strip()]
    if not uids or not all(_UID.match(u) for u in uids):
        raise BadValue(f"{keyword} {value!r} is not a UID list", keyword)
    return uids


def _integer(keyword: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadValue(f"{keyword} {value!r} is not an integer", keyword) from None


# --- DICOM JSON ---


def attribute(keyword: str, value: Any) -> tuple[str, dict[str, Any]]:
    """One DICOM JSON attribute (PS3.18 F.2); a missing value leaves only the VR."""
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    vr = dictionary_VR(tag)
    item: dict[str, Any] = {"vr": vr}
    values = value if isinstance(value, list) else [value]
    values = [v for v in values if v not in (None, "")]
    if values:
        item["Value"] = [{"Alphabetic": v} for v in values] if vr == "PN" else values
    return f"{tag:08X}", item


def _object(pairs: list[tuple[str, Any]], metadata: str | None, query: Query,
            extra: tuple[str, ...]) -> dict[str, Any]:  # fmt: skip
    """Index attributes, then those of ``extra`` and ``includefield`` found in the metadata."""
    stored: dict[str, Any] = orjson.loads(metadata) if metadata else {}
    found: dict[str, Any] = {}
    if query.include_all and query.level == "instance":
        found.update(stored)
    wanted = {f"{tag_for_keyword(k):08X}" for k in extra} | query.include
    found.update({tag: stored[tag] for tag in wanted if tag in stored})
    found.update(dict(attribute(k, v) for k, v in pairs))
    return found


def _render_study(row: Any, query: Query, base: str) -> dict[str, Any]:
    modalities = [m for m in (row.modalities or "").split("\\") if m]
    return _object([
        ("StudyInstanceUID", row.study_uid), ("StudyDate", row.study_date),
        ("AccessionNumber", row.accession), ("PatientName", row.patient_name),
        ("PatientID", row.patient_id), ("ModalitiesInStudy", modalities),
        ("NumberOfStudyRelatedSeries", row.series_count),
        ("NumberOfStudyRelatedInstances", row.instance_count),
        ("RetrieveURL", f"{base}/studies/{row.study_uid}"),
    ], row.metadata, query, FROM_METADATA["study"])  # fmt: skip


def _render_series(row: Any, query: Query, base: str) -> dict[str, Any]:
    return _object([
        ("StudyInstanceUID", row.study_uid), ("SeriesInstanceUID", row.series_uid),
        ("Modality", row.modality), ("SeriesNumber", row.series_number),
        ("SeriesDescription", row.description),
        ("NumberOfSeriesRelatedInstances", row.instance_count),
        ("RetrieveURL", f"{base}/studies/{row.study_uid}/series/{row.series_uid}"),
    ], row.metadata, query, FROM_METADATA["series"])  # fmt: skip


def _render_instance(row: Any, query: Query, base: str) -> dict[str, Any]:
    url = f"{base}/studies/{row.study_uid}/series/{row.series_uid}/instances/{row.sop_instance_uid}"
    return _object([
        ("StudyInstanceUID", row.study_uid), ("SeriesInstanceUID", row.series_uid),
        ("SOPInstanceUID", row.sop_instance_uid), ("SOPClassUID", row.sop_class_uid),
        ("InstanceNumber", row.instance_number), ("RetrieveURL", url),
    ], row.metadata, query, FROM_METADATA["instance"])  # fmt: skip


_RENDER = {"study": _render_study, "series": _render_series, "instance": _render_instance}
