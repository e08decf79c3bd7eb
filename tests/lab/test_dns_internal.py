"""Internal zones without the public root: `netdx check` alone (no --root-hints) decides
`dns.stale_cache` and `dns.lame_delegation` on the dns-tree hierarchy, whose client can reach
its resolver but no public root server (the system's root hints give ENETUNREACH there).

The servers of the zone are found the engineer's way: the resolver's NS answers, then the
servers themselves with recursion off (`netdx.dns.internal`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from dnslab import DnsTree, build, netdx_dns

from netdx.lab import dnstree as z

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[DnsTree]:
    yield from build()


def check(lab: DnsTree, target: str) -> tuple[int, dict[str, Any]]:
    """`netdx check TARGET --json` in the client namespace, without root hints."""
    argv = lab.exec_argv("client", [sys.executable, "-m", "netdx", "check", target, "--json"])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_lame_delegation_of_an_internal_zone(lab: DnsTree) -> None:
    """The resolver answers SERVFAIL for www.refused.lab: that is not an unreachable
    resolver; the delegated server, asked directly, refuses, and the check names it."""
    code, doc = check(lab, "www.refused.lab:80")
    verdict = doc["verdict"]
    assert code == 1
    assert verdict["cause"] == "dns.lame_delegation", verdict
    assert z.REFUSER in verdict["summary"] and "refused.lab." in verdict["summary"]
    assert "SERVFAIL" in verdict["summary"]


def test_stale_cache_of_an_internal_zone_by_check_alone(lab: DnsTree) -> None:
    """unbound caches moved.example.lab, the zone moves it; `netdx check moved:5432` (the
    search list makes it moved.example.lab) asks example.lab.'s own servers, found through
    the resolver, and says dns.stale_cache with the new address; `dns --compare` agrees and
    blames no root server."""
    netdx_dns(lab, "moved.example.lab")  # the resolver caches the old address (TTL 3600)
    lab.change_moved(z.MOVED_NEW)
    code, doc = check(lab, "moved:5432")
    assert code == 1
    assert doc["verdict"]["cause"] == "dns.stale_cache", doc["verdict"]
    authoritative = doc["steps"][0]["evidence"]["authoritative"]
    assert authoritative["qname"] == "moved.example.lab."
    assert [r["value"] for r in authoritative["records"]] == [z.MOVED_NEW]
    code, compared = netdx_dns(lab, "moved", "--compare")
    found = {f["cause"]: f for f in compared["findings"]}
    assert "dns.stale_cache" in found, compared["findings"]
    assert "dns.lame_delegation" not in found
    assert z.MOVED_NEW in found["dns.stale_cache"]["summary"]


def test_nodata_for_every_address_is_a_finding(lab: DnsTree) -> None:
    """`netdx dns _ldap._tcp.example.lab` (an SRV name: A and AAAA answer NODATA) exits 1
    with dns.no_address; it exited 0 with no finding."""
    code, doc = netdx_dns(lab, "_ldap._tcp.example.lab")
    assert code == 1, doc["findings"]
    assert [f["cause"] for f in doc["findings"]] == ["dns.no_address"]
    assert "NODATA" in doc["findings"][0]["summary"]
