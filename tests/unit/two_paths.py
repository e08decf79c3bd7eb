"""For the tests that hold a click-free fast path (`netdx check`, `netdx dns`) to click's
own command: one argv through either entry, with what differs from run to run taken out."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest


def run_steady(
    main: Callable[[Sequence[str]], int], argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of `main(argv)`, each `steady`."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, steady(out), steady(err)


def steady(text: str) -> str:
    """`text` without what differs from run to run: numbers (times, RTTs) and therefore the
    places where a line wraps."""
    return " ".join(re.sub(r"\d+(\.\d+)?", "N", text).split())
