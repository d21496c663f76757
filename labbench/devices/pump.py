"""A local serial port drained by a child process of its own into a 1 MiB pipe.

A pseudo-terminal takes about 14 KB before a write finds it full; a sled streaming 131
channels at 1 kHz (2.6 MB/s) fills that in 5 ms.  A reader thread inside the
app waits for the interpreter lock whenever the GUI thread draws, for tens of milliseconds,
and meanwhile the rig finds its port full: a real rig's firmware then drops lines.  The pump
process does nothing but copy the port into a pipe that holds 400 ms of that stream, which
the app's reader takes whole when it gets to it (docs/architecture.md §1, "Threads"), and it
asks the kernel to run it as soon as it wakes (:mod:`labbench.devices.latency`).

The child opens the port with the same settings and the same checks as an in-process
:class:`~labbench.devices.serial_port.SerialRig`, says ``ready`` or ``error <sentence>`` on
its stderr, then copies port -> stdout and stdin -> port.  It ends when the port dies (after
``lost <sentence>``) or when the app closes its stdin or dies (EOF), so a killed app never
leaves a process holding the port's exclusive lock.  It ignores Ctrl-C: the terminal's
SIGINT reaches the whole process group, and the app, not the pump, decides what a Ctrl-C
does to a run.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from labbench.devices.latency import ask_for_short_slice
from labbench.devices.serial_port import (
    MAX_READ_BYTES,
    READ_TIMEOUT_S,
    DeviceError,
    LinkLost,
    SerialRig,
    no_such_port,
)

PIPE_BYTES = 1 << 20
# The app's reader takes at most one read per this interval while the rig streams: the pump
# forwards every refill of the port's buffer (about 4 KB, 1.6 ms of a 16-chip sled)
# and the parser's cost per read is per channel, not per line.
READ_GATHER_S = 0.005
# Starting the child (an interpreter and pyserial) takes about 60 ms here; a loaded machine
# may take seconds.
START_TIMEOUT_S = 15.0
EXIT_WAIT_S = 2.0


class PumpedRig:
    """A local serial port (``/dev/ttyUSB0``, a pty) opened by a pump process; the keyword
    arguments are :class:`SerialRig`'s port settings."""

    def __init__(self, device: str, **port_settings):
        self.device = device
        self.port_settings = port_settings

    def open(self) -> PumpedTransport:
        if not os.path.exists(self.device):  # unplugged: no process started to find that out
            raise DeviceError(no_such_port(self.device))
        process = subprocess.Popen(
            _child_command(self.device, self.port_settings),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            env=_child_environment(),
        )
        status = _read_status(process, START_TIMEOUT_S)
        if status == "ready":
            return PumpedTransport(process, self.device)
        _stop(process)
        if status.startswith("error "):
            raise DeviceError(status.removeprefix("error "))
        raise DeviceError(
            f"Cannot open the device {self.device}: its reader process did not start "
            f"({status or f'no answer within {START_TIMEOUT_S:g} s'})."
        )


class PumpedTransport:
    """The app's end of a pump: reads what the pipe holds (up to 1 MiB at once), writes
    commands to the child.  Used by one thread (the acquisition's reader)."""

    def __init__(self, process: subprocess.Popen, device: str):
        self._process = process
        self.device = device
        self._data = process.stdout.fileno()
        self._lost: str | None = None
        # wake(): a byte here ends the select of a read waiting for the port
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._wake_lock = threading.Lock()  # wake() never writes to a closed (reused) fd
        self._last_data = 0.0  # monotonic time of the last read that brought bytes

    def read(self) -> bytes:
        if self._lost is not None:
            raise LinkLost(self._lost)
        try:
            ready, _, _ = select.select([self._data, self._wake_r], [], [], READ_TIMEOUT_S)
            woken = self._wake_r in ready
            if self._data in ready and not woken:
                # The pump forwards each of the port's few-KB refills at once; what came in
                # the last READ_GATHER_S is taken in one read (a wake still ends the wait).
                gather = self._last_data + READ_GATHER_S - time.monotonic()
                if gather > 0:
                    woken = bool(select.select([self._wake_r], [], [], gather)[0])
            if woken:
                os.read(self._wake_r, 4096)
            data = os.read(self._data, MAX_READ_BYTES) if self._data in ready else b""
            if data:
                self._last_data = time.monotonic()
        except (OSError, ValueError) as exc:
            raise LinkLost(f"{self.device}: {exc}") from None
        if self._data in ready and not data:  # the child ended: the port died under it
            self._lost = self._why_ended()
            raise LinkLost(self._lost)
        return data

    def write(self, data: bytes) -> None:
        if self._lost is not None:
            raise LinkLost(self._lost)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._process.stdin.fileno(), view) :]
        except (OSError, ValueError):
            self._lost = self._why_ended()
            raise LinkLost(self._lost) from None

    def wake(self) -> None:
        with self._wake_lock:
            if self._wake_w < 0:
                return
            try:
                os.write(self._wake_w, b"w")
            except OSError:
                pass  # already woken (the pipe is full)

    def close(self) -> None:
        _stop(self._process)
        with self._wake_lock:
            if self._wake_w >= 0:
                os.close(self._wake_w)
                os.close(self._wake_r)
                self._wake_w = self._wake_r = -1

    def _why_ended(self) -> str:
        try:
            self._process.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            pass
        status = _read_status(self._process, 0.0, last=True)
        if status.startswith("lost "):
            return status.removeprefix("lost ")
        return f"{self.device}: the port's reader process ended ({status or 'no reason given'})"


def _child_command(device: str, port_settings: dict) -> list[str]:
    arguments = [device, json.dumps(port_settings)]
    if getattr(sys, "frozen", False):  # the bundle: its executable is the labbench command
        return [sys.executable, "--serial-pump", *arguments]
    return [sys.executable, "-m", "labbench.devices.pump", *arguments]


def _child_environment() -> dict[str, str]:
    """The app's environment, with this labbench first on the child's import path."""
    here = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here if not path else here + os.pathsep + path}


def _read_status(process: subprocess.Popen, timeout: float, *, last: bool = False) -> str:
    """The child's first status line (within ``timeout``), or with ``last`` the last line it
    wrote before it ended; "" when there is none."""
    fd = process.stderr.fileno()
    text = b""
    deadline = time.monotonic() + timeout
    while last or b"\n" not in text:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0.0))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        text += chunk
    lines = [line for line in text.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return ""
    return (lines[-1] if last else lines[0]).strip()


def _stop(process: subprocess.Popen) -> None:
    """Close our ends (the child sees EOF and ends) and reap it."""
    for stream in (process.stdin, process.stdout, process.stderr):
        try:
            stream.close()
        except OSError:
            pass
    try:
        process.wait(timeout=EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the child --------------------------------------------------------------------------------


def _status(text: str) -> None:
    os.write(2, (" ".join(text.split()) + "\n").encode("utf-8", "replace"))


def _grow_pipe(fd: int) -> None:
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:  # above this system's /proc/sys/fs/pipe-max-size: take what it allows
        try:
            limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(limit, PIPE_BYTES))
        except (OSError, ValueError):
            pass


def _forward_commands(transport) -> None:
    """stdin -> port; EOF (the app closed its end, or died) ends the process."""
    while True:
        data = os.read(0, 4096)
        if not data:
            transport.close()
            os._exit(0)
        try:
            transport.write(data)
        except LinkLost as exc:
            _status(f"lost {exc}")
            os._exit(3)


def child_main(arguments: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ask_for_short_slice()  # run within the few ms a pty's buffer lasts, whenever it wakes
    device, port_settings = arguments[0], json.loads(arguments[1])
    try:
        transport = SerialRig(device, **port_settings).open()
    except DeviceError as exc:
        _status(f"error {exc}")
        return 2
    out = sys.stdout.fileno()
    _grow_pipe(out)
    _status("ready")
    threading.Thread(target=_forward_commands, args=(transport,), daemon=True).start()
    while True:
        try:
            data = transport.drain()  # at once: the pipe, not the pty, is where bytes wait
        except LinkLost as exc:
            _status(f"lost {exc}")
            return 3
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(out, view) :]
        except OSError:  # the app closed the pipe or died
            return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
