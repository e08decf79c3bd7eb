"""The plan of one check: which probe comes next, given what is known so far.

    target ─ resolve (unless an IP literal) ─ addresses, in the order a client tries them
           ─ one AddressPlan per address, side by side (at most MAX_ADDRESSES)
           ─ when every address is done and the first one failed on resolver-given
             addresses: ask the authoritative servers (a cache that outlived a change?)
    with --ssh, beside all of it (`plan.server`): open the session to the server at the
    start, hold the connects until it is armed (a bounded wait), and once every address is
    done take its second read and join it (`CheckEvidence.remote`)

Like dnspython's `_Resolution` and our own `dns.trace.TraceMachine` it does no I/O: a driver
(`netdx.check.run_plan`) starts `next_probes()`, applies `signals()` to probes in flight and
hands each result to `feed()`, until `done`. Adding a probe means a request kind in
`plan.requests`, a decision here or in `plan.address`, and an adapter in the driver.
"""

from __future__ import annotations

from netdx.model import CheckEvidence, DnsEvidence, Target
from netdx.model.evidence import AuthoritativeCheck
from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import replace
from netdx.model.vantage import THIS_HOST, Vantage
from netdx.plan import limits
from netdx.plan.address import AddressPlan, ask_authoritative, family_of
from netdx.plan.desk import Desk
from netdx.plan.requests import Budget, Probe, Resolve, Signal
from netdx.plan.settings import CheckSettings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.plan.requests import Result  # made on first use (requests says why)
    from netdx.plan.server import ServerPlan

# "authoritative" is the last stage: the authoritative check, and with --ssh the server's
# second read, both once every address is done.
Stage = Literal["resolve", "addresses", "authoritative", "done"]


def addresses_from_servers(dns: DnsEvidence) -> tuple[DnsEvidence, tuple[str, ...]]:
    """With --dns-server the addresses come from the named servers, in the family order the
    system resolver preferred (IPv4 first when it gave nothing)."""
    found: list[str] = []
    for answer in dns.servers:
        found.extend(a for a in answer.addresses if a not in found)
    first_v6 = bool(dns.nss and dns.nss.addresses and ":" in dns.nss.addresses[0])
    found.sort(key=lambda a: (family_of(a) == 4) if first_v6 else (family_of(a) == 6))
    return replace(dns, source="dns"), tuple(found)


def wants_authoritative(ev: CheckEvidence) -> bool:
    """True when what the zone says now would change the verdict (the DNS layer decides:
    `netdx.dns.authority`): a resolver-given address failed, or a resolver said SERVFAIL."""
    from netdx.dns.authority import authoritative_question

    return authoritative_question(ev) is not None


class CheckPlan:
    """The decisions of one `netdx check`; drive it with `next_probes`, `signals`, `feed`."""

    def __init__(
        self, target: Target, settings: CheckSettings, *, vantage: Vantage = THIS_HOST
    ) -> None:
        self._target = target
        self._settings = settings
        self._vantage = vantage
        self._desk = Desk()
        self._dns: DnsEvidence | None = None
        self._addresses: list[AddressPlan] = []
        self._stage: Stage = "resolve"
        # --ssh needs a port: the server's side of a check is the side of one port.
        self._server: ServerPlan | None = None
        if settings.ssh is not None and target.port is not None:
            from netdx.plan.server import ServerPlan  # --ssh's step, loaded for it alone

            self._server = ServerPlan(self._desk, target.port)
        if target.ip_literal:
            self._dns = DnsEvidence(name=target.host, source="literal", observed_on=vantage)
            self._probe((target.host,))
        else:
            self._desk.ask(
                lambda i: Resolve(
                    id=i,
                    budget=Budget(share=limits.DNS_SHARE, cap_s=limits.dns_cap(settings.timeout)),
                    name=target.host,
                    family=settings.family,
                    servers=settings.dns_servers,
                ),
                self._on_resolved,
            )
            if self._server is not None:
                # Beside DNS: the session needs only the port (our source address is
                # unknown until a route, so the server routes back to no one in particular).
                self._server.open(None)

    # --- the driver's interface ---------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._stage == "done"

    def next_probes(self) -> tuple[Probe, ...]:
        """The probes to start now; each is handed out once."""
        return self._desk.take_probes()

    def signals(self) -> tuple[Signal, ...]:
        """Signals for probes in flight (an RTT to use, a connect to stop, a probe to cancel)."""
        return self._desk.take_signals()

    def feed(self, probe_id: int, result: Result) -> None:
        """Hand the plan the result of probe `probe_id` (`NotRun` when it did not finish)."""
        self._desk.deliver(probe_id, result)
        self._advance()

    def evidence(self) -> CheckEvidence:
        """Everything seen so far, as the rules' input (final once `done`)."""
        return CheckEvidence(
            target_host=self._target.host,
            port=self._target.port,
            scheme=self._target.scheme,
            dns=self._dns,
            addresses=tuple(a.evidence() for a in self._addresses),
            family_filter=self._settings.family,
            observed_on=self._vantage,
            remote=self._server.evidence if self._server is not None else None,
        )

    # --- the stages ---------------------------------------------------------------------------

    def _on_resolved(self, result: Result) -> None:
        if not isinstance(result, DnsEvidence):
            return  # DNS could not run: no address to probe
        dns = replace(result, observed_on=self._vantage)
        if self._settings.dns_servers:
            dns, found = addresses_from_servers(dns)
        elif dns.nss is None or dns.nss.status != "ok":
            found = ()
        else:
            found = dns.nss.addresses
        self._dns = dns
        self._probe(found)

    def _probe(self, addresses: tuple[str, ...]) -> None:
        self._stage = "addresses"
        self._addresses = [
            AddressPlan(a, self._target, self._settings, self._desk, self._vantage, self._server)
            for a in addresses[: limits.MAX_ADDRESSES]
        ]

    def _advance(self) -> None:
        """Move to the next stage once nothing of this one is awaited."""
        if self._desk.pending:
            return
        if self._stage == "resolve":
            # The resolve result did not come: nothing to probe; the server still is read.
            self._stage = "authoritative"
            self._collect_server()
        elif self._stage == "addresses":
            self._stage = "authoritative"
            self._ask_authoritative()
            self._collect_server()
        elif self._stage == "authoritative":
            self._stage = "done"
        if self._stage != "done" and not self._desk.pending:
            self._advance()

    def _collect_server(self) -> None:
        """--ssh: the client's probes are done; the server reads again, and both are joined
        for the address the client tried first, from the source address its route named."""
        if self._server is None:
            return
        head = self._addresses[0].evidence() if self._addresses else None
        route = head.route if head is not None else None
        client = route.source if route is not None and route.status == "ok" else None
        self._server.collect(head.address if head is not None else None, client)

    def _ask_authoritative(self) -> None:
        ev = self.evidence()
        if ev.dns is None or ev.dns.source == "literal":
            return  # an IP literal names no zone (nor imports the DNS-trace vocabulary)
        from netdx.dns.authority import authoritative_question

        question = authoritative_question(ev)
        if question is None:
            return
        name, rtype = question
        resolvers = ev.dns.configured_servers
        on = self._on_authoritative
        ask_authoritative(self._desk, self._settings, name, rtype, resolvers, on)

    def _on_authoritative(self, result: Result) -> None:
        if isinstance(result, AuthoritativeCheck) and self._dns is not None:
            from netdx.dns.authority import with_authoritative

            self._dns = with_authoritative(self._dns, result)
