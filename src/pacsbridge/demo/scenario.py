"""The people and numbers of one demo run: a patient, an order, a report, all made up.

Every run draws fresh identifiers (patient ID, order and accession numbers, control IDs),
so the demo can be played again and again on the same database and each run shows up
apart in the console. The names are invented; none comes from a real message.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

# (family, given, sex, birth date): invented people, a few with accents to show that
# characters other than ASCII cross HL7, FHIR and DICOM intact.
PATIENTS = [
    ("MORENO", "LUCÍA", "F", "19820611"),
    ("OKAFOR", "DANIEL", "M", "19670203"),
    ("LINDQVIST", "ÅSA", "F", "19910928"),
    ("FERREIRA", "JOÃO", "M", "19750417"),
    ("NAKAMURA", "KENJI", "M", "19580730"),
]
REFERRING = ("4711", "HALVORSEN", "INGRID")  # the physician who orders the exam
RADIOLOGIST = "Dr. Amara Whitfield"
PROCEDURE = ("CTABD", "CT abdomen without contrast", "L")  # a local code (HL7 table 0396: L)
FINDINGS = (
    "Liver, spleen, pancreas and kidneys of normal size and attenuation.\n"
    "No free fluid. No enlarged lymph nodes."
)
CONCLUSION = "No acute abdominal findings."


@dataclass(frozen=True)
class Scenario:
    """What the HIS, the modality and the radiologist of one run know."""

    run: str  # six hex digits shared by every identifier of the run
    family: str
    given: str
    sex: str
    birth_date: str  # YYYYMMDD
    ordered_at: datetime = field(default_factory=datetime.now)

    @property
    def patient_id(self) -> str:
        return f"DEMO-{self.run}"

    @property
    def placer_order(self) -> str:
        return f"ORD-{self.run}"

    @property
    def accession(self) -> str:
        return f"ACC-{self.run}"

    @property
    def requested_procedure_id(self) -> str:
        return f"RP-{self.run}"

    @property
    def sps_id(self) -> str:
        return f"SPS-{self.run}"

    @property
    def patient_name(self) -> str:
        """As HL7 and DICOM write a person's name: FAMILY^GIVEN."""
        return f"{self.family}^{self.given}"

    def control_id(self, what: str) -> str:
        """MSH-10 of one message of this run, e.g. ``DEMO-1A2B3C-ORM``."""
        return f"DEMO-{self.run}-{what}"


def new_scenario() -> Scenario:
    """A fresh run: new identifiers, one of the invented patients."""
    run = secrets.token_hex(3).upper()
    family, given, sex, birth_date = PATIENTS[int(run, 16) % len(PATIENTS)]
    return Scenario(run=run, family=family, given=given, sex=sex, birth_date=birth_date)
