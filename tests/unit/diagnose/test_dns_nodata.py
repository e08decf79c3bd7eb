"""Issue 10: `netdx dns NAME` that gets NODATA for every address query exited 0 with no
finding; it is dns.no_address. One family missing (an IPv4-only name) stays no finding."""

from __future__ import annotations

from netdx.diagnose.dns_trace import query_findings
from netdx.model import DnsServerAnswer
from netdx.model.evidence import DnsExchange, DnsMessage, DnsRecord


def _answer(rtype: str, status: str, *values: str) -> DnsServerAnswer:
    records = tuple(DnsRecord(name="srv.example.lab.", rtype=rtype, ttl=300, value=v)
                    for v in values)
    message = DnsMessage(id=1, rcode="NOERROR", flags=("qr", "rd", "ra"), answer=records)
    return DnsServerAnswer(server="10.53.0.53", qname="srv.example.lab.", rtype=rtype,
                           status=status, records=records,  # type: ignore[arg-type]
                           exchange=DnsExchange(port=53, transport="udp", message=message))


def test_nodata_for_every_address_type_is_no_address() -> None:
    """A and AAAA both NODATA: one dns.no_address (fail) naming the name and the server."""
    (finding,) = query_findings((_answer("A", "nodata"), _answer("AAAA", "nodata")))
    assert finding.cause == "dns.no_address" and finding.severity == "fail"
    assert finding.summary == ("srv.example.lab. exists but has no A and AAAA record (NODATA "
                               "from 10.53.0.53)")
    assert finding.fix[0] == "confirm: dig @10.53.0.53 srv.example.lab. A"


def test_one_family_missing_is_not_a_finding() -> None:
    """A answered, AAAA NODATA: an IPv4-only name, nothing to report."""
    assert query_findings((_answer("A", "ok", "10.53.1.10"), _answer("AAAA", "nodata"))) == ()


def test_a_single_aaaa_query_with_nodata_is_no_address() -> None:
    """`netdx dns NAME AAAA` answered NODATA: the asked type is missing."""
    (finding,) = query_findings((_answer("AAAA", "nodata"),))
    assert finding.cause == "dns.no_address"
