"""The key=value fast path reads plain decimals exactly as float() does, or not at all."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labbench.protocols.kv_block import _decimals

# Anything made of the characters of a plain decimal, well formed or not.
decimal_text = st.one_of(
    st.text(alphabet="0123456789.+-", min_size=0, max_size=18),
    st.builds(
        lambda sign, whole, point, frac: sign + whole + point + frac,
        st.sampled_from(["", "-", "+"]),
        st.text(alphabet="0123456789", max_size=9),
        st.sampled_from(["", "."]),
        st.text(alphabet="0123456789", max_size=9),
    ),
)


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@settings(max_examples=500, deadline=None)
@given(texts=st.lists(decimal_text, min_size=1, max_size=20))
def test_decimals_are_float_exactly_or_refused(texts):
    got = _decimals("".join(t + "," for t in texts).encode(), len(texts))
    after_equals = _decimals(
        "".join("=" + t + "," for t in texts).encode(), len(texts), after_equals=True
    )
    assert (got is None) == (after_equals is None)
    assert got is None or np.array_equal(got.view(np.int64), after_equals.view(np.int64))
    expected = [_float_or_none(t) for t in texts]
    if got is None:
        # Refused: something float() refuses, or longer than 15 characters.
        assert None in expected or max(map(len, texts)) > 15
        return
    assert None not in expected
    assert np.array_equal(got.view(np.int64), np.array(expected).view(np.int64))  # -0.0 too


def test_short_plain_decimals_are_taken():
    texts = ["0.752592", "-12", "+3.5", "-0", "-0.0", ".5", "5.", "007.250", "123456789012345"]
    got = _decimals("".join(t + "," for t in texts).encode(), len(texts))
    assert got is not None
    assert got.tolist() == [float(t) for t in texts]
    assert np.signbit(got[3]) and np.signbit(got[4])
