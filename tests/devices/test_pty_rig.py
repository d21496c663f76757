"""The simulated rig on a pty starts its clock when a client takes its first line, as a board
reset by its port being opened does: a client that opens the port late meets no backlog."""

from __future__ import annotations

import threading
import time

import serial

from labbench.devices.pty_rig import serve
from labbench.devices.simulation import RigParams

RATE = 2000


def test_a_client_that_opens_late_meets_no_backlog(tmp_path):
    ready = threading.Event()
    stop = threading.Event()
    link = tmp_path / "rig"
    server = threading.Thread(
        target=serve,
        args=(RigParams.from_device(f"mock://nominal?rate={RATE}"), link),
        kwargs={"stop": stop, "ready": lambda _path: ready.set()},
        daemon=True,
    )
    server.start()
    try:
        assert ready.wait(10)
        time.sleep(1.0)  # a client that takes a second to start (Python, a database, a GUI)
        with serial.Serial(str(link), timeout=0.2) as port:
            opened = time.monotonic()
            data = b""
            while time.monotonic() - opened < 0.1:
                data += port.read(port.in_waiting or 1)
            took = time.monotonic() - opened
    finally:
        stop.set()
        server.join(10)
    assert not server.is_alive()
    lines = data.count(b"\n")
    # 0.1 s at 2 kHz is ~200 lines; the second the client was late would be 2000 more.
    assert lines <= RATE * took + 50, (
        f"{lines} lines in {took:.3f} s: the rig ran before the client"
    )
    assert lines >= RATE * 0.05, f"{lines} lines in {took:.3f} s: the rig did not start"
