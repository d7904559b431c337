"""Resource providers: which resource types the FHIR face serves, and how.

One entry per type, as HAPI FHIR's IResourceProvider. The router refuses a type or an
interaction that is not listed here, and the CapabilityStatement is generated from this
list and the search parameter registry, so what is declared is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_INTERACTIONS = (
    "read", "vread", "update", "delete", "history-instance", "history-type", "create",
    "search-type",
)  # fmt: skip
SYSTEM_INTERACTIONS = ("transaction", "batch", "history-system")


@dataclass(frozen=True)
class ResourceProvider:
    type: str
    documentation: str
    interactions: tuple[str, ...] = TYPE_INTERACTIONS
    conditional_create: bool = True
    conditional_update: bool = True
    conditional_delete: bool = True

    def supports(self, interaction: str) -> bool:
        return interaction in self.interactions


PROVIDERS: tuple[ResourceProvider, ...] = (
    ResourceProvider("Patient", "Patients, from ADT, orders, DICOM headers and FHIR clients."),
    ResourceProvider("ServiceRequest", "Imaging orders; each scheduled step feeds the worklist."),
    ResourceProvider("Appointment", "Scheduled exams (HL7 SIU and FHIR)."),
    ResourceProvider("ImagingStudy", "Studies received by DICOM, with series and instances."),
    ResourceProvider("DiagnosticReport", "Radiology reports; a final one is sent as ORU^R01."),
    ResourceProvider("Observation", "Discrete results of reports received as ORU^R01."),
    ResourceProvider("Endpoint", "Where images can be fetched (DICOMweb WADO-RS)."),
    ResourceProvider("Procedure", "Performed procedure steps (DICOM MPPS)."),
    ResourceProvider("Practitioner", "Referring, performing and reporting physicians."),
    ResourceProvider("Organization", "Hospitals, departments and assigning authorities."),
    ResourceProvider(
        "AuditEvent",
        "Accesses to patient data (administrators only).",
        ("read", "vread", "search-type"),
        conditional_create=False,
        conditional_update=False,
        conditional_delete=False,
    ),  # fmt: skip
)

BY_TYPE = {provider.type: provider for provider in PROVIDERS}
