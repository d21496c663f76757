"""Text from rigs made safe for every database labbench stores into.

PostgreSQL refuses NUL characters in text, and UTF-8 cannot carry lone surrogates (which
``surrogateescape`` decoding produces for stray bytes).  Both are replaced by a visible
escape (``\\x00``, ``\\udc80``) so the text still says what the rig sent, and counted.
"""

from __future__ import annotations

import re

from labbench.storage import models as m

CHANNEL_NAME_MAX = m.Channel.__table__.c.name.type.length
UNIT_MAX = m.Channel.__table__.c.unit.type.length

_REFUSED = re.compile("[\x00\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    char = match.group()
    return "\\x00" if char == "\x00" else f"\\u{ord(char):04x}"


def safe_text(text: str) -> tuple[str, int]:
    """The text with characters a database refuses escaped, and how many there were."""
    if not _REFUSED.search(text):
        return text, 0
    return _REFUSED.subn(_escape, text)
