"""Synthetic but varied FHIR R4 resources for the benchmark.

Deterministic per index (a seeded ``random.Random``), so that a cached database and the id
files written next to it always agree, and so that runs at 10,000 and 100,000 patients
share their first 10,000 patients. Names come from small lists (accented ones included,
to exercise the index's normalisation); birth dates are spread over 1930-2020 so that a
one-month birthdate range matches about 1/1000 of the patients.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

FAMILIES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
    "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "García", "Müller",
    "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann",
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Smith", "Johnson",
    "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Nguyễn", "Kowalski", "Nowak", "Wiśniewski", "Øvergård", "Åberg", "Sánchez", "Peña",
    "Gómez", "Fernández", "O'Brien", "Murphy", "Kelly", "Yılmaz", "Öztürk", "Şahin",
    "Dvořák", "Novák", "Horváth", "Szabó",
]  # fmt: skip
GIVENS = [
    "Jean", "Marie", "Pierre", "Anne", "Louis", "Élodie", "Hélène", "François", "Zoé",
    "Chloé", "Noé", "Inès", "José", "María", "Jürgen", "Jörg", "Björn", "Søren", "Anna",
    "Paul", "Lucas", "Emma", "Olivia", "Liam", "Noah", "Mia", "Sofia", "Léa", "Hugo",
    "Gabriel", "Raphaël", "Agnès", "Ángel", "Łukasz", "Małgorzata", "Ilse", "Tomáš",
    "Zsófia", "Çağla", "Ayşe", "Mehmet", "John", "Mary", "James", "Linda", "Robert",
]  # fmt: skip
CITIES = ["Paris", "Lyon", "Genève", "Zürich", "Köln", "München", "Milano", "Kraków"]
MRN_SYSTEM = "urn:oid:1.2.250.1.999.1.1"
ACCESSION_SYSTEM = "urn:oid:1.2.250.1.999.1.2"
OTHER_TYPES = ["ServiceRequest", "ImagingStudy", "DiagnosticReport", "Appointment"]
MODALITIES = [
    ("CT", "Computed Tomography"), ("MR", "Magnetic Resonance"), ("US", "Ultrasound"),
    ("CR", "Computed Radiography"), ("MG", "Mammography"),
]  # fmt: skip
LOINC = [("24627-2", "CT Chest"), ("24558-9", "CT Abdomen"), ("24590-2", "MR Brain"),
         ("36643-5", "XR Chest 2 Views"), ("24604-1", "MG Breast")]  # fmt: skip
_FIRST_BIRTH = date(1930, 1, 1)
_BIRTH_SPAN = (date(2020, 12, 31) - _FIRST_BIRTH).days
_FIRST_EVENT = datetime(2015, 1, 1, 7, 0)


def patient_id(n: int) -> str:
    return f"pat-{n:07d}"


def mrn(n: int) -> str:
    return f"MRN{n * 7919 % 10_000_019:08d}"


def patient(n: int) -> dict[str, Any]:
    """Patient number ``n``: one or two given names, an MRN, gender, birth date, address."""
    rnd = random.Random(n)
    family = rnd.choice(FAMILIES)
    given = [rnd.choice(GIVENS)] + ([rnd.choice(GIVENS)] if rnd.random() < 0.3 else [])
    birth = _FIRST_BIRTH + timedelta(days=rnd.randrange(_BIRTH_SPAN))
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"use": "usual", "system": MRN_SYSTEM, "value": mrn(n)}],
        "active": True,
        "name": [{"use": "official", "family": family, "given": given}],
        "gender": rnd.choice(["male", "female", "female", "male", "other", "unknown"]),
        "birthDate": birth.isoformat(),
        "address": [{"city": rnd.choice(CITIES), "postalCode": f"{rnd.randrange(10000, 99999)}",
                     "country": "FR"}],
    }  # fmt: skip
    if rnd.random() < 0.5:
        phone = f"+33 6 {rnd.randrange(10**7, 10**8)}"
        body["telecom"] = [{"system": "phone", "value": phone, "use": "mobile"}]
    return body


def other_id(kind: str, n: int) -> str:
    return f"{kind[:2].lower()}-{n:07d}"


def other(n: int, patients: int) -> tuple[str, dict[str, Any]]:
    """Other resource number ``n``, of a type by ``n % 4``, for one of ``patients`` patients."""
    rnd = random.Random(-1 - n)
    kind = OTHER_TYPES[n % 4]
    subject = {"reference": f"Patient/{patient_id(rnd.randrange(patients))}"}
    moment = _FIRST_EVENT + timedelta(minutes=rnd.randrange(10 * 365 * 24 * 60))
    when = moment.strftime("%Y-%m-%dT%H:%M:%S+01:00")
    code_, label = rnd.choice(LOINC)
    code = {"coding": [{"system": "http://loinc.org", "code": code_, "display": label}],
            "text": label}  # fmt: skip
    accession = {"system": ACCESSION_SYSTEM, "value": f"ACC{n:09d}"}
    body: dict[str, Any]
    if kind == "ServiceRequest":
        body = {"resourceType": kind, "identifier": [accession],
                "status": rnd.choice(["active", "completed", "revoked"]), "intent": "order",
                "priority": rnd.choice(["routine", "urgent", "stat"]), "code": code,
                "subject": subject, "authoredOn": when}  # fmt: skip
    elif kind == "ImagingStudy":
        modality, name = rnd.choice(MODALITIES)
        body = {"resourceType": kind, "identifier": [{"system": "urn:dicom:uid",
                "value": f"urn:oid:1.2.826.0.1.3680043.8.498.{n + 1}"}],
                "status": "available", "subject": subject, "started": when,
                "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM",
                              "code": modality, "display": name}],
                "numberOfSeries": rnd.randrange(1, 6),
                "numberOfInstances": rnd.randrange(1, 600), "description": label}  # fmt: skip
    elif kind == "DiagnosticReport":
        body = {"resourceType": kind, "identifier": [accession],
                "status": rnd.choice(["final", "preliminary", "amended"]), "code": code,
                "subject": subject, "effectiveDateTime": when,
                "issued": moment.strftime("%Y-%m-%dT%H:%M:%S.000+01:00"),
                "conclusion": f"{label}: no acute finding."}  # fmt: skip
    else:
        end = (moment + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S+01:00")
        body = {"resourceType": kind, "status": rnd.choice(["booked", "fulfilled", "noshow"]),
                "description": label, "start": when, "end": end,
                "participant": [{"actor": subject, "status": "accepted"}]}  # fmt: skip
    return other_id(kind, n), body


def search_values(
    rnd: random.Random, patients: int, kind: str
) -> tuple[str, dict[str, str | list[str]]]:
    """Query parameters for one search of ``kind`` on a store of ``patients`` patients."""
    n = rnd.randrange(patients)
    body = patient(n)
    if kind == "name":
        family = body["name"][0]["family"]
        params: dict[str, str | list[str]] = {"family": family[: rnd.randrange(3, len(family) + 1)]}
        if rnd.random() < 0.5:
            params["given"] = body["name"][0]["given"][0]
        return "name", params
    if kind == "identifier":
        return "identifier", {"identifier": f"{MRN_SYSTEM}|{mrn(n)}"}
    year, month = rnd.randrange(1930, 2021), rnd.randrange(1, 13)
    nxt = (year + month // 12, month % 12 + 1)
    return "date", {"birthdate": [f"ge{year}-{month:02d}-01", f"lt{nxt[0]}-{nxt[1]:02d}-01"]}
