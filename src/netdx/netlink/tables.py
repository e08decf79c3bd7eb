"""The tables and texts of sockets that both sides need: the TCP state names `ss` prints,
the `addr:port` form of an endpoint, and `SocketText`, which names a socket record's state
and endpoints with them.

Pure (it imports nothing), so the judging side (model/, diagnose/, render/) can
read them without loading any netlink I/O, and the shipped collector core can use the very
same table.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol
else:  # typing's costs a check 5-10 ms; nothing is checked against it at run time
    Protocol = object

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


class _SocketFields(Protocol):
    """The fields of a sock_diag socket record that `SocketText` reads (read-only
    properties, so a NamedTuple and a frozen dataclass both qualify)."""

    @property
    def family(self) -> int: ...
    @property
    def state(self) -> int: ...
    @property
    def src(self) -> str: ...
    @property
    def sport(self) -> int: ...
    @property
    def dst(self) -> str: ...
    @property
    def dport(self) -> int: ...
    @property
    def v6only(self) -> bool | None: ...


class SocketText:
    """How `ss` names a socket: its state and its two endpoints. A mixin of the two socket
    records, netlink's `DiagSocket` (the dump's wire record) and the model's `Socket` (the
    evidence), so both print a socket the same way."""

    __slots__ = ()  # the records are slotted (DiagSocket a tuple): add no __dict__

    @property
    def state_name(self: _SocketFields) -> str:
        """The state as ss prints it (ESTAB, LISTEN, CLOSE-WAIT, TIME-WAIT, UNCONN...)."""
        return TCP_STATES.get(self.state) or f"STATE-{self.state}"

    @property
    def local(self: _SocketFields) -> str:
        """addr:port as ss prints it: IPv6 in brackets, `*` for a dual-stack wildcard."""
        return endpoint_text(self.family, self.src, self.sport, v6only=self.v6only)

    @property
    def remote(self: _SocketFields) -> str:
        """The peer as ss prints it (`0.0.0.0:*`, `[::]:*` or `*:*` for none)."""
        return endpoint_text(self.family, self.dst, self.dport, v6only=self.v6only, peer=True)
