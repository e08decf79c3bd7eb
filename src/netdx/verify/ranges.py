"""Ansible's host ranges: `web[01:20]`, `db-[a:c]`, `node[0:10:2]`, several in one name.

Ansible expands the first `[start:end(:step)]` of a name and then the rest of it again, so
`r[1:2]-[a:b]` gives four names. Numbers keep the width of `start` when it has a leading
zero (`[01:20]` gives `01`..`20`, and then `end` must be as wide); letters are single ASCII
letters. A range that runs backwards or mixes numbers and letters is an error.
"""

from __future__ import annotations

import re
import string

_RANGE = re.compile(r"\[([^\[\]:]*):([^\[\]:]*)(?::([^\[\]:]*))?\]")
_DIGITS = re.compile(r"[0-9]+")
MAX_HOSTS = 100_000  # a typo such as web[1:9999999] is refused, not expanded into memory


class RangeError(ValueError):
    """A range that cannot be expanded; the message says why."""


def has_range(pattern: str) -> bool:
    """Whether `pattern` holds a `[start:end]` range."""
    return _RANGE.search(pattern) is not None


def expand(pattern: str) -> tuple[str, ...]:
    """Every host name `pattern` stands for, in order; the name itself when it has no range."""
    out = _expand(pattern)
    return tuple(out)


def _expand(pattern: str) -> list[str]:
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    start, end, step_text = match.group(1), match.group(2), match.group(3)
    items = _items(start, end, step_text, match.group(0))
    rest = _expand(tail)
    if len(items) * len(rest) > MAX_HOSTS:
        raise RangeError(f"{pattern}: more than {MAX_HOSTS} hosts")
    return [f"{head}{item}{more}" for item in items for more in rest]


def _items(start: str, end: str, step_text: str | None, shown: str) -> list[str]:
    step = 1
    if step_text:
        if not _DIGITS.fullmatch(step_text) or int(step_text) == 0:
            raise RangeError(f"{shown}: the step must be a positive number")
        step = int(step_text)
    start = start or "0"  # Ansible reads `[:5]` as `[0:5]`
    if not end:
        raise RangeError(f"{shown}: the range has no end")
    if _DIGITS.fullmatch(start) and _DIGITS.fullmatch(end):
        width = len(start) if start.startswith("0") and len(start) > 1 else 0
        if width and len(end) != width:
            raise RangeError(f"{shown}: a zero-padded range needs a start and an end as wide")
        first, last = int(start), int(end)
        if last < first:
            raise RangeError(f"{shown}: the range runs backwards")
        if (last - first) // step + 1 > MAX_HOSTS:
            raise RangeError(f"{shown}: more than {MAX_HOSTS} hosts")
        return [str(n).zfill(width) for n in range(first, last + 1, step)]
    letters = string.ascii_letters
    if len(start) == 1 and len(end) == 1 and start in letters and end in letters:
        first, last = letters.index(start), letters.index(end)
        if last < first:
            raise RangeError(f"{shown}: the range runs backwards")
        return list(letters[first : last + 1 : step])
    raise RangeError(f"{shown}: a range is two numbers or two single letters")
