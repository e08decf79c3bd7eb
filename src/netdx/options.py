"""Command-line options every command shares, defined once."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import click

from netdx.timeout import TIMEOUT_MAX_S, TIMEOUT_MIN_S, timeout_ok

F = TypeVar("F", bound=Callable[..., object])

__all__ = ["TIMEOUT_MAX_S", "TIMEOUT_MIN_S", "timeout_option", "write_output"]


def _budget(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    # click's FloatRange lets nan through (every comparison with it is false) and float()
    # takes inf and 1e309: see timeout_ok.
    if not timeout_ok(value):
        raise click.BadParameter(
            f"must be between {TIMEOUT_MIN_S:g} and {TIMEOUT_MAX_S:g} seconds"
        )
    return value


def write_output(path: str, text: str) -> None:
    """Write a command's output file (`--json-file`, `snapshot -o`); `-` is standard
    output. A path that cannot be written (empty, a directory, no such folder, a full disk,
    a name too long, a FIFO nobody reads) is a usage error naming the path and the reason,
    never an internal error or a hang."""
    if path == "-":
        click.echo(text)
        return
    try:
        # O_NONBLOCK: opening a FIFO with no reader fails (ENXIO) instead of waiting forever;
        # one with a reader (`-o >(gzip > x)`) is written normally once blocking again.
        fd = os.open(path or ".", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK, 0o666)
        os.set_blocking(fd, True)
        with open(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    except OSError as exc:
        raise click.UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def timeout_option(default: float, help_text: str) -> Callable[[F], F]:
    """`--timeout S`: the one time budget of a command, validated the same way everywhere."""
    return click.option(
        "--timeout",
        type=float,
        default=default,
        show_default=True,
        callback=_budget,
        help=help_text,
    )
