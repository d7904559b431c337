"""Pure codecs between wire formats and our in-memory forms: no I/O, no database."""

__all__: list[str] = []
