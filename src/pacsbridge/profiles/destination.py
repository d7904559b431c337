"""Where outbound HL7 goes, and how each receiving system wants it; defaults are the standard.

A destination is configured once (``[[destinations]]`` in pacsbridge.toml, or
``--destination NAME=HOST:PORT`` for a quick set-up) and names the events it wants. As
with sender profiles, a field is set only where the receiving system differs.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pacsbridge.formats.hl7v2.charsets import charset_for
from pacsbridge.formats.hl7v2.message import Message

Event = Literal["report", "procedure-status", "images", "patient"]
EVENTS: tuple[Event, ...] = ("report", "procedure-status", "images", "patient")
DEFAULT_EVENTS: list[Event] = ["report", "procedure-status"]


class ForwardRule(BaseModel):
    """Inbound messages this destination gets unchanged: every condition given must hold."""

    model_config = ConfigDict(extra="forbid")

    message_type: str = Field(default="*", description="glob on MSH-9.1^MSH-9.2: ADT^*, ORM^O01")
    sending_application: str | None = None
    sending_facility: str | None = None
    field: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9]{2}\.\d+(\.\d+){0,2}$",
                              description="an address such as PV1.3 ...")  # fmt: skip
    equals: str | None = Field(default=None, description="... and the value it must have")

    @model_validator(mode="after")
    def _field_and_value(self) -> ForwardRule:
        if (self.field is None) != (self.equals is None):
            raise ValueError("field and equals go together")
        return self

    def matches(self, message: Message) -> bool:
        kind = f"{message.message_code}^{message.trigger_event}"
        return (fnmatchcase(kind, self.message_type)
                and self.sending_application in (None, message.sending_application)
                and self.sending_facility in (None, message.sending_facility)
                and (self.field is None or message.get(self.field) == self.equals))  # fmt: skip


class Destination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    host: str
    port: int = Field(ge=1, le=65535)
    tls: bool = False
    tls_ca: str | None = Field(
        default=None, description="CA file to check the peer; default: system"
    )
    tls_certificate: str | None = Field(default=None, description="our client certificate (PEM)")
    tls_key: str | None = Field(default=None, description="its private key (PEM)")
    events: list[Event] = Field(default_factory=lambda: list(DEFAULT_EVENTS))
    version: Literal["2.3", "2.3.1", "2.4", "2.5", "2.5.1"] = "2.5.1"
    order_message: Literal["ORM", "OMI"] = Field(
        default="ORM", description="order status as ORM^O01 or OMI^O23 (v2.5.1 and later)"
    )
    charset: str = Field(default="UNICODE UTF-8", description="HL7 MSH-18 name to encode with")
    sending_application: str = "PACSBRIDGE"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    accession_field: Literal["OBR.18", "OBR.3"] = Field(
        default="OBR.18", description="where this system expects the accession number"
    )
    report_value_type: Literal["TX", "FT"] = "TX"
    ack_timeout_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=10, ge=1, description="then the message is dead-lettered")
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    connections: int = Field(default=4, ge=1, le=64, description="patients sent in parallel")
    images_message: Literal["ORU", "ORM"] = Field(
        default="ORU", description="images received: ORU^R01 (IHE RAD-132 style) or ORM status"
    )
    forward: list[ForwardRule] = Field(default_factory=list)

    @field_validator("charset")
    @classmethod
    def _known_charset(cls, value: str) -> str:
        if charset_for(value) is None:
            raise ValueError(f"unknown HL7 character set {value!r} (MSH-18 names, e.g. 8859/1)")
        return value

    @model_validator(mode="after")
    def _omi_needs_251(self) -> Destination:
        if (self.tls_certificate is None) != (self.tls_key is None):
            raise ValueError("tls_certificate and tls_key go together")
        if self.order_message == "OMI" and self.version not in ("2.5", "2.5.1"):
            raise ValueError("order_message OMI needs version 2.5 or 2.5.1")
        return self

    def wants(self, event: Event) -> bool:
        return event in self.events


def parse_destination_flag(text: str) -> Destination:
    """``NAME=HOST:PORT`` from the command line: every default, every default event."""
    name, sep, address = text.partition("=")
    host, colon, port = address.rpartition(":")
    if not sep or not colon or not name or not host or not port.isdigit():
        raise ValueError(
            f"--destination {text!r}: write it as NAME=HOST:PORT, e.g. HIS=10.0.0.5:2575"
        )
    return Destination(name=name, host=host, port=int(port))
