"""What a partner profile can say; every default is the standard's place or behaviour.

A sender without a profile gets ``STANDARD``. A profile overrides only where its system
differs, as dcm4chee's device options move one field (``hl7ScheduledStationAETInOrder``).
Addresses are python-hl7-style (``"OBR.18"``, ``"PID.3[2].1"``).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ADDRESS = r"^[A-Z][A-Z0-9]{2}\.\d+(\[\d+\])?(\.\d+){0,2}$"


class PartnerMatch(BaseModel):
    """Which messages the profile applies to: MSH-3 and/or MSH-4 (case-sensitive)."""

    model_config = ConfigDict(extra="forbid")

    sending_application: str | None = None
    sending_facility: str | None = None


class ProcedureCode(BaseModel):
    """A local procedure code's meaning: the modality and description it stands for."""

    model_config = ConfigDict(extra="forbid")

    modality: str | None = None
    description: str | None = None
    station_ae: str | None = None


class Partner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    match: PartnerMatch = Field(default_factory=PartnerMatch)
    charset: str | None = Field(
        default=None, description="HL7 character set (MSH-18 names) used when MSH-18 is empty"
    )
    timezone: str | None = Field(
        default=None, description="IANA zone of the sender's local times; default: this machine's"
    )
    patient_id_authority: str | None = Field(
        default=None, description="the PID-3 repetition whose assigning authority is this"
    )
    default_authority: str | None = Field(
        default=None, description="assigning authority of identifiers that name none"
    )
    authorities: dict[str, str] = Field(
        default_factory=dict, description="assigning authority -> identifier system URI"
    )
    accession: str = Field(default="OBR.18", pattern=_ADDRESS)
    requested_procedure_id: str = Field(default="OBR.19", pattern=_ADDRESS)
    sps_id: str = Field(default="OBR.20", pattern=_ADDRESS)
    modality: str = Field(default="OBR.24", pattern=_ADDRESS)
    study_instance_uid: str = Field(default="ZDS.1", pattern=_ADDRESS)
    requesting_physician: str = Field(default="OBR.16", pattern=_ADDRESS)
    result_status: str = Field(default="OBR.25", pattern=_ADDRESS)
    scheduled_start: str | None = Field(
        default=None, pattern=_ADDRESS, description="where the order puts its scheduled start"
    )
    scheduled_station_ae: str | None = Field(
        default=None, pattern=_ADDRESS, description="where the order names the station AE"
    )
    station_ae: dict[str, str] = Field(default_factory=dict, description="modality -> AE title")
    station_name: dict[str, str] = Field(default_factory=dict, description="modality -> name")
    location: dict[str, str] = Field(default_factory=dict, description="modality -> location")
    procedure_codes: dict[str, ProcedureCode] = Field(default_factory=dict)
    accepted_messages: list[str] | None = Field(
        default=None, description='e.g. ["ADT^A01", "ORM^O01"]; default: all we support'
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            ZoneInfo(value)  # raises for an unknown zone
        return value

    @field_validator("station_ae")
    @classmethod
    def _ae_titles(cls, value: dict[str, str]) -> dict[str, str]:
        for modality, title in value.items():
            if not 0 < len(title) <= 16:
                raise ValueError(f"station AE title for {modality} must be 1-16 characters")
        return value

    def accepts(self, message_type: str) -> bool:
        return self.accepted_messages is None or message_type in self.accepted_messages

    def system_for(self, authority: str | None, universal_id: str | None = None,
                   universal_type: str | None = None) -> str:  # fmt: skip
        """The identifier system URI of an HL7 assigning authority (HD, table 0363)."""
        if authority and authority in self.authorities:
            return self.authorities[authority]
        if universal_id and (universal_type or "").upper() == "ISO":
            return f"urn:oid:{universal_id}"
        if universal_id and universal_id.startswith(("http:", "https:", "urn:")):
            return universal_id
        name = authority or universal_id or self.default_authority
        return f"urn:pacsbridge:id:{name}" if name else "urn:pacsbridge:id:unknown"


STANDARD = Partner(name="standard")


class DicomPeer(BaseModel):
    """A modality or other DICOM peer, by its calling AE title; defaults are the standard."""

    model_config = ConfigDict(extra="forbid")

    ae_title: str = Field(min_length=1, max_length=16)
    worklist_station_from_calling_ae: bool = Field(
        default=False, description="it sends no Scheduled Station AE Title: filter by its AE"
    )
    worklist_fill_empty_keys: bool = Field(
        default=False, description="it refuses empty required keys: fill defaults"
    )
