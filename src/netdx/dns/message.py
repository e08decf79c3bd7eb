"""DNS messages as frozen values, and the one place that turns wire bytes into them.

Everything above this module (the trace state machine, the comparison, the renderers) reads
only these dataclasses, so it can be tested with hand-built responses and never imports
dnspython. dnspython is imported lazily inside `parse_response` and `build_query`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from netdx.model.evidence import DnsRecord

QueryStatus = Literal["ok", "timeout", "malformed", "bad_id", "error"]
Transport = Literal["udp", "tcp"]
Section = Literal["answer", "authority", "additional"]

# dig's order for the header flags.
FLAG_ORDER = ("qr", "aa", "tc", "rd", "ra", "ad", "cd")


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """The question of a query: a name (absolute, with the trailing dot) and a type."""

    name: str
    rtype: str
    rclass: str = "IN"


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsResponse:
    """One DNS response as it came off the wire, every section kept."""

    id: int
    rcode: str  # NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... (EDNS extended rcodes included)
    flags: tuple[str, ...]  # lower case, dig's order: qr aa tc rd ra ad cd
    question: tuple[Question, ...] = ()
    answer: tuple[DnsRecord, ...] = ()
    authority: tuple[DnsRecord, ...] = ()
    additional: tuple[DnsRecord, ...] = ()
    edns_payload: int | None = None  # the UDP size the server advertised (OPT), None without EDNS
    size: int = 0  # bytes on the wire

    @property
    def aa(self) -> bool:
        return "aa" in self.flags

    @property
    def tc(self) -> bool:
        return "tc" in self.flags


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryResult:
    """One query to one server and what became of it; network failures are data here.

    `status` is ok (a response that matches the query), timeout, malformed (bytes that do not
    parse, or a TCP stream cut short), bad_id (only answers to some other query came back:
    wrong ID or question), error (the network said no, e.g. ICMP port unreachable).
    `notes` say what else happened on the way (a truncated UDP answer retried over TCP,
    datagrams ignored because their ID was wrong).
    """

    server: str
    port: int
    question: Question
    status: QueryStatus
    transport: Transport
    elapsed_ms: float
    response: DnsResponse | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()
    recursion_desired: bool = True


class WireError(ValueError):
    """Bytes that are not a DNS message (raised by `parse_response`, caught by the caller)."""


def record_of(name: str, rtype: str, ttl: int, value: str) -> DnsRecord:
    """A record value with its name folded to lower case (DNS names compare case-blind)."""
    return DnsRecord(name=name.lower(), rtype=rtype, ttl=ttl, value=value)


def parse_response(wire: bytes) -> DnsResponse:
    """Parse wire bytes into a `DnsResponse`; `WireError` says why they are not a message.

    Bad compression pointers, truncated sections and trailing junk are all `WireError`.
    """
    import dns.exception
    import dns.message

    try:
        msg = dns.message.from_wire(wire)
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError) as exc:
        raise WireError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
    return _from_message(msg, len(wire))


def _from_message(msg: object, size: int) -> DnsResponse:
    import dns.flags
    import dns.message
    import dns.rcode

    assert isinstance(msg, dns.message.Message)
    flags = dns.flags.to_text(msg.flags).lower().split()
    return DnsResponse(
        id=msg.id,
        rcode=dns.rcode.to_text(msg.rcode()),
        flags=tuple(f for f in FLAG_ORDER if f in flags),
        question=tuple(_question(rrset) for rrset in msg.question),
        answer=_records(msg.answer),
        authority=_records(msg.authority),
        additional=_records(msg.additional),
        edns_payload=msg.payload if msg.edns >= 0 else None,
        size=size,
    )


def _question(rrset: object) -> Question:
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset

    assert isinstance(rrset, dns.rrset.RRset)
    return Question(
        name=rrset.name.to_text().lower(),
        rtype=dns.rdatatype.to_text(rrset.rdtype),
        rclass=dns.rdataclass.to_text(rrset.rdclass),
    )


def _records(section: Sequence[object]) -> tuple[DnsRecord, ...]:
    import dns.rdatatype
    import dns.rrset

    out: list[DnsRecord] = []
    for rrset in section:
        assert isinstance(rrset, dns.rrset.RRset)
        rtype = dns.rdatatype.to_text(rrset.rdtype)
        name = rrset.name.to_text()
        out.extend(record_of(name, rtype, rrset.ttl, rd.to_text()) for rd in rrset)
    return tuple(out)


def build_query(question: Question, *, msg_id: int, recursion_desired: bool) -> bytes:
    """The wire form of a query, as dig sends it: EDNS0 with a 1232-byte payload."""
    import dns.flags
    import dns.message
    import dns.rdataclass
    import dns.rdatatype

    msg = dns.message.make_query(
        question.name,
        dns.rdatatype.from_text(question.rtype),
        dns.rdataclass.from_text(question.rclass),
        use_edns=0,
        payload=1232,
    )
    msg.id = msg_id
    if not recursion_desired:
        msg.flags &= ~dns.flags.RD
    wire: bytes = msg.to_wire()
    return wire


def answers_question(response: DnsResponse, question: Question, msg_id: int) -> str | None:
    """Why `response` is not the answer to our query (None when it is).

    A response must carry our ID, the QR bit and our question (RFC 5452: anything else may
    be spoofed or late, and a resolver ignores it).
    """
    if response.id != msg_id:
        return f"wrong ID {response.id:#06x} (asked {msg_id:#06x})"
    if "qr" not in response.flags:
        return "QR bit not set (a query, not a response)"
    wanted = (question.name.lower(), question.rtype, question.rclass)
    got = [(q.name, q.rtype, q.rclass) for q in response.question]
    if got and got != [wanted]:
        return f"question {got[0][0]} {got[0][1]} does not match {question.name} {question.rtype}"
    return None
