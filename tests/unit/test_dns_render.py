"""`netdx dns` output (text and netdx.dns/1 JSON) and its command line, without a network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from netdx.dns.cli import _split_args, dns
from netdx.dns.message import parse_response
from netdx.dns.render import DnsReport, to_json, to_text
from netdx.model.dns_trace import ServerAttempt, TraceLevel, TraceResult
from netdx.model.evidence import DnsExchange, DnsQuestion, DnsRecord, DnsServerAnswer

WIRE = Path(__file__).parent / "fixtures" / "dnswire"


def www_result() -> DnsServerAnswer:
    response = parse_response((WIRE / "www_a_aa.bin").read_bytes())
    return DnsServerAnswer(server="10.53.0.21", qname="www.example.lab.", rtype="A",
                           status="ok", records=response.answer, elapsed_ms=0.42,
                           exchange=DnsExchange(port=53, transport="udp", message=response,
                                                recursion_desired=False))


def lame_trace() -> TraceResult:
    level = TraceLevel(zone="partial.lab.", qname="www.partial.lab.", servers=(),
                       outcome="answer", attempts=(
                           ServerAttempt(ns_name="ns1.partial.lab.", address="10.53.0.21",
                                         outcome="answer", rtt_ms=0.8),
                           ServerAttempt(ns_name="ns2.partial.lab.", address="10.53.0.31",
                                         outcome="refused", rtt_ms=0.5, detail="REFUSED")))
    return TraceResult(question=DnsQuestion(name="www.partial.lab.", rtype="A"), status="answer",
                       levels=(level,), answer=(DnsRecord(name="www.partial.lab.", rtype="A",
                                                          ttl=300, value="10.53.2.10"),),
                       authority=("ns1.partial.lab.", "10.53.0.21"))


def test_text_shows_every_section_like_dig() -> None:
    """The text output has the header, flags, each section with TTLs, and the query time."""
    text = to_text(DnsReport(queries=(www_result(),)))
    assert text.splitlines()[:3] == [
        ";; www.example.lab. A @10.53.0.21#53 (udp)",
        ";; status: NOERROR, id: 4098, flags: qr aa; ANSWER: 1, AUTHORITY: 2, ADDITIONAL: 2",
        ";; ANSWER SECTION:",
    ]
    assert "www.example.lab.                300     IN  A      10.53.1.10" in text
    assert ";; Query time: 0.42 ms, 128 bytes, EDNS udp 1232" in text


def test_json_schema_fields() -> None:
    """JSON carries the question, rcode, flags, server, time and the sections as records."""
    doc = json.loads(to_json(DnsReport(queries=(www_result(),))))
    assert doc["schema"] == "netdx.dns/1"
    assert doc["question"] == {"name": "www.example.lab.", "type": "A", "class": "IN"}
    assert (doc["rcode"], doc["flags"], doc["server"]) == ("NOERROR", ["qr", "aa"], "10.53.0.21")
    assert doc["elapsed_ms"] == 0.42
    assert doc["answer"] == [{"name": "www.example.lab.", "type": "A", "ttl": 300,
                              "value": "10.53.1.10"}]
    assert len(doc["authority"]) == 2 and len(doc["additional"]) == 2
    assert len(doc["queries"]) == 1 and "trace" not in doc


def test_json_trace_lists_servers_and_lame() -> None:
    """With a trace, JSON lists each zone cut's servers and the lame ones."""
    doc = json.loads(to_json(DnsReport(trace=lame_trace())))
    (level,) = doc["trace"]
    assert level["zone"] == "partial.lab."
    assert [s["outcome"] for s in level["servers"]] == ["answer", "refused"]
    assert doc["lame"] == [{"zone": "partial.lab.", "server": "ns2.partial.lab.",
                            "address": "10.53.0.31", "reason": "refused", "detail": "REFUSED"}]


def test_arguments_in_any_order_like_dig() -> None:
    """NAME, TYPEs and @SERVER can come in any order; -x builds the PTR name."""
    assert _split_args(("@10.0.0.53", "example.lab", "mx", "TXT"), None) == (
        "example.lab", ("MX", "TXT"), "10.0.0.53")
    assert _split_args((), "10.53.1.10") == ("10.1.53.10.in-addr.arpa.", ("PTR",), None)
    assert _split_args((), "fd53::10")[0].endswith(".ip6.arpa.")


@pytest.mark.parametrize("argv", [(), ("a", "b"), ("@-not-a-host", "x"), ("@a/b", "x"), ("a..b",),
                                  ("x" * 300,), ("a b",), ("x" * 64 + ".lab",),
                                  ("\udcff.lab",)])
def test_bad_usage_is_a_usage_error(argv: tuple[str, ...]) -> None:
    """Unparseable arguments are a click usage error (exit 2), never a traceback."""
    with pytest.raises(click.UsageError):
        _split_args(argv, None)


def test_cli_usage_error_exit_code() -> None:
    """The command exits 2 with a message for a bad server address."""
    result = CliRunner().invoke(dns, ["@-nope", "example.lab"])
    assert result.exit_code == 2
    assert "@SERVER must be an IP address or a host name" in result.output


def test_importing_the_command_does_not_import_dnspython() -> None:
    """The dns command module loads with click and the stdlib only (netdx --help stays fast)."""
    code = "import sys, netdx.dns.cli; print(any(m == 'dns' or m.startswith('dns.') " \
           "for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30)
    assert out.stdout.strip() == "False"


def test_trace_only_json_top_level_is_the_final_answer() -> None:
    """Without direct queries, question/rcode/flags/server come from the final authority."""
    from dataclasses import replace

    final = parse_response((WIRE / "www_a_aa.bin").read_bytes())
    trace = replace(lame_trace(), response=final, response_ms=0.8)
    doc = json.loads(to_json(DnsReport(trace=trace)))
    assert doc["question"]["name"] == "www.partial.lab."
    assert (doc["rcode"], doc["flags"], doc["server"]) == ("NOERROR", ["qr", "aa"], "10.53.0.21")
    assert doc["elapsed_ms"] == 0.8
    assert len(doc["authority"]) == 2


def test_trace_text_golden() -> None:
    """The trace text shows each zone, each server's outcome and time, lame ones marked."""
    text = to_text(DnsReport(trace=lame_trace()))
    assert text.splitlines() == [
        ";; trace www.partial.lab. A",
        "partial.lab.         www.partial.lab.  [answer]",
        "    ns1.partial.lab.         10.53.0.21       answer                0.8 ms",
        "    ns2.partial.lab.         10.53.0.31       refused               0.5 ms  LAME",
        ";; result: answer",
        "www.partial.lab.                300     IN  A      10.53.2.10",
        ";; from ns1.partial.lab. 10.53.0.21",
    ]


def test_unicode_name_is_accepted() -> None:
    """An internationalised name is turned into its IDNA form, which goes on the wire."""
    assert _split_args(("bücher.example",), None)[0] == "xn--bcher-kva.example"
