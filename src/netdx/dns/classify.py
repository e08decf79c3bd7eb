"""What one server's response means at one level of a delegation walk. Pure, no I/O.

The rules a resolver applies to a response from a server it believes authoritative for
`zone` (RFC 1034 §5.3.3, RFC 4697 on lame delegations):

- REFUSED, SERVFAIL, other error rcodes, and answers without the AA bit are *lame*: the
  server does not serve the zone it was delegated.
- An authoritative answer ends the walk (records, NXDOMAIN, or NODATA), unless it is a
  CNAME whose target it does not also answer: then the walk restarts at the target.
- A response with NS records for a zone strictly below `zone` and at or above the name is a
  *referral*. NS records for `zone` itself or for a zone outside it would send the walk
  back up or sideways: a referral loop, counted as lame.
- Glue (A/AAAA in the additional section) is accepted only for names inside `zone`: a
  server may not tell us addresses for names it is not authoritative for.
"""

from __future__ import annotations

from typing import Literal

from netdx.model.dns import DnsMessage, DnsRecord, DnsServerAnswer
from netdx.model.dns_trace import LameKind
from netdx.model.record import record

# What a response can mean: the walk goes on or ends, or the server is lame (the kinds of
# `model.dns_trace.LameKind`).
Kind = Literal["answer", "nxdomain", "nodata", "cname", "referral", LameKind]

_NO_MESSAGE: frozenset[Kind] = frozenset({"timeout", "malformed", "bad_id", "error"})
FINAL_KINDS = frozenset({"answer", "nxdomain", "nodata"})


@record
class Classified:
    """The meaning of one response: its kind, a one-line detail, and what it points to."""

    kind: Kind
    detail: str = ""
    records: tuple[DnsRecord, ...] = ()  # the answer (CNAME chain included) for answer/cname
    target: str | None = None  # cname: the name to resolve next
    child_zone: str | None = None  # referral: the zone delegated to
    ns_names: tuple[str, ...] = ()  # referral: the delegated name servers, in order
    glue: tuple[DnsRecord, ...] = ()  # referral: in-bailiwick A/AAAA for those names


def fold(name: str) -> str:
    """A name in the form used for comparisons: lower case, absolute."""
    name = name.lower()
    return name if name.endswith(".") else name + "."


def is_subdomain(name: str, zone: str) -> bool:
    """True if `name` is `zone` or below it."""
    name, zone = fold(name), fold(zone)
    return zone == "." or name == zone or name.endswith("." + zone)


def classify(result: DnsServerAnswer, *, zone: str) -> Classified:
    """Classify one query result from a server delegated `zone`."""
    message = result.message
    if message is None:
        kind: Kind = result.status if result.status in _NO_MESSAGE else "malformed"
        return Classified(kind=kind, detail=result.error or result.status)
    return classify_response(message, qname=result.qname, qtype=result.rtype, zone=zone)


def classify_response(response: DnsMessage, *, qname: str, qtype: str, zone: str) -> Classified:
    """Classify a parsed response to `qname`/`qtype` from a server for `zone`."""
    rcode = response.rcode
    if rcode == "REFUSED":
        return Classified(kind="refused", detail="REFUSED: the server does not serve this zone")
    if rcode == "SERVFAIL":
        return Classified(kind="servfail", detail="SERVFAIL")
    if rcode not in ("NOERROR", "NXDOMAIN"):
        return Classified(kind="rcode", detail=rcode)
    if response.aa:
        return _authoritative(response, fold(qname), qtype)
    return _delegation(response, fold(qname), fold(zone))


def _authoritative(response: DnsMessage, qname: str, qtype: str) -> Classified:
    if response.rcode == "NXDOMAIN":
        chain = _chain(response.answer, qname)
        return Classified(kind="nxdomain", detail="NXDOMAIN (authoritative)", records=chain)
    chain = _chain(response.answer, qname)
    end = chain[-1].value if chain else qname
    finals = tuple(
        r for r in response.answer if fold(r.name) == fold(end) and r.rtype in (qtype, "ANY")
    )
    if qtype == "CNAME" or qtype == "ANY":
        finals = tuple(r for r in response.answer if fold(r.name) == qname) or finals
        if finals:
            return Classified(kind="answer", records=finals)
    if finals:
        return Classified(kind="answer", records=(*chain, *finals))
    if chain:
        return Classified(kind="cname", records=chain, target=fold(end),
                          detail=f"CNAME to {fold(end)}")
    return Classified(kind="nodata", detail=f"no {qtype} record (NODATA)")


def _chain(answer: tuple[DnsRecord, ...], qname: str) -> tuple[DnsRecord, ...]:
    """The CNAME records that lead from `qname` through `answer`, in order, loop-safe."""
    by_owner = {fold(r.name): r for r in answer if r.rtype == "CNAME"}
    chain: list[DnsRecord] = []
    seen = {qname}
    name = qname
    while name in by_owner:
        record = by_owner[name]
        chain.append(record)
        name = fold(record.value)
        if name in seen:
            break
        seen.add(name)
    return tuple(chain)


def _delegation(response: DnsMessage, qname: str, zone: str) -> Classified:
    ns = [r for r in response.authority if r.rtype == "NS"]
    if not ns:
        what = "an answer" if response.answer else f"{response.rcode} with no referral"
        return Classified(kind="not_authoritative", detail=f"{what} without the AA flag")
    child = fold(ns[0].name)
    if child == zone or not is_subdomain(child, zone) or not is_subdomain(qname, child):
        return Classified(
            kind="bad_referral",
            detail=f"referral to {child}, which is not below {zone}: it leads back (loop)",
        )
    names = tuple(dict.fromkeys(fold(r.value) for r in ns if fold(r.name) == child))
    glue = tuple(
        r
        for r in response.additional
        if r.rtype in ("A", "AAAA") and fold(r.name) in names and is_subdomain(r.name, zone)
    )
    return Classified(kind="referral", child_zone=child, ns_names=names, glue=glue,
                      detail=f"referral to {child}")
