"""What a scenario read over SSH must show of the server: facts of `RemoteEvidence`.

A scenario with ``ssh: HOST`` names, besides the verdict it expects, the server evidence
that decides it (``expect_evidence``), so that `lab run` proves the join, not only the
cause: "the drop rule was confirmed by its counter", "the SYN never arrived". Each fact is
a plain predicate over the evidence the check wrote (its `--evidence-file`); nothing here
does I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from netdx.diagnose.server import accepts
from netdx.model.remote import RemoteEvidence
from netdx.model.server import TCP_CLOSE_WAIT

Fact = Callable[[RemoteEvidence], bool]


def _foreign(remote: RemoteEvidence) -> bool:
    address = remote.server.address if remote.server is not None else None
    return address is not None and remote.owns(address) is False


def _firewall(decision: str) -> Fact:
    def fact(remote: RemoteEvidence) -> bool:
        fw = remote.firewall
        return fw is not None and fw.match.decision == decision and fw.match.rule is not None

    return fact


def _confirmed(remote: RemoteEvidence) -> bool:
    delta = remote.firewall.counter_delta if remote.firewall is not None else None
    return delta is not None and delta > 0


def _syn_in(remote: RemoteEvidence) -> bool:
    capture = remote.capture
    return capture is not None and capture.status == "ok" and bool(capture.syns_in(remote.client))


def _no_syn(remote: RemoteEvidence) -> bool:
    capture = remote.capture
    return (
        capture is not None
        and capture.status == "ok"
        and capture.kernel_dropped == 0
        and not capture.syns_in()
    )


def _reset_out(remote: RemoteEvidence) -> bool:
    capture = remote.capture
    return capture is not None and any(p.is_reset for p in capture.answers_out())


def _accepting(remote: RemoteEvidence) -> bool:
    server = remote.server
    if server is None or server.address is None:
        return False
    return any(accepts(s, server.address) for s in server.listeners)


def _accepts(remote: RemoteEvidence) -> bool:
    server = remote.server
    return (
        _accepting(remote)
        and server is not None
        and all(server.owner_of(s) is not None for s in server.listeners)
    )


def _misses(remote: RemoteEvidence) -> bool:
    server = remote.server
    return server is not None and bool(server.listeners) and not _accepting(remote)


def _rp_filter(remote: RemoteEvidence) -> bool:
    path = remote.return_path
    return path is not None and path.rp_filter == 1


def _close_wait(remote: RemoteEvidence) -> bool:
    server = remote.server
    return server is not None and any(s.state == TCP_CLOSE_WAIT for s in server.connections)


def _overflow(remote: RemoteEvidence) -> bool:
    counter = remote.counter("TcpExtListenOverflows")
    return counter is not None and counter.delta > 0


FACTS: dict[str, tuple[Fact, str]] = {
    "ssh.ok": (lambda r: r.ssh.ok, "the SSH session to the server worked"),
    "root": (lambda r: r.root is True, "the server's collector ran as root"),
    "address.foreign": (_foreign, "the server does not have the address the client tried"),
    "firewall.drop": (_firewall("drop"), "the server's ruleset drops the flow at a named rule"),
    "firewall.reject": (_firewall("reject"), "the server's ruleset rejects it at a named rule"),
    "firewall.confirmed": (_confirmed, "that rule's counter rose during the check"),
    "capture.syn_in": (_syn_in, "the server's capture saw the client's SYN arrive"),
    "capture.no_syn": (_no_syn, "the server's capture saw no SYN of the port at all"),
    "capture.reset_out": (_reset_out, "the server sent a reset for the port"),
    "rp_filter.strict": (_rp_filter, "strict reverse-path filtering where the SYN came in"),
    "close_wait": (_close_wait, "sockets of the port sit in CLOSE-WAIT on the server"),
    "listen_overflow": (_overflow, "the server's ListenOverflows counter rose"),
    "listener.accepts": (_accepts, "a listener takes the client's address, its owner known"),
    "listener.misses_address": (
        _misses,
        "the port has listeners, but none takes the address the client tried",
    ),
}


def facts(remote: RemoteEvidence | None) -> frozenset[str]:
    """Every fact of `FACTS` that holds for `remote` (none without remote evidence)."""
    if remote is None:
        return frozenset()
    return frozenset(name for name, (holds, _) in FACTS.items() if holds(remote))


def missing(expected: tuple[str, ...], remote: RemoteEvidence | None) -> tuple[str, ...]:
    """The expected facts that do not hold, in the scenario's order."""
    found = facts(remote)
    return tuple(name for name in expected if name not in found)
