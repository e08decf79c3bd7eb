"""`netdx dns NAME [TYPE ...] [@SERVER]`: the click command (mounted by `netdx.cli`).

Only click and the stdlib are imported here; the work loads when it runs.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from netdx.host.option import netns_option
from netdx.options import timeout_option

KNOWN_TYPES = frozenset(
    {"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "PTR", "SRV", "CAA", "DS", "DNSKEY",
     "HTTPS", "SVCB", "NAPTR", "TLSA", "SSHFP", "ANY"}
)


def _split_args(
    args: tuple[str, ...], reverse: str | None
) -> tuple[str, tuple[str, ...], str | None]:
    """NAME, TYPEs and @SERVER from the positional words, in any order (like dig)."""
    name: str | None = None
    types: list[str] = []
    server: str | None = None
    for word in args:
        if word.startswith("@"):
            server = _address(word[1:], "@SERVER")
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
    return _check_name(name), tuple(types or ["A"]), server


def _check_name(name: str) -> str:
    """`name` in its ASCII (IDNA) form; a usage error unless it fits on the wire."""
    bad = click.UsageError(f"not a DNS name: {name!r}")
    if name == ".":
        return name
    try:
        wire = name.rstrip(".").encode("idna")
    except UnicodeError:
        raise bad from None
    labels = wire.split(b".")
    if len(wire) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        raise bad
    if any(c.isspace() for c in name):
        raise bad
    return wire.decode("ascii") + ("." if name.endswith(".") else "")


def _address(text: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise click.UsageError(f"{what} must be an IP address, not {text!r}") from None


@click.command("dns")
@click.argument("args", nargs=-1, metavar="NAME [TYPE ...] [@SERVER]")
@click.option("-x", "reverse", metavar="ADDR", help="Reverse lookup: the PTR of ADDR.")
@click.option("--trace", is_flag=True, help="Walk the delegation from the root servers.")
@click.option("--compare", is_flag=True,
              help="Compare /etc/hosts, getaddrinfo, each resolver and the authoritative answer.")
@click.option("--root-hints", type=click.Path(dir_okay=False, path_type=Path),
              help="Root hints file for --trace (default: the system's).")
@click.option("--tcp", is_flag=True, help="Query over TCP only.")
@click.option("--norecurse", is_flag=True, help="Clear the RD flag in direct queries.")
@click.option("-p", "--port", type=click.IntRange(1, 65535), default=53, show_default=True)
@timeout_option(5.0, "One time budget in seconds for the whole command.")
@click.option("--server-timeout", type=click.FloatRange(0.05, 30), default=1.0,
              show_default=True, help="How long --trace waits for one server.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema netdx.dns/1).")
@netns_option()
def dns(*, args: tuple[str, ...], reverse: str | None, trace: bool, compare: bool,
        root_hints: Path | None, tcp: bool, norecurse: bool, port: int, timeout: float,
        server_timeout: float, as_json: bool) -> int:
    """Ask DNS precisely: every section, TTL and flag; --trace walks from the root.

    Exit status: 0 answered, 1 a problem was found (NXDOMAIN, SERVFAIL, no answer, a lame
    or broken delegation, a stale cache), 2 bad usage.
    """
    name, types, server = _split_args(args, reverse)
    from netdx.dns.command import DnsRequest, run_sync
    from netdx.dns.render import to_json, to_text

    request = DnsRequest(name=name, types=types, server=server, port=port, trace=trace,
                         compare=compare, root_hints=root_hints, tcp=tcp, recurse=not norecurse,
                         timeout=timeout, server_timeout=server_timeout)
    report = run_sync(request)
    click.echo(to_json(report) if as_json else to_text(report), nl=as_json)
    return 0 if report.ok else 1
