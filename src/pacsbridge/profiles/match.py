"""Picks the profile of a message's sender from MSH-3 and MSH-4."""

from __future__ import annotations

from collections.abc import Sequence

from pacsbridge.profiles.model import STANDARD, Partner


def select_partner(
    partners: Sequence[Partner], sending_application: str | None, sending_facility: str | None
) -> Partner:
    """The most specific matching profile: both fields beat one; none matching → STANDARD."""
    best: tuple[int, Partner] | None = None
    for partner in partners:
        wanted = partner.match
        checks = [(wanted.sending_application, sending_application),
                  (wanted.sending_facility, sending_facility)]  # fmt: skip
        named = [(w, got) for w, got in checks if w is not None]
        if not named or any(w != got for w, got in named):
            continue
        if best is None or len(named) > best[0]:
            best = (len(named), partner)
    return best[1] if best else STANDARD
