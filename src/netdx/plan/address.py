"""The plan for one resolved address: route, then echo and connect, then the follow-ups.

    route ─┬─ host only: echo ─(no reply)─ neighbour ─(alive)─ liveness ports ─ neighbour
           └─ port: connect + echo (+ next-hop watch, + server read when local)
                 └─ once the connect ended and the echo settled, by outcome:
                    silent SYN to another host ─ egress, TCP trace, neighbour, output rules
                    silent SYN to this host    ─ input rules
                    local error / dead hop     ─ neighbour
                    connected to a URL         ─ HTTP
                    connected to a database URL ─ its protocol's first exchange
                    connected with --tls (not https) ─ the TLS handshake

Each step asks the desk for probes and names the method that takes their results; nothing
here waits or touches the network.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from netdx.model import (
    AddressEvidence,
    EgressCheck,
    FirewallMatch,
    HttpExchange,
    IcmpEcho,
    PathTrace,
    RouteLookup,
    Target,
    TcpConnect,
)
from netdx.model.evidence import AuthoritativeCheck, Family, UdpExchange
from netdx.model.record import replace
from netdx.model.server import ServerEvidence
from netdx.model.service import (
    SCHEME_PROTOCOLS,
    TLS_SCHEME_PROTOCOLS,
    ServiceHandshake,
    TlsExchange,
)
from netdx.model.vantage import Vantage
from netdx.plan import limits
from netdx.plan.desk import Desk
from netdx.plan.requests import (
    WHOLE,
    AskAuthoritative,
    Budget,
    Cancel,
    CheckEgress,
    Connect,
    Datagram,
    Echo,
    EvaluateFirewall,
    FetchHttp,
    FlowProbe,
    Handshake,
    HandshakeTls,
    Hint,
    LookupRoute,
    NeighbourRead,
    ReadNeighbour,
    ReadServer,
    Settle,
    Stop,
    TraceTcp,
)
from netdx.plan.settings import CheckSettings

ECHO_NOT_WAITED = "no echo reply yet; not waited for longer because TCP had answered"

# The steered connect: until the deadline, less the follow-ups' reserve.
CONNECT = Budget(reserve_s=limits.FOLLOW_UP_RESERVE_S)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing's costs a check 5-10 ms: these are for mypy alone
    from typing import Literal, Protocol, TypeVar

    from netdx.plan.desk import Handler
    from netdx.plan.requests import Result  # made on first use (requests says why)
    from netdx.plan.server import ServerPlan  # --ssh's, loaded for it alone (machine)

    F = TypeVar("F", bound=FlowProbe)
    F_co = TypeVar("F_co", bound=FlowProbe, covariant=True)
    # A result the plan files into the evidence as it is.
    R = TypeVar("R")

    class FlowKind(Protocol[F_co]):
        """Makes a probe of the flow to address:port: a request class (`CheckEgress`), or
        one with its other fields given (`partial(Handshake, protocol="redis")`)."""

        def __call__(self, *, id: int, budget: Budget, address: str, port: int) -> F_co: ...


def family_of(address: str) -> Family:
    return 6 if ":" in address else 4


def ask_authoritative(
    desk: Desk,
    settings: CheckSettings,
    name: str,
    rtype: Literal["A", "AAAA"],
    resolvers: tuple[str, ...],
    on: Handler,
) -> None:
    """Ask what the zone's authoritative servers say for `name` (found through
    `resolvers`), within the budget one such walk may take; `on` gets the check."""
    desk.ask(
        lambda i: AskAuthoritative(
            id=i,
            budget=Budget(cap_s=limits.AUTHORITATIVE_MAX_S, floor_s=limits.AUTHORITATIVE_MIN_S),
            name=name,
            rtype=rtype,
            root_hints=settings.root_hints,
            resolvers=resolvers,
        ),
        on,
    )


def _watchable(route: RouteLookup | None) -> bool:
    """Does the route name an on-link next hop whose neighbour entry can be read?"""
    return route is not None and route.status == "ok" and route.ifindex is not None


class AddressPlan:
    """What to probe for one address, step by step; `evidence()` is what was seen so far."""

    def __init__(
        self,
        address: str,
        target: Target,
        settings: CheckSettings,
        desk: Desk,
        vantage: Vantage,
        server: ServerPlan | None = None,
    ) -> None:
        self.address = address
        self._server = server
        self._target = target
        self._settings = settings
        self._desk = desk
        self._ev = AddressEvidence(address=address, family=family_of(address), observed_on=vantage)
        self._base_route: RouteLookup | None = None
        self._echo_id: int | None = None
        self._connect_id: int | None = None
        self._watch_id: int | None = None
        self._followed = False
        self._live: dict[int, TcpConnect] = {}
        self._live_left = len(limits.LIVENESS_PORTS)
        desk.ask(
            lambda i: LookupRoute(id=i, budget=Budget(cap_s=limits.ROUTE_MAX_S), address=address),
            self._on_route,
        )

    def evidence(self) -> AddressEvidence:
        return self._ev

    def _keep_route(self, route: RouteLookup | None) -> None:
        self._ev = replace(self._ev, route=route)

    # --- route --------------------------------------------------------------------------------

    def _on_route(self, result: Result) -> None:
        route = result if isinstance(result, RouteLookup) else None
        if self._server is not None:
            self._server.route_known(route)
        if route is None:
            return  # no route answer (cancelled): nothing else can be planned for it
        self._base_route = route
        self._ev = replace(self._ev, route=route)
        port = self._target.port
        if port is None:
            self._ask_echo(self._on_host_echo)
            return
        if self._server is None:
            self._port_phase(port, route)
        else:
            # --ssh: the SYN leaves once the server watches for it (or the arm wait ran out).
            self._server.when_armed(lambda: self._port_phase(port, route))

    def _port_phase(self, port: int, route: RouteLookup) -> None:
        if self._target.is_datagram:
            self._datagram_phase(port)
            return
        self._connect_phase(port)
        if route.status == "local":
            # The target is this host: read the server side too (listeners, owners, queues).
            on = self._keep(ServerEvidence, lambda ev, r: replace(ev, server=r))
            self._ask_flow(ReadServer, Budget(share=limits.SERVER_READ_SHARE), port, on)

    def _ask_flow(self, kind: FlowKind[F], budget: Budget, port: int, on: Handler) -> F:
        """Ask for a `kind` probe of the flow to this address and `port`: the one place
        that puts a flow probe's id, budget, address and port together."""
        return self._desk.ask(
            lambda i: kind(id=i, budget=budget, address=self.address, port=port), on
        )

    def _ask_echo(self, on: Callable[[Result], None], *, steered: bool = False) -> None:
        echo = self._desk.ask(
            lambda i: Echo(
                id=i,
                budget=Budget(cap_s=limits.ECHO_MAX_S),
                address=self.address,
                steered=steered,
            ),
            on,
        )
        self._echo_id = echo.id

    def _reread(self, then: Callable[[RouteLookup | None], None]) -> None:
        """Read the next hop's neighbour state again (after a failure it tells whether it ever
        answered ARP/ND); `then` gets the route with it."""
        base = self._base_route
        if base is None or not _watchable(base):
            then(base)
            return

        def on_read(result: Result) -> None:
            state = result.state if isinstance(result, NeighbourRead) else None
            then(replace(base, neighbour_state=state) if state else base)

        self._desk.ask(
            lambda i: ReadNeighbour(id=i, budget=Budget(cap_s=limits.NEIGHBOUR_READ_S), route=base),
            on_read,
        )

    # --- host only ----------------------------------------------------------------------------

    def _on_host_echo(self, result: Result) -> None:
        echo = result if isinstance(result, IcmpEcho) else self._echo_cut(result)
        self._ev = replace(self._ev, echo=echo)
        if echo.status != "reply":
            self._reread(self._after_host_reread)

    def _after_host_reread(self, route: RouteLookup | None) -> None:
        if route is not None and route.neighbour_state in limits.DEAD_NEIGHBOUR:
            # The next hop never answered ARP/ND: no TCP port can answer either.
            self._keep_route(route)
            return
        for port in limits.LIVENESS_PORTS:
            self._ask_live(port)

    def _ask_live(self, port: int) -> None:
        self._ask_flow(
            Connect,
            Budget(cap_s=limits.ECHO_MAX_S),
            port,
            lambda result: self._on_live(port, result),
        )

    def _on_live(self, port: int, result: Result) -> None:
        if isinstance(result, TcpConnect):
            self._live[port] = result
        self._live_left -= 1
        if self._live_left:
            return
        ordered = tuple(self._live[p] for p in limits.LIVENESS_PORTS if p in self._live)
        self._ev = replace(self._ev, liveness=ordered)
        self._reread(self._keep_route)

    # --- a port: connect, echo and the next-hop watch side by side -----------------------------

    def _connect_phase(self, port: int) -> None:
        # The SYN leaves first, as before: the echo and the watch only refine its wait.
        connect = self._ask_flow(partial(Connect, steered=True), CONNECT, port, self._on_connect)
        self._connect_id = connect.id
        self._ask_echo(self._on_echo, steered=True)
        route = self._base_route
        if route is not None and _watchable(route):
            watch = self._desk.ask(
                lambda i: ReadNeighbour(
                    id=i,
                    budget=Budget(
                        start_after_s=limits.NEIGHBOUR_PATIENCE_S,
                        cap_s=limits.NEIGHBOUR_WATCH_READ_S,
                    ),
                    route=route,
                ),
                self._on_watch,
            )
            self._watch_id = watch.id

    # --- a UDP port (udp://, dns://): the datagram and the echo side by side ------------------

    def _datagram_phase(self, port: int) -> None:
        """No SYN, no follow-ups: what the port sends back (or its silence) is the answer,
        and the echo tells a silent host from a silent port."""
        target = self._target
        datagram = partial(Datagram, query_name=target.query_name, query_type=target.query_type)
        self._ask_flow(datagram, Budget(cap_s=limits.DATAGRAM_MAX_S), port, self._on_datagram)
        self._ask_echo(self._on_echo)

    def _on_datagram(self, result: Result) -> None:
        if not isinstance(result, UdpExchange):
            return
        self._ev = replace(self._ev, udp=result)
        answer = result.dns
        if answer is not None and answer.status == "servfail":
            self._ask_delegation(answer.qname, answer.rtype, answer.server)

    def _ask_delegation(self, name: str, rtype: str, server: str) -> None:
        """A dns:// SERVFAIL: walk the delegation through that server and ask the zone's
        servers directly (which of them refuse, are silent, are not authoritative)."""
        if rtype not in ("A", "AAAA"):
            return
        kind: Literal["A", "AAAA"] = "AAAA" if rtype == "AAAA" else "A"
        ask_authoritative(self._desk, self._settings, name, kind, (server,), self._on_delegation)

    def _on_delegation(self, result: Result) -> None:
        udp = self._ev.udp
        if isinstance(result, AuthoritativeCheck) and udp is not None:
            udp = replace(udp, delegation=result.servers)
            self._ev = replace(self._ev, udp=udp)

    def _on_echo(self, result: Result) -> None:
        echo = result if isinstance(result, IcmpEcho) else self._echo_cut(result)
        self._ev = replace(self._ev, echo=echo)
        connecting = self._desk.waiting(self._connect_id)
        if connecting and self._connect_id is not None and echo.rtt_ms is not None:
            self._desk.tell(Hint(to=self._connect_id, rtt_ms=echo.rtt_ms))
        self._follow_up()

    def _on_watch(self, result: Result) -> None:
        dead = isinstance(result, NeighbourRead) and result.state in limits.DEAD_NEIGHBOUR
        if dead and self._connect_id is not None and self._desk.waiting(self._connect_id):
            self._desk.tell(Stop(to=self._connect_id))

    def _on_connect(self, result: Result) -> None:
        if not isinstance(result, TcpConnect):
            return  # cancelled: the command ran out of time, nothing follows
        self._ev = replace(self._ev, tcp=result)
        if self._watch_id is not None and self._desk.waiting(self._watch_id):
            self._desk.tell(Cancel(to=self._watch_id))
        echoing = self._echo_id is not None and self._desk.waiting(self._echo_id)
        if echoing and self._echo_id is not None and result.outcome != "timeout":
            # TCP already proved the host (or named the ICMP error): for a port target no rule
            # reads the echo any more, only the report quotes it. So it ends at its first
            # answer instead of sending its other echoes an interval apart (~0.1 s on a
            # refused loopback port), and one that has none yet gets only a short grace.
            self._desk.tell(Settle(to=self._echo_id))
            self._desk.tell(Cancel(to=self._echo_id, after_s=limits.ECHO_GRACE_S))
        self._follow_up()

    def _keep(self, kind: type[R], put: Callable[[AddressEvidence, R], AddressEvidence]) -> Handler:
        """The handler that files a result of `kind` into the evidence with `put`; anything
        else (NotRun: cancelled, or no budget left to start) leaves the evidence as it was."""

        def on(result: Result) -> None:
            if isinstance(result, kind):
                self._ev = put(self._ev, result)

        return on

    def _echo_cut(self, _: Result) -> IcmpEcho:
        return IcmpEcho(address=self.address, status="timeout", reason=ECHO_NOT_WAITED)

    # --- follow-ups, once the connect ended and the echo settled -------------------------------
    # Each follow-up says when it applies and asks for its probes; every one that applies
    # runs. A new follow-up (say, the server's packet counters over SSH) is one more method
    # here and one more entry in FOLLOW_UPS, not a branch in someone else's if-chain.

    def _follow_up(self) -> None:
        tcp, echo = self._ev.tcp, self._ev.echo
        if tcp is None or echo is None or self._followed:
            return
        self._followed = True
        for follow_up in FOLLOW_UPS:
            follow_up(self, tcp, echo)

    def _remote(self) -> bool:
        """Is the target another host? (For this host's own address a path trace or an
        egress test says nothing.)"""
        route = self._base_route
        return route is None or route.status != "local"

    def after_silent_syn(self, tcp: TcpConnect, echo: IcmpEcho) -> None:
        """A silent SYN to another host: is it our own egress filter, a router on the way,
        or the target? (Not when a dead next hop already stopped the connect.)"""
        if tcp.outcome != "timeout" or tcp.timeout_basis == "neighbour" or not self._remote():
            return
        port = tcp.port
        on_egress = self._keep(EgressCheck, lambda ev, r: replace(ev, egress=r))
        self._ask_flow(CheckEgress, Budget(cap_s=limits.EGRESS_MAX_S), port, on_egress)
        on_trace = self._keep(PathTrace, lambda ev, r: replace(ev, path=r))
        self._ask_flow(TraceTcp, Budget(cap_s=limits.trace_wait(echo.rtt_ms)), port, on_trace)
        self._reread(self._keep_route)
        self._ask_firewall(port, "output")

    def input_rules_for_local(self, tcp: TcpConnect, echo: IcmpEcho) -> None:
        """A silent or reset SYN to this host's own address: what do its input rules decide?
        (A REJECT with tcp-reset looks like "nothing listens" while a listener exists.)"""
        if tcp.outcome in ("timeout", "refused") and not self._remote():
            self._ask_firewall(tcp.port, "input")

    def neighbour_after_failure(self, tcp: TcpConnect, echo: IcmpEcho) -> None:
        """A local error, or a connect a dead next hop stopped: did the hop ever answer
        ARP/ND? (FAILED/INCOMPLETE: the host is down on-link.)"""
        stopped = tcp.outcome == "timeout" and tcp.timeout_basis == "neighbour"
        if tcp.outcome == "error" or (stopped and self._remote()):
            self._reread(self._keep_route)

    def http_after_connect(self, tcp: TcpConnect, echo: IcmpEcho) -> None:
        """Connected to a URL target: what does the service answer?"""
        if tcp.outcome == "connected" and self._target.url is not None:
            self._ask_http(self._target.url, tcp.port)

    def handshake_after_connect(self, tcp: TcpConnect, echo: IcmpEcho) -> None:
        """Connected to a postgres://, redis:// or mysql:// target: does it speak that?"""
        protocol = SCHEME_PROTOCOLS.get(self._target.scheme or "")
        if tcp.outcome != "connected" or protocol is None:
            return
        self._ask_flow(
            partial(Handshake, protocol=protocol),
            Budget(cap_s=limits.HANDSHAKE_MAX_S),
            tcp.port,
            self._keep(ServiceHandshake, lambda ev, r: replace(ev, handshake=r)),
        )

    def tls_after_connect(self, tcp: TcpConnect, echo: IcmpEcho) -> None:
        """check --tls, connected to a target that is not https://: the TLS handshake (for
        postgres:// after its SSLRequest, on a connection of its own); rediss:// always,
        with PING inside the session."""
        scheme = self._target.scheme or ""
        inside = TLS_SCHEME_PROTOCOLS.get(scheme)
        asked = self._settings.tls and scheme not in ("http", "https")
        if tcp.outcome != "connected" or not (asked or inside):
            return
        protocol = SCHEME_PROTOCOLS.get(scheme)
        tls = partial(
            HandshakeTls,
            host=self._target.host,
            preface=protocol,
            options=self._settings.http,
            inside=inside,
        )
        self._ask_flow(tls, Budget(cap_s=limits.TLS_HANDSHAKE_MAX_S), tcp.port, self._on_tls)

    def _on_tls(self, result: Result) -> None:
        if isinstance(result, TlsExchange):
            tls = replace(result, handshake=None)
            self._ev = replace(self._ev, tls=tls)
            if result.handshake is not None:  # rediss: the protocol rules read it there
                self._ev = replace(self._ev, handshake=result.handshake)

    def _ask_firewall(self, port: int, hook: Literal["input", "output"]) -> None:
        self._ask_flow(
            partial(EvaluateFirewall, route=self._base_route, hook=hook),
            Budget(cap_s=limits.FIREWALL_MAX_S),
            port,
            self._keep(FirewallMatch, lambda ev, r: replace(ev, firewall=r)),
        )

    def _ask_http(self, url: str, port: int) -> None:
        fetch = partial(
            FetchHttp,
            url=url,
            host=self._target.host,
            verify_tls=self._settings.verify_tls,
            options=self._settings.http,
        )
        on = self._keep(HttpExchange, lambda ev, r: replace(ev, http=r))
        self._ask_flow(fetch, WHOLE, port, on)


FOLLOW_UPS: tuple[Callable[[AddressPlan, TcpConnect, IcmpEcho], None], ...] = (
    AddressPlan.after_silent_syn,
    AddressPlan.input_rules_for_local,
    AddressPlan.neighbour_after_failure,
    AddressPlan.http_after_connect,
    AddressPlan.handshake_after_connect,
    AddressPlan.tls_after_connect,
)
