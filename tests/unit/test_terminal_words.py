"""The plain renderer's word splitter and wrap, written without `re`, break and trim lines
exactly as the regexes they replace (rich._wrap's re_word, and `\\s+$`)."""

from __future__ import annotations

import random
import re

from netdx.render.terminal import _words, _wrap

ALPHABET = "ab -.:✔→  \t\u00a0x"


def _texts() -> list[str]:
    rng = random.Random(14)
    out = ["", " ", "   ", "a", " a", "a ", " a  b ", "word", "x" * 150, "a " * 60,
           "  lead and trail  ", "• no TCP listener on port 1 accepts connections (sock_diag)"]
    out += ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 120)))
            for _ in range(3000)]
    return out


def test_words_are_the_regex_matches() -> None:
    """Each (start, word) is a match of `\\s*\\S+\\s*`, in order, none missed."""
    for text in _texts():
        expected = [(m.start(), m.group(0)) for m in re.finditer(r"\s*\S+\s*", text)]
        assert list(_words(text)) == expected, repr(text)


def _wrap_by_regex(text: str, width: int) -> list[str]:
    from itertools import pairwise

    from netdx.render import terminal

    bounds = [0, *terminal._divide(text, width), len(text)]
    lines = []
    for start, end in pairwise(bounds):
        line = text[start:end]
        if len(line) > width:
            space = re.search(r"\s+$", line)
            if space is not None:
                line = line[: len(line) - min(len(space.group(0)), len(line) - width)]
        lines.append(line[:width])
    return lines


def test_wrap_trims_as_the_regex_did() -> None:
    """At widths 20, 37 and 80 the lines are those the regex version made (a line that
    fits is returned whole)."""
    for text in _texts():
        for width in (20, 37, 80):
            assert _wrap(text, width) == _wrap_by_regex(text, width), (text, width)
