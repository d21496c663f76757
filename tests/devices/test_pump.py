"""A local serial port is read by a pump process of its own (labbench.devices.pump): a rig
streaming faster than the port's buffer can hold while the app's threads are busy keeps its
rate; the pump never outlives the app, ignores the terminal's Ctrl-C, and reports a port that
dies or is in use in the same sentences as an in-process port."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tty

import pytest
import serial

from labbench.devices.pump import PumpedRig, PumpedTransport
from labbench.devices.serial_port import DeviceError, LinkLost, SerialRig
from labbench.devices.transport import rig_for

# A 4-chip sled at 1 kHz: 0.7 kB lines, 0.7 MB/s, through a pty that holds 14 KB (20 ms):
# a reader held up for 150 ms at a time would hold the rig to a sixth of its rate.  (A
# 16-chip sled, 2.6 MB/s, is benchmarks/sled.py's; its simulated rig alone needs a third of
# a core, too much to ask of a loaded test machine.)
SLED = "mock://nominal?slots=4&rate=1000"
SECONDS = 4.0

RIG_SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path
    from labbench.devices.pty_rig import RigCounts, serve
    from labbench.devices.simulation import RigParams
    counts, stop = RigCounts(), threading.Event()
    server = threading.Thread(target=serve, args=(RigParams.from_device(sys.argv[1]),
        Path(sys.argv[2])), kwargs={"stop": stop, "ready": lambda p: print(p, flush=True),
        "duration_s": float(sys.argv[3]), "counts": counts, "hold_open": True})
    server.start()
    while not counts.finished.wait(0.5) and server.is_alive():
        pass
    print(counts.lines_sent, flush=True)
    sys.stdin.read()
    stop.set()
    server.join()
    """
)


def _busy(stop: threading.Event) -> None:
    """Python work that holds the interpreter lock, as the GUI thread's drawing does."""
    while not stop.is_set():
        sum(i * i for i in range(20_000))


@pytest.mark.alone
def test_a_sled_streaming_faster_than_the_pty_holds_keeps_its_rate(tmp_path):
    rig = subprocess.Popen(
        [sys.executable, "-c", RIG_SCRIPT, SLED, str(tmp_path / "tty"), str(SECONDS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    stop = threading.Event()
    hogs = [threading.Thread(target=_busy, args=(stop,)) for _ in range(1)]
    try:
        path = rig.stdout.readline().strip()
        transport = rig_for(path).open()
        assert isinstance(transport, PumpedTransport)  # a local port is pumped
        for hog in hogs:
            hog.start()
        received = b""
        began = time.monotonic()
        while time.monotonic() - began < SECONDS + 1.0:
            received += transport.read()
            time.sleep(0.15)  # a reader held up by a frame, a commit, a judging pass
        received += transport.read()
        sent = int(rig.stdout.readline())
        transport.close()
    finally:
        stop.set()
        for hog in hogs:
            if hog.is_alive():
                hog.join()
        rig.stdin.close()
        rig.wait(10)
    lines = received.count(b"\n")
    # The rig's clock ran for SECONDS: it sent (nearly) all its lines, and all arrived.
    assert sent >= 0.8 * 1000 * SECONDS, f"the rig sent {sent} lines in {SECONDS:g} s"
    assert lines >= sent - 1, f"sent {sent}, received {lines}"


def _pty_pair() -> tuple[int, str]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.close(slave)
    return master, path


def test_the_pump_reads_and_writes_the_port():
    master, path = _pty_pair()
    transport = PumpedRig(path).open()
    try:
        os.write(master, b"vdd_core=0.75\n")
        data = b""
        deadline = time.monotonic() + 5
        while b"\n" not in data and time.monotonic() < deadline:
            data += transport.read()
        assert data == b"vdd_core=0.75\n"
        transport.write(b"PWR ON\n")
        echoed = b""
        while b"\n" not in echoed and time.monotonic() < deadline:
            echoed += os.read(master, 100)
        assert echoed == b"PWR ON\n"
    finally:
        transport.close()
        os.close(master)


def test_the_pump_runs_on_the_schedulers_shortest_slice():
    """It must run within the few ms a pty holds whenever it wakes, at the app's own nice
    level (a pty's 14 KB last a 16-chip sled 5 ms)."""
    from labbench.devices import latency
    from tests.devices.test_latency import _kernel_has_custom_slices

    master, path = _pty_pair()
    transport = PumpedRig(path).open()
    try:
        pid = transport._process.pid
        assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0)
        if _kernel_has_custom_slices():
            assert latency.slice_of(pid) == latency.SHORT_SLICE_NS
    finally:
        transport.close()
        os.close(master)


def test_a_port_closed_under_the_pump_is_a_lost_link_naming_it():
    master, path = _pty_pair()
    transport = PumpedRig(path).open()
    try:
        os.close(master)  # the pty's other end goes away: the rig is unplugged
        deadline = time.monotonic() + 5
        with pytest.raises(LinkLost, match=path):
            while time.monotonic() < deadline:
                transport.read()
    finally:
        transport.close()


def test_a_port_in_use_or_missing_is_refused_in_one_sentence(tmp_path):
    master, path = _pty_pair()
    holder = SerialRig(path).open()  # another program holds the port
    try:
        with pytest.raises(DeviceError, match=r"^The serial port .* is in use by another program"):
            PumpedRig(path).open()
    finally:
        holder.close()
        os.close(master)
    missing = str(tmp_path / "ttyUSB9")
    with pytest.raises(DeviceError, match=r"^The serial port .*ttyUSB9 does not exist"):
        PumpedRig(missing).open()


def _pump_pids(port: str) -> set[int]:
    """The pumps holding ``port`` (tests running alongside have pumps of their own)."""
    pattern = r"[-]m labbench\.devices\.pump " + re.escape(port) + " "
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return {int(pid) for pid in out.split()}


def test_a_killed_app_leaves_no_pump_holding_the_port():
    master, path = _pty_pair()
    before = _pump_pids(path)
    app = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from labbench.devices.pump import PumpedRig\n"
            f"t = PumpedRig({path!r}).open()\n"
            "print('open', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout.readline().strip() == "open"
        pumps = _pump_pids(path) - before
        assert len(pumps) == 1
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        deadline = time.monotonic() + 5
        while pumps & _pump_pids(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pumps & _pump_pids(path), "the pump outlived the app"
        with serial.Serial(path, exclusive=True, timeout=0.1):
            pass  # the port is free again
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        os.close(master)


def test_ctrl_c_at_the_terminal_does_not_stop_the_pump():
    master, path = _pty_pair()
    before = _pump_pids(path)
    transport = PumpedRig(path).open()
    try:
        (pump,) = _pump_pids(path) - before
        os.kill(pump, signal.SIGINT)  # what a terminal's Ctrl-C sends the process group
        time.sleep(0.3)
        os.write(master, b"still=1\n")
        data = b""
        deadline = time.monotonic() + 5
        while b"\n" not in data and time.monotonic() < deadline:
            data += transport.read()
        assert data == b"still=1\n"
    finally:
        transport.close()
        os.close(master)


def test_a_streaming_port_is_handed_to_the_app_a_few_ms_at_a_time():
    """The pump forwards every refill of the port at once (the pty empties within a ms); the
    app's reader still takes one read per READ_GATHER_S, not one per refill: its parsing costs
    per read and per channel."""
    from labbench.devices.pump import READ_GATHER_S

    master, path = _pty_pair()
    transport = PumpedRig(path).open()
    stop = threading.Event()

    took = []

    def rig():  # a line every ms for 0.4 s or more
        begin = time.monotonic()
        for i in range(400):
            os.write(master, b"seq=%d\n" % i)
            time.sleep(0.001)
        took.append(time.monotonic() - begin)
        stop.set()

    writer = threading.Thread(target=rig)
    try:
        writer.start()
        reads, data = 0, b""
        deadline = time.monotonic() + 10
        while data.count(b"\n") < 400 and time.monotonic() < deadline:
            chunk = transport.read()
            reads += bool(chunk)
            data += chunk
        writer.join()
        assert data == b"".join(b"seq=%d\n" % i for i in range(400))
        # at most one read per READ_GATHER_S while the rig streams, and the first (unread
        # before, the pump would hand over about one read per line: 400)
        assert reads <= took[0] / READ_GATHER_S + 2, (reads, took)
    finally:
        stop.set()
        writer.join()
        transport.close()
        os.close(master)


def test_wake_ends_a_read_waiting_on_a_quiet_port():
    """A command queued while the reader waits on a silent port goes out now: wake() ends the
    read at once instead of at its 50 ms timeout; woken before a read, the next read ends
    at once too; after close, wake() does nothing."""
    master, path = _pty_pair()
    transport = PumpedRig(path).open()
    try:
        took = []
        for _ in range(5):
            timer = threading.Timer(0.005, transport.wake)
            begin = time.monotonic()
            timer.start()
            assert transport.read() == b""
            took.append(time.monotonic() - begin)
            timer.join()
        assert min(took) < 0.03, took  # woken after 5 ms, not at the 50 ms timeout
        transport.wake()
        begin = time.monotonic()
        assert transport.read() == b""
        assert time.monotonic() - begin < 0.03
    finally:
        transport.close()
        os.close(master)
    transport.wake()  # closed: no write to a file descriptor that may be reused
