"""`netdx dns` against a real hierarchy (nsd root, TLD and zones; unbound) in namespaces,
checked against dig on the same lab."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from dnslab import DnsTree, build, causes, dig, dig_records, netdx_dns

from netdx.lab import dnstree as z

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[DnsTree]:
    yield from build()


def trace(lab: DnsTree, name: str, *extra: str) -> tuple[int, dict[str, Any]]:
    return netdx_dns(lab, name, *extra, "--trace", "--root-hints", str(lab.hints_path))


def answer_set(records: list[dict[str, Any]]) -> set[tuple[str, int, str, str]]:
    return {(r["name"], r["ttl"], r["type"], r["value"]) for r in records}


@pytest.mark.parametrize(
    ("name", "rtype"),
    [("www.example.lab", "A"), ("www.example.lab", "AAAA"), ("example.lab", "MX"),
     ("example.lab", "TXT"), ("example.lab", "NS"), ("example.lab", "SOA"),
     ("_ldap._tcp.example.lab", "SRV"), ("alias.example.lab", "CNAME"),
     ("big.example.lab", "TXT"), ("nothere.example.lab", "A")],
)
def test_direct_answers_agree_with_dig(lab: DnsTree, name: str, rtype: str) -> None:
    """Every section, TTL and the rcode of an authoritative answer match dig's exactly."""
    code, doc = netdx_dns(lab, name, rtype, "@10.53.0.21", "--norecurse")
    text = dig(lab, "@10.53.0.21", "+norecurse", "+noall", "+answer", "+authority",
               "+additional", "+nocookie", name, rtype)
    ours = answer_set(doc["answer"] + doc["authority"] + doc["additional"])
    assert ours == dig_records(text)
    status = dig(lab, "@10.53.0.21", "+norecurse", name, rtype)
    assert f"status: {doc['rcode']}," in status
    assert "aa" in doc["flags"]
    assert code == (1 if doc["rcode"] == "NXDOMAIN" else 0)


def test_truncated_answer_is_retried_over_tcp(lab: DnsTree) -> None:
    """The 1.5 kB TXT record comes back whole over TCP after TC over UDP."""
    _, doc = netdx_dns(lab, "big.example.lab", "TXT", "@10.53.0.21")
    assert doc["transport"] == "tcp"
    assert any("TC" in n for n in doc["notes"])
    assert len(doc["answer"][0]["value"]) > 1500


def test_reverse_lookup_through_the_resolver(lab: DnsTree) -> None:
    """-x asks the PTR through resolv.conf's server (unbound), which walks the lab."""
    code, doc = netdx_dns(lab, "-x", "10.53.1.10")
    assert code == 0
    assert doc["server"] == z.RESOLVER and "ra" in doc["flags"]
    assert [r["value"] for r in doc["answer"]] == ["www.example.lab."]


def test_healthy_trace_agrees_with_dig_trace(lab: DnsTree) -> None:
    """The walk takes root → lab. → example.lab. and ends in dig +trace's final answer."""
    code, doc = trace(lab, "www.example.lab")
    assert code == 0
    assert [lv["zone"] for lv in doc["trace"]] == [".", "lab.", "example.lab."]
    assert doc["lame"] == [] and doc["findings"] == []
    assert doc["rcode"] == "NOERROR" and "aa" in doc["flags"]
    assert doc["server"] in ("10.53.0.21", "10.53.0.22")
    theirs = {r for r in dig_records(dig(lab, "+trace", "+nodnssec", "www.example.lab"))
              if r[2] == "A" and r[0] == "www.example.lab."}
    assert answer_set(doc["trace_result"]["answer"]) == theirs


def test_trace_without_click_or_asyncio_gives_the_same_document(lab: DnsTree) -> None:
    """`netdx dns --trace` as users start it (netdx.start, no click; the queries on a
    selectors loop, no asyncio) gives click's document for the healthy walk, timings
    aside, and its `-X importtime` record shows neither click nor asyncio."""
    argv = ["dns", "--trace", "--root-hints", str(lab.hints_path), "www.example.lab", "--json"]
    proc = subprocess.run(lab.exec_argv("client", [sys.executable, "-X", "importtime", "-m",
                                                   "netdx", *argv]),
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rpartition("|")[2].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "netdx.dns.flights" in imported
    assert not {m.partition(".")[0] for m in imported} & {"asyncio", "click", "ssl"}
    _, through_click = trace(lab, "www.example.lab")
    assert _steady(json.loads(proc.stdout)) == _steady(through_click)


def _steady(doc: Any) -> Any:
    """`doc` without its timings and the server that answered first (either may win)."""
    if isinstance(doc, dict):
        return {k: _steady(v) for k, v in doc.items()
                if not k.endswith("_ms") and k not in ("server", "server_name", "authority")}
    if isinstance(doc, list):
        return [_steady(v) for v in doc]
    return doc


def test_lame_servers_beside_a_working_one_are_a_warning(lab: DnsTree) -> None:
    """partial.lab.: one server answers, one refuses, one is silent: lame_delegation (warn)."""
    code, doc = trace(lab, "www.partial.lab")
    assert code == 0
    assert causes(doc) == {"dns.lame_delegation": "warn"}
    assert {(s["address"], s["reason"]) for s in doc["lame"]} == {
        (z.REFUSER, "refused"), (z.DEAD[3], "timeout")}
    assert [r["value"] for r in doc["trace_result"]["answer"]] == ["10.53.2.10"]


def test_delegation_whose_servers_are_gone_or_refuse_breaks(lab: DnsTree) -> None:
    """gone.lab.: a silent and a refusing server: broken at gone.lab., lame_delegation (fail)."""
    code, doc = trace(lab, "www.gone.lab")
    assert code == 1
    assert doc["trace_result"]["status"] == "broken"
    assert doc["trace_result"]["broken_at"] == "gone.lab."
    assert causes(doc) == {"dns.lame_delegation": "fail"}


def test_servfail_from_a_broken_delegation(lab: DnsTree) -> None:
    """The resolver answers SERVFAIL for refused.lab., like dig sees; the trace says why."""
    code, doc = netdx_dns(lab, "www.refused.lab")
    assert code == 1 and doc["rcode"] == "SERVFAIL"
    assert "status: SERVFAIL" in dig(lab, "www.refused.lab")
    assert "dns.servfail" in causes(doc)
    _, walked = trace(lab, "www.refused.lab")
    assert walked["trace_result"]["broken_at"] == "refused.lab."
    assert walked["lame"][0]["reason"] == "refused"


def test_nxdomain_from_the_authoritative_servers(lab: DnsTree) -> None:
    """A missing name is dns.nxdomain, said by the servers of example.lab."""
    code, doc = trace(lab, "nothere.example.lab")
    assert code == 1
    assert causes(doc) == {"dns.nxdomain": "fail"}
    assert doc["trace_result"]["authority"][1] in ("10.53.0.21", "10.53.0.22")


def test_cname_to_a_missing_name(lab: DnsTree) -> None:
    """dangling → nothere.example.lab (NXDOMAIN) is dns.dangling_cname."""
    code, doc = trace(lab, "dangling.example.lab")
    assert code == 1
    assert causes(doc) == {"dns.dangling_cname": "fail"}


def test_cname_loop_in_a_real_zone(lab: DnsTree) -> None:
    """loop1 ↔ loop2 ends at once as dns.cname_loop."""
    code, doc = trace(lab, "loop1.example.lab")
    assert code == 1 and causes(doc) == {"dns.cname_loop": "fail"}


def test_glueless_name_server_is_found(lab: DnsTree) -> None:
    """outside.lab. is served by ns-out.example.lab (no glue): looked up, then asked."""
    code, doc = trace(lab, "www.outside.lab")
    assert code == 0
    last = doc["trace"][-1]["servers"]
    assert [(s["name"], s["address"]) for s in last] == [("ns-out.example.lab.", "10.53.0.21")]


def test_stale_etc_hosts_pin(lab: DnsTree) -> None:
    """/etc/hosts pins pinned.example.lab to an old address: dns.hosts_override (fail)."""
    code, doc = netdx_dns(lab, "pinned.example.lab", "--compare", "--root-hints",
                          str(lab.hints_path))
    assert code == 1
    assert causes(doc) == {"dns.hosts_override": "fail"}
    rows = {r["kind"]: r for r in doc["compare"]["sources"]}
    assert rows["hosts"]["addresses"] == [z.PINNED_HOSTS]
    assert rows["system"]["addresses"] == [z.PINNED_HOSTS]
    assert rows["authoritative"]["addresses"] == [z.PINNED_DNS]


def test_search_domain_surprise(lab: DnsTree) -> None:
    """db.corp resolves only as db.corp.example.lab through the search list: a warning."""
    code, doc = netdx_dns(lab, "db.corp", "--compare", "--root-hints", str(lab.hints_path))
    assert causes(doc) == {"dns.search_domain": "warn"}
    assert code == 0


def test_stale_cache_after_a_record_change(lab: DnsTree) -> None:
    """unbound keeps the old address for the 3600 s TTL after the zone changed: stale_cache."""
    _, before = netdx_dns(lab, "moved.example.lab")
    assert [r["value"] for r in before["answer"]] == [z.MOVED_OLD]
    lab.change_moved(z.MOVED_NEW)
    code, doc = netdx_dns(lab, "moved.example.lab", "--compare", "--root-hints",
                          str(lab.hints_path))
    assert code == 1
    assert causes(doc) == {"dns.stale_cache": "fail"}
    rows = [r for r in doc["compare"]["sources"] if r["kind"] == "server"
            and r["qname"] == "moved.example.lab."]
    assert rows[0]["addresses"] == [z.MOVED_OLD]
    assert 3000 < rows[0]["ttl"] <= z.LONG_TTL
    auth = next(r for r in doc["compare"]["sources"] if r["kind"] == "authoritative")
    assert auth["addresses"] == [z.MOVED_NEW] and auth["ttl"] == z.LONG_TTL
    assert "expires in" in doc["findings"][0]["summary"]


CHECK_SNIPPET = """
import asyncio, sys, time
from pathlib import Path
from netdx.budget import Deadline
from netdx.diagnose.dns_compare import stale_cache
from netdx.dns.verify import authoritative_answer
from netdx.probes.dns import resolve

async def main():
    dns = await resolve("moved.example.lab", family=4, deadline=Deadline.after(3))
    auth = await authoritative_answer("moved.example.lab", "A", deadline=Deadline.after(3),
                                      root_hints=Path(sys.argv[1]))
    finding = stale_cache(dns.servers, auth, checked_at=time.time())
    print(finding.cause if finding else "none", auth.records[0].value)

asyncio.run(main())
"""


def test_check_evidence_is_verified_against_the_trace(lab: DnsTree) -> None:
    """The `netdx check` path: probe evidence from unbound vs the trace gives stale_cache."""
    import subprocess
    import sys

    argv = lab.exec_argv("client", [sys.executable, "-c", CHECK_SNIPPET, str(lab.hints_path)])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.split() == ["dns.stale_cache", z.MOVED_NEW]


def test_referral_loop_in_a_real_delegation(lab: DnsTree) -> None:
    """loop.lab. is delegated to the lab. server, which refers back to itself: broken, lame."""
    code, doc = trace(lab, "www.loop.lab", "--timeout", "3")
    assert code == 1
    assert doc["trace_result"]["broken_at"] == "loop.lab."
    assert {s["reason"] for s in doc["lame"]} == {"bad_referral"}
    assert causes(doc) == {"dns.lame_delegation": "fail"}


def test_fifty_step_cname_chain_in_a_real_zone(lab: DnsTree) -> None:
    """nsd's 50-step chain ends as dns.cname_chain_too_long, well within the deadline."""
    code, doc = trace(lab, "chain0.example.lab", "--timeout", "3")
    assert code == 1
    assert causes(doc) == {"dns.cname_chain_too_long": "fail"}
    assert doc["total_ms"] < 3000


def test_reverse_trace_and_tcp_only(lab: DnsTree) -> None:
    """-x with --trace walks root → 10.in-addr.arpa.; --tcp asks over TCP like dig +tcp."""
    code, doc = trace(lab, "-x", "10.53.1.10")
    assert code == 0
    assert [lv["zone"] for lv in doc["trace"]] == [".", "10.in-addr.arpa."]
    assert [r["value"] for r in doc["answer"]] == ["www.example.lab."]
    code, doc = netdx_dns(lab, "www.example.lab", "@10.53.0.21", "--tcp")
    assert code == 0 and doc["transport"] == "tcp"
    assert answer_set(doc["answer"]) == dig_records(
        dig(lab, "@10.53.0.21", "+tcp", "+noall", "+answer", "www.example.lab"))


def test_netdx_check_names_the_stale_cache(lab: DnsTree) -> None:
    """`netdx check` on a name whose resolver still serves the old address blames the
    stale cache (with the authoritative answer as evidence), not the failed connection."""
    import subprocess
    import sys

    lab.change_moved(z.MOVED_NEW)
    argv = lab.exec_argv(
        "client",
        [sys.executable, "-m", "netdx", "check", "moved.example.lab:5432", "--json",
         "--root-hints", str(lab.hints_path)],
    )
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert doc["verdict"]["cause"] == "dns.stale_cache"
    assert doc["steps"][0]["evidence"]["authoritative"]["records"][0]["value"] == z.MOVED_NEW
    assert any(z.MOVED_OLD in line for line in doc["verdict"]["evidence"])
