"""pynetdicom's reactor threads woken by their work (``dicom/reactors.py``)."""

from __future__ import annotations

import select
import time

import pynetdicom.association
import pynetdicom.dul

from pacsbridge.dicom import reactors


def test_install_gives_both_modules_the_waking_sleep_and_keeps_the_rest_of_time():
    reactors.install()
    reactors.install()  # once is enough; twice changes nothing
    for module in (pynetdicom.association, pynetdicom.dul):
        assert module.time.sleep is reactors._sleep
        assert abs(module.time.time() - time.time()) < 1
        assert module.time.monotonic() <= time.monotonic()


def test_a_put_makes_the_queue_readable_until_drained():
    waking = reactors.WakingQueue()
    assert select.select([waking.readable], [], [], 0)[0] == []
    waking.put("A-RELEASE-RP")
    assert select.select([waking.readable], [], [], 0)[0] == [waking.readable]
    waking.drain()
    assert select.select([waking.readable], [], [], 0)[0] == []
    assert waking.get_nowait() == "A-RELEASE-RP"


def test_other_threads_sleep_as_asked():
    started = time.monotonic()
    reactors._sleep(0.02)
    assert time.monotonic() - started >= 0.019
