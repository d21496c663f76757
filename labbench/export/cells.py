"""Text and numbers as CSV cells that no reader can misread (docs/architecture.md §6).

A text cell is written in a form that survives both a spreadsheet and a comment-aware reader:

* no cell ever holds ``#``, CR or LF: they are written ``%23``, ``%0D`` and ``%0A``, and a
  ``%`` that is followed by two hex digits is written ``%25`` (so ``50 %`` or ``%RH`` stay as
  they are).  Every row is one line, and readers that treat ``#`` as the start of a comment
  anywhere in a line (pandas' python engine, R, awk) never cut a row;
  ``urllib.parse.unquote`` gives the text back exactly;
* text that a spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab,
  CR), and text that already starts with ``'``, gets one leading ``'``.

:func:`cell_text` undoes both steps: ``cell_text(safe_text(x)) == x`` for every string.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A leading quote is escaped too, so that removing one leading quote always gives the text back.
_QUOTED_STARTS = FORMULA_STARTS + ("'",)
_PERCENT_BEFORE_HEX = re.compile(r"%(?=[0-9A-Fa-f]{2})")


def _escape_percent(text: str) -> str:
    return _PERCENT_BEFORE_HEX.sub("%25", text)


def safe_text(value: object) -> str:
    """Text for a CSV cell: one line, no ``#``, nothing a spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    if "#" in text or "%" in text or "\n" in text or "\r" in text:
        # '%' before hex digits first, so that the escapes added next stay unambiguous.
        text = _escape_percent(text).replace("#", "%23").replace("\r", "%0D").replace("\n", "%0A")
    return "'" + text if text.startswith(_QUOTED_STARTS) else text


def preamble_text(value: object) -> str:
    """A report preamble value: as :func:`safe_text`, and ``"`` written ``%22``.

    pandas' python engine splits comment lines into fields before it drops them, so a quote
    after a comma there would open a field that never closes."""
    return safe_text(value).replace('"', "%22")


def cell_text(cell: str) -> str:
    """The original text of a cell or preamble value (:func:`safe_text`, :func:`preamble_text`)."""
    if cell.startswith("'"):
        cell = cell[1:]
    return unquote(cell) if "%" in cell else cell


def number(value: float | None) -> str:
    """Full precision (``repr``); '' for none, 'nan' / 'inf' / '-inf' as such."""
    if value is None:
        return ""
    return repr(float(value))
