"""``pacsbridge demo``: the first workflow played against a running server, to watch.

A simulated HIS (``his.py``, ``orders.py``), a simulated CT scanner (``modality.py``) and a
radiologist writing through FHIR (``server.py``) do what their real counterparts do, over
the network; ``script.py`` plays them in order and ``narration.py`` says what happens.
"""

from pacsbridge.demo.failure import DemoFailed
from pacsbridge.demo.script import DemoOptions, DemoResult, run_demo

__all__ = ["DemoFailed", "DemoOptions", "DemoResult", "run_demo"]
