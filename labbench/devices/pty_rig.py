"""A simulated rig served on a pseudo-terminal, so any serial client can talk to it.

``labbench mock-rig`` runs :func:`serve` in the foreground.  The path it prints is a symlink
to the current pty: the ``disconnect`` scenario closes the pty (the client's reads fail, as
on an unplug) and after the gap opens a new one behind the same path (a replug).
Writes wait when the client does not keep up, so no line is ever dropped by the rig.

The rig starts, as a board reset by its port being opened does, when a client first reads
its first line: lines are then due on the rig's clock from that moment, and a client that
took a second to open the port does not get a backlog delivered faster than the rig's rate.
"""

from __future__ import annotations

import array
import fcntl
import logging
import os
import select
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labbench.devices.latency import ask_for_short_slice
from labbench.devices.simulation import RigParams, RigSimulation, encode_line

log = logging.getLogger(__name__)

USB_FRAME_S = 0.001
# A write is a backlog (the rig was late: its process was not running) when the oldest line
# in it fell due longer ago than this: two ticks.
BACKLOG_AFTER_S = 2 * USB_FRAME_S
# How long the first line may take to reach the pty's reader side (microseconds, normally).
FIRST_LINE_LANDS_S = 1.0
# How long a rig whose duration is over waits for a client to read what it already wrote.
DRAIN_S = 2.0


class _Pty:
    def __init__(self, link: Path):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no newline translation until a client configures it
        os.set_blocking(self.master, False)
        self.name = os.ttyname(self.slave)
        tmp = link.with_name(link.name + ".new")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(self.name)
        os.replace(tmp, link)  # atomic: a client never sees the path missing mid-switch

    def unread(self) -> int:
        """Bytes written to the pty that no client has read yet."""
        count = array.array("i", [0])
        fcntl.ioctl(self.slave, termios.FIONREAD, count)
        return count[0]

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@dataclass
class RigCounts:
    """What a served rig did, for whoever watches it (a benchmark): the telemetry lines it
    wrote, and how many times a write found the pty full and had to wait for the client."""

    lines_sent: int = 0
    full_waits: int = 0
    # Of those, the waits of writes carrying a backlog: lines that fell due more than
    # BACKLOG_AFTER_S before, while the simulated rig itself was not running (hardware is
    # never late; a machine serving it may be).
    backlog_waits: int = 0
    # Writes whose wait sent the rig's next line out a USB frame (1 ms) or more after it fell
    # due: a full pty held a line back (the waits above are mostly tens of microseconds, the
    # kernel's tty worker moving the pty's 8 KiB flip buffer on).  Of those, backlog writes.
    held_waits: int = 0
    held_backlog_waits: int = 0
    longest_wait_s: float = 0.0  # the longest a telemetry write waited for the client
    # Set once its duration is over and a client has read what it wrote: a watcher waits on
    # it rather than waking the serving process to poll (a woken watcher holding the
    # interpreter lock when it is descheduled made the rig late by milliseconds).
    finished: threading.Event = field(default_factory=threading.Event)


def default_link_path() -> Path:
    return Path(tempfile.mkdtemp(prefix="labbench-rig-")) / "tty"


def serve(
    params: RigParams,
    link: Path | None = None,
    *,
    stop: threading.Event | None = None,
    ready: Callable[[Path], None] | None = None,
    duration_s: float | None = None,
    counts: RigCounts | None = None,
    hold_open: bool = False,
) -> int:
    """Serve the rig until ``stop`` is set (or ``duration_s`` passes once a client reads);
    returns the lines sent (``counts``, if given, is kept up to date as it goes).
    ``hold_open``: once ``duration_s`` is over, keep the port open and silent until ``stop``
    (a rig that finished its stream but is still plugged in: no disconnect)."""
    link = Path(link) if link else default_link_path()
    # A rig is hardware with its own clock: its lines go out on time however busy the
    # machine serving it is (a late rig writes a burst the pty cannot take in one go).
    ask_for_short_slice()
    stop = stop or threading.Event()
    counts = counts if counts is not None else RigCounts()
    sim = RigSimulation(params)
    rate = params.rate
    pty = _Pty(link)
    # The first line waits for the first client; the rig's clock starts when it is read (or
    # flushed by the client opening the port).  A pty moves written bytes to its reader side
    # a moment later, so the path is handed out only once the line is there: before that,
    # an empty reader side would look like a client had already taken it.
    _write_all(pty.master, b"".join(encode_line(line) for line in sim.next_lines()), stop, counts)
    counts.lines_sent = 1
    landing_since = time.monotonic()
    while not pty.unread() and time.monotonic() - landing_since < FIRST_LINE_LANDS_S:
        time.sleep(0.0002)
    if ready:
        ready(link)
    waiting_since = time.monotonic()
    while pty.unread() and not stop.wait(USB_FRAME_S):
        if duration_s is not None and time.monotonic() - waiting_since >= duration_s:
            break
    start = time.monotonic() - 1.0 / rate
    pending_commands = b""
    sent = 1
    try:
        while not stop.is_set():
            now = time.monotonic() - start
            if duration_s is not None and now >= duration_s:
                _drain(pty, stop)  # a client still reading takes every line the rig wrote
                counts.finished.set()
                if hold_open:
                    stop.wait()
                break
            if sim.in_gap():
                pty.close()
                if link.is_symlink():
                    link.unlink()
                log.info("simulated unplug at t=%.3f s for %.3f s", sim.t, params.gap)
                if stop.wait(max(params.at + params.gap - now, 0.0)):
                    break
                pty = _Pty(link)
                while sim.in_gap():  # the gap's lines are lost, as on a real unplug
                    sim.next_lines()
                continue
            due = int(now * rate)
            if due <= sim.seq:
                # Tick at most every millisecond, like a USB serial adapter's frames.
                timeout = max(min((sim.seq + 1) / rate - now, 0.05), USB_FRAME_S)
                readable, _, _ = select.select([pty.master], [], [], timeout)
            else:
                readable, _, _ = select.select([pty.master], [], [], 0)
            if readable:
                try:
                    pending_commands += os.read(pty.master, 4096)
                except BlockingIOError:
                    pass
                replies, pending_commands = _run_commands(sim, pending_commands)
                if replies:
                    replies_out = b"".join(encode_line(r) for r in replies)
                    _write_all(pty.master, replies_out, stop, counts)
            out = bytearray()
            # Late: the oldest line due waited beyond a tick and its timer's slack.
            backlog = now - (sim.seq + 1) / rate > BACKLOG_AFTER_S
            while sim.seq < due and len(out) < 1 << 16 and not sim.in_gap():
                for line in sim.next_lines():
                    out += encode_line(line)
                    sent += 1
            if out:
                blocked = _write_all(pty.master, bytes(out), stop, counts, backlog=backlog)
                counts.lines_sent = sent
                if blocked is not None:
                    now = time.monotonic()
                    counts.longest_wait_s = max(counts.longest_wait_s, now - blocked)
                    # How much later the next line goes out for the wait (not for lines the
                    # rig was late building): a USB frame or more is a line held back.
                    if now - max(blocked, start + (sim.seq + 1) / rate) >= USB_FRAME_S:
                        counts.held_waits += 1
                        counts.held_backlog_waits += backlog
    finally:
        pty.close()
        if link.is_symlink():
            link.unlink()
    return sent


def _drain(pty: _Pty, stop: threading.Event) -> None:
    """Wait (at most DRAIN_S) until a client has read what was written: closing a pty throws
    away what its reader side still holds."""
    until = time.monotonic() + DRAIN_S
    while pty.unread() and time.monotonic() < until and not stop.wait(USB_FRAME_S):
        pass


def _run_commands(sim: RigSimulation, buffer: bytes) -> tuple[list[str], bytes]:
    buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    *lines, rest = buffer.split(b"\n")
    replies: list[str] = []
    for line in lines:
        text = line.decode("utf-8", errors="replace").strip()
        if text:
            replies.extend(sim.command(text))
    return replies, rest[-4096:]


def _write_all(
    fd: int, data: bytes, stop: threading.Event, counts: RigCounts, *, backlog: bool = False
) -> float | None:
    """Write all of ``data``, waiting whenever the pty is full; returns when (monotonic) the
    first wait began, None when there was none."""
    view = memoryview(data)
    blocked_since = None
    while view and not stop.is_set():
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            counts.full_waits += 1  # the client does not keep up: wait, never drop
            counts.backlog_waits += backlog
            if blocked_since is None:
                blocked_since = time.monotonic()
            select.select([], [fd], [], 0.05)
            continue
        view = view[written:]
    return blocked_since
