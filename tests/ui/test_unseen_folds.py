"""The live view's budget for folding channels nobody sees (labbench/ui/unseen_folds.py)."""

from __future__ import annotations

from labbench.ui.unseen_folds import FOLDS_PER_FRAME, backlog_limits, folds_due


def test_limits_are_a_quarter_of_the_ring_and_an_eighth_of_that():
    assert backlog_limits(1 << 18) == (8192, 65536)
    assert backlog_limits(4) == (1, 1)


def test_below_the_soft_limit_nothing_is_folded():
    assert folds_due({"a": 99, "b": 1}, soft=100, hard=1000) == []


def test_a_few_a_frame_the_furthest_behind_first():
    behind = {f"c{i}": 100 + i for i in range(10)}
    assert folds_due(behind, soft=100, hard=1000) == ["c9", "c8", "c7", "c6"][:FOLDS_PER_FRAME]


def test_a_channel_at_the_hard_limit_is_folded_whatever_the_budget():
    behind = {f"c{i}": 1000 for i in range(6)} | {"late": 500}
    due = folds_due(behind, soft=100, hard=1000, budget=2)
    assert set(due[:6]) == {f"c{i}" for i in range(6)} and due[6:] == ["late"]
