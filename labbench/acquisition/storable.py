"""Parsed samples and console lines made storable, the same way live and on re-parse.

Text a database would refuse (NUL, lone surrogates) is escaped and counted
(``labbench.storage.safe_text``); a channel whose name does not fit the database is refused on
its own, with a ``channel_refused`` event, and its samples are counted, never stored under a
cut name.  The storage link uses this for every batch of a live run and ``reparse`` for every
batch it rebuilds, so a re-parsed run stores what the live run stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Protocol

from labbench.storage.safe_text import CHANNEL_NAME_MAX, UNIT_MAX, safe_text


class TextCounts(Protocol):
    text_escaped: int
    refused_channels: list[str]
    refused_samples: int


class StorableRows:
    """Turns parsed batches into the writer's rows: ``("samples", channel, unit, t, v)`` and
    ``("event", received_ns, kind, text)``.  Counts go to ``counts`` (the run's stats)."""

    def __init__(self, counts: TextCounts, units: dict[str, str] | None = None):
        self.counts = counts
        self.units = units or {}  # the plan's units, for channels the rig gives none
        self._channels: dict[str, str | None] = {}  # rig name -> stored name (None: refused)

    def text(self, text: str) -> str:
        clean, escaped = safe_text(text)
        self.counts.text_escaped += escaped
        return clean

    def rows(self, batch) -> Iterator[tuple]:
        """The rows of one parsed batch (anything with ``samples``, ``units`` and ``console``)."""
        for name, (t, v) in batch.samples.items():
            if name in self._channels:
                stored = self._channels[name]
            else:
                stored = self._channels[name] = self._stored_name(name)
                if stored is None:
                    yield self._refusal(name)
            if stored is None:
                self.counts.refused_samples += len(t)
                continue
            unit = self.text(batch.units.get(name) or self.units.get(name, ""))
            yield ("samples", stored, unit[:UNIT_MAX], t, v)
        for line in batch.console:
            yield ("event", line.received_ns, line.kind, self.text(line.text))

    def _stored_name(self, name: str) -> str | None:
        clean = self.text(name)
        if len(clean) > CHANNEL_NAME_MAX:
            self.counts.refused_channels.append(clean[:40] + "...")
            return None
        return clean

    def _refusal(self, name: str) -> tuple:
        clean, _ = safe_text(name)
        return (
            "event",
            time.time_ns(),
            "channel_refused",
            f"channel name of {len(clean)} characters (the limit is {CHANNEL_NAME_MAX}) "
            f"refused: {clean[:60]}...",
        )
