"""Whole-PDU reads on the DICOM port's sockets (``ae.recv_exactly``)."""

from __future__ import annotations

import os
import socket
import threading
import types

from pacsbridge.dicom.ae import recv_exactly


class Wrapper:
    """Stands where pynetdicom's AssociationSocket holds its socket."""

    def __init__(self, raw: socket.socket) -> None:
        self.socket = raw
        self.recv = types.MethodType(recv_exactly, self)


def _send_in_pieces(sock: socket.socket, data: bytes, then_close: bool) -> threading.Thread:
    def run() -> None:
        for start in range(0, len(data), 7_001):
            sock.sendall(data[start : start + 7_001])
        if then_close:
            sock.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_exactly_the_bytes_asked_for_arriving_in_pieces():
    left, right = socket.socketpair()
    data = os.urandom(300_000)
    sender = _send_in_pieces(right, data + b"next PDU", then_close=False)
    wrapper = Wrapper(left)
    assert wrapper.recv(300_000) == data
    assert wrapper.recv(8) == b"next PDU"
    sender.join()
    left.close()
    right.close()


def test_a_peer_that_closes_early_gives_what_came():
    left, right = socket.socketpair()
    sender = _send_in_pieces(right, b"x" * 50_000, then_close=True)
    assert Wrapper(left).recv(128 * 1024) == b"x" * 50_000
    sender.join()
    left.close()
