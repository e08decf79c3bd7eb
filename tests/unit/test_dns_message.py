"""Parsing real DNS responses captured from the lab (nsd, unbound) and hostile variants of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netdx.dns.classify import classify_response
from netdx.dns.message import WireError, answers_question, build_query, parse_response
from netdx.model.evidence import DnsQuestion

WIRE = Path(__file__).parent / "fixtures" / "dnswire"
MANIFEST = json.loads((WIRE / "manifest.json").read_text())


def wire(name: str) -> bytes:
    return (WIRE / f"{name}.bin").read_bytes()


def question(name: str) -> DnsQuestion:
    m = MANIFEST[name]
    return DnsQuestion(name=m["qname"], rtype=m["qtype"])


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_every_capture_parses_and_answers_its_query(name: str) -> None:
    """Each captured response parses, carries the ID we sent and matches our question."""
    response = parse_response(wire(name))
    assert response.id == MANIFEST[name]["id"]
    assert answers_question(response, question(name), MANIFEST[name]["id"]) is None
    assert response.size == len(wire(name))


def test_authoritative_answer_keeps_every_section_and_ttl() -> None:
    """nsd's answer for www.example.lab has AA, the A record with its TTL, NS and glue."""
    r = parse_response(wire("www_a_aa"))
    assert r.rcode == "NOERROR"
    assert r.flags == ("qr", "aa")
    assert [(a.name, a.rtype, a.ttl, a.value) for a in r.answer] == [
        ("www.example.lab.", "A", 300, "10.53.1.10")
    ]
    assert {a.value for a in r.authority} == {"ns1.example.lab.", "ns2.example.lab."}
    assert {(a.name, a.value) for a in r.additional} == {
        ("ns1.example.lab.", "10.53.0.21"),
        ("ns2.example.lab.", "10.53.0.22"),
    }
    assert r.edns_payload is not None


def test_truncated_flag_is_seen() -> None:
    """A 1.5 kB TXT answer over UDP comes back empty with TC set (nsd, EDNS 1232)."""
    r = parse_response(wire("big_txt_tc"))
    assert r.tc and r.aa and r.answer == ()


@pytest.mark.parametrize(
    ("name", "rtype", "value"),
    [
        ("resolver_mx", "MX", "10 mail.example.lab."),
        ("resolver_srv", "SRV", "0 5 389 www.example.lab."),
        ("resolver_txt", "TXT", '"v=spf1 -all"'),
        ("resolver_aaaa", "AAAA", "fd53::10"),
        ("resolver_ptr", "PTR", "www.example.lab."),
        ("resolver_soa", "SOA", "ns1.example.lab. hostmaster.lab. 1 3600 600 86400 300"),
    ],
)
def test_record_values_are_presented_like_dig(name: str, rtype: str, value: str) -> None:
    """Record values come out in dig's presentation format."""
    r = parse_response(wire(name))
    assert "ra" in r.flags
    assert [(a.rtype, a.value) for a in r.answer] == [(rtype, value)]


def test_cname_chain_is_in_order() -> None:
    """unbound's answer for alias.example.lab lists the CNAME, then the A record."""
    r = parse_response(wire("resolver_alias"))
    assert [(a.rtype, a.value) for a in r.answer] == [
        ("CNAME", "www.example.lab."),
        ("A", "10.53.1.10"),
    ]


def test_rcodes() -> None:
    """REFUSED, SERVFAIL and NXDOMAIN come through as their names."""
    assert parse_response(wire("refused")).rcode == "REFUSED"
    assert parse_response(wire("resolver_servfail")).rcode == "SERVFAIL"
    assert parse_response(wire("nxdomain_aa")).rcode == "NXDOMAIN"


def _first_pointer(data: bytes) -> int:
    """Offset of the first compression pointer after the question."""
    for i in range(12, len(data) - 1):
        if data[i] & 0xC0 == 0xC0 and data[i + 1] == 0x0C:
            return i
    raise AssertionError("no compression pointer in the capture")


def test_forward_compression_pointer_is_a_wire_error() -> None:
    """A compression pointer aimed past the end of the message is rejected, not followed."""
    data = bytearray(wire("www_a_aa"))
    at = _first_pointer(bytes(data))
    data[at], data[at + 1] = 0xFF, 0xFF
    with pytest.raises(WireError):
        parse_response(bytes(data))


def test_self_pointer_loop_is_a_wire_error() -> None:
    """A compression pointer that points at itself cannot make the parser loop."""
    data = bytearray(wire("www_a_aa"))
    at = _first_pointer(bytes(data))
    data[at], data[at + 1] = 0xC0 | (at >> 8), at & 0xFF
    with pytest.raises(WireError):
        parse_response(bytes(data))


@pytest.mark.parametrize("cut", [0, 5, 11, 20, 40])
def test_truncated_bytes_are_a_wire_error(cut: int) -> None:
    """A response cut short anywhere is a WireError with a reason."""
    with pytest.raises(WireError) as info:
        parse_response(wire("www_a_aa")[:cut])
    assert str(info.value)


def test_trailing_junk_is_a_wire_error() -> None:
    """Bytes after the last record mean the message is not what it claims."""
    with pytest.raises(WireError):
        parse_response(wire("www_a_aa") + b"\x00junk")


def test_wrong_id_is_not_our_answer() -> None:
    """A response whose ID differs from the query's is named as such."""
    r = parse_response(wire("www_a_aa"))
    why = answers_question(r, question("www_a_aa"), r.id ^ 1)
    assert why is not None and "wrong ID" in why


def test_wrong_question_is_not_our_answer() -> None:
    """A response to another name is not an answer to ours, even with the right ID."""
    r = parse_response(wire("www_a_aa"))
    why = answers_question(r, DnsQuestion(name="other.example.lab.", rtype="A"), r.id)
    assert why is not None and "does not match" in why


def test_built_query_is_what_dig_sends_with_rd_cleared() -> None:
    """A trace query: our ID, RD off, one question, EDNS0 (version 0) with a 1232-byte
    payload, byte for byte."""
    data = build_query(DnsQuestion(name="www.example.lab.", rtype="AAAA"), msg_id=0x4242,
                       recursion_desired=False)
    assert data == (
        b"\x42\x42\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01"
        b"\x03www\x07example\x03lab\x00\x00\x1c\x00\x01"
        b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    )
    recursive = build_query(DnsQuestion(name="www.example.lab", rtype="A"), msg_id=1,
                            recursion_desired=True)
    assert recursive[2:4] == b"\x01\x00" and b"\x00\x00\x01\x00\x01" in recursive
    plain = build_query(DnsQuestion(name="www.example.lab", rtype="A"), msg_id=1,
                        recursion_desired=True, edns=False)
    # The same header (but ARCOUNT 0) and question, no OPT record.
    assert plain[:10] == recursive[:10] and plain[10:12] == b"\x00\x00"
    assert plain[12:] == recursive[12:-11]


@pytest.mark.parametrize("name", ["a" * 64 + ".example.", "a..example.", "x." * 130])
def test_names_that_do_not_fit_on_the_wire_are_refused(name: str) -> None:
    """A label over 63 bytes, an empty label or a name over 255 bytes is a ValueError."""
    with pytest.raises(ValueError):
        build_query(DnsQuestion(name=name, rtype="A"), msg_id=1, recursion_desired=True)


def test_record_types_without_a_presentation_use_the_generic_form() -> None:
    """A type netdx has no text for comes out as RFC 3597's `\\# LEN HEX`, like dig."""
    data = bytearray(wire("www_a_aa"))
    at = data.index(b"\x00\x01\x00\x01\x00\x00\x01\x2c", 12 + 21)  # A IN TTL 300
    data[at:at + 2] = b"\xff\x00"  # type 65280
    (record,) = parse_response(bytes(data)).answer
    assert (record.rtype, record.value) == ("TYPE65280", "\\# 4 0a35010a")


def test_edns_extended_rcode_and_escaped_labels() -> None:
    """The OPT record's upper rcode bits make BADVERS; odd bytes in labels are escaped."""
    query = build_query(DnsQuestion(name="a\\.b\\032c.example.", rtype="A"), msg_id=7,
                        recursion_desired=False)
    response = bytearray(query)
    response[2] |= 0x80  # QR
    response[-6] = 1  # OPT extended rcode 1 -> 16
    parsed = parse_response(bytes(response))
    assert parsed.rcode == "BADVERS" and parsed.edns_payload == 1232
    assert parsed.question[0].name == "a\\.b\\032c.example."


@pytest.mark.parametrize(
    ("name", "zone", "kind"),
    [
        ("root_referral", ".", "referral"),
        ("tld_referral", "lab.", "referral"),
        ("www_a_aa", "example.lab.", "answer"),
        ("nxdomain_aa", "example.lab.", "nxdomain"),
        ("nodata_aa", "example.lab.", "nodata"),
        ("dangling_cname_aa", "example.lab.", "nxdomain"),
        ("refused", "example.lab.", "refused"),
    ],
)
def test_classify_real_responses(name: str, zone: str, kind: str) -> None:
    """Each captured authoritative response means what a resolver would take it to mean."""
    q = question(name)
    got = classify_response(parse_response(wire(name)), qname=q.name, qtype=q.rtype, zone=zone)
    assert got.kind == kind


def test_referral_carries_in_bailiwick_glue() -> None:
    """The root's referral for lab. names both TLD servers and keeps their glue."""
    q = question("root_referral")
    got = classify_response(parse_response(wire("root_referral")), qname=q.name,
                            qtype="A", zone=".")
    assert got.child_zone == "lab."
    assert got.ns_names == ("ns1.nic.lab.", "ns2.nic.lab.")
    assert {g.value for g in got.glue} == {"10.53.0.11", "10.53.0.12"}


def test_referral_to_the_same_zone_is_a_loop() -> None:
    """The TLD's referral, replayed as if it came from example.lab's servers, is a loop."""
    q = question("tld_referral")
    got = classify_response(parse_response(wire("tld_referral")), qname=q.name,
                            qtype="A", zone="example.lab.")
    assert got.kind == "bad_referral"


def test_mutated_captures_never_escape_as_other_exceptions() -> None:
    """3000 random corruptions of real responses either parse or raise WireError, and what
    parses can be classified: garbage never becomes a traceback."""
    import random

    rng = random.Random(53)
    captures = [wire(name) for name in sorted(MANIFEST)]
    for _ in range(3000):
        data = bytearray(rng.choice(captures))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)):]
        try:
            response = parse_response(bytes(data))
        except WireError:
            continue
        classify_response(response, qname="www.example.lab.", qtype="A", zone="lab.")


def test_an_answer_with_its_whole_response_round_trips_through_the_codec() -> None:
    """The one answer shape, with its exchange and every section of a real response, and a
    comparison holding it, come back equal from the evidence codec."""
    from netdx.model.codec import from_data, to_data
    from netdx.model.evidence import DnsComparison, DnsExchange, DnsServerAnswer, NssResult

    message = parse_response(wire("root_referral"))
    answer = DnsServerAnswer(server="10.53.0.1", qname="www.example.lab.", rtype="A",
                             status="nodata", records=message.answer, elapsed_ms=0.3,
                             exchange=DnsExchange(port=53, transport="udp", message=message,
                                                  recursion_desired=False, notes=("n",)))
    assert from_data(DnsServerAnswer, to_data(answer)) == answer
    compared = DnsComparison(name="www", rtype="A", servers=(answer,), checked_at=1.5,
                             system=NssResult(name="www", status="ok", addresses=("10.0.0.1",)))
    assert from_data(DnsComparison, to_data(compared)) == compared
