"""A latency-critical thread (the serial pump, a served rig) asks for the scheduler's shortest
slice: the kernel keeps it, and the thread's nice level and policy stay as they were; a
real-time or idle thread is left alone."""

from __future__ import annotations

import os
import platform
import threading

from labbench.devices import latency


def _kernel_has_custom_slices() -> bool:
    """Linux 6.12 added per-thread slices of the normal policy (EEVDF)."""
    release = platform.release().split("-")[0].split(".")
    return platform.system() == "Linux" and tuple(map(int, release[:2])) >= (6, 12)


def _in_a_thread(policy: int, nice: int) -> dict:
    seen = {}

    def thread():
        tid = threading.get_native_id()
        os.sched_setscheduler(0, policy, os.sched_param(0))  # to batch or idle: no privilege
        os.setpriority(os.PRIO_PROCESS, tid, nice)  # a lower priority: no privilege needed
        seen["before"] = latency.slice_of()
        seen["took"] = latency.ask_for_short_slice()
        seen["slice"] = latency.slice_of()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, tid)
        seen["policy"] = os.sched_getscheduler(0)

    worker = threading.Thread(target=thread)
    worker.start()
    worker.join()
    return seen


def test_a_thread_gets_the_short_slice_and_keeps_its_nice_level_and_policy():
    for policy in (os.SCHED_OTHER, os.SCHED_BATCH):
        seen = _in_a_thread(policy, 5)
        assert seen["nice"] == 5 and seen["policy"] == policy
        if _kernel_has_custom_slices():
            assert seen["took"] and seen["slice"] == latency.SHORT_SLICE_NS
            assert seen["before"] > latency.SHORT_SLICE_NS
    # The caller's own thread was not touched.
    assert latency.slice_of() != latency.SHORT_SLICE_NS or not _kernel_has_custom_slices()


def test_an_idle_thread_is_left_alone():
    seen = _in_a_thread(os.SCHED_IDLE, 0)
    assert not seen["took"] and seen["policy"] == os.SCHED_IDLE
    assert seen["slice"] == seen["before"]
