"""Ask the kernel to run a latency-critical thread promptly when it wakes.

A pty holds about 14 KB: a 16-chip sled's 2.6 MB/s fills it in 5 ms, so the process that
drains it (the serial pump) must run within a few milliseconds of every wake-up, on a
workstation whose GUI, reader and storage threads keep both cores busy.  Linux's EEVDF
scheduler (6.12 and later) lets a normal, unprivileged thread ask for a shorter slice: it
then runs as soon as it wakes instead of after the running thread's slice, with no more CPU
than before (docs/architecture.md §1, "Threads").  Real-time priority would need root.

Older kernels and other systems ignore or refuse the request; nothing else changes.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys

SHORT_SLICE_NS = 100_000  # the shortest the kernel accepts: 0.1 ms
_SYS_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274}
_SYS_SCHED_GETATTR = {"x86_64": 315, "aarch64": 275}
# struct sched_attr (include/uapi/linux/sched/types.h): size, policy, flags, nice, priority,
# runtime (the slice, for SCHED_OTHER), deadline, period, util_min, util_max
_ATTR = struct.Struct("IIQiIQQQII")
_SCHED_FLAG_RESET_ON_FORK = 0x01


def _syscall(table: dict[str, int]):
    # The table is the 64-bit kernel's; a 32-bit interpreter on it has other numbers.
    if not sys.platform.startswith("linux") or struct.calcsize("P") != 8:
        return None
    number = table.get(os.uname().machine)
    if number is None:
        return None
    libc = ctypes.CDLL(None)
    return lambda *args: libc.syscall(number, *args)


def ask_for_short_slice(tid: int = 0) -> bool:
    """Give thread ``tid`` (0: the calling thread) the shortest slice of its policy when that
    is the normal or batch one (a real-time or idle thread is left alone); True if the
    kernel now reports that slice.  The nice level and policy stay as they were.  Threads
    and processes it starts afterwards inherit the slice (the pump's command thread, a
    ``labbench mock-rig`` process's threads), whose work is as short."""
    call = _syscall(_SYS_SCHED_SETATTR)
    if call is None:
        return False
    now = _get_attr(tid)
    if now is None or now[1] not in (os.SCHED_OTHER, os.SCHED_BATCH):
        return False
    _, policy, flags, nice, *_ = now
    attr = ctypes.create_string_buffer(
        _ATTR.pack(
            _ATTR.size, policy, flags & _SCHED_FLAG_RESET_ON_FORK, nice, 0, SHORT_SLICE_NS,
            0, 0, 0, 0,
        ),
        _ATTR.size,
    )  # fmt: skip
    # Kernels before 6.12 take the call and keep their own slice.
    return call(tid, attr, 0) == 0 and slice_of(tid) == SHORT_SLICE_NS


def slice_of(tid: int = 0) -> int | None:
    """The slice (ns) the kernel reports for thread ``tid``, or None where it cannot say."""
    attr = _get_attr(tid)
    return None if attr is None else attr[5]


def _get_attr(tid: int) -> tuple | None:
    call = _syscall(_SYS_SCHED_GETATTR)
    if call is None:
        return None
    attr = ctypes.create_string_buffer(_ATTR.size)
    return _ATTR.unpack(attr.raw) if call(tid, attr, _ATTR.size, 0) == 0 else None
