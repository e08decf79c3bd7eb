"""`--netns NAME` for every command: one click option that moves the process into the
namespace while the command line is parsed, before the command starts any thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

# Where the entered namespace is remembered, for commands that must refuse it in some cases.
META_KEY = "netdx.netns"


def _enter(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from netdx.host.netns import enter_netns

    enter_netns(value)
    ctx.meta[META_KEY] = value


def netns_option(help_text: str = "Run inside this network namespace (as ip netns exec).") -> (
    Callable[[F], F]
):
    """The `--netns NAME` option. Eager, so it is entered before the other parameters are
    read (a path in /etc/netns/NAME is seen as `ip netns exec` would see it); the command
    gets no parameter for it: everything it does simply happens inside the namespace."""
    return click.option(
        "--netns",
        metavar="NAME",
        is_eager=True,
        expose_value=False,
        callback=_enter,
        help=help_text,
    )


def entered_netns() -> str | None:
    """The namespace `--netns` entered for the current command, if any."""
    ctx = click.get_current_context(silent=True)
    return None if ctx is None else ctx.meta.get(META_KEY)
