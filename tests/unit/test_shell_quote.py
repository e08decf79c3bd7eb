"""netdx.diagnose.shell's quote and join are shlex's, character for character."""

from __future__ import annotations

import shlex

from netdx.diagnose.shell import join, quote

SAMPLES = ["", "a", "ss -tlnp 'sport = :1'", "sport = :5432", "[::1]:80", "a'b", "''",
           "x\ny", "naïve", "日本", "a_b-c.d/e:f,g@h%i+j=k", "$(reboot)", "a b", "\t", "é",
           "https://example.com/a?b=c&d=e#f", "0", "-", "~root", "*", "!", "\\"]


def test_quote_is_shlex_quote() -> None:
    """Every character of the first 0x3000 code points alone and inside a word, and the
    samples: the same text as shlex.quote."""
    words = [*SAMPLES, *(chr(c) for c in range(0x3000)), *(f"a{chr(c)}b" for c in range(0x300))]
    assert [quote(w) for w in words] == [shlex.quote(w) for w in words]


def test_join_is_shlex_join() -> None:
    """The samples as one line: the same text as shlex.join."""
    assert join(SAMPLES) == shlex.join(SAMPLES)
    assert join([]) == shlex.join([]) == ""
