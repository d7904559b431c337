"""Per-partner profiles: how one sender differs from the standard, as configuration."""

from pacsbridge.profiles.match import select_partner
from pacsbridge.profiles.model import STANDARD, DicomPeer, Partner, PartnerMatch, ProcedureCode

__all__ = ["STANDARD", "DicomPeer", "Partner", "PartnerMatch", "ProcedureCode", "select_partner"]
