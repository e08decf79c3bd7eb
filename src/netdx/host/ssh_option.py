"""`--ssh DEST` and its companions, one decorator for every command that can read a server.

    @click.command()
    @ssh_options
    def sockets(..., ssh: SshOptions | None) -> None: ...

The command gets one parameter, `ssh`: None without --ssh, else the validated options. A
bad value is one line and exit 2 (click's usage error, or netdx's UsageError).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from netdx.host.ssh import SshOptions

F = TypeVar("F", bound=Callable[..., Any])

_FILE = click.Path(exists=True, dir_okay=False, readable=True)

_OPTIONS = (
    click.option(
        "--ssh",
        "ssh_destination",
        metavar="[USER@]HOST",
        help="Also read the server over SSH (the system ssh client, with your ~/.ssh/config, "
        "agent and known_hosts; never a password prompt). The server needs sshd and python3.",
    ),
    click.option(
        "--ssh-key",
        type=_FILE,
        metavar="FILE",
        help="Private key for --ssh (ssh -i FILE).",
    ),
    click.option(
        "--known-hosts",
        type=_FILE,
        metavar="FILE",
        help="known_hosts file for --ssh (ssh -o UserKnownHostsFile=FILE). Host key "
        "checking stays as your ssh configuration sets it.",
    ),
    click.option(
        "--ssh-option",
        "ssh_option",
        multiple=True,
        metavar="K=V",
        help="Extra ssh -o option for --ssh (repeatable). Options that run local commands "
        "(ProxyCommand, LocalCommand...) or change BatchMode are refused.",
    ),
    click.option(
        "--sudo",
        is_flag=True,
        default=False,
        help="Run the collector on the server with `sudo -n` (passwordless sudo only).",
    ),
)


def build(
    destination: str | None,
    key: str | None,
    known_hosts: str | None,
    options: tuple[str, ...],
    sudo: bool,
) -> SshOptions | None:
    """The `SshOptions` of the parsed values (None without --ssh); UsageError if bad."""
    from netdx.errors import UsageError

    if destination is None:
        given = [
            flag
            for flag, value in (
                ("--ssh-key", key),
                ("--known-hosts", known_hosts),
                ("--ssh-option", options),
                ("--sudo", sudo),
            )
            if value
        ]
        if given:
            raise UsageError(f"{given[0]} needs --ssh [USER@]HOST")
        return None
    # Only with --ssh: netdx.host.ssh brings asyncio and the remote model (~100 ms).
    from netdx.host.ssh import SshOptions, parse_option, refused_by_ssh

    built = SshOptions(
        destination=destination,
        key=key,
        known_hosts=known_hosts,
        options=tuple(parse_option(text) for text in options),
        sudo=sudo,
    )
    why = refused_by_ssh(built.options)
    if why is not None:
        raise UsageError(why)
    return built


def ssh_options(func: F) -> F:
    """Add --ssh, --ssh-key, --known-hosts, --ssh-option, --sudo to a click command and
    hand it `ssh: SshOptions | None` instead."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        ssh_destination: str | None,
        ssh_key: str | None,
        known_hosts: str | None,
        ssh_option: tuple[str, ...],
        sudo: bool,
        **kwargs: Any,
    ) -> Any:
        kwargs["ssh"] = build(ssh_destination, ssh_key, known_hosts, ssh_option, sudo)
        return func(*args, **kwargs)

    decorated: Callable[..., Any] = wrapper
    for option in reversed(_OPTIONS):
        decorated = option(decorated)
    return cast(F, decorated)
