"""The soak's short version: every face at once for a few seconds, without one error.

The ten-minute run with its memory verdict is ``python bench/soak.py --seconds 600``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from soak import run_soak  # noqa: E402


def test_every_face_at_once_without_an_error():
    lines, _ = run_soak(12, None)
    table = [line for line in lines if line.startswith("| ") and line[2:5] not in ("kin", "---")]
    assert len(table) == 7, lines
    for row in table:
        requests, errors = row.split("|")[2].strip(), row.split("|")[5].strip()
        assert requests != "0" and errors == "0", "\n".join(lines)
