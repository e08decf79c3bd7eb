"""Where the terminal report goes: to rich (a terminal), or laid out plainly (a pipe, a file).

rich decides colour and width from the stream and the environment; when it would print no
colour at all, netdx passes it `color=False` and the width rich would pick, so the report can
be laid out without importing rich (netdx.render.terminal), with the same text.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO


def plain_width(stream: IO[str]) -> int | None:
    """The width rich would use for `stream` if it prints no escapes to it, else None.

    Mirrors rich.console.Console: TTY_COMPATIBLE=1, a non-empty FORCE_COLOR or a terminal
    turn escapes on; the width is COLUMNS, else the first of stdin/stdout/stderr that is a
    terminal, else 80.
    """
    env = os.environ
    if env.get("TTY_COMPATIBLE") == "1" or env.get("FORCE_COLOR"):
        return None
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty is None or isatty():
            return None
    except ValueError:
        return None
    columns = env.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)
    for fd in (0, 1, 2):
        try:
            width = os.get_terminal_size(fd).columns
        except (AttributeError, ValueError, OSError):
            continue
        return width or 80
    return 80
