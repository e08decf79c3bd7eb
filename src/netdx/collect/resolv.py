"""resolv.conf read the way glibc 2.36's res_init reads it: the one reader, for netdx's own
model (`dns.resolvconf.parse_resolv_conf`) and for a server's collector (`collect.selfcheck`
picks which nameservers to ask there). Python 3.9 syntax, the standard library only.
"""

from __future__ import annotations

import ipaddress

MAXNS = 3  # glibc uses the first three valid nameserver lines only
MAX_NDOTS = 15  # glibc caps options ndots:n at 15
DEFAULT_SERVER = "127.0.0.1"  # glibc asks it when resolv.conf names no server

def valid_server_address(text: str) -> bool:
    """True for an IPv4 or IPv6 address (an IPv6 one may carry a `%zone`)."""
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def read_resolv(text: str) -> tuple[list[str], list[str] | None, int, bool]:
    """(nameservers, search list or None, ndots, edns0): what the stub resolver uses. At
    most three nameservers (lines that are not an IP address skipped), the last
    `domain`/`search` line, `options ndots:n` (capped at 15) and `options edns0`. A line
    starting with `#` or `;` matches no keyword."""
    servers: list[str] = []
    search: list[str] | None = None
    ndots = 1
    edns0 = False
    for line in text.split("\n"):
        keyword, _, rest = line.replace("\t", " ").partition(" ")
        values = rest.split()
        if keyword == "nameserver" and values and len(servers) < MAXNS:
            if valid_server_address(values[0]):
                servers.append(values[0])
        elif keyword == "domain" and values:
            search = [values[0]]
        elif keyword == "search" and values:
            search = list(values)
        elif keyword == "options":
            for option in values:
                count = option[6:]
                if option.startswith("ndots:") and count.isascii() and count.isdigit():
                    ndots = min(int(count), MAX_NDOTS)
            edns0 = edns0 or "edns0" in values
    return servers, search, ndots, edns0


def nameservers(text: str) -> list[str]:
    """The servers the stub resolver asks, in order (none listed: 127.0.0.1)."""
    return read_resolv(text)[0] or [DEFAULT_SERVER]
