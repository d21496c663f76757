"""The simulated rig on a pty starts its clock when a client takes its first line, as a board
reset by its port being opened does: a client that opens the port late meets no backlog."""

from __future__ import annotations

import os
import threading
import time
import tty

import serial

from labbench.devices.pty_rig import RigCounts, _write_all, serve
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


def test_waits_of_a_late_rigs_backlog_are_told_apart():
    """A write that finds the pty full is a wait; when it carries lines that fell due while
    the simulated rig was not running, it is also a backlog wait (the benchmark tells them
    apart: hardware is never late, the machine serving a simulated rig may be)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    try:
        while True:  # nobody reads: fill it
            try:
                os.write(master, b"x" * 4096)
            except BlockingIOError:
                break
        counts = RigCounts()
        for backlog in (True, False):
            stop = threading.Event()
            threading.Timer(0.12, stop.set).start()
            began = time.monotonic()
            blocked = _write_all(master, b"seq=1\n" * 20_000, stop, counts, backlog=backlog)
            assert blocked is not None and began <= blocked < began + 0.05
            if backlog:
                assert counts.full_waits >= 1 and counts.backlog_waits == counts.full_waits
                late = counts.backlog_waits
        assert counts.full_waits > late and counts.backlog_waits == late
        assert _write_all(master, b"", threading.Event(), counts) is None  # no wait
    finally:
        os.close(master)
        os.close(slave)


def test_a_client_that_stops_reading_holds_the_rigs_next_line_back(tmp_path):
    """A write that finds the pty full only for the kernel's moment of moving it on is
    counted, but holds nothing back; a client that stops reading holds the rig's next line a
    USB frame or more past its due time: that is what ``held_waits`` counts, with the longest
    wait."""
    ready, stop, counts = threading.Event(), threading.Event(), RigCounts()
    link = tmp_path / "rig"
    server = threading.Thread(
        target=serve,
        args=(RigParams.from_device(f"mock://nominal?rate={RATE}"), link),
        kwargs={"stop": stop, "ready": lambda _path: ready.set(), "counts": counts},
        daemon=True,
    )
    server.start()
    try:
        assert ready.wait(10)
        with serial.Serial(str(link), timeout=0.05) as port:

            def read_for(seconds: float) -> None:
                until = time.monotonic() + seconds
                while time.monotonic() < until:
                    port.read(port.in_waiting or 1)

            read_for(0.2)
            assert counts.held_waits == 0, "the rig was held back while its client read"
            time.sleep(0.4)  # the client stops reading: 12 KB of pty fill in about 60 ms
            read_for(0.2)
    finally:
        stop.set()
        server.join(10)
    assert not server.is_alive()
    assert counts.held_waits >= 1, "a wait of about 0.3 s held the rig's next line"
    assert counts.full_waits >= counts.held_waits
    assert 0.2 <= counts.longest_wait_s < 1.0
