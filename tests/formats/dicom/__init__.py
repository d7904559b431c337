"""pydicom's own test files, the oracle corpus of the DICOM format tests.

Found on disk: ``get_testdata_files`` also tries to download more, which on a machine
without network costs 15 s per call before it gives up.
"""

from pathlib import Path

import pydicom.data

ORACLE_FILES = sorted(
    str(path)
    for path in (Path(pydicom.data.__file__).parent / "test_files").rglob("*.dcm")
    if path.parent.name != "dicomdirtests"
)
