"""`netdx dns NAME [TYPE ...] [@SERVER]`: the click command (mounted by `netdx.cli`).

Only click and the stdlib are imported here; the work loads when it runs. The words are
read by `netdx.dns.words` and the body is `netdx.dns.run.dns_command`, which `netdx.start`
also runs without click for a plain command line.
"""

from __future__ import annotations

from pathlib import Path

import click

from netdx.dns.words import DIG_OPTIONS, KNOWN_TYPES, DigWords, parse_words
from netdx.errors import UsageError
from netdx.host.option import netns_option
from netdx.options import timeout_option

__all__ = ["DIG_OPTIONS", "KNOWN_TYPES", "DigWords", "dns", "parse_words"]


def _split_args(
    args: tuple[str, ...], reverse: str | None
) -> tuple[str, tuple[str, ...], str | None]:
    """NAME, TYPEs and the first @SERVER (the form before several servers were allowed);
    a click usage error for bad words."""
    try:
        words = parse_words(args, reverse)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    return words.name, words.types, words.servers[0] if words.servers else None

_EXAMPLES = """\b
Examples:
  netdx dns example.com MX +short          the answers only, one per line (dig +short)
  netdx dns example.com @10.0.0.53 @1.1.1.1  each server's answer side by side
  netdx dns -x 10.0.0.5 --json             the PTR record, as JSON (netdx.dns/1)
"""


@click.command("dns", epilog=_EXAMPLES)
@click.argument("args", nargs=-1, metavar="NAME [TYPE ...] [@SERVER ...] [+OPTION ...]")
@click.option("-x", "reverse", metavar="ADDR", help="Reverse lookup: the PTR of ADDR.")
@click.option("--trace", is_flag=True, help="Walk the delegation from the root servers (+trace).")
@click.option("--compare", is_flag=True,
              help="Compare /etc/hosts, getaddrinfo, each resolver and the authoritative answer.")
@click.option("--root-hints", type=click.Path(dir_okay=False, path_type=Path),
              help="Root hints file for --trace (default: the system's).")
@click.option("--tcp", is_flag=True, help="Query over TCP only (+tcp).")
@click.option("--norecurse", is_flag=True, help="Clear the RD flag in direct queries (+norecurse).")
@click.option("--short", is_flag=True, help="The answers only, one per line (+short).")
@click.option("-p", "--port", type=click.IntRange(1, 65535), default=53, show_default=True)
@timeout_option(5.0, "One time budget in seconds for the whole command.")
@click.option("--server-timeout", type=click.FloatRange(0.05, 30), default=1.0,
              show_default=True, help="How long --trace waits for one server.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema netdx.dns/1).")
@netns_option()
def dns(*, args: tuple[str, ...], reverse: str | None, trace: bool, compare: bool,
        root_hints: Path | None, tcp: bool, norecurse: bool, short: bool, port: int,
        timeout: float, server_timeout: float, as_json: bool) -> int:
    """Ask DNS precisely: every section, TTL and flag; --trace walks from the root.

    dig's habits work: +short, +trace, +tcp, +norecurse, -x, and @SERVER as an address or a
    host name (resolved through the system resolver); several @SERVERs are asked side by
    side, with a table of their answers.

    Exit status: 0 answered, 1 a problem was found (NXDOMAIN, SERVFAIL, no answer, a lame
    or broken delegation, a stale cache), 2 bad usage.
    """
    from netdx.dns.run import dns_command, dns_words

    try:  # bad words: click's usage error, before any work
        dns_words(args, reverse, short=short, as_json=as_json, compare=compare)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    return dns_command(args=args, reverse=reverse, trace=trace, compare=compare,
                       root_hints=root_hints, tcp=tcp, norecurse=norecurse, short=short,
                       port=port, timeout=timeout, server_timeout=server_timeout,
                       as_json=as_json)
