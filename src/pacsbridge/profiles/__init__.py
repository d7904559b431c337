"""Per-partner profiles: how one sender differs from the standard, as configuration."""

from pacsbridge.profiles.match import select_partner
from pacsbridge.profiles.model import STANDARD, Partner, PartnerMatch, ProcedureCode

__all__ = ["STANDARD", "Partner", "PartnerMatch", "ProcedureCode", "select_partner"]
