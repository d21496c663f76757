"""A batch's mark (``emitted_ns``) promises that every sample timed before it has been handed
out: a step that ended before the mark has all its data, live as in the final replay.  Lines
of a read are timed over the interval since the previous read returned, so the mark is that
return, not the moment the batch was cut (cut after parsing, the mark ran ahead of the next
read's first lines and a step could end between them: live judged one sample less)."""

from __future__ import annotations

import os
import threading
import time
import tty

from labbench.acquisition.pipeline import Acquisition
from labbench.acquisition.rigs import make_rig
from labbench.protocols.profile import load_profile
from labbench.storage import inventory as inventory_store
from labbench.storage import runs as run_store


def test_no_sample_of_a_later_batch_is_timed_before_an_earlier_batchs_mark(db):
    master, slave = os.openpty()
    tty.setraw(slave)
    dut = inventory_store.add_dut(db, "chip", "CHP-MARK")
    run = run_store.start_run(db, dut.id)
    profile = load_profile("default")
    acquisition = Acquisition(db, run.id, run.t0_ns, make_rig(os.ttyname(slave), profile), profile)
    batches: list[tuple[int, float, float]] = []  # (mark, first and last sample time, s)

    def listener(batch):
        times = [t for t, _ in batch.samples.values() if t.size]
        if times:
            first = min(float(t[0]) for t in times)
            last = max(float(t[-1]) for t in times)
            batches.append(((batch.emitted_ns - run.t0_ns) / 1e9, first, last))

    acquisition.add_listener(listener)
    stop = threading.Event()

    def rig():  # 20 k lines/s in reads of about 40 lines: many lines a read, as at sled rates
        seq = 0
        while not stop.is_set():
            block = "".join(f"seq={seq + i},vdd=0.75,idd=1.5\n" for i in range(40))
            os.write(master, block.encode())
            seq += 40
            time.sleep(0.002)

    writer = threading.Thread(target=rig)
    acquisition.start()
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while len(batches) < 40:  # batches come every 30 ms: 40 of them, however slow the host
            assert time.monotonic() < deadline, f"only {len(batches)} batches in 30 s"
            stop.wait(0.05)
    finally:
        stop.set()
        writer.join()
        acquisition.stop()
        os.close(master)
        os.close(slave)
    run_store.finish_run(db, run.id, "recorded")
    assert len(batches) > 20
    early = [
        (k, j)
        for k, (mark, _, _) in enumerate(batches)
        for j in range(k + 1, len(batches))
        if batches[j][1] <= mark
    ]
    assert not early, f"{len(early)} later batches hold samples timed before an earlier mark"
    # And the mark is never before the batch's own last sample (it covers what it holds).
    assert all(mark >= last for mark, _, last in batches)
