"""``pacsbridge demo``: play the first workflow against the running server, to watch.

A client of the server like any other, so it takes the server's addresses, not its
configuration: run ``make run`` (or ``pacsbridge serve --destination
DEMO-HIS=127.0.0.1:2576``) in one terminal and ``pacsbridge demo`` in another.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.console import Console

out = Console(soft_wrap=True)  # HL7 segments and URLs whole, for copying


def demo(
    host: Annotated[str, typer.Option(help="where pacsbridge runs")] = "localhost",
    http_port: Annotated[int, typer.Option(help="its HTTP port (FHIR, /api)")] = 8080,
    mllp_port: Annotated[int, typer.Option(help="its HL7 MLLP port")] = 2575,
    dicom_port: Annotated[int, typer.Option(help="its DICOM port")] = 11112,
    ae_title: Annotated[str, typer.Option(help="its DICOM AE title")] = "PACSBRIDGE",
    his_port: Annotated[
        int, typer.Option(help="where the simulated HIS listens (the server's destination)")
    ] = 2576,
    token: Annotated[
        str | None, typer.Option(help="bearer token, when the server runs with --auth required")
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait at each step")] = 30.0,
) -> None:
    """Watch an order, an exam and a report go through the running server (then see the console).

    A simulated HIS sends ADT^A01 and ORM^O01, a simulated CT scanner queries the
    worklist, reports MPPS and sends images, a radiologist signs a report through FHIR,
    and the HIS receives the order status and the ORU^R01.
    """
    from pacsbridge.demo import DemoFailed, DemoOptions, run_demo

    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)  # the demo says what failed
    options = DemoOptions(host=host, http_port=http_port, mllp_port=mllp_port,
                          dicom_port=dicom_port, ae_title=ae_title, his_port=his_port,
                          token=token, timeout=timeout)  # fmt: skip
    try:
        asyncio.run(run_demo(options, out))
    except DemoFailed as exc:  # already told, with what to do
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
