"""resolv.conf and the search list, read the way glibc's stub resolver reads them. Pure.

The one model for `netdx check` (which servers to ask, which names) and `netdx dns`
(the default server, `--compare`'s rows): glibc 2.36's res_init and res_nsearch. The lines
are read by `collect.resolv` (stdlib only, so that a server's collector reads them the same).
"""

from __future__ import annotations

from netdx.collect.resolv import (
    DEFAULT_SERVER,
    MAX_NDOTS,
    MAXNS,
    read_resolv,
    valid_server_address,
)
from netdx.model.record import record

__all__ = ["DEFAULT_SERVER", "DNS_PORT", "MAXNS", "MAX_NDOTS", "ResolvConf", "parse_resolv_conf",
           "parse_server", "search_candidates", "search_goes_on", "valid_server_address"]

DNS_PORT = 53


@record
class ResolvConf:
    """The parts of resolv.conf the stub resolver uses to pick names and servers."""

    nameservers: tuple[str, ...]
    search: tuple[str, ...] = ()
    ndots: int = 1
    edns0: bool = False  # `options edns0`: glibc then asks with EDNS0


def parse_resolv_conf(text: str, *, hostname: str = "") -> ResolvConf:
    """Read resolv.conf like glibc's res_init: the last `domain`/`search` line wins, at most
    three nameservers (lines that are not an IP address skipped), `options ndots:n` (capped
    at 15) and `options edns0`. Without a nameserver line glibc asks 127.0.0.1; without
    domain/search it searches the domain of `hostname`. A line starting with `#` or `;`
    matches no keyword."""
    servers, listed, ndots, edns0 = read_resolv(text)
    search = tuple(listed) if listed is not None else None
    if search is None:
        _, dot, domain = hostname.partition(".")
        search = (domain,) if dot and domain else ()
    return ResolvConf(
        nameservers=tuple(servers) or (DEFAULT_SERVER,),
        search=tuple(d.rstrip(".") for d in search if d.rstrip(".")),
        ndots=ndots,
        edns0=edns0,
    )


def search_candidates(name: str, *, search: tuple[str, ...], ndots: int) -> tuple[str, ...]:
    """The names the stub resolver asks for `name`, in order (glibc res_nsearch).

    A trailing dot means "absolute": only the name itself. Otherwise a name with at least
    `ndots` dots is tried as-is first, then with each search suffix; a shorter one tries
    the suffixes first and itself last. Returned without the final dot.
    """
    if name.endswith("."):
        return (name.rstrip("."),)
    expanded = tuple(f"{name}.{domain}" for domain in search)
    if name.count(".") >= ndots:
        return (name, *expanded)
    return (*expanded, name)


# After these answers the stub resolver goes on to the next name of the search list; any
# other (an address, a timeout, REFUSED, an error) ends the walk for that server.
SEARCH_GOES_ON = frozenset({"nxdomain", "nodata", "servfail"})


def search_goes_on(status: str) -> bool:
    """True when the stub resolver tries the next candidate name after an answer with
    `status` (glibc res_nsearch): a name that answered as is skips every expansion."""
    return status in SEARCH_GOES_ON


def parse_server(spec: str) -> tuple[str, int]:
    """`ADDR` or `ADDR#PORT` (dig's notation) → (address, port). ValueError when invalid."""
    address, _, port_text = spec.partition("#")
    if not valid_server_address(address):
        raise ValueError(f"not an IP address: {address!r}")
    port = int(port_text) if port_text else DNS_PORT
    if not 0 < port < 65536:
        raise ValueError(f"bad port: {port_text!r}")
    return address, port
