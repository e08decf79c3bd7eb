"""The server's side of a check, read over SSH while the client's probes ran.

`netdx check TARGET --ssh HOST` opens one SSH session to the server, reads the server before
the client's probes start (sockets of the port, the firewall with its counters, the kernel
counters, the route back to the client and rp_filter), watches the port on the wire with a
packet socket while the probes run (root only), and reads again after them. This module
holds what came back, as values: the rules of `diagnose.remote` join it with the client's
evidence. Frozen dataclasses only, so all of it round-trips through `model.codec`.
"""

from __future__ import annotations

from netdx.model.firewall import FirewallMatch
from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record
from netdx.model.route import RouteLookup
from netdx.model.server import ServerEvidence
from netdx.model.vantage import Vantage

__all__ = [
    "CounterDelta",
    "PacketSeen",
    "RemoteEvidence",
    "RemoteReport",
    "ReturnPath",
    "ServerFirewall",
    "SshOutcome",
    "SshStatus",
    "WireCapture",
]

# How the SSH link went. Each status but "ok" is a finding of its own, `ssh.<status>`.
SshStatus = Literal[
    "ok",
    "refused",  # nothing listens on the SSH port (or a firewall rejects it)
    "timeout",  # no SSH answer within the budget (port dropped, host down, NIC down)
    "unreachable",  # no route, or the name does not resolve (ssh's own resolver)
    "hostkey",  # the host key is unknown or changed: ssh refused, as the user's policy says
    "auth",  # no key the server accepts (BatchMode: no password prompt)
    "no_python",  # logged in, but no python3 on the server
    "no_root",  # --sudo given, but sudo needs a password (or is missing)
    "error",  # anything else ssh or the collector said; `message` quotes it
]


@record
class SshOutcome:
    """How the SSH session to the server went, with ssh's own words and its settings.

    `destination` is what the user gave (`[USER@]HOST`); `settings` the effective values
    `ssh -G` printed for it that explain a failure (hostname, port, user, identityfile,
    stricthostkeychecking, userknownhostsfile, proxyjump, controlpath...), in ssh's order.
    `message` is ssh's (or the remote collector's) last meaningful stderr line. `warm` says
    an existing shared connection (ControlMaster) was used. `elapsed_ms` runs from starting
    ssh to the first document; `python` and `euid` are the server's, once it answered.
    """

    destination: str
    status: SshStatus
    message: str = ""
    settings: tuple[tuple[str, str], ...] = ()
    warm: bool | None = None
    sudo: bool = False
    elapsed_ms: float | None = None
    python: str | None = None
    euid: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def code(self) -> str:
        """The finding code of a failed link: `ssh.refused`, `ssh.auth`..."""
        return f"ssh.{self.status}"


@record
class PacketSeen:
    """One TCP packet of the port that crossed a server interface during the probe window.

    `direction` is "in" for a packet the server received, "out" for one it sent. `flags` in
    tcpdump's letters ("S" a SYN, "S." a SYN-ACK, "R" / "R." a reset, "F." a FIN...).
    `at_ms` counts from the moment the capture was armed.
    """

    direction: Literal["in", "out"]
    src: str
    sport: int
    dst: str
    dport: int
    flags: str
    ifname: str | None = None
    at_ms: float = 0.0

    @property
    def is_syn(self) -> bool:
        return "S" in self.flags and "." not in self.flags

    @property
    def is_synack(self) -> bool:
        return "S" in self.flags and "." in self.flags

    @property
    def is_reset(self) -> bool:
        return "R" in self.flags


@record
class WireCapture:
    """What a packet socket (AF_PACKET with a BPF filter for the port) on the server saw
    while the client's probes ran: the answer to "did the SYN arrive?".

    `status` "ok" means the capture ran for the whole window; "not_root" that it could not
    open (CAP_NET_RAW needed; then nothing is known of the wire); "error" anything else
    (`reason` says). `packets` are kept in order, at most a few hundred (`truncated` says
    more were seen); `kernel_dropped` counts packets the socket itself lost (a full buffer),
    which makes an absence unproven.
    """

    status: Literal["ok", "not_root", "error"]
    port: int
    reason: str = ""
    packets: tuple[PacketSeen, ...] = ()
    truncated: bool = False
    kernel_dropped: int = 0
    window_ms: float | None = None

    def syns_in(self, client: str | None = None) -> tuple[PacketSeen, ...]:
        """The SYNs received for the port (from `client` only, when given)."""
        return tuple(
            p
            for p in self.packets
            if p.direction == "in" and p.is_syn and (client is None or p.src == client)
        )

    def answers_out(self, client: str | None = None) -> tuple[PacketSeen, ...]:
        """The SYN-ACKs and resets the server sent back (to `client` only, when given)."""
        return tuple(
            p
            for p in self.packets
            if p.direction == "out"
            and (p.is_synack or p.is_reset)
            and (client is None or p.dst == client)
        )


@record
class ServerFirewall:
    """The server's ruleset evaluated for the client's flow as the server sees it (source =
    the client's address, the input hook), with the deciding rule's packet counter read
    before and after the client's SYNs. `counter_before`/`counter_after` are None when the
    rule has no counter (nft rules count only with a `counter` statement) or the ruleset
    could not be read twice."""

    match: FirewallMatch
    counter_before: int | None = None
    counter_after: int | None = None

    @property
    def has_counter(self) -> bool:
        return self.counter_before is not None and self.counter_after is not None

    @property
    def counter_delta(self) -> int | None:
        """Packets the deciding rule counted during the check (None: no counter)."""
        if self.counter_before is None or self.counter_after is None:
            return None
        return self.counter_after - self.counter_before


@record
class ReturnPath:
    """The server's way back to the client, and whether a reverse-path filter would drop
    the client's packets: the route to the client (`route`, `ip route get CLIENT` on the
    server), the interface the client's SYN came in on (`syn_interface`, from the capture;
    None when not captured), and the effective rp_filter of that interface (the maximum of
    `all` and the interface's own: 0 off, 1 strict, 2 loose; None unknown)."""

    client: str
    route: RouteLookup | None = None
    syn_interface: str | None = None
    rp_filter: int | None = None


@record
class CounterDelta:
    """One kernel counter (nstat name, e.g. `TcpExtListenOverflows`) before and after."""

    name: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@record
class RemoteEvidence:
    """Everything read on the server over SSH for one check.

    `ssh` always says how the link went; when it failed nothing else is filled. `client`
    is the address the server should see the client's packets from (the client's source
    address for the route it used; None when unknown, e.g. behind NAT). `server` is the
    port's sockets and owners (the later sample, `earlier_close_wait` from the first);
    `addresses` the server's own addresses (does it own the address DNS gave?);
    `firewall` the ruleset's answer for the flow with the rule's counters; `capture` the
    wire; `return_path` the route back and rp_filter; `counters` the kernel counters that
    moved or matter (ListenOverflows, ListenDrops, TCPBacklogDrop, TCPReqQFullDrop,
    IPReversePathFilter). `root` says the collector ran as root (else `notes` say what only
    root could read). `notes` carry what could be read only in part.
    """

    ssh: SshOutcome
    client: str | None = None
    server: ServerEvidence | None = None
    addresses: tuple[str, ...] = ()
    firewall: ServerFirewall | None = None
    capture: WireCapture | None = None
    return_path: ReturnPath | None = None
    counters: tuple[CounterDelta, ...] = ()
    root: bool | None = None
    notes: tuple[str, ...] = ()
    observed_on: Vantage  # the SSH destination: Vantage(kind="ssh", name=DEST)

    def counter(self, name: str) -> CounterDelta | None:
        """The counter called `name` (nstat's spelling), if read."""
        return next((c for c in self.counters if c.name == name), None)

    def owns(self, address: str) -> bool | None:
        """Does the server have `address` on one of its interfaces? None: not known."""
        if not self.ssh.ok or not self.addresses:
            return None
        return address in self.addresses


@record
class RemoteReport:
    """The server's side of a check as the report shows it: `diagnose.remote` writes the
    short "server (ssh DEST)" block (`lines`: the listeners and their owner, the deciding
    rule and its counter, what the capture saw, what only root could have read, or ssh's
    failure), and the evidence rides along whole for `--json` (the `remote` key)."""

    destination: str
    status: SshStatus
    lines: tuple[str, ...] = ()
    evidence: RemoteEvidence
