"""How the demo stops: what went wrong, and what to do about it, in words for a newcomer."""

from __future__ import annotations

START_SERVER = "start it with `make run` (or `pacsbridge serve`) and run the demo again"


class DemoFailed(Exception):
    """A step could not be done; ``hint`` says what to do next."""

    def __init__(self, text: str, hint: str) -> None:
        super().__init__(text)
        self.text = text
        self.hint = hint
