"""The netdx side of a server's `netdx.collect/1` document: a real captured document (a
namespace with a listener, a CLOSE-WAIT, an nft rule with a counter) read back into the
values the local commands build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netdx.collect.clock import Deadline
from netdx.collect.document import COLLECTORS, CollectRequest, collect
from netdx.collect.system import RunResult
from netdx.host import FakeHost
from netdx.model.server import TCP_CLOSE_WAIT
from netdx.model.vantage import Vantage
from netdx.probes.server import nstat_counters
from netdx.remote import CollectDocument, server_request

FIXTURE = Path(__file__).parent / "fixtures" / "remote" / "document.json"
SSH = Vantage(kind="ssh", name="root@db")


def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def doc() -> CollectDocument:
    return CollectDocument.from_json(raw())


def test_top_of_the_document_is_read(doc: CollectDocument) -> None:
    """The collector's euid and python, and every collector's entry, come back."""
    assert doc.euid == 0 and doc.python.count(".") == 2
    # Captured before the `probe` collector (the source side of `netdx verify`) existed.
    assert set(doc.entries) == set(COLLECTORS) - {"probe"}
    assert doc.error_of("sockets") is None and not doc.needs_root("sockets")
    assert doc.error_of("capture") == "not collected"


def test_listing_and_owners_are_the_sockets_commands_values(doc: CollectDocument) -> None:
    """listing() holds the dumped sockets; owner_scan() names the python3 holding them."""
    listing = doc.listing()
    assert {(s.src, s.sport, s.state_name) for s in listing.sockets} >= {
        ("0.0.0.0", 5432, "LISTEN"), ("::1", 5433, "LISTEN"), ("127.0.0.1", 5432, "CLOSE-WAIT"),
    }  # fmt: skip
    scan = doc.owner_scan()
    listener = next(s for s in listing.sockets if s.sport == 5432 and s.state_name == "LISTEN")
    owner = scan.owner_of(listener)
    assert owner is not None and owner.command == "python3" and owner.user == "root"
    assert scan.complete and scan.other_namespace > 0


def test_server_evidence_is_what_inspect_judges(doc: CollectDocument) -> None:
    """The port's evidence: one listener, the CLOSE-WAIT connection, the other listener,
    the owner, ListenOverflows, and the ssh vantage; inspect judges it as on the server."""
    from netdx.sockets.inspect import inspect_evidence

    ev = doc.server_evidence(address="10.0.0.2", port=5432, earlier=None, observed_on=SSH)
    assert [(s.src, s.sport) for s in ev.listeners] == [("0.0.0.0", 5432)]
    assert sum(1 for s in ev.connections if s.state == TCP_CLOSE_WAIT) == 1
    assert [(s.src, s.sport) for s in ev.other_listeners] == [("::1", 5433)]
    assert [p.command for p in ev.processes] == ["python3"]
    # The owners of the listener, the CLOSE-WAIT and the near listener (:5433) only.
    assert {h.inode for h in ev.holders} == {ev.listeners[0].inode, ev.other_listeners[0].inode,
        *(s.inode for s in ev.connections if s.state == TCP_CLOSE_WAIT)}  # fmt: skip
    assert ev.listen_overflows == 0 and ev.observed_on == SSH and ev.earlier_close_wait is None
    assert inspect_evidence(ev).verdict.ok


def test_earlier_document_gives_the_first_close_wait_sample(doc: CollectDocument) -> None:
    """With an earlier document, its CLOSE-WAIT count of the port is the first sample."""
    earlier = raw()
    earlier["collectors"]["sockets"]["data"]["rows"] = [
        r for r in earlier["collectors"]["sockets"]["data"]["rows"] if r[2] != TCP_CLOSE_WAIT
    ]
    before = CollectDocument.from_json(earlier)
    ev = doc.server_evidence(address=None, port=5432, earlier=before, observed_on=SSH)
    assert ev.earlier_close_wait == 0


def test_a_failed_sockets_collector_is_an_error_not_an_exception() -> None:
    """A sockets entry with an error: the evidence says the server side was not read, the
    listing is empty with a note."""
    data = raw()
    data["collectors"]["sockets"] = {"error": "Operation not permitted", "needs_root": True,
                                     "data": {}}  # fmt: skip
    doc = CollectDocument.from_json(data)
    ev = doc.server_evidence(address=None, port=5432, earlier=None, observed_on=SSH)
    assert ev.error == "server side not read: Operation not permitted"
    assert doc.listing().sockets == () and "Operation not permitted" in doc.listing().notes[0]
    assert doc.needs_root("sockets")


def test_firewall_capture_and_counters(doc: CollectDocument) -> None:
    """The firewall entry is the Capture `firewall.live.capture` reads: the evaluator names
    the drop rule for the client; the counter of that rule (and only rules with a counter
    statement) is read by (family, table, chain, handle)."""
    from netdx.firewall.explain import explain_local
    from netdx.firewall.flows import make_packet
    from netdx.firewall.live import fake_runner

    captured = doc.firewall_capture()
    assert captured.nft_json and captured.addresses_json and not captured.errors
    packet = make_packet("10.0.0.10", "10.0.0.2", 5432, "tcp", "eth0")
    match = explain_local(packet, "input", runner=fake_runner(captured))
    assert match.decision == "drop" and match.rule is not None
    assert doc.rule_counters() == {("inet", "filter", "input", 2): 0}


def test_rule_counters_read_the_packets_of_each_counter() -> None:
    """A counter statement anywhere in a rule's expressions gives its packets; a named
    counter reference (a string) or a malformed rule is skipped."""
    data = raw()
    nft = json.loads(data["collectors"]["firewall"]["data"]["commands"][0]["stdout"])
    nft["nftables"][3]["rule"]["expr"][2]["counter"]["packets"] = 3
    nft["nftables"][4]["rule"]["expr"].append({"counter": "named"})
    nft["nftables"].append({"rule": {"family": "inet", "table": 1, "expr": []}})
    data["collectors"]["firewall"]["data"]["commands"][0]["stdout"] = json.dumps(nft)
    assert CollectDocument.from_json(data).rule_counters() == {("inet", "filter", "input", 2): 3}


def test_kernel_counters_sysctls_addresses_route(doc: CollectDocument) -> None:
    """netstat() under nstat names from the three files; the rp_filter sysctls; the
    host's own addresses; the route back to the client with its interface name."""
    counters = doc.netstat()
    for name in ("TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPBacklogDrop",
                 "TcpExtTCPReqQFullDrop", "TcpExtIPReversePathFilter", "TcpActiveOpens",
                 "Ip6InReceives", "IpExtInOctets"):
        assert name in counters, name  # fmt: skip
    assert doc.sysctls()["net.ipv4.conf.eth0.rp_filter"] in {"0", "1", "2"}
    assert {"10.0.0.2", "fd00::2", "127.0.0.1"} <= set(doc.addresses())
    route = doc.route("10.0.0.10")
    assert route is not None and route.status == "ok"
    assert (route.interface, route.source) == ("eth0", "10.0.0.2")
    assert doc.route("192.0.2.1") is None


def test_addresses_fall_back_to_the_firewall_collectors_run() -> None:
    """Without an addresses entry, the firewall entry's `ip -j addr show` gives them."""
    data = raw()
    del data["collectors"]["addresses"]
    assert "10.0.0.2" in CollectDocument.from_json(data).addresses()


def test_capture_entry_becomes_a_wire_capture() -> None:
    """A capture that could not open for want of root is "not_root"; a drained one keeps
    its packets (a SYN in, a SYN-ACK out)."""
    data = raw()
    data["collectors"]["capture"] = {"error": "Operation not permitted", "needs_root": True,
                                     "data": {}}  # fmt: skip
    wire = CollectDocument.from_json(data).capture(port=5432)
    assert wire is not None and (wire.status, wire.port) == ("not_root", 5432)
    syn = {"direction": "in", "src": "10.0.0.10", "sport": 40000, "dst": "10.0.0.2",
           "dport": 5432, "flags": "S", "ifname": "eth0", "at_ms": 1.5}  # fmt: skip
    ack = {**syn, "direction": "out", "src": "10.0.0.2", "dst": "10.0.0.10", "sport": 5432,
           "dport": 40000, "flags": "S."}  # fmt: skip
    data["collectors"]["capture"] = {"error": None, "needs_root": False, "data": {
        "port": 5432, "packets": [syn, ack], "truncated": False, "kernel_dropped": 0,
        "window_ms": 120.0}}  # fmt: skip
    wire = CollectDocument.from_json(data).capture()
    assert wire is not None and wire.status == "ok" and wire.window_ms == 120.0
    assert len(wire.syns_in("10.0.0.10")) == 1 and len(wire.answers_out("10.0.0.10")) == 1
    # A segment without flags (a null scan) is written "none", as tcpdump does.
    data["collectors"]["capture"]["data"]["packets"] = [{**syn, "flags": "none"}]
    wire = CollectDocument.from_json(data).capture()
    assert wire is not None and wire.packets[0].flags == "none"
    assert CollectDocument.from_json(raw()).capture() is None


def test_server_request_is_a_valid_collect_request() -> None:
    """server_request asks every listener and the port's sockets: two dumps, one request."""
    request = CollectRequest.from_json(server_request(5432, client="10.0.0.10"))
    assert len(request.selections) == 2 and request.addresses == ("10.0.0.10",)


def test_nstat_names_of_the_kernel_files() -> None:
    """Header/value line pairs become Prefix+Name; snmp6 lines are already named; a
    negative counter (TcpMaxConn -1) is kept, junk is skipped."""
    netstat = "TcpExt: ListenOverflows ListenDrops\nTcpExt: 4 5\nIpExt: InOctets\nIpExt: x\n"
    snmp = "Tcp: RtoAlgorithm MaxConn\nTcp: 1 -1\n"
    snmp6 = "Ip6InReceives                   \t7\nbad line here\n"
    assert nstat_counters(netstat, snmp, snmp6) == {
        "TcpExtListenOverflows": 4, "TcpExtListenDrops": 5, "TcpRtoAlgorithm": 1,
        "TcpMaxConn": -1, "Ip6InReceives": 7,
    }  # fmt: skip


def test_addresses_collector_reuses_the_firewall_run() -> None:
    """`ip -j addr show` runs once for both the firewall and the addresses collectors, and
    on its own when the firewall is not asked."""
    addr = '[{"ifindex": 1, "ifname": "lo", "addr_info": [{"local": "127.0.0.1"}]}]'
    host = FakeHost(commands={("ip", "-j", "addr", "show"): addr})
    doc = collect(host, CollectRequest(), Deadline.after(5.0))
    assert host.calls.count(("run", ("ip", "-j", "addr", "show"))) == 1
    assert doc["collectors"]["addresses"]["data"]["stdout"] == addr
    failed = RunResult(returncode=1, stderr="boom\n")
    alone = FakeHost(commands={("ip", "-j", "addr", "show"): failed})
    entry = collect(alone, CollectRequest(collectors=("addresses",)), Deadline.after(5.0))
    assert entry["collectors"]["addresses"]["error"] == "boom"
