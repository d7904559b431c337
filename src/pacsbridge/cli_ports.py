"""Before ``serve`` starts: are its ports free, and which flag moves the one that is not?

The listeners would fail one by one, some after the start-up line (uvicorn binds last and
only logs its error), and an ``OSError`` does not say which of three ports it was. A
trial bind of each port first names the port and its flag. A program that takes the
port between this check and the real bind still fails, with the ``OSError`` caught in
``serve``.
"""

from __future__ import annotations

import errno
import socket

from pacsbridge.config import Settings


def port_flags(settings: Settings) -> list[tuple[str, int]]:
    """Each listening port with the flag that sets it."""
    return [("--http-port", settings.http_port), ("--mllp-port", settings.mllp_port),
            ("--dicom-port", settings.dicom_port)]  # fmt: skip


def port_problem(settings: Settings) -> str | None:
    """Why serve could not listen on one of its ports, with what to do; None when all is well."""
    seen: dict[int, str] = {}
    for flag, port in port_flags(settings):
        if port == 0:
            continue  # the system picks a free one
        if port in seen:
            return f"{seen[port]} and {flag} are both {port}: give each listener its own port"
        seen[port] = flag
        problem = _bind_problem(settings.host, port)
        if problem == errno.EADDRINUSE:
            return (f"port {port} ({flag}) is in use: is pacsbridge already running? Stop it, "
                    f"or choose another port with {flag}")  # fmt: skip
        if problem == errno.EACCES:
            return (f"port {port} ({flag}) may not be opened by this user (ports below 1024 "
                    f"need privileges): choose one above 1023 with {flag}")  # fmt: skip
        if problem == errno.EADDRNOTAVAIL:
            return (f"{settings.host} is not an address of this machine: listen on 0.0.0.0 or "
                    "one of its own addresses with --host")  # fmt: skip
    return None


def _bind_problem(host: str, port: int) -> int | None:
    """The errno of a trial bind (with SO_REUSEADDR, as the listeners bind), or None."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)  # fmt: skip
    except socket.gaierror:
        return errno.EADDRNOTAVAIL
    family, kind, _, _, address = infos[0]
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno
    return None
