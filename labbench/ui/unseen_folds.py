"""Which unseen channels a live frame folds into their envelopes.

A channel nobody sees (its plot scrolled away, another chip's while one chip is picked, a
hidden tile) is not folded every frame: a sled's 131 channels would cost each frame what
is shown nine times over.  It waits until its backlog reaches ``soft`` samples, and then a
frame folds at most ``budget`` of the waiting channels, the furthest behind first.  On a
sled every unseen channel reaches a threshold in the same frame; folding them all there
(about 100 channels of 65 k samples, every 65 s at 1 kHz) held the GUI for some 50 ms.
Spread over frames, the folds fall at staggered times from then on.  ``hard`` is the bound
the live ring sets (docs/architecture.md §8): a channel that far behind is folded at once,
whatever the budget, so the ring never overwrites a sample the plots have not taken.
"""

from __future__ import annotations

FOLDS_PER_FRAME = 4


def backlog_limits(ring_capacity: int) -> tuple[int, int]:
    """(soft, hard): when an unseen channel may be folded, and when it must be (a quarter
    of the live ring: what the ring holds beyond it is a margin for slow frames)."""
    hard = max(ring_capacity // 4, 1)
    return max(hard // 8, 1), hard


def folds_due(
    behind: dict[str, int], soft: int, hard: int, budget: int = FOLDS_PER_FRAME
) -> list[str]:
    """The channels to fold in this frame, given each unseen channel's backlog."""
    must = [name for name, count in behind.items() if count >= hard]
    waiting = [name for name, count in behind.items() if soft <= count < hard]
    waiting.sort(key=lambda name: -behind[name])
    return must + waiting[:budget]
