"""The words of `netdx dns` read the way dig reads them: NAME, TYPEs, @SERVERs and +options
in any order. Click-free (a bad word is netdx's UsageError), so that `netdx.start` can read
a plain `dns ...` command line without importing click; `netdx.dns.cli` gives click the same.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netdx.errors import UsageError

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
                raise UsageError(f"unknown dig option {word!r} (netdx knows "
                                       f"{', '.join(DIG_OPTIONS)})")
            key = flag[1:].removeprefix("no")
            flags[key] = not flag.startswith("+no")
        elif word.upper() in KNOWN_TYPES and name is not None:
            types.append(word.upper())
        elif name is None:
            name = word
        else:
            raise UsageError(f"unexpected argument {word!r} (a record type?)")
    if reverse is not None:
        if name is not None:
            raise UsageError("give either NAME or -x ADDR, not both")
        # The PTR name has no zone (fe80::1%lo): reverse_pointer of a scoped address fails.
        bare = _address(reverse, "-x").partition("%")[0]
        name = ipaddress.ip_address(bare).reverse_pointer + "."
        types = types or ["PTR"]
    if name is None:
        raise UsageError("missing NAME (or -x ADDR)")
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
        raise UsageError(f"@SERVER must be an IP address or a host name, not {text!r}")
    try:
        return _check_name(text)
    except UsageError:
        raise UsageError(
            f"@SERVER must be an IP address or a host name, not {text!r}") from None


def _check_name(name: str) -> str:
    """`name` in its ASCII (IDNA) form; a usage error unless it fits on the wire."""
    from netdx.dns.message import ascii_name

    try:
        return ascii_name(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _address(text: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise UsageError(f"{what} must be an IP address, not {text!r}") from None
