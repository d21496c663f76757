"""While the GUI thread draws a frame the acquisition threads hold their own work back (they
share one interpreter lock with it), for a bounded moment, and lose nothing by it."""

from __future__ import annotations

import threading
import time

import numpy as np

from labbench.acquisition import drawing
from labbench.acquisition.drawing import DrawingTurn
from labbench.acquisition.pipeline import Acquisition
from labbench.acquisition.rigs import make_rig
from labbench.protocols.profile import load_profile
from labbench.storage import inventory as inventory_store
from labbench.storage import runs as run_store


def test_a_free_turn_does_not_wait():
    turn = DrawingTurn(hold_s=5.0)
    began = time.monotonic()
    for _ in range(1000):
        turn.wait()
    assert time.monotonic() - began < 0.5


def test_a_waiter_is_held_until_the_frame_is_drawn():
    turn = DrawingTurn(hold_s=5.0)
    passed = threading.Event()

    def waiter():
        turn.wait()
        passed.set()

    turn.drawing()
    thread = threading.Thread(target=waiter)
    thread.start()
    try:
        assert not passed.wait(0.3), "the waiter went on while the frame was drawn"
        turn.drawn()
        assert passed.wait(2.0), "the waiter was not let go when the frame was drawn"
    finally:
        turn.drawn()
        thread.join()


def test_a_frame_never_drawn_holds_a_waiter_only_for_the_hold():
    turn = DrawingTurn(hold_s=0.2)
    turn.drawing()
    began = time.monotonic()
    turn.wait()
    held = time.monotonic() - began
    assert 0.15 <= held < 2.0
    began = time.monotonic()
    turn.wait()  # the frame had its hold: later waits do not wait again
    assert time.monotonic() - began < 0.05
    assert not turn.free


def test_the_reader_holds_its_parsing_while_a_frame_is_drawn_and_loses_no_line(db, monkeypatch):
    monkeypatch.setattr(drawing.TURN, "hold_s", 10.0)
    profile = load_profile("default")
    dut = inventory_store.add_dut(db, "chip", "CHP-TURN")
    run = run_store.start_run(db, dut.id)
    rig = make_rig("mock://nominal?rate=1000", profile)
    acquisition = Acquisition(db, run.id, run.t0_ns, rig, profile)
    seqs: list[np.ndarray] = []
    arrived = threading.Condition()

    def listener(batch):
        if "seq" in batch.samples:
            with arrived:
                seqs.append(batch.samples["seq"][1])
                arrived.notify_all()

    def received() -> int:
        with arrived:
            return sum(s.size for s in seqs)

    def wait_for(condition, what: str) -> None:
        with arrived:
            assert arrived.wait_for(condition, timeout=20), what

    acquisition.add_listener(listener)
    acquisition.start()
    try:
        wait_for(lambda: received() > 100, "no samples before the frame")
        drawing.TURN.drawing()
        # Fixed waits are the point here: a read already past its wait is handed out, then
        # nothing may arrive for as long as the frame is drawn.
        time.sleep(0.15)
        held = received()
        time.sleep(0.4)
        assert received() == held, "the reader parsed while the GUI thread drew"
        drawing.TURN.drawn()
        wait_for(lambda: received() > held + 300, "the reader did not catch up after the frame")
    finally:
        drawing.TURN.drawn()
        acquisition.stop()
    seq = np.concatenate(seqs)
    assert np.all(np.diff(seq) == 1), "a line was lost or repeated across the held frame"


def test_a_frame_begun_while_a_batch_is_handed_out_holds_the_next_listener(db, monkeypatch):
    """Judging a sled's batch takes milliseconds: a frame that begins while a batch goes round
    its listeners holds the ones not called yet until it is drawn."""
    monkeypatch.setattr(drawing.TURN, "hold_s", 10.0)
    profile = load_profile("default")
    dut = inventory_store.add_dut(db, "chip", "CHP-TURN2")
    run = run_store.start_run(db, dut.id)
    acquisition = Acquisition(
        db, run.id, run.t0_ns, make_rig("mock://nominal?rate=1000", profile), profile
    )
    began: list[float] = []
    called: list[float] = []
    second_called = threading.Event()
    release = threading.Timer(0.3, drawing.TURN.drawn)

    def first(batch):  # a frame begins while this listener runs
        if batch.samples and not began:
            began.append(time.monotonic())
            drawing.TURN.drawing()
            release.start()

    def second(batch):
        if began and not called:
            called.append(time.monotonic())
            second_called.set()

    acquisition.add_listener(first)
    acquisition.add_listener(second)
    acquisition.start()
    try:
        assert second_called.wait(20), "the second listener was never called"
    finally:
        release.cancel()
        drawing.TURN.drawn()
        acquisition.stop()
    assert called[0] - began[0] >= 0.25, "the second listener ran while the frame was drawn"
