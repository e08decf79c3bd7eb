"""The server's two readings of a check (before and after the client's probes) joined into
one `RemoteEvidence`, the input of `diagnose.remote`.

Each `netdx.collect/1` document is read through `remote.document.CollectDocument` (the local
commands' own code); the firewall is evaluated by `netdx.firewall` for the flow as the
server sees it: source = the client's address, destination = the address the client used,
the input hook, arriving on the interface the capture saw the SYN on (else the one the
server routes the client by). The deciding rule's packet counter is read from both documents.

A document from the network may be malformed or hostile: whatever cannot be read becomes a
note and stays unknown; this function never raises for it. Nothing here judges.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from netdx.model.firewall import FirewallMatch
from netdx.model.remote import (
    CounterDelta,
    RemoteEvidence,
    ReturnPath,
    ServerFirewall,
    SshOutcome,
    WireCapture,
)
from netdx.model.vantage import Vantage
from netdx.remote.document import CollectDocument, DocumentError

__all__ = ["COUNTERS", "remote_evidence"]

# The kernel counters a verdict may quote (nstat's names), read before and after.
COUNTERS = (
    "TcpExtListenOverflows",
    "TcpExtListenDrops",
    "TcpExtTCPBacklogDrop",
    "TcpExtTCPReqQFullDrop",
    "TcpExtIPReversePathFilter",
)

T = TypeVar("T")

UNDRAINED = "the server's second read never came: the capture was armed but never read"


def remote_evidence(
    outcome: SshOutcome,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    client: str | None,
    address: str,
    port: int,
) -> RemoteEvidence:
    """The server's side of a check of `address`:`port` from `client` (the client's address
    as the server should see it; None when unknown). `before`/`after` are the documents read
    before and after the probes (None: not read); a failed link gives only `outcome`."""
    where = Vantage(kind="ssh", name=outcome.destination)
    if not outcome.ok:
        return RemoteEvidence(ssh=outcome, client=client, observed_on=where)
    notes: list[str] = []
    first = _parse(before, "before the probes", notes)
    last = _parse(after, "after the probes", notes)
    doc = first or last
    if doc is None:
        notes.append("the server sent no readable document: its side is unknown")
        return RemoteEvidence(ssh=outcome, client=client, notes=tuple(notes), observed_on=where)
    ssh = dataclasses.replace(
        outcome,
        python=outcome.python or doc.python,
        euid=doc.euid if outcome.euid is None else outcome.euid,
    )
    latest = last or first
    assert latest is not None
    capture = _read(lambda: _capture(first, last, port), "the capture", notes)
    server = _read(
        lambda: latest.server_evidence(
            address=address, port=port, earlier=first if last is not None else None,
            observed_on=where,
        ),
        "the port's sockets", notes,
    )  # fmt: skip
    addresses = _read(latest.addresses, "the server's addresses", notes) or ()
    back = _read(lambda: _return_path(doc, client, capture), "the route back", notes)
    firewall = _read(
        lambda: _firewall(doc, first, last, client, address, port, back), "the firewall", notes
    )
    counters = _read(lambda: _counters(first, last), "the kernel counters", notes) or ()
    if doc.euid != 0:
        notes += _not_root(doc)
    return RemoteEvidence(
        ssh=ssh,
        client=client,
        server=server,
        addresses=addresses,
        firewall=firewall,
        capture=capture,
        return_path=back,
        counters=counters,
        root=doc.euid == 0,
        notes=tuple(notes),
        observed_on=where,
    )


def _parse(data: dict[str, Any] | None, when: str, notes: list[str]) -> CollectDocument | None:
    if data is None:
        return None
    try:
        return CollectDocument.from_json(data)
    except DocumentError as exc:
        notes.append(f"the server's reading {when} is malformed: {exc}")
        return None


def _read(read: Callable[[], T], what: str, notes: list[str]) -> T | None:
    """One part of the evidence; a malformed part becomes a note (the rest still counts)."""
    try:
        return read()
    # The document checks raise DocumentError; a value they let through that the parsers
    # or the evaluator still choke on must not end the check either.
    except (DocumentError, ValueError, KeyError, TypeError, IndexError) as exc:
        notes.append(f"{what} could not be read from the server's document: {exc}")
        return None


def _capture(
    first: CollectDocument | None, last: CollectDocument | None, port: int
) -> WireCapture | None:
    """The capture drained into the after-document (or the before-document's entry when it
    could not open)."""
    found = last.capture(port) if last is not None else None
    if found is None and first is not None:
        found = first.capture(port)
        if found is not None and found.status == "ok":
            # Armed but never drained: what it saw is unknown, and its empty list no proof.
            found = dataclasses.replace(found, status="error", reason=UNDRAINED)
    return found


def _syn_interface(capture: WireCapture | None, client: str | None) -> str | None:
    if capture is None or capture.status != "ok":
        return None
    return next((p.ifname for p in capture.syns_in(client) if p.ifname), None)


def _return_path(
    doc: CollectDocument, client: str | None, capture: WireCapture | None
) -> ReturnPath | None:
    """The server's route back to the client, the interface the SYN came in on, and the
    effective rp_filter there (the maximum of `all` and the interface's own)."""
    if client is None:
        return None
    iface = _syn_interface(capture, client)
    rp: int | None = None
    if iface is not None:
        values = doc.sysctls()
        both = (values.get("net.ipv4.conf.all.rp_filter"),
                values.get(f"net.ipv4.conf.{iface}.rp_filter"))  # fmt: skip
        if all(v is not None and v.strip().isdigit() for v in both):
            rp = max(int(v) for v in both if v is not None)
    return ReturnPath(client=client, route=doc.route(client), syn_interface=iface, rp_filter=rp)


def _firewall(
    doc: CollectDocument,
    first: CollectDocument | None,
    last: CollectDocument | None,
    client: str | None,
    address: str,
    port: int,
    back: ReturnPath | None,
) -> ServerFirewall | None:
    """The ruleset's answer for the client's flow at the input hook, with the deciding nft
    rule's counter before and after."""
    from netdx.firewall.explain import explain
    from netdx.firewall.model import Packet
    from netdx.firewall.sources import build_ruleset

    if client is None:
        return None  # no source address to evaluate (behind NAT, or not known)
    iif = None
    if back is not None:
        iif = back.syn_interface or (back.route.interface if back.route is not None else None)
    packet = Packet.build(saddr=client, daddr=address, proto="tcp", dport=port, iif=iif)
    ruleset = build_ruleset(doc.firewall_capture())
    match: FirewallMatch = explain(
        ruleset, packet, "input",
        hook_reason=f"{address} is the address the client connects to on the server",
    )  # fmt: skip
    rule = match.rule
    if rule is None or rule.source != "nft" or rule.handle is None:
        return ServerFirewall(match=match)
    key = (rule.family, rule.table, rule.chain, rule.handle)
    before = first.rule_counters().get(key) if first is not None else None
    after = last.rule_counters().get(key) if last is not None else None
    if before is None or after is None:
        before = after = None  # one reading, or no counter: nothing to compare
    return ServerFirewall(match=match, counter_before=before, counter_after=after)


def _counters(
    first: CollectDocument | None, last: CollectDocument | None
) -> tuple[CounterDelta, ...]:
    """The kernel counters that matter, where both readings have them."""
    if first is None or last is None:
        return ()
    old, new = first.netstat(), last.netstat()
    return tuple(
        CounterDelta(name=name, before=old[name], after=new[name])
        for name in COUNTERS
        if name in old and name in new
    )


def _not_root(doc: CollectDocument) -> list[str]:
    """What only root could have read, said as unknown."""
    out = []
    for collector, what in (("firewall", "the ruleset and its counters"),
                            ("owners", "the owners of other users' sockets")):  # fmt: skip
        if doc.needs_root(collector):
            why = doc.error_of(collector) or "partly read"
            out.append(f"not root on the server: {what} unknown ({why})")
    return out
