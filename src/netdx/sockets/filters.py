"""ss's filter words for `netdx sockets`: state names and groups, `src`/`dst` address specs,
and the owner pid, turned into values the listing is filtered with.

Pure (stdlib only): parsing errors are `ValueError` with a one-line message that the CLI
turns into a usage error (exit 2).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from netdx.model.record import record
from netdx.netlink.tables import STATE_NUMBERS

# typing costs the listing's start a few ms: annotations name its types only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.sockets.model import SocketEntry, SocketListing

# ss(8)'s state names → the names netdx (and ss's table) prints. `closed` is UDP's UNCONN.
SS_STATES: dict[str, str] = {
    "established": "ESTAB",
    "syn-sent": "SYN-SENT",
    "syn-recv": "SYN-RECV",
    "fin-wait-1": "FIN-WAIT-1",
    "fin-wait-2": "FIN-WAIT-2",
    "time-wait": "TIME-WAIT",
    "closed": "UNCONN",
    "close-wait": "CLOSE-WAIT",
    "last-ack": "LAST-ACK",
    "listening": "LISTEN",
    "listen": "LISTEN",
    "closing": "CLOSING",
}
_ALL = tuple(sorted(STATE_NUMBERS))
# ss's groups: `connected` is every state but listening and closed; `synchronized` is
# connected without syn-sent; `bucket` the minisockets (syn-recv, time-wait).
SS_GROUPS: dict[str, tuple[str, ...]] = {
    "all": _ALL,
    "connected": tuple(s for s in _ALL if s not in ("LISTEN", "UNCONN")),
    "synchronized": tuple(s for s in _ALL if s not in ("LISTEN", "UNCONN", "SYN-SENT")),
    "bucket": ("SYN-RECV", "TIME-WAIT"),
}
# Every word `--state` and `state NAME` accept (for the help and shell completion).
STATE_WORDS: tuple[str, ...] = tuple(dict.fromkeys(
    w.lower() for w in (*SS_STATES, *SS_GROUPS, *_ALL)))


def state_names(words: Iterable[str]) -> tuple[str, ...]:
    """ss or netdx state words (case-insensitive) → netdx state names, groups expanded,
    each once, in the order given. `all` alone means no state filter: ()."""
    out: list[str] = []
    for word in words:
        low = word.lower()
        if low in SS_GROUPS:
            names: tuple[str, ...] = SS_GROUPS[low]
        elif low in SS_STATES:
            names = (SS_STATES[low],)
        elif word.upper() in STATE_NUMBERS:
            names = (word.upper(),)
        else:
            raise ValueError(f"unknown state {word!r} (try established, listening, "
                             "close-wait, time-wait, connected, synchronized, all)")
        out += [n for n in names if n not in out]
    return () if set(out) == set(_ALL) else tuple(out)


@record
class EndpointFilter:
    """`ADDR`, `ADDR/LEN`, `:PORT`, `ADDR:PORT` or `[V6ADDR]:PORT`: an address or network
    (None: any) and a port (None: any)."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None

    def matches(self, address: str, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.network is None:
            return True
        try:
            ip = ipaddress.ip_address(address.partition("%")[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # a dual-stack socket's ::ffff:10.0.0.1 is 10.0.0.1
        return ip.version == self.network.version and ip in self.network


def parse_endpoint(spec: str) -> EndpointFilter:
    """An `--src`/`--dst` spec → EndpointFilter; ValueError with a one-line reason."""
    text = spec.strip()
    bad = ValueError(f"{spec!r}: expected ADDR, ADDR/LEN, :PORT, ADDR:PORT or [V6ADDR]:PORT")
    if not text:
        raise bad
    network = _network(text)
    if network is not None:
        return EndpointFilter(network=network)
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise bad
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise bad  # a bare IPv6 address with a port is ambiguous: ss wants [V6]:PORT too
    if not host or host == "*":
        return EndpointFilter(port=int(port_text))
    network = _network(host)
    if network is None:
        raise bad
    return EndpointFilter(network=network, port=int(port_text))


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


@record
class ListingFilter:
    """What the dump cannot filter in the kernel: addresses and owning pids."""

    src: tuple[EndpointFilter, ...] = ()
    dst: tuple[EndpointFilter, ...] = ()
    pids: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.src or self.dst or self.pids)

    def keeps(self, sock: SocketEntry, listing: SocketListing) -> bool:
        """Each kind given must match (any of its specs): ss's `src A or src B` per kind."""
        if self.src and not any(f.matches(sock.src, sock.sport) for f in self.src):
            return False
        if self.dst and not any(f.matches(sock.dst, sock.dport) for f in self.dst):
            return False
        if self.pids:
            owners = listing.owners.owners_of(sock.inode) if listing.owners else ()
            return any(process.pid in self.pids for process, _ in owners)
        return True


def apply(listing: SocketListing, chosen: ListingFilter) -> SocketListing:
    """The listing with only the sockets `chosen` keeps (the same listing when empty)."""
    from dataclasses import replace

    if chosen.empty:
        return listing
    return replace(listing, sockets=tuple(s for s in listing.sockets if chosen.keeps(s, listing)))


@record
class Words:
    """ss's positional filter words: `state NAME`, `src SPEC`, `dst SPEC` (repeatable)."""

    states: tuple[str, ...] = ()
    src: tuple[str, ...] = ()
    dst: tuple[str, ...] = ()


def parse_words(words: Iterable[str]) -> Words:
    """`state established src 10.0.0.0/8 dst :443` → Words; ValueError otherwise."""
    found: dict[str, list[str]] = {"state": [], "src": [], "dst": []}
    items = list(words)
    i = 0
    while i < len(items):
        key = items[i].lower()
        if key not in found:
            if items[i].lower() in SS_STATES or items[i].lower() in SS_GROUPS:
                found["state"].append(items[i])  # ss also takes a bare group word
                i += 1
                continue
            raise ValueError(f"unexpected word {items[i]!r} (ss filters: state NAME, "
                             "src ADDR[:PORT], dst ADDR[:PORT])")
        if i + 1 >= len(items):
            raise ValueError(f"{items[i]!r} needs a value")
        found[key].append(items[i + 1])
        i += 2
    return Words(states=tuple(found["state"]), src=tuple(found["src"]), dst=tuple(found["dst"]))
