"""Opening rigs and moving bytes: serial ports, pyserial URLs, in-process simulated rigs.

A :class:`Rig` is what a device string names; ``rig.open()`` gives a :class:`Transport`
(called again to reconnect).  Transports read with a bounded timeout, never parse, and turn
every way a link can die into :class:`LinkLost`.  They know nothing of line formats or
profiles: a serial port is opened with the plain port settings it is given
(:func:`labbench.acquisition.rigs.make_rig` takes them from the profile).
"""

from __future__ import annotations

import logging
import threading
import time

import serial.tools.list_ports

from labbench.devices.pump import PumpedRig
from labbench.devices.serial_port import (
    MAX_READ_BYTES,
    READ_TIMEOUT_S,
    DeviceError,
    LinkLost,
    Rig,
    SerialRig,
    Transport,
)
from labbench.devices.simulation import RigParams, RigSimulation, ScenarioError, encode_line

__all__ = [
    "DeviceError",
    "LinkLost",
    "MockRig",
    "PumpedRig",
    "Rig",
    "SerialRig",
    "Transport",
    "rig_for",
]

log = logging.getLogger(__name__)

# --- simulated rigs, in process -----------------------------------------------------------


class MockRig:
    """``mock://SCENARIO?param=value``: the simulation lives as long as the rig object, so a
    reconnect continues the same rig (with the lines of the gap lost, as on a real unplug)."""

    def __init__(self, device: str):
        self.device = device
        try:
            self.params = RigParams.from_device(device)
        except ScenarioError as exc:
            raise DeviceError(str(exc)) from None
        self.sim = RigSimulation(self.params)
        self._start: float | None = None
        self._lock = threading.Lock()

    def wall_t(self) -> float:
        return 0.0 if self._start is None else time.monotonic() - self._start

    def open(self) -> MockTransport:
        with self._lock:
            if self._start is None:
                self._start = time.monotonic()
            if self.sim.in_gap(self.wall_t()):
                raise DeviceError(f"The simulated rig {self.device} is unplugged.")
            # Lines that fell due while nobody listened are lost, as on a real rig.
            due = int(self.wall_t() * self.params.rate)
            while self.sim.seq < due:
                self.sim.next_lines()
        return MockTransport(self)


class MockTransport:
    def __init__(self, rig: MockRig):
        self._rig = rig
        self._replies: list[str] = []
        self._closed = threading.Event()
        self._woken = threading.Event()  # a command is waiting to be written (wake)

    def read(self) -> bytes:
        rig, sim = self._rig, self._rig.sim
        if self._closed.is_set():
            raise LinkLost(f"{rig.device}: closed")
        rate = rig.params.rate
        due = int(rig.wall_t() * rate)
        if due <= sim.seq and not self._replies:
            wait = min((sim.seq + 1) / rate - rig.wall_t(), READ_TIMEOUT_S)
            if wait > 0 and self._woken.wait(wait):
                self._woken.clear()
                if self._closed.is_set():
                    raise LinkLost(f"{rig.device}: closed")
            due = int(rig.wall_t() * rate)
        out = bytearray()
        with rig._lock:
            for reply in self._replies:
                out += encode_line(reply)
            self._replies.clear()
            while sim.seq < due and len(out) < MAX_READ_BYTES:
                if sim.in_gap():
                    raise LinkLost(f"{rig.device}: simulated unplug at t={sim.t:.3f} s")
                for line in sim.next_lines():
                    out += encode_line(line)
        return bytes(out)

    def write(self, data: bytes) -> None:
        if self._closed.is_set():
            raise LinkLost(f"{self._rig.device}: closed")
        text = data.decode("utf-8", errors="replace")
        with self._rig._lock:
            for line in text.replace("\r", "\n").split("\n"):
                if line.strip():
                    self._replies.extend(self._rig.sim.command(line))

    def wake(self) -> None:
        """End a read that waits for the rig's next line: a command is to be written."""
        self._woken.set()

    def close(self) -> None:
        self._closed.set()
        self._woken.set()


# --- naming and listing -------------------------------------------------------------------


def rig_for(device: str, **port_settings) -> Rig:
    """The rig a device string names, a serial port opened with ``port_settings`` (the keyword
    arguments of :class:`SerialRig`); raises DeviceError for a string that names nothing."""
    device = device.strip()
    if not device:
        raise DeviceError("No device given: name a serial port, a pyserial URL or mock://SCENARIO.")
    if device.startswith("mock://"):
        return MockRig(device)
    if "://" in device:  # a network port (socket://, rfc2217://): the kernel's buffer is large
        return SerialRig(device, **port_settings)
    return PumpedRig(device, **port_settings)


def list_ports() -> list[tuple[str, str, str]]:
    """Serial ports on this machine: (device, description, hardware id)."""
    return [
        (p.device, p.description or "", p.hwid or "")
        for p in sorted(serial.tools.list_ports.comports())
    ]
