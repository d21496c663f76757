"""A serial port or pyserial URL, opened with plain port settings; read with a bounded
timeout, every way the link can die turned into :class:`LinkLost`.

Kept apart from the simulated rigs (and numpy) so that the serial pump's child process
(:mod:`labbench.devices.pump`) starts in a few tens of milliseconds.
"""

from __future__ import annotations

import os
import select
import time
from typing import Protocol

import serial

# How long one read waits for the first byte.  Short enough that a stop request is seen
# within 50 ms, long enough that an idle rig costs no CPU (never timeout=0: a busy loop).
READ_TIMEOUT_S = 0.05
# A read takes at most this much at once, so one batch never grows without bound.
MAX_READ_BYTES = 1 << 20
# After the first bytes of a small read, wait this long for the rest of the burst: a rig
# streaming 20 k lines/s then costs one read per ~40 lines instead of one per line, and
# the added latency (2 ms) is far below the 30 ms batch interval.  Reads that already
# bring 512 bytes or more go on at once, so a full pty or USB buffer never waits.
COALESCE_S = 0.002
COALESCE_BELOW_BYTES = 512
# A read this large filled the tty's buffer (4 KiB): more may be queued behind it, moved
# into the buffer a moment later.
BACKLOG_CHUNK_BYTES = 4000
BACKLOG_REFILL_S = 0.0005


class DeviceError(Exception):
    """A rig that cannot be opened; the message names the device."""


class LinkLost(Exception):
    """The rig went away mid-stream (unplugged, port closed, read error)."""


class Transport(Protocol):
    def read(self) -> bytes: ...
    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...

    # Optional, any thread: end a read waiting for data, so that a queued command is written
    # now rather than after the read's timeout (a sweep point's commands at its start).
    # def wake(self) -> None: ...


class Rig(Protocol):
    device: str

    def open(self) -> Transport: ...


# --- serial ports and pyserial URLs -------------------------------------------------------


class SerialTransport:
    def __init__(self, port: serial.SerialBase, device: str):
        self._port = port
        self.device = device

    def wake(self) -> None:
        cancel = getattr(self._port, "cancel_read", None)  # POSIX and Windows ports have it
        if cancel is not None:
            try:
                cancel()
            except (OSError, serial.SerialException):
                pass  # the read ends at its timeout, as before

    def read(self) -> bytes:
        try:
            # read(in_waiting or 1) with a timeout: framing is ours (readline() is ~10x slower).
            data = self._port.read(min(max(self._port.in_waiting, 1), MAX_READ_BYTES))
            if data:
                if len(data) < COALESCE_BELOW_BYTES:
                    time.sleep(COALESCE_S)
                # A backlog (the reader was held up) is taken whole: a read's lines are timed
                # over the interval since the previous read, which is when the backlog built
                # up, not the instants between back-to-back reads of a driver's small buffer.
                chunk = data
                while len(data) < MAX_READ_BYTES:
                    waiting = self._port.in_waiting
                    if not waiting and len(chunk) >= BACKLOG_CHUNK_BYTES:
                        time.sleep(BACKLOG_REFILL_S)  # the driver refills its buffer by itself
                        waiting = self._port.in_waiting
                    if not waiting:
                        break
                    chunk = self._port.read(min(waiting, MAX_READ_BYTES - len(data)))
                    data += chunk
            return data
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            # An unplugged port raises on read while is_open stays true; pyserial also
            # raises TypeError/AttributeError from a port closed under it.
            raise LinkLost(f"{self.device}: {exc}") from None

    def drain(self) -> bytes:
        """What a local port holds now, taken at once (b"" after READ_TIMEOUT_S of nothing):
        no coalescing wait, no backlog loop.  For the serial pump, whose only job is to empty
        the port's small buffer the moment anything lands in it."""
        try:
            fd = self._port.fileno()
            ready, _, _ = select.select([fd], [], [], READ_TIMEOUT_S)
            if not ready:
                return b""
            data = os.read(fd, MAX_READ_BYTES)
        except BlockingIOError:
            return b""
        except (serial.SerialException, OSError, TypeError, AttributeError, ValueError) as exc:
            raise LinkLost(f"{self.device}: {exc}") from None
        if not data:  # readable with nothing to read: the port went away
            raise LinkLost(f"{self.device}: the port reports data but returns none (unplugged?)")
        return data

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"{self.device}: {exc}") from None

    def close(self) -> None:
        try:
            self._port.close()
        except (serial.SerialException, OSError):
            pass


class SerialRig:
    """A local serial port (``/dev/ttyUSB0``, ``COM3``) or a pyserial URL (``socket://…``),
    opened with these port settings."""

    def __init__(
        self,
        device: str,
        *,
        baudrate: int = 115200,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        rtscts: bool = False,
        xonxoff: bool = False,
    ):
        self.device = device
        self.baudrate, self.bytesize, self.parity = baudrate, bytesize, parity
        self.stopbits, self.rtscts, self.xonxoff = stopbits, rtscts, xonxoff
        self.is_url = "://" in device

    def open(self) -> SerialTransport:
        try:
            port = serial.serial_for_url(self.device, do_not_open=True)
        except (ValueError, serial.SerialException) as exc:
            raise DeviceError(
                f"The device {self.device!r} is not a serial port or pyserial URL ({exc})."
            ) from None
        try:
            port.baudrate = self.baudrate
            port.bytesize = self.bytesize
            port.parity = self.parity
            port.stopbits = self.stopbits
            port.rtscts = self.rtscts
            port.xonxoff = self.xonxoff
            port.timeout = READ_TIMEOUT_S
            port.write_timeout = 2.0
            if not self.is_url:
                port.exclusive = True  # a second program on the rig's port corrupts both streams
            port.open()
        except (ValueError, serial.SerialException, OSError) as exc:
            raise DeviceError(_open_error(self.device, exc)) from None
        return SerialTransport(port, self.device)


def no_such_port(device: str) -> str:
    return f"The serial port {device} does not exist (unplugged, or a typo?)."


def _open_error(device: str, exc: BaseException) -> str:
    text = str(exc)
    if "Could not exclusively lock" in text or "Resource temporarily unavailable" in text:
        return f"The serial port {device} is in use by another program."
    if "No such file or directory" in text or ("could not open port" in text and "Errno 2" in text):
        return no_such_port(device)
    if "Permission denied" in text:
        return (
            f"No permission to open the serial port {device} "
            "(add your user to the 'dialout' group)."
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"Cannot open the device {device}: {first}."
