"""Evidence literals of udp:// and dns:// checks (re-exported by evidence_cases), with the
values the lab measures: a UDP port that replies, one that is closed, one that is silent,
and a DNS server that answers, fails (SERVFAIL), refuses, or sends garbage."""

from __future__ import annotations

from dataclasses import replace

from netdx.model import AddressEvidence, CheckEvidence, DnsRecord, DnsServerAnswer, IcmpError
from netdx.model.evidence import (
    DelegatedServer,
    DnsExchange,
    DnsMessage,
    DnsQuestion,
    DnsStatus,
    UdpExchange,
)
from netdx.plan.address import family_of

SERVER = "10.0.0.20"
RESOLVER = "10.53.0.53"


def _literal_check(scheme: str, address: str, port: int, udp: UdpExchange) -> CheckEvidence:
    from evidence_cases import echo_reply, literal, route_ok

    return CheckEvidence(
        target_host=address,
        port=port,
        scheme=scheme,
        dns=literal(address),
        addresses=(AddressEvidence(address=address, family=family_of(address),
                                   route=route_ok(address), echo=echo_reply(address), udp=udp),),
    )  # fmt: skip


def _udp(outcome: str, **kw: object) -> UdpExchange:
    base = UdpExchange(address=SERVER, port=5353, outcome="reply", elapsed_ms=0.41,
                       budget_ms=2500.0, sent=1)  # fmt: skip
    return replace(base, outcome=outcome, **kw)  # type: ignore[arg-type]


UDP_REPLY = _literal_check("udp", SERVER, 5353, _udp("reply", reply_bytes=12))
UDP_CLOSED = _literal_check(
    "udp", SERVER, 5353,
    _udp("closed", errno="ECONNREFUSED",
         icmp=IcmpError(family=4, icmp_type=3, icmp_code=3, kind="port-unreachable",
                        sender=SERVER, errno="ECONNREFUSED")),
)  # fmt: skip
UDP_SILENT = _literal_check("udp", SERVER, 5353, _udp("open_filtered", elapsed_ms=2501.2, sent=3))
UDP_ADMIN = _literal_check(
    "udp", SERVER, 5353,
    _udp("icmp_error", errno="EHOSTUNREACH",
         icmp=IcmpError(family=4, icmp_type=3, icmp_code=13, kind="admin-prohibited",
                        sender="10.0.1.1", errno="EHOSTUNREACH")),
)  # fmt: skip


def _dns(status: DnsStatus, rcode: str, *records: DnsRecord, flags: tuple[str, ...] = ("qr",
         "rd", "ra")) -> UdpExchange:  # fmt: skip
    name = "www.example.lab"
    message = DnsMessage(id=1, rcode=rcode, flags=flags,
                         question=(DnsQuestion(name=name, rtype="A"),), answer=records,
                         size=60)  # fmt: skip
    answer = DnsServerAnswer(server=RESOLVER, qname=name, rtype="A", status=status,
                             records=records, elapsed_ms=3.2,
                             exchange=DnsExchange(port=53, transport="udp", message=message))
    return UdpExchange(address=RESOLVER, port=53, outcome="reply", elapsed_ms=3.3,
                       budget_ms=2500.0, reply_bytes=60, dns=answer)  # fmt: skip


DNS_OK = _literal_check(
    "dns", RESOLVER, 53,
    _dns("ok", "NOERROR",
         DnsRecord(name="www.example.lab", rtype="A", ttl=300, value="10.53.1.10")),
)  # fmt: skip
DNS_SERVFAIL = _literal_check("dns", RESOLVER, 53, _dns("servfail", "SERVFAIL"))
DNS_SERVFAIL_AUTH = _literal_check(
    "dns", RESOLVER, 53, _dns("servfail", "SERVFAIL", flags=("qr", "rd"))
)
DNS_SERVFAIL_LAME = _literal_check(
    "dns", RESOLVER, 53,
    replace(_dns("servfail", "SERVFAIL"), delegation=(
        DelegatedServer(zone="refused.lab.", ns_name="ns1.refused.lab.", address="10.53.0.31",
                        outcome="refused", lame=True, rtt_ms=0.6),)),
)  # fmt: skip
DNS_REFUSED = _literal_check("dns", RESOLVER, 53, _dns("refused", "REFUSED"))
DNS_NOTIMP = _literal_check("dns", RESOLVER, 53, _dns("error", "NOTIMP"))
DNS_SILENT = _literal_check(
    "dns", RESOLVER, 53,
    UdpExchange(address=RESOLVER, port=53, outcome="open_filtered", elapsed_ms=2500.4,
                budget_ms=2500.0,
                dns=DnsServerAnswer(server=RESOLVER, qname="www.example.lab", rtype="A",
                                    status="timeout", error="no answer before the deadline",
                                    elapsed_ms=2500.3)),
)  # fmt: skip

UDP_ROUTER_REJECT = _literal_check(
    "udp", SERVER, 5353,
    _udp("icmp_error", errno="ECONNREFUSED",
         icmp=IcmpError(family=4, icmp_type=3, icmp_code=3, kind="port-unreachable",
                        sender="10.0.1.1", errno="ECONNREFUSED")),
)  # fmt: skip
UDP_NO_PATH = _literal_check(
    "udp", SERVER, 5353,
    _udp("icmp_error", errno="EHOSTUNREACH",
         icmp=IcmpError(family=4, icmp_type=3, icmp_code=1, kind="host-unreachable",
                        sender="10.0.1.1", errno="EHOSTUNREACH")),
)  # fmt: skip

UDP_EXPECTED = {
    "UDP_REPLY": "ok",
    "UDP_CLOSED": "port.udp_closed",
    "UDP_SILENT": "port.udp_open_filtered",
    "UDP_ADMIN": "firewall.reject_admin",
    "UDP_ROUTER_REJECT": "firewall.reject_port_unreachable",
    "UDP_NO_PATH": "reach.host_unreachable",
    "DNS_OK": "ok",
    "DNS_SERVFAIL": "service.dns_servfail",
    "DNS_SERVFAIL_AUTH": "service.dns_servfail",
    "DNS_SERVFAIL_LAME": "service.dns_servfail",
    "DNS_REFUSED": "service.dns_refused",
    "DNS_NOTIMP": "service.dns_bad_answer",
    "DNS_SILENT": "service.dns_no_answer",
}

__all__ = sorted(UDP_EXPECTED)  # the cases; evidence_cases re-exports exactly these
