"""The ImagingStudy rebuilds the DICOM listener asks for, at most one per study a second.

A modality that opens one association per image ends an association for every image.
Rebuilding the study's ImagingStudy at each end, in the association's own thread, made
n rebuilds of a growing study for n images (each reading all its rows) and held the GIL
while the modality's next association was being negotiated. Here a study whose sender is
done is rebuilt by one worker thread, ``DELAY`` after the first request: the requests that
come meanwhile for the same study (its next images) ride on that rebuild. A study that
keeps receiving is thus rebuilt once per ``DELAY``, and its last images at most ``DELAY``
after they came. Nothing is lost if the process stops first: the studies stay marked
stale in the index, and the maintenance loop rebuilds them.
"""

from __future__ import annotations

import logging
import threading
import time

from pacsbridge.store import Store
from pacsbridge.store.imaging_study import refresh_studies

log = logging.getLogger("pacsbridge.dicom")

DELAY = 1.0  # seconds from an association's end to its studies' rebuild, at most


class StudyRefresher:
    def __init__(self, store: Store, wado_base: str, delay: float = DELAY) -> None:
        self.store = store
        self.wado_base = wado_base
        self.delay = delay
        self._due: dict[str, float] = {}  # study -> when to rebuild (monotonic)
        self._stopping = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def request(self, studies: set[str]) -> None:
        """Rebuild these studies' ImagingStudy within ``delay`` (not later if asked again)."""
        due = time.monotonic() + self.delay
        with self._changed:
            for study in studies:
                self._due.setdefault(study, due)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="study-refresh",
                                                daemon=True)  # fmt: skip
                self._thread.start()
            self._changed.notify_all()

    def stop(self, timeout: float = 30.0) -> None:
        """Rebuild what waits now, then end the worker (a later request starts another)."""
        with self._changed:
            self._stopping = True
            self._due = dict.fromkeys(self._due, 0.0)
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._changed:
            self._stopping, self._thread = False, None

    def _run(self) -> None:
        while True:
            with self._changed:
                studies = self._take_due()
                if not studies:
                    if self._stopping and not self._due:
                        return
                    soonest = min(self._due.values(), default=None)
                    wait = None if soonest is None else max(0.0, soonest - time.monotonic())
                    self._changed.wait(wait)
                    continue
            try:
                refresh_studies(self.store, studies, self.wado_base)
            except Exception:  # the studies stay stale: the maintenance loop tries again
                log.exception("could not update the ImagingStudy of %d studies", len(studies))

    def _take_due(self) -> set[str]:
        now = time.monotonic()
        due = {study for study, when in self._due.items() if when <= now}
        for study in due:
            del self._due[study]
        return due
