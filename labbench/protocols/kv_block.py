"""The key=value fast path: a whole read's lines of one shape parsed in a few C-level passes.

A rig streams one key=value shape at a time, so a read's lines usually all have the keys of
the line before them, in the same order.  :func:`parse_block` proves that for a whole block
and turns its values into one float64 array per key, without a Python object per line or per
value; when it cannot prove it (any damage, another shape, a number spelling float() and the
C parser might disagree on) it returns None and the caller parses line by line, which stays
the reference (``tests/protocols/test_parser.py`` checks that both agree).
"""

from __future__ import annotations

import re

import numpy as np

# Key=value separators (``,`` ``;`` space tab) as spaces; lines keep their ``\n``.
_SEPARATORS_TO_SPACE = bytes.maketrans(b",;\t", b"   ")
_ALL_TO_SPACE = bytes.maketrans(b",;\t\n", b"    ")
_DECIMAL_CHARS = b"0123456789.+-"
_DECIMALS_AND_COMMAS = _DECIMAL_CHARS + b","
_SEPARATORS_TO_COMMA = bytes.maketrans(b";\t \n", b",,,,")
_NOT_DECIMALS_OR_EQUALS = bytes(c for c in range(256) if c not in b"0123456789.+-,;\t \n=")
# Lines the column path would misread: a separator ending a line (the reference sees an empty
# pair there), or whitespace that splits a value where the reference does not.
_COLUMN_DOUBTS = re.compile(rb"[,;][ \t]*\n|[\x0b\x0c\r]")
_GAPS_TO_SPACE = bytes.maketrans(b",;\t\r\n=", b"      ")
# Everything but what can separate the parts of a line (and whitespace float() would skip).
_NOT_GAPS = bytes(c for c in range(256) if c not in b",;\t =\n\x0b\x0c\r")
# Decimals read as integers: at most 15 digits (exact in float64, and below 2**53) with their
# sign and point, and at most 22 after the point (10**22 is the largest exact power of ten).
_MAX_DECIMAL_CHARS = 15
_POWERS_OF_TEN = 10.0 ** np.arange(_MAX_DECIMAL_CHARS + 1)
_COMMA, _POINT, _MINUS, _PLUS, _EQUALS = (ord(c) for c in ",.-+=")
# Values are handed to numpy joined by commas: a separator that is not whitespace, so
# every value must be one whole number ("1-2" is not two).
_PLAIN_CHARS = b"0123456789.-+eE,"


class KvShape:
    """The keys of a key=value line in order, and the byte patterns the fast path looks for."""

    __slots__ = ("first", "gaps", "keys", "names", "without_values")

    def __init__(self, keys: list[bytes]):
        self.keys = keys
        self.names = [key.decode("ascii") for key in keys]
        self.first = keys[0] + b"="
        # What is left of a line of this shape without its keys, values and line end.
        self.gaps = b"=" + b" =" * (len(keys) - 1)
        # A line of this shape without its line end and the characters of its plain values
        # (digits, sign, point), when no key has any of them.
        self.without_values = (
            b" ".join(key + b"=" for key in keys)
            if all(key.translate(None, _DECIMAL_CHARS) == key for key in keys)
            else None
        )


def parse_block(shape: KvShape, data: bytes, n: int, *, crlf: bool = False) -> np.ndarray | None:
    """The values of the ``n`` lines in ``data`` (each ending in ``\\n``, or in ``\\r\\n`` with
    ``crlf``) as a C-contiguous array of one row per key, or None unless every line is
    exactly ``shape`` with a plain finite number in every field."""
    k = len(shape.keys)
    if not data.startswith(shape.first):
        return None
    end = b"\r\n" if crlf else b"\n"
    if shape.without_values is not None:
        marked = _plain_decimals(shape, data, n, end)
        if marked is not None:
            values = _decimals(marked, n * k, after_equals=True)
            if values is None and marked.startswith(b"=") and marked.count(b",=") == n * k - 1:
                values = _numbers(marked.translate(None, b"="), n * k)
            if values is not None:
                return np.ascontiguousarray(values.reshape(n, k).T)
    if data.count(b"=") != n * k:
        return None
    numbers = _one_separator(shape, data, n, end)
    if numbers is not None:
        values = None
        if not numbers.translate(None, _DECIMALS_AND_COMMAS):  # slot keys' digits land here
            values = _decimals(numbers + b",", n * k)
        if values is None:
            values = _numbers(numbers, n * k)
        return None if values is None else np.ascontiguousarray(values.reshape(n, k).T)
    numbers = None if crlf else _columns(shape, data, n)
    if numbers is None:
        return None
    values = _numbers(numbers, n * k)
    return None if values is None else values.reshape(k, n)


def _plain_decimals(shape: KvShape, data: bytes, n: int, end: bytes) -> bytes | None:
    """Each ``=`` and the digits, signs and points after it, followed by a comma, line by
    line (``=V,=V,...``), when no key has any of those characters and, without them, each
    line reads exactly the keys in order, each with its ``=``, one separator between them;
    None when the block is not that.

    The values are then what follows each ``=``, provided every comma is followed by ``=``
    (nothing of those characters sat between a separator and a key): the caller checks."""
    if data.translate(_SEPARATORS_TO_SPACE, _DECIMAL_CHARS) != (shape.without_values + end) * n:
        return None
    return data.translate(_SEPARATORS_TO_COMMA, _NOT_DECIMALS_OR_EQUALS)


def _one_separator(shape: KvShape, data: bytes, n: int, end: bytes) -> bytes | None:
    """The values line by line, comma-separated, when every key is followed by ``=`` and
    every value by exactly one separator (or the line end); None when the block is not that.

    Its gaps (separators, ``=``, line ends, other whitespace) read exactly
    ``key=value key=value ... key=value`` on every line, so splitting at them gives keys and
    values in turn, none empty; the keys must then be this shape's, in order."""
    skeleton = data.translate(_SEPARATORS_TO_SPACE, _NOT_GAPS)
    if skeleton != (shape.gaps + end) * n:
        return None
    tokens = data.translate(_GAPS_TO_SPACE).split()
    if len(tokens) != 2 * n * len(shape.keys) or tokens[0::2] != shape.keys * n:
        return None
    return b",".join(tokens[1::2])


def _columns(shape: KvShape, data: bytes, n: int) -> bytes | None:
    """The values key by key (column after column), for lines whose keys are separated by
    runs of separators; None when the block is not that.

    Proof of shape: every line starts with the first key, the block splits into exactly
    keys x lines tokens, and column j's tokens all start with "key_j=" (keys are distinct and
    '='-free, so a token starts with at most one of them: first-key tokens sit only in
    column 0, hence every line has exactly k tokens).
    """
    keys = shape.keys
    k = len(keys)
    if data.count(b"\n" + shape.first) != n - 1 or _COLUMN_DOUBTS.search(data):
        return None
    tokens = data.translate(_ALL_TO_SPACE).split()
    if len(tokens) != n * k:
        return None
    columns = []
    for j, key in enumerate(keys):
        prefix = b"\n" + key + b"="
        column = b"\n" + b"\n".join(tokens[j::k])
        if column.count(prefix) != n:
            return None
        columns.append(column.replace(prefix, b",")[1:])
    return b",".join(columns)


def _numbers(numbers: bytes, count: int) -> np.ndarray | None:
    """``count`` comma-separated numbers, or None unless each is a plain finite decimal.

    Anything beyond plain decimals, nan and inf (hex, "nan(..)", "1_0", whitespace) is a
    spelling float() and the C parser may disagree on, and inf may be a literal beyond
    float64's range: the line-by-line reference decides those."""
    if numbers.translate(None, _PLAIN_CHARS) and not _plain_specials(numbers):
        return None
    # float() on each, holding the interpreter lock: numpy's text parser (fromstring with a
    # separator) lets go of it while it parses, and on a busy GUI getting it back took 29 ms
    # a call (a 16-chip sled's read of 28 lines, measured in benchmarks/sled.py --profile).
    try:
        parts = numbers.split(b",")
        if parts[-1] == b"":  # one separator after the last number is fine, as it was
            parts.pop()
        values = np.array([float(x) for x in parts], dtype=np.float64)
    except ValueError:  # not all numbers (an empty one, say)
        return None
    if values.size != count or not np.isfinite(values).all():
        return None
    return values


def _decimals(numbers: bytes, count: int, *, after_equals: bool = False) -> np.ndarray | None:
    """``count`` plain decimals of at most 15 digits, each followed by a comma (and, with
    ``after_equals``, preceded by ``=``), as float64; None unless they are exactly that.

    Read as integers without their points and divided by ten to the number of digits after
    the point: both are exact in float64, so the quotient is the correctly rounded value of
    the decimal, as float() gives it, at a fraction of the cost of parsing floats."""
    if len(numbers) > (_MAX_DECIMAL_CHARS + 1 + after_equals) * count:
        return None
    text = np.frombuffer(numbers, np.uint8)
    ends = np.flatnonzero(text == _COMMA)
    if ends.size != count:
        return None
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    if after_equals:
        if not (text[starts] == _EQUALS).all():
            return None
        starts += 1
    lengths = ends - starts
    if lengths.max() > _MAX_DECIMAL_CHARS:
        return None
    # Each value: an optional sign first, digits, at most one point, at least one digit.
    signs = (text == _MINUS) | (text == _PLUS)
    signed = signs[starts]
    if np.count_nonzero(signs) != np.count_nonzero(signed):
        return None  # a sign inside a value
    points = np.flatnonzero(text == _POINT)
    owners = np.searchsorted(ends, points)
    if points.size > 1 and not (owners[1:] > owners[:-1]).all():
        return None  # two points in one value
    digits = lengths - signed
    digits[owners] -= 1
    if digits.min() < 1:
        return None
    try:
        integers = np.fromstring(numbers.translate(None, b"=."), dtype=np.int64, sep=",")
    except ValueError:
        return None
    if integers.size != count:
        return None
    places = np.zeros(count, np.intp)
    places[owners] = ends[owners] - points - 1
    values = integers / _POWERS_OF_TEN[places]
    zeros = integers == 0
    if zeros.any():  # "-0" and "-0.0" are -0.0, as float() has them
        values[zeros & (text[starts] == _MINUS)] = -0.0
    return values


def _plain_specials(numbers: bytes) -> bool:
    """True if every value in ``numbers`` that is not plain is nan, inf or infinity."""
    return all(
        token.lstrip(b"+-").lower() in (b"nan", b"inf", b"infinity")
        for token in numbers.split(b",")
        if token.translate(None, _PLAIN_CHARS)
    )
