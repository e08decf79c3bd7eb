"""The tables and texts of sockets that both sides need: the TCP state names `ss` prints,
the `addr:port` form of an endpoint, and `DiagSocket`, the one socket record, which names its
state and endpoints with them.

Pure (it imports nothing but its NamedTuple), so the judging side (model/, diagnose/, render/) can
read them without loading any netlink I/O, and the shipped collector core can use the very
same table.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:  # the same class built by collections.namedtuple: typing costs a check 5-10 ms
    from ._compat import NamedTuple

AF_INET = 2
AF_INET6 = 10

# TCP states (include/net/tcp_states.h) with the names `ss` prints. A UDP socket is CLOSE
# (ss: UNCONN) unless connected (ESTAB). NEW_SYN_RECV is a request socket, shown as SYN-RECV.
TCP_STATES: dict[int, str] = {
    1: "ESTAB",
    2: "SYN-SENT",
    3: "SYN-RECV",
    4: "FIN-WAIT-1",
    5: "FIN-WAIT-2",
    6: "TIME-WAIT",
    7: "UNCONN",
    8: "CLOSE-WAIT",
    9: "LAST-ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "SYN-RECV",
}
STATE_NUMBERS: dict[str, int] = {name: n for n, name in TCP_STATES.items() if n != 12}
# The states the server-side rules and the lab name, read from the one table above.
TCP_ESTABLISHED = STATE_NUMBERS["ESTAB"]
TCP_TIME_WAIT = STATE_NUMBERS["TIME-WAIT"]
TCP_CLOSE_WAIT = STATE_NUMBERS["CLOSE-WAIT"]
TCP_LISTEN = STATE_NUMBERS["LISTEN"]


def endpoint_text(
    family: int,
    address: str,
    port: int,
    *,
    v6only: bool | None = None,
    peer: bool = False,
    ifname: str | None = None,
) -> str:
    """addr[%ifname]:port the way `ss -n` prints it.

    Like ss, an IPv6 wildcard of a socket that also accepts IPv4 (v6only off, or not
    reported) prints as `*`; a peer port of 0 prints as `*`.
    """
    port_text = "*" if peer and port == 0 else str(port)
    if family == AF_INET6:
        host = "*" if address == "::" and not v6only else f"[{address}]"
    else:
        host = address
    return f"{host}%{ifname}:{port_text}" if ifname else f"{host}:{port_text}"


class DiagSocket(NamedTuple):
    """One TCP or UDP socket as sock_diag reports it: the dump's wire record and the model's
    evidence (`model.server.Socket` is this class), so a socket is declared once.

    For a listener `rqueue` is the accept queue (connections waiting for accept()) and
    `wqueue` the backlog it may reach; otherwise they are the bytes not yet read / not yet
    acknowledged (ss's Recv-Q / Send-Q). `inode` is 0 for a TIME-WAIT or request socket,
    which no process owns. `v6only` is known for IPv6 listening and unconnected sockets only.
    `state_name`, `local` and `remote` name it the way ss does.

    A NamedTuple rather than a frozen dataclass, on purpose: a busy host has 100k sockets
    and a dataclass's __init__ (one object.__setattr__ per field) was a third of the time of
    `netdx sockets`. It is just as immutable and typed, and `model.codec` rebuilds it by its
    fields. It lives here, beside the tables, because both sides need it: `netlink.diag`
    builds it from the wire, the model (which must not load netlink I/O) holds it.
    """

    proto: str
    family: int
    state: int
    src: str
    sport: int
    dst: str
    dport: int
    ifindex: int = 0
    rqueue: int = 0
    wqueue: int = 0
    uid: int = 0
    inode: int = 0
    v6only: bool | None = None

    @property
    def state_name(self) -> str:
        """The state as ss prints it (ESTAB, LISTEN, CLOSE-WAIT, TIME-WAIT, UNCONN...)."""
        return TCP_STATES.get(self.state) or f"STATE-{self.state}"

    @property
    def local(self) -> str:
        """addr:port as ss prints it: IPv6 in brackets, `*` for a dual-stack wildcard."""
        return endpoint_text(self.family, self.src, self.sport, v6only=self.v6only)

    @property
    def remote(self) -> str:
        """The peer as ss prints it (`0.0.0.0:*`, `[::]:*` or `*:*` for none)."""
        return endpoint_text(self.family, self.dst, self.dport, v6only=self.v6only, peer=True)
