"""`netdx dns NAME [TYPE ...] [@SERVER]`: the click command (mounted by `netdx.cli`).

Only click and the stdlib are imported here; the work loads when it runs.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import click

from netdx.host.option import netns_option
from netdx.options import timeout_option

KNOWN_TYPES = frozenset(
    {"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "PTR", "SRV", "CAA", "DS", "DNSKEY",
     "HTTPS", "SVCB", "NAPTR", "TLSA", "SSHFP", "ANY"}
)


# dig's +options netdx speaks: +short, +trace, +tcp/+notcp, +norecurse/+recurse.
DIG_OPTIONS = ("+short", "+trace", "+tcp", "+notcp", "+norecurse", "+recurse")


@dataclass(frozen=True, slots=True, kw_only=True)
class DigWords:
    """The positional words of `netdx dns`, read the way dig reads them. `servers` are
    IP addresses or host names (resolved later, through the system resolver); `plus` holds
    the dig +options given, last one winning for each pair (+tcp/+notcp)."""

    name: str
    types: tuple[str, ...]
    servers: tuple[str, ...] = ()
    short: bool = False
    trace: bool = False
    tcp: bool | None = None
    recurse: bool | None = None


def parse_words(args: tuple[str, ...], reverse: str | None) -> DigWords:
    """NAME, TYPEs, @SERVERs and +options in any order (like dig); a usage error else."""
    name: str | None = None
    types: list[str] = []
    servers: list[str] = []
    flags: dict[str, bool] = {}
    for word in args:
        if word.startswith("@"):
            server = _server(word[1:])
            if server not in servers:
                servers.append(server)
        elif word.startswith("+"):
            flag = word.lower()
            if flag not in DIG_OPTIONS:
                raise click.UsageError(f"unknown dig option {word!r} (netdx knows "
                                       f"{', '.join(DIG_OPTIONS)})")
            key = flag[1:].removeprefix("no")
            flags[key] = not flag.startswith("+no")
        elif word.upper() in KNOWN_TYPES and name is not None:
            types.append(word.upper())
        elif name is None:
            name = word
        else:
            raise click.UsageError(f"unexpected argument {word!r} (a record type?)")
    if reverse is not None:
        if name is not None:
            raise click.UsageError("give either NAME or -x ADDR, not both")
        # The PTR name has no zone (fe80::1%lo): reverse_pointer of a scoped address fails.
        bare = _address(reverse, "-x").partition("%")[0]
        name = ipaddress.ip_address(bare).reverse_pointer + "."
        types = types or ["PTR"]
    if name is None:
        raise click.UsageError("missing NAME (or -x ADDR)")
    return DigWords(name=_check_name(name), types=tuple(types or ["A"]),
                    servers=tuple(servers), short=flags.get("short", False),
                    trace=flags.get("trace", False), tcp=flags.get("tcp"),
                    recurse=flags.get("recurse"))


def _split_args(
    args: tuple[str, ...], reverse: str | None
) -> tuple[str, tuple[str, ...], str | None]:
    """NAME, TYPEs and the first @SERVER (the form before several servers were allowed)."""
    words = parse_words(args, reverse)
    return words.name, words.types, words.servers[0] if words.servers else None


def _server(text: str) -> str:
    """An @SERVER word: an IP address as it is, or a host name (checked, not resolved)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text or text.startswith(("-", ".")) or "/" in text or ":" in text:
        raise click.UsageError(f"@SERVER must be an IP address or a host name, not {text!r}")
    try:
        return _check_name(text)
    except click.UsageError:
        raise click.UsageError(
            f"@SERVER must be an IP address or a host name, not {text!r}") from None


def _check_name(name: str) -> str:
    """`name` in its ASCII (IDNA) form; a usage error unless it fits on the wire."""
    from netdx.dns.message import ascii_name

    try:
        return ascii_name(name)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _address(text: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise click.UsageError(f"{what} must be an IP address, not {text!r}") from None


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
    words = parse_words(args, reverse)
    short = short or words.short
    if short and as_json:
        raise click.UsageError("+short and --json cannot be combined")
    if short and compare:
        raise click.UsageError("+short and --compare cannot be combined")
    if compare and len(words.servers) > 1:
        raise click.UsageError("--compare asks every configured resolver: give no @SERVER")
    from netdx.dns.command import DnsRequest, run_sync
    from netdx.dns.render import short_lines, to_json, to_text

    request = DnsRequest(name=words.name, types=words.types, servers=words.servers, port=port,
                         trace=trace or words.trace, compare=compare, root_hints=root_hints,
                         tcp=tcp if words.tcp is None else words.tcp,
                         recurse=not norecurse if words.recurse is None else words.recurse,
                         timeout=timeout, server_timeout=server_timeout)
    report = run_sync(request)
    if short:
        answers, problems = short_lines(report)
        for line in answers:
            click.echo(line)
        for line in problems:
            click.echo(f"netdx: note: {line}", err=True)
    else:
        click.echo(to_json(report) if as_json else to_text(report), nl=as_json)
    return 0 if report.ok else 1
