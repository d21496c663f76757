"""Line framing: cut a byte stream into lines, whatever way reads split it.

CR, LF and CRLF all end a line; a CRLF split across two reads is still one line end.
Lines longer than ``max_line_bytes`` are cut at the cap (the rest of that line is
discarded and counted), so 10 MB without a newline costs ``max_line_bytes`` of memory.
A cut line is marked (``FramedBlock.capped_at``): its head is no telemetry, since the
number it ends in may have lost digits.
Empty lines carry nothing and are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_LINE_BYTES = 4096


@dataclass
class FramedBlock:
    """The complete lines that one read finished."""

    received_ns: int
    # The finished lines, each followed by b"\n" (b"" when none): fast parsers work on the
    # whole block at once; ``lines()`` splits it.
    data: bytes
    count: int
    # Lines of this block that hit the length cap (their head is in ``data``).
    capped: int = 0
    # Their positions among the block's lines.
    capped_at: tuple[int, ...] = ()
    # Unsettled: the lines as they came, CRLF-ended if the parser can prove it
    # (``LineFramer.feed(crlf_as_sent=True)``); ``count`` is then their number of LFs.
    crlf: bool = False

    def lines(self) -> list[bytes]:
        return self.data.split(b"\n")[:-1] if self.count else []


class LineFramer:
    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES):
        if max_line_bytes < 16:
            raise ValueError("max_line_bytes must be at least 16")
        self.max_line_bytes = max_line_bytes
        self._partial = b""
        self._after_cr = False  # the last byte seen was CR: a leading LF is its partner
        self._discarding = False  # inside an overlong line, dropping bytes until its end
        self.capped_lines = 0
        self.discarded_bytes = 0

    def feed(self, chunk: bytes, received_ns: int, *, crlf_as_sent: bool = False) -> FramedBlock:
        """The lines this read finished.

        With ``crlf_as_sent``, a read whose line ends may all be CRLF can come back unsettled
        (``FramedBlock.crlf``): its lines as they came, not yet checked for lone CRs and empty
        lines; a parser that proves every line ends in CRLF and holds something uses it as it
        is, and otherwise hands it to :meth:`settle`."""
        if self._after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        if not chunk:
            return FramedBlock(received_ns, b"", 0)
        self._after_cr = chunk[-1:] == b"\r"
        as_sent = False
        last_nl = chunk.rfind(b"\n")
        if b"\r" in chunk:
            # As sent only if no CR could end a line after the last LF (that line is finished)
            as_sent = (
                crlf_as_sent
                and last_nl >= 0
                and not self._discarding
                and b"\r" not in chunk[last_nl + 1 :]
            )
            if not as_sent:
                chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
                last_nl = chunk.rfind(b"\n")
        if last_nl < 0:
            self._append_partial(chunk)
            return FramedBlock(received_ns, b"", 0)
        complete, tail = chunk[: last_nl + 1], chunk[last_nl + 1 :]
        if self._partial and not self._discarding:
            # The line the previous read left unfinished, whole again: one block.
            complete = self._partial + complete
            self._partial = b""
        if as_sent and self._all_within_cap(complete):
            block = FramedBlock(received_ns, complete, complete.count(b"\n"), crlf=True)
        else:
            if as_sent:
                complete = complete.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            block = self._block(complete, received_ns, self._discarding)
        self._append_partial(tail)
        return block

    def settle(self, block: FramedBlock) -> FramedBlock:
        """An unsettled block (``crlf``) as :meth:`feed` would have framed it."""
        if not block.crlf:
            return block
        data = block.data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return self._block(data, block.received_ns, False)

    def _block(self, complete: bytes, received_ns: int, ends_discarded: bool) -> FramedBlock:
        """The block of ``complete``: finished lines, LF-ended, the first one ending the
        overlong line whose head is in ``_partial`` when ``ends_discarded``."""
        capped_at: list[int] = []
        if (
            not ends_discarded
            and complete[:1] != b"\n"
            and b"\n\n" not in complete
            and self._all_within_cap(complete)
        ):  # the common case at high rates: hand the block on untouched
            data, count = complete, complete.count(b"\n")
        else:
            raw_lines = complete.split(b"\n")
            raw_lines.pop()
            cut: set[int] = set()
            if ends_discarded:
                self.discarded_bytes += len(raw_lines[0])
                raw_lines[0] = self._partial
                self._partial = b""
                self._discarding = False
                cut.add(0)
            if max(map(len, raw_lines)) > self.max_line_bytes:
                for i, line in enumerate(raw_lines):
                    if len(line) > self.max_line_bytes:
                        self.discarded_bytes += len(line) - self.max_line_bytes
                        raw_lines[i] = line[: self.max_line_bytes]
                        cut.add(i)
            if b"" in raw_lines:  # empty lines carry nothing
                kept = [i for i, line in enumerate(raw_lines) if line]
                lines = [raw_lines[i] for i in kept]
                capped_at = [position for position, i in enumerate(kept) if i in cut]
            else:
                lines = raw_lines
                capped_at = sorted(cut)
            data = b"\n".join(lines) + b"\n" if lines else b""
            count = len(lines)
        self.capped_lines += len(capped_at)
        return FramedBlock(received_ns, data, count, len(capped_at), tuple(capped_at))

    def _all_within_cap(self, complete: bytes) -> bool:
        """True if no line of ``complete`` is longer than the cap; False may also mean "not
        sure" (the caller then measures every line).

        Lines are at most ``2h - 1`` long when every aligned stretch of ``h`` bytes holds a
        line end (a longer run of other bytes would cover a whole stretch), so with
        ``2h - 1 <= cap`` a few searches, not a split, settle it for a long block."""
        cap = self.max_line_bytes
        size = len(complete)
        if size <= cap:
            return True
        h = (cap + 1) // 2
        find = complete.find
        for start in range(0, size - h + 1, h):
            if find(b"\n", start, start + h) < 0:
                return max(map(len, complete.split(b"\n"))) <= cap
        return True

    def _append_partial(self, data: bytes) -> None:
        if not data:
            return
        if self._discarding:
            self.discarded_bytes += len(data)
            return
        room = self.max_line_bytes - len(self._partial)
        if len(data) > room:
            self._partial += data[:room]
            self.discarded_bytes += len(data) - room
            self._discarding = True
        else:
            self._partial += data

    def flush(self) -> tuple[bytes, bool]:
        """The unfinished line (e.g. when the rig disconnects) and whether it was capped."""
        line, capped = self._partial, self._discarding
        self._partial = b""
        self._discarding = False
        self._after_cr = False
        if capped:
            self.capped_lines += 1
        return line, capped
