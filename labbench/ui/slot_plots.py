"""A sled's per-slot channels on the plots: every slot of a channel (``vdd_core[0]`` …
``vdd_core[15]``) overlaid in one plot, each slot in its own colour (the sled map's cell edges
say which), or one slot alone when the sled map picks it.

The slots' curves go through the same envelope reduction as every other curve; a slot not
shown is neither reduced nor drawn, so a sled of 16 chips x 8 channels costs 8 curves a frame
while one chip is looked at.
"""

from __future__ import annotations

import html

from labbench.protocols.slots import SlotNameError, split_slot
from labbench.ui.theme import slot_color


def split_channel(name: str) -> tuple[str, int | None]:
    """(base, slot) of a channel name; (name, None) for a name that is not a slot's."""
    try:
        return split_slot(name)
    except SlotNameError:
        return name, None


class SlotPlots:
    """The per-slot half of ``PlotStack``: which plot a slot's curve goes in, its colour, the
    title of a plot of slots, and showing one slot alone."""

    shown_slot: int | None = None

    def plot_key(self, name: str, unit: str) -> str:
        base, slot = split_channel(name)
        if slot is None:
            return f"channel:{name}" if name in self.limits else unit
        # A judged channel's slots share its plot (its limits, held y axis); the others get
        # one plot per channel, all slots overlaid.
        return f"channel:{base}" if base in self.limits else f"slots:{base}"

    def curve_color(self, name: str, index: int) -> str:
        slot = split_channel(name)[1]
        if slot is None:
            return self.theme.curves[index % len(self.theme.curves)]
        return slot_color(self.theme, slot)

    def slot_shown(self, name: str) -> bool:
        """Whether a channel's curve is drawn: a slot's when every slot or this one is shown;
        a per-slot channel's bare name (no samples: it only carries the limits) never."""
        slot = split_channel(name)[1]
        if slot is None:
            key = self.channel_key.get(name)
            return not any(
                k == key and split_channel(n)[1] is not None for n, k in self.channel_key.items()
            )
        return self.shown_slot is None or slot == self.shown_slot

    def show_slot(self, slot: int | None) -> None:
        """Show one slot's curves (and the sled's own), or every slot's (None)."""
        self.shown_slot = slot
        for name, curve in self.curves.items():
            curve.setVisible(self.slot_shown(name))
        for channel, _, _, region in self.violation_items:
            region.setVisible(self.slot_shown(channel))
        for key in self.plots:
            self._label(key)

    def _label(self, key: str) -> None:
        """The axis title of a plot of slots: the channel, and which slots it shows in whose
        colour; other plots are titled by their channels' names."""
        names = [n for n, k in self.channel_key.items() if k == key]
        slotted = [n for n in names if split_channel(n)[1] is not None]
        for name in names:
            self.curves[name].setVisible(self.slot_shown(name))
        if not slotted:
            self._channel_label(key)
            return
        base = split_channel(slotted[0])[0]
        unit = self.channel_unit[slotted[0]]
        # Short: the title runs along a plot a fifth of the window high.  Every slot: the
        # channel (the sled map's cell edges are the legend); one slot: its name in its colour.
        if self.shown_slot is None:
            text = f"<b>{html.escape(base)}</b>"
        else:
            color = slot_color(self.theme, self.shown_slot)
            name = html.escape(f"{base}[{self.shown_slot}]")
            text = f'<span style="color:{color}; font-weight:bold">{name}</span>'
        self.plots[key].getAxis("left").setLabel(
            text, units=unit or None, color=self.theme.plot_foreground
        )
        self._fit_heights()
