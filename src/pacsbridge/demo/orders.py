"""What the simulated HIS sends: ADT^A01 (the patient is admitted), then ORM^O01 (an exam).

Fields sit where HL7 v2.5 puts them (ch. 3 and 4), because ``make run`` has no sender
profile and pacsbridge's default profile is the standard: accession number in OBR-18,
requested procedure ID in OBR-19, scheduled procedure step ID in OBR-20, modality in
OBR-24, scheduled start in ORC-7.4 (docs/mapping.md has the whole table). There is no
ZDS segment, so pacsbridge makes the Study Instance UID and the modality learns it from
the worklist, as in a real department.
"""

from __future__ import annotations

from datetime import datetime

from pacsbridge.demo.scenario import PROCEDURE, REFERRING, Scenario

SENDER = "DEMO_HIS|DEMO_HOSPITAL"  # MSH-3 and MSH-4: no partner profile matches them
RECEIVER = "PACSBRIDGE|RADIOLOGY"  # MSH-5 and MSH-6
CHARSET = "UNICODE UTF-8"  # MSH-18: the names may hold letters beyond ASCII


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def _msh(scenario: Scenario, message_type: str, what: str) -> str:
    control_id = scenario.control_id(what)
    # MSH-12 version 2.5, MSH-13 to MSH-17 empty, MSH-18 character set
    return (f"MSH|^~\\&|{SENDER}|{RECEIVER}|{_timestamp(datetime.now())}||{message_type}|"
            f"{control_id}|P|2.5||||||{CHARSET}")  # fmt: skip


def _segment(name: str, fields: dict[int, str]) -> str:
    """A segment from its numbered fields (``{3: "ID^^^HIS"}`` is PID-3); the rest empty."""
    values = [""] * max(fields)
    for number, value in fields.items():
        values[number - 1] = value
    return "|".join([name, *values])


def _pid(scenario: Scenario) -> str:
    return _segment("PID", {
        1: "1",
        3: f"{scenario.patient_id}^^^DEMO_HIS^MR",  # identifier, assigning authority, type
        5: scenario.patient_name,
        7: scenario.birth_date,
        8: scenario.sex,
    })  # fmt: skip


def _pv1() -> str:
    referring = "^".join(REFERRING)
    return _segment("PV1", {1: "1", 2: "O", 3: "RAD^^^DEMO_HOSPITAL", 8: referring})


def _message(*segments: str) -> bytes:
    return ("\r".join(segments) + "\r").encode("utf-8")


def admit(scenario: Scenario) -> bytes:
    """ADT^A01: the patient arrives; pacsbridge makes (or updates) the Patient."""
    event = _segment("EVN", {1: "A01", 2: _timestamp(scenario.ordered_at)})
    return _message(_msh(scenario, "ADT^A01^ADT_A01", "ADT"), event, _pid(scenario), _pv1())


def order(scenario: Scenario) -> bytes:
    """ORM^O01 with ORC-1 NW: a new CT exam; it becomes a ServiceRequest and a worklist item."""
    ordered = _timestamp(scenario.ordered_at)
    placer = f"{scenario.placer_order}^DEMO_HIS"
    requester = "^".join(REFERRING)
    common_order = _segment("ORC", {
        1: "NW",  # new order
        2: placer,
        5: "SC",  # scheduled
        7: f"^^^{ordered}^^R",  # quantity/timing: start now, routine priority
        9: ordered,
        12: requester,
    })  # fmt: skip
    request = _segment("OBR", {
        1: "1",
        2: placer,
        4: "^".join(PROCEDURE),  # what to do: code^text^coding system
        7: ordered,
        16: requester,
        18: scenario.accession,
        19: scenario.requested_procedure_id,
        20: scenario.sps_id,
        24: "CT",  # diagnostic service section: the modality
    })  # fmt: skip
    return _message(_msh(scenario, "ORM^O01^ORM_O01", "ORM"), _pid(scenario), _pv1(),
                    common_order, request)  # fmt: skip


def readable(payload: bytes) -> str:
    """A message as a person reads it: one segment a line."""
    return payload.decode("utf-8", "replace").strip("\r").replace("\r", "\n")
