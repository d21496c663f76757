"""Light and dark themes: a Qt palette, plot colours, and verdict colours that stay legible.

Verdicts are never told by colour alone: every coloured cell or banner also says the word.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    text: str
    muted: str
    highlight: str
    plot_background: str
    plot_foreground: str
    curves: tuple[str, ...]
    limit_fill: str  # the pass band
    guard_fill: str  # the guard bands
    violation_fill: str
    verdict_bg: dict
    verdict_fg: dict
    marker: str = "#1d4ed8"  # commands sent, on the plots
    # One colour per sled slot (its curves on the plots and its mark on the sled map).
    slots: tuple[str, ...] = ()


_CURVES_LIGHT = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#ff7f0e",
)
_CURVES_DARK = (
    "#4fc3f7",
    "#ff8a80",
    "#b9f6ca",
    "#ce93d8",
    "#ffcc80",
    "#f48fb1",
    "#e0e0e0",
    "#e6ee9c",
    "#80deea",
    "#ffab40",
)

# 16 slot colours that stay apart on white (the first ten as the curves) ...
_SLOTS_LIGHT = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2",
    "#4d4d4d", "#6b8e23", "#000075", "#800000", "#469990", "#f032e6", "#9a6324", "#c0a000",
)  # fmt: skip
# ... and on the dark plot background.
_SLOTS_DARK = (
    "#4fc3f7", "#ff8a80", "#69f0ae", "#ffb74d", "#ce93d8", "#80deea", "#bcaaa4", "#f48fb1",
    "#e0e0e0", "#dce775", "#8c9eff", "#ff5252", "#4db6ac", "#ea80fc", "#ffd54f", "#82b1ff",
)  # fmt: skip

LIGHT = Theme(
    name="light",
    window="#f3f4f6",
    base="#ffffff",
    text="#111827",
    muted="#6b7280",
    highlight="#2563eb",
    plot_background="#ffffff",
    plot_foreground="#374151",
    curves=_CURVES_LIGHT,
    limit_fill="#16a34a22",
    guard_fill="#f59e0b33",
    violation_fill="#dc262640",
    verdict_bg={
        "passed": "#15803d",
        "marginal": "#b45309",
        "failed": "#b91c1c",
        "error": "#6d28d9",
        "aborted": "#374151",
        "interrupted": "#374151",
        "running": "#1d4ed8",
        "recorded": "#0e7490",
        "pending": "#e5e7eb",
    },
    verdict_fg={"pending": "#111827"},
    slots=_SLOTS_LIGHT,
)
DARK = Theme(
    name="dark",
    window="#1f2329",
    base="#15181d",
    text="#e5e7eb",
    muted="#9ca3af",
    highlight="#2563eb",
    plot_background="#15181d",
    plot_foreground="#d1d5db",
    curves=_CURVES_DARK,
    limit_fill="#22c55e26",
    guard_fill="#fbbf2433",
    violation_fill="#f8717150",
    # The same strong colours as the light theme: white text on them stays above 4.5:1.
    verdict_bg={
        "passed": "#15803d",
        "marginal": "#b45309",
        "failed": "#b91c1c",
        "error": "#6d28d9",
        "aborted": "#4b5563",
        "interrupted": "#4b5563",
        "running": "#1d4ed8",
        "recorded": "#0e7490",
        "pending": "#374151",
    },
    verdict_fg={},
    marker="#93c5fd",
    slots=_SLOTS_DARK,
)
THEMES = {"light": LIGHT, "dark": DARK}


def qcolor(spec: str) -> QColor:
    """A colour from ``#RRGGBB`` or ``#RRGGBBAA`` (CSS order, as the themes write them).

    ``QColor("#RRGGBBAA")`` would read the eight digits as ``#AARRGGBB``: a faint green
    pass band turns into a faint brown and a light amber guard band into opaque crimson.
    """
    text = spec.strip()
    if text.startswith("#") and len(text) == 9:
        color = QColor(text[:7])
        color.setAlpha(int(text[7:], 16))
        return color
    return QColor(text)


def with_alpha(spec: str, alpha: int) -> QColor:
    color = qcolor(spec)
    color.setAlpha(alpha)
    return color


def verdict_colors(theme: Theme, verdict: str) -> tuple[QColor, QColor]:
    """(background, foreground) for a verdict; white text on the strong colours."""
    bg = theme.verdict_bg.get(verdict, theme.verdict_bg["pending"])
    fg = theme.verdict_fg.get(
        verdict, "#ffffff" if verdict in theme.verdict_bg and verdict != "pending" else theme.text
    )
    return qcolor(bg), qcolor(fg)


def slot_color(theme: Theme, slot: int) -> str:
    """The colour of a sled slot's curves and of its mark on the sled map."""
    colors = theme.slots or theme.curves
    return colors[slot % len(colors)]


def apply_theme(app: QApplication, theme: Theme) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base,
        QPalette.ColorRole.AlternateBase: theme.window,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.window,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.ToolTipBase: theme.base,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.Highlight: theme.highlight,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: theme.muted,
        QPalette.ColorRole.Link: theme.highlight,
    }
    for role, color in roles.items():
        palette.setColor(role, qcolor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, qcolor(theme.muted))
    palette.setColor(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, qcolor(theme.muted)
    )
    app.setPalette(palette)
    pg.setConfigOptions(
        background=theme.plot_background, foreground=theme.plot_foreground, antialias=False
    )
