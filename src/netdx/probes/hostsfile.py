"""Parse /etc/hosts the way glibc's nss_files does, and look a name up in it.

Pure: no I/O. The rules copied from glibc 2.36 (nss/nss_files/files-hosts.c):

- `#` starts a comment anywhere on a line; fields are split on ASCII whitespace.
- The first field is the address, parsed like inet_pton: no `127.1`, no leading zeros, no
  `%scope` on IPv6. A line with a bad address is skipped whole.
- Then the canonical name and the aliases; names compare case-insensitively (strcasecmp),
  without removing a trailing dot.
- Every matching line counts, in file order (getaddrinfo collects all of them; it then sorts
  the addresses by RFC 6724, which is why `NssResult.addresses` can be in another order).
- An IPv4-only lookup (getaddrinfo with AF_INET) maps `::1` to 127.0.0.1 and
  `::ffff:a.b.c.d` to a.b.c.d and skips other IPv6 lines; an IPv6-only lookup skips IPv4
  lines (no AI_V4MAPPED: Python apps call getaddrinfo with flags 0).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import string

from netdx.model.evidence import Family
from netdx.model.record import record

# isspace() in the C locale; str.split() would also split on \x1c-\x1f and Unicode spaces.
_FIELD_SEP = re.compile(r"[ \t\n\v\f\r]+")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@record
class HostsEntry:
    """One usable line of a hosts file: the address, then the canonical name and aliases."""

    line: int  # 1-based line number in the file
    address: str  # canonical text form
    family: Family
    names: tuple[str, ...]


def parse(text: str) -> tuple[HostsEntry, ...]:
    """Every line of a hosts file that glibc would use, in file order."""
    entries: list[HostsEntry] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        entry = _parse_line(number, raw)
        if entry is not None:
            entries.append(entry)
    return tuple(entries)


def lookup(text: str, name: str, *, family: Family | None = None) -> tuple[str, ...]:
    """The addresses a hosts file gives `name`, in file order, without duplicates.

    `family` limits the answer the way getaddrinfo's AF_INET / AF_INET6 does (see the
    module docstring for the IPv6-in-IPv4 mapping glibc applies).
    """
    wanted = _fold(name)
    found: list[str] = []
    for entry in parse(text):
        if not any(_fold(n) == wanted for n in entry.names):
            continue
        address = _for_family(entry, family)
        if address is not None and address not in found:
            found.append(address)
    return tuple(found)


def _parse_line(number: int, raw: str) -> HostsEntry | None:
    fields = [f for f in _FIELD_SEP.split(raw.split("#", 1)[0]) if f]
    if len(fields) < 2:
        return None
    parsed = _parse_address(fields[0])
    if parsed is None:
        return None
    return HostsEntry(
        line=number,
        address=canonical_address(parsed),
        family=4 if parsed.version == 4 else 6,
        names=tuple(fields[1:]),
    )


def canonical_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The text glibc's inet_ntop gives (getaddrinfo's form): `::ffff:10.0.0.1`, not
    Python 3.11's `::ffff:a00:1`."""
    if address.version == 4:
        return str(address)
    return socket.inet_ntop(socket.AF_INET6, address.packed)


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # inet_pton has no zone ids; Python's ipaddress accepts "fe80::1%eth0".
    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _fold(name: str) -> str:
    # strcasecmp folds ASCII letters only, whatever else the name holds.
    return name.translate(_ASCII_LOWER)


def _for_family(entry: HostsEntry, family: Family | None) -> str | None:
    if family is None or entry.family == family:
        return entry.address
    if family == 6:
        return None
    v6 = ipaddress.IPv6Address(entry.address)
    if v6.ipv4_mapped is not None:
        return str(v6.ipv4_mapped)
    if v6.is_loopback:
        return "127.0.0.1"
    return None
