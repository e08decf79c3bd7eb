"""Ansible host ranges: examples from Ansible's documentation and properties of the
expansion, checked with hypothesis."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netdx.verify.ranges import RangeError, expand


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("web[01:03]", ("web01", "web02", "web03")),
        ("web[1:3]", ("web1", "web2", "web3")),
        ("db-[a:c]", ("db-a", "db-b", "db-c")),
        ("n[0:6:3]", ("n0", "n3", "n6")),
        ("r[1:2]-[a:b].lan", ("r1-a.lan", "r1-b.lan", "r2-a.lan", "r2-b.lan")),
        ("plain", ("plain",)),
    ],
)
def test_examples(pattern: str, expected: tuple[str, ...]) -> None:
    """The documented forms expand as Ansible expands them."""
    assert expand(pattern) == expected


@pytest.mark.parametrize(
    "pattern", ["h[3:1]", "h[01:100]", "h[a:3]", "h[1:]", "h[1:5:0]", "h[aa:b]"]
)
def test_bad_ranges(pattern: str) -> None:
    """Backwards, unevenly padded, mixed, open-ended, zero-step ranges are refused."""
    with pytest.raises(RangeError):
        expand(pattern)


@given(
    start=st.integers(0, 500),
    length=st.integers(0, 50),
    step=st.integers(1, 7),
    width=st.integers(1, 4),
)
def test_numeric_range_properties(start: int, length: int, step: int, width: int) -> None:
    """Numeric ranges give every step-th number in order, zero-padded to the start's width
    when it is padded, each exactly once."""
    end = start + length
    padded = width > 1 and len(str(end)) <= width
    first = str(start).zfill(width) if padded else str(start)
    last = str(end).zfill(width) if padded else str(end)
    got = expand(f"h[{first}:{last}:{step}]")
    numbers = list(range(start, end + 1, step))
    assert [int(name[1:]) for name in got] == numbers
    assert len(set(got)) == len(got)
    if padded and first.startswith("0"):
        assert all(len(name) == 1 + width for name in got)


@given(
    a=st.sampled_from(string.ascii_letters),
    b=st.sampled_from(string.ascii_letters),
    prefix=st.text(alphabet=string.ascii_lowercase + "-", max_size=5),
)
def test_letter_range_properties(a: str, b: str, prefix: str) -> None:
    """Letter ranges follow string.ascii_letters order; a backwards one is an error."""
    letters = string.ascii_letters
    if letters.index(b) < letters.index(a):
        with pytest.raises(RangeError):
            expand(f"{prefix}[{a}:{b}]")
        return
    got = expand(f"{prefix}[{a}:{b}]")
    assert got == tuple(prefix + c for c in letters[letters.index(a) : letters.index(b) + 1])


@given(x=st.integers(1, 6), y=st.integers(1, 6))
def test_two_ranges_multiply(x: int, y: int) -> None:
    """Two ranges in one name give the product, the first range varying slowest."""
    got = expand(f"h[1:{x}]-[1:{y}]")
    assert got == tuple(f"h{i}-{j}" for i in range(1, x + 1) for j in range(1, y + 1))
