"""What every console view needs: the store, the settings, the listeners, the reprocessor.

Made once by ``router.console_routes`` and handed to each view, so that views are plain
functions and nothing is global. ``reprocess`` applies a logged HL7 message again; it is
the HL7 face's own pipeline, which the composition root (``app.py``) passes in because a
face may not import another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pacsbridge.config import Settings
from pacsbridge.store import Store

Reprocess = Callable[[bytes, str | None], bytes | None]


@dataclass
class Console:
    store: Store
    settings: Settings
    listeners: dict[str, Any] = field(default_factory=dict)
    reprocess: Reprocess | None = None
