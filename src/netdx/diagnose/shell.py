"""`quote` and `join`: shlex's, for the fix lines the rules print (pasted into a shell).

shlex imports `re` for one character class; with it a check's start paid ~1.5 ms for the
fix line of a refused port. These are `shlex.quote` and `shlex.join` of Python 3.11 with that
class (`[^\\w@%+=:,./-]` under re.ASCII) as a set: tests/unit/test_shell_quote.py holds
them equal to shlex's.
"""

from __future__ import annotations

from collections.abc import Iterable

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def quote(s: str) -> str:
    """`s` as one shell word: as it is when every character is safe, else single-quoted."""
    if not s:
        return "''"
    if _SAFE.issuperset(s):
        return s
    # Single quotes end, an escaped single quote, and open again: 'a'"'"'b' is a'b.
    return "'" + s.replace("'", "'\"'\"'") + "'"


def join(split_command: Iterable[str]) -> str:
    """The words as one shell line, each quoted."""
    return " ".join(quote(arg) for arg in split_command)
