"""`netdx self --ssh`'s two halves without a network: the server's `self` collector's query
and pure helpers (collect.selfcheck), and the facts it writes read back into the evidence a
local run gathers (selfcheck.remote), judged by the same verdict; a malformed document is a
DocumentError, never another exception."""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

import pytest

from netdx.collect import selfcheck as facts
from netdx.collect.document import CollectRequest
from netdx.diagnose.selfcheck import judge
from netdx.netlink import Route
from netdx.remote.checks import DocumentError
from netdx.selfcheck.remote import evidence_of, question_of, request

LO = {"name": "lo", "index": 1, "up": True, "carrier": True, "operstate": "UNKNOWN",
      "loopback": True, "addresses": ["127.0.0.1/8 scope host"]}
ETH = {"name": "eth0", "index": 2, "up": True, "carrier": True, "operstate": "UP",
       "loopback": False, "addresses": ["fd00::2/64 scope global"]}
V6_DEFAULT = Route(family=10, type="unicast", table=254, protocol=3, scope=0, flags=0,
                   dst_len=0, oif=2, gateway="fe80::1")
V4_DEFAULT = dataclasses.replace(V6_DEFAULT, family=2, gateway="10.0.0.1")


def echo_reply(ident: int, seq: int) -> str:
    """A raw ICMPv6 echo reply as collect.probe keeps it (hex)."""
    return (struct.pack("!BBHHH", 129, 0, 0, ident, seq) + b"netdx-echo-probe").hex()


def raw_echo(address: str, replies: int = 3) -> dict[str, Any]:
    return {"address": address, "method": "raw", "ident": 7,
            "sent": [[seq, seq * 50.0] for seq in (1, 2, 3)],
            "packets": [{"at_ms": seq * 50.0 + 0.2, "sender": address.partition("%")[0],
                         "data": echo_reply(7, seq), "cmsgs": []}
                        for seq in range(1, replies + 1)],
            "errqueue": [], "send_error": None}


def dns_response(query: bytes) -> bytes:
    """The lab responder's answer: one A record 192.0.2.8 for the question asked."""
    end = query.index(b"\0", 12) + 5
    head = query[:2] + b"\x81\x80" + query[4:6] + b"\x00\x01\x00\x00\x00\x00"
    return head + query[12:end] + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(
        [192, 0, 2, 8])


def server_data(msg_id: int, *, dns_error: str | None = None) -> dict[str, Any]:
    wire = bytes.fromhex(request((), "svc.lab", msg_id=msg_id, timeout=3)["self"]["dns_query"])
    v4_echo = raw_echo("127.0.0.1")
    v4_echo["method"] = "dgram"  # a datagram socket's v4 reply: no IP header, type 0
    for seq, packet in enumerate(v4_echo["packets"], 1):
        packet["data"] = (struct.pack("!BBHHH", 0, 0, 0, 7, seq) + b"netdx-echo-probe").hex()
    lookup = {"address": "fd00:9::53", "route": dataclasses.asdict(V6_DEFAULT),
              "neighbour": None, "error": None}
    answer = ({"server": "fd00:9::53", "response": None, "error": dns_error, "elapsed_ms": 0.3}
              if dns_error else {"server": "fd00:9::53", "response": dns_response(wire).hex(),
                                 "error": None, "elapsed_ms": 0.4})
    return {"interfaces": [LO, ETH], "family": 6,
            "gateways": [{"route": dataclasses.asdict(V6_DEFAULT), "interface": "eth0",
                          "neighbour": "REACHABLE", "echo": raw_echo("fe80::1%eth0")}],
            "loopback_echo": v4_echo, "resolv_conf": "nameserver fd00:9::53\n",
            "resolv_error": None, "local_servers": [],
            "beyond": [{"address": "fd00:9::53", "role": "dns_server", "lookup": lookup,
                        "echo": raw_echo("fd00:9::53"), "interfaces": {"2": "eth0"}}],
            "dns": [answer], "hostname": "server"}


def test_query_travels_as_data_and_is_checked() -> None:
    """The request's `self` is accepted by the collector; an unknown field, a name where an
    address belongs, or a DNS query that is not hex are refused (ValueError)."""
    req = request(("10.0.0.9",), "svc.lab", msg_id=1, timeout=2)
    parsed = CollectRequest.from_json(req)
    assert parsed.collectors == ("self",) and parsed.selfcheck is not None
    assert parsed.selfcheck["named"] == ["10.0.0.9"]
    for bad in ({"named": ["db.lab"]}, {"named": [], "extra": 1}, {"dns_query": "zz" * 20}):
        with pytest.raises(ValueError):
            facts.parse_query(bad)


def test_nameservers_as_glibc_picks_them() -> None:
    """The first three valid nameserver lines; none at all means 127.0.0.1."""
    text = "search lab\nnameserver 10.0.0.1\nnameserver bogus\nnameserver fd00::53\n" \
           "nameserver 10.0.0.2\nnameserver 10.0.0.3\n"
    assert facts.nameservers(text) == ["10.0.0.1", "fd00::53", "10.0.0.2"]
    assert facts.nameservers("# empty\n") == ["127.0.0.1"]


def test_the_servers_collector_reads_resolv_conf_as_netdx_does() -> None:
    """One reader of resolv.conf (`collect.resolv`): the servers a server's collector asks
    are the ones netdx's own model would ask for the same text."""
    from netdx.dns.resolvconf import parse_resolv_conf

    for text in ("nameserver\t10.0.0.9\nnameserver fe80::1%eth0\n", "", "# nameserver 1.1.1.1\n",
                 "nameserver 10.0.0.1 extra\noptions ndots:3\nnameserver 10.0.0.2\n"):
        assert tuple(facts.nameservers(text)) == parse_resolv_conf(text).nameservers


def test_family_walked() -> None:
    """IPv4 when it has a default route (IPv6 beside it is the other family); IPv6 alone
    on an IPv6-only host; a named IPv6 host walks IPv6 first."""
    assert facts.walked({4: V4_DEFAULT, 6: V6_DEFAULT}, []) == (4, 6)
    assert facts.walked({4: None, 6: V6_DEFAULT}, []) == (6, None)
    assert facts.walked({4: V4_DEFAULT, 6: V6_DEFAULT}, ["fd00::9"]) == (6, 4)
    assert facts.walked({4: None, 6: None}, []) == (4, None)


def test_echo_to_a_link_local_gateway_carries_its_interface() -> None:
    """fe80::1 on eth0 is echoed as fe80::1%eth0 (its scope); a global gateway as is."""
    assert facts.echo_address(V6_DEFAULT, [ETH]) == "fe80::1%eth0"
    assert facts.echo_address(V4_DEFAULT, [ETH]) == "10.0.0.1"


def test_server_facts_become_the_local_evidence_and_verdict() -> None:
    """An IPv6-only server whose gateway and DNS server answer: the walk's evidence is the
    local shape (gateway fe80::1 on eth0 answered 3/3, the A record parsed from the bytes),
    and every step is ok."""
    ev = evidence_of(server_data(4242), named=(), resolve="svc.lab", msg_id=4242)
    assert ev.family == 6 and ev.gateway is not None
    assert (ev.gateway.address, ev.gateway.interface, ev.gateway.echo.received) == (
        "fe80::1", "eth0", 3)
    assert ev.beyond[0].route.gateway == "fe80::1" and ev.beyond[0].echo is not None
    assert ev.dns[0].status == "ok" and ev.dns[0].records[0].value == "192.0.2.8"
    assert ev.dns[0].qname == question_of("svc.lab").name
    steps = {s.name: s.status for s in judge(ev).steps}
    assert steps == dict.fromkeys(("loopback", "interfaces", "gateway", "beyond", "dns"), "ok")
    assert judge(ev).verdict.ok


def test_refused_dns_and_a_foreign_answer_are_judged_as_locally() -> None:
    """ECONNREFUSED is the local words for it; an answer to another query id is bad_id."""
    refused = evidence_of(server_data(1, dns_error="ECONNREFUSED"), named=(),
                          resolve="svc.lab", msg_id=1)
    assert refused.dns[0].status == "error"
    assert refused.dns[0].error == "connection refused (ICMP port unreachable)"
    other = evidence_of(server_data(1), named=(), resolve="svc.lab", msg_id=2)
    assert other.dns[0].status == "bad_id"


@pytest.mark.parametrize("damage", [
    {"family": 5}, {"interfaces": "eth0"}, {"gateways": [{"route": {"errno": 101}}]},
    {"beyond": [{"address": "not-an-ip", "role": "named", "lookup": {}}]},
    {"dns": [{"server": "fd00:9::53", "response": "zz"}]},
])
def test_malformed_server_data_is_a_document_error(damage: dict[str, Any]) -> None:
    """A document of the wrong shape (from a broken or hostile server) is a DocumentError."""
    with pytest.raises(DocumentError):
        evidence_of({**server_data(1), **damage}, named=(), resolve="svc.lab", msg_id=1)


def test_raw_echo_reply_from_a_scoped_link_local_gateway_matches() -> None:
    """A raw socket names the link-local sender without its scope (fe80::1) while the echo
    went to fe80::1%eth0: the reply is still ours (the gateway's echo of an IPv6 host)."""
    import struct

    from netdx.probes.icmp import parse_raw_packet

    reply = struct.pack("!BBHHH", 129, 0, 0, 0x1234, 2) + b"netdx-echo-probe"
    packet = parse_raw_packet(6, reply, "fe80::1", "fe80::1%eth0", 0x1234)
    assert packet is not None and packet.seq == 2
    assert parse_raw_packet(6, reply, "fe80::2", "fe80::1%eth0", 0x1234) is None


def test_server_walk_leaves_time_for_the_answer_to_come_back() -> None:
    """The server's walk gets the budget less 1 s (or 30 % of a long one) for ssh's connect
    and the way back, never less than half a second."""
    from netdx.selfcheck.remote import walk_budget

    assert walk_budget(3.0) == 2.0
    assert walk_budget(10.0) == 7.0
    assert walk_budget(0.8) == 0.5


def test_collector_keeps_only_its_own_echo_errors() -> None:
    """A raw socket sees every ICMPv6 error of the namespace: one quoting our echo is kept,
    a port unreachable for a DNS query beside it is not (it would end the echoes early)."""
    from netdx.collect.probe import _maybe_ours

    def unreachable(quoted_payload: bytes) -> bytes:
        ip6 = bytes([0x60]) + bytes(5) + bytes([58 if quoted_payload[:1] == b"\x80" else 17,
                                                64]) + bytes(32)
        return struct.pack("!BBHI", 1, 4, 0, 0) + ip6 + quoted_payload

    ours = unreachable(struct.pack("!BBHHH", 128, 0, 0, 0x1234, 1) + b"netdx-echo-probe")
    dns = unreachable(struct.pack("!HHHH", 40000, 53, 20, 0) + b"\x12\x34" + bytes(10))
    assert _maybe_ours(ours, "fd00::1", 0x1234)
    assert not _maybe_ours(dns, "fd00::1", 0x1234)
    assert _maybe_ours(bytes.fromhex(echo_reply(0x1234, 1)), "fe80::1", 0x1234)


@pytest.mark.parametrize("name", ["\x80", "a b", "a..b", "x" * 64, "."])
def test_resolve_name_that_cannot_be_on_the_wire_is_bad_input(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`self --resolve NAME --ssh DEST`: a name that cannot be put in a query is exit 2 and
    one line before any ssh (make fuzz found '\\x80' as an internal error, exit 3)."""
    from netdx.start import main

    # Loopback's discard port: should the check ever let the name through, ssh is refused here.
    argv = ["self", "--resolve", name, "--ssh", "root@127.0.0.1", "--ssh-option", "Port=9"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not a DNS name" in err, err


def test_resolve_name_in_unicode_is_asked_in_its_idna_form() -> None:
    """A Unicode name is asked as `netdx dns` asks it: its IDNA (xn--) form."""
    from netdx.dns.message import ascii_name

    assert ascii_name("é.com") == "xn--9ca.com"
    assert ascii_name("db.lab.") == "db.lab."


class _TruncatingServer:
    """A DNS server on loopback whose UDP answer is truncated (TC, no records) and whose
    TCP side does `tcp`: "answer" (the full answer, after one for another query id),
    "close" (closes without a word) or "none" (no TCP listener: the connect is refused)."""

    def __init__(self, tcp: str) -> None:
        import socket
        import threading

        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        if tcp != "none":
            self.tcp.listen(1)
        self.mode = tcp
        self.udp.settimeout(5.0)
        self.tcp.settimeout(5.0)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        import contextlib

        with contextlib.suppress(OSError):
            query, peer = self.udp.recvfrom(512)
            truncated = query[:2] + b"\x83\x80" + query[4:6] + b"\0\0\0\0\0\0" + query[12:]
            self.udp.sendto(truncated, peer)
            if self.mode == "none":
                return
            conn, _ = self.tcp.accept()
            with conn:
                conn.settimeout(5.0)
                size = int.from_bytes(conn.recv(2), "big")
                query = conn.recv(size)
                if self.mode == "close":
                    return
                for answer in (b"\xbe\xef" + dns_response(query)[2:], dns_response(query)):
                    conn.sendall(len(answer).to_bytes(2, "big") + answer)

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()
        self.thread.join(5.0)


@pytest.mark.parametrize(("tcp", "status", "error"), [
    ("answer", "ok", None),
    ("close", "malformed", "TCP stream closed after 0 bytes"),
    ("none", "error", "TCP: connection refused (ICMP port unreachable)"),
])
def test_truncated_answer_is_asked_again_over_tcp_on_the_server(
        tcp: str, status: str, error: str | None) -> None:
    """A server's collector asks a truncated (TC) UDP answer again over TCP, as netdx's own
    transport does: the TCP answer (after skipping one for another id) is the evidence, with
    the local note; a stream closed early or a refused connect are the local words."""
    from netdx.collect.clock import Deadline
    from netdx.collect.system import LocalHost

    wire = bytes.fromhex(request((), "svc.lab", msg_id=77, timeout=3)["self"]["dns_query"])
    server = _TruncatingServer(tcp)
    try:
        raw = facts.ask(LocalHost(), "127.0.0.1", wire, Deadline.after(3.0), port=server.port)
    finally:
        server.close()
    assert raw["transport"] == "tcp"
    data = server_data(77)
    data["dns"] = [dict(raw, server="fd00:9::53")]
    answer = evidence_of(data, named=(), resolve="svc.lab", msg_id=77).dns[0]
    assert (answer.status, answer.error) == (status, error)
    assert answer.exchange is not None and answer.exchange.transport == "tcp"
    assert answer.exchange.notes == ("truncated (TC) over UDP: retried over TCP",)
    if status == "ok":
        assert [r.value for r in answer.records] == ["192.0.2.8"]
