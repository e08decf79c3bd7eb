"""The lab's internal-zone building blocks from scenario files: a site resolver (unbound)
that asks the zone's own server directly (no public root), a zone served as it was before a
change (`previous`) so the resolver caches what then goes stale, and a plain authoritative
server that refuses zones it does not serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdx.errors import UsageError
from netdx.lab import load_scenario, parse_scenario
from netdx.lab.services import before_change, changed_names, write_nsd_config, write_unbound_config

BASE = """
name: tiny
topology: flat
description: A resolver and its zone.
fault: none
client: a
check: ["db.corp.internal:1"]
expect: ok
links:
  lan: [a, ns, res]
hosts:
  a: {addresses: {lan: [10.0.0.1/24]}, resolv: [nameserver 10.0.0.53]}
  ns: {addresses: {lan: [10.0.0.54/24]}}
  res: {addresses: {lan: [10.0.0.53/24]}}
services:
"""


def test_stale_cache_scenario_serves_the_old_zone_first_and_primes_the_changed_name() -> None:
    """dns-internal-stale-cache: the zone starts with its previous records, the one name that
    changes (db-server-01, A) is what the resolver must cache, and after the change the zone
    serves the new address."""
    scenario = load_scenario("dns-internal-stale-cache")
    (zone,) = [s for s in scenario.services if s.kind == "dns"]
    (resolver,) = [s for s in scenario.services if s.kind == "resolver"]
    assert resolver.stub == zone.listen == "10.0.0.54"
    assert changed_names(zone) == [("db-server-01.netdx.internal.", "A")]
    assert "db-server-01 3600 IN A 10.0.0.30" in before_change(zone).records
    assert "db-server-01 3600 IN A 10.0.0.20" in zone.records
    assert before_change(resolver) == resolver


def test_site_resolver_asks_the_zone_server_and_keeps_unbounds_own_hints(tmp_path: Path) -> None:
    """The unbound of a scenario file has a stub zone for its zone at the zone's server, and
    no root-hints line (its own public roots: out of the lab's reach, like many hosts')."""
    scenario = load_scenario("dns-internal-lame-delegation")
    (resolver,) = [s for s in scenario.services if s.kind == "resolver"]
    text = write_unbound_config(resolver, tmp_path).read_text()
    assert 'stub-zone:\n  name: "netdx.internal."\n  stub-addr: 10.0.0.54\n' in text
    assert "root-hints" not in text


def test_only_a_named_nameserver_stands_in_for_a_resolver(tmp_path: Path) -> None:
    """A dns service that resolv.conf names serves an empty root too (NXDOMAIN outside its
    zone); a delegated server nobody names serves its zone only, so it REFUSES others (the
    lame delegation's REFUSED)."""
    lame = load_scenario("dns-internal-lame-delegation")
    old = next(s for s in lame.services if s.host == "ns-old")
    assert not old.stands_in
    assert 'name: "."' not in write_nsd_config(old, tmp_path).read_text()
    flat = load_scenario("healthy-flat")
    ns1 = next(s for s in flat.services if s.kind == "dns")
    assert ns1.stands_in
    (tmp_path / "flat").mkdir()
    assert 'name: "."' in write_nsd_config(ns1, tmp_path / "flat").read_text()


@pytest.mark.parametrize(("services", "message"), [
    ("  - {host: res, kind: resolver, listen: 10.0.0.53, zone: corp.internal.}\n",
     "no dns service of the scenario serves corp.internal."),
    ("  - {host: res, kind: resolver, listen: 10.0.0.53}\n",
     "a resolver service needs a zone ending in '.'"),
    ("  - {host: ns, kind: tcp, listen: '0.0.0.0:1', previous: [a IN A 10.0.0.1]}\n",
     "only a dns service has previous records"),
])
def test_bad_internal_dns_services_fail_with_one_line(services: str, message: str) -> None:
    """A resolver without a served zone, or `previous` on a non-dns service, is one line."""
    with pytest.raises(UsageError, match=message):
        parse_scenario(BASE + services, source="bad.yaml")
