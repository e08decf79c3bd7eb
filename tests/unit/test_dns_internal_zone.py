"""Internal zones: finding a zone's servers through the resolver, walking from that zone
instead of the root, the straggler grace, and when `netdx check` asks the zone at all.
No network: hand-built answers and the trace machine driven by hand."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import evidence_cases as c
from test_dns_trace import HEALTHY, WWW, drive, failure, response, rr, zone_data

from netdx.budget import Deadline
from netdx.diagnose.dns_trace import trace_findings
from netdx.dns.authority import authoritative_question, with_authoritative
from netdx.dns.internal import name_servers, nearest_zone, zone_candidates
from netdx.dns.trace import TraceMachine
from netdx.dns.tracer import GRACE_FLOOR, run_trace, straggler_grace
from netdx.dns.verify import roots_reachable, summarize
from netdx.model.dns_trace import NameServer, TraceResult
from netdx.model.evidence import DnsQuestion, DnsServerAnswer

EXAMPLE = (NameServer(name="ns1.example.lab.", addresses=("192.0.2.21",)),
           NameServer(name="ns2.example.lab.", addresses=("192.0.2.22",)))
NIC = (NameServer(name="ns1.nic.lab.", addresses=("192.0.2.11",)),)


def ns_answer(zone: str, *names: str, status: str = "ok") -> DnsServerAnswer:
    q = DnsQuestion(name=zone, rtype="NS")
    if status != "ok":
        return failure(q, status, status)
    return replace(response(q, answer=tuple(rr(zone, "NS", n) for n in names)),
                   records=tuple(rr(zone, "NS", n) for n in names))


def test_zone_candidates_are_the_name_and_its_ancestors_deepest_first() -> None:
    """db.corp.example gives itself, corp.example., example. and the root, in that order."""
    assert zone_candidates("db.corp.example") == (
        "db.corp.example.", "corp.example.", "example.", ".")


def test_nearest_zone_is_the_deepest_answered_ns_set() -> None:
    """The name itself has no NS (NODATA), its zone answers: that zone; when the zone fails
    (SERVFAIL: a lame delegation), the nearest ancestor that answered."""
    answers = {"www.corp.lab.": ns_answer("www.corp.lab."),  # NODATA: no NS records
               "corp.lab.": ns_answer("corp.lab.", "ns1.corp.lab."),
               "lab.": ns_answer("lab.", "ns1.nic.lab."), ".": ns_answer(".", "a.root.")}
    assert nearest_zone(answers) == ("corp.lab.", ("ns1.corp.lab.",))
    answers["corp.lab."] = ns_answer("corp.lab.", status="servfail")
    assert nearest_zone(answers) == ("lab.", ("ns1.nic.lab.",))


def test_name_server_addresses_come_from_the_resolver_or_the_additional_section() -> None:
    """ns1's address is what the resolver answered; ns2's, the glue the NS answer carried."""
    q = DnsQuestion(name="corp.lab.", rtype="NS")
    ns = response(q, answer=(rr("corp.lab.", "NS", "ns1.corp.lab."),),
                  additional=(rr("ns2.corp.lab.", "A", "192.0.2.32"),))
    lookups = {"ns1.corp.lab.": DnsServerAnswer(
        server="r", qname="ns1.corp.lab.", rtype="A", status="ok",
        records=(rr("ns1.corp.lab.", "A", "192.0.2.31"),))}
    assert name_servers(("ns1.corp.lab.", "ns2.corp.lab."), ns, lookups) == (
        NameServer(name="ns1.corp.lab.", addresses=("192.0.2.31",)),
        NameServer(name="ns2.corp.lab.", addresses=("192.0.2.32",)))


def test_walk_from_the_zone_asks_its_servers_directly() -> None:
    """Started at example.lab. with the servers the resolver named, the walk never touches
    a root: one level, the authoritative answer."""
    result = drive(TraceMachine(WWW, EXAMPLE, start_zone="example.lab."), HEALTHY)
    assert result.status == "answer" and result.addresses == ("10.0.0.1",)
    assert [lv.zone for lv in result.levels] == ["example.lab."]


def test_walk_from_the_parent_names_the_lame_servers_of_an_internal_zone() -> None:
    """The resolver could not give example.lab. (SERVFAIL); from lab.'s servers the walk
    follows the referral, one delegated server refuses and one is not authoritative: broken
    at example.lab., both named, and `netdx check` sees them as the zone's servers."""
    world = dict(HEALTHY)
    world["192.0.2.21"] = lambda q: response(q, rcode="REFUSED")
    world["192.0.2.22"] = lambda q: response(q, answer=(rr(q.name, "A", "6.6.6.6"),))
    result = drive(TraceMachine(WWW, NIC, start_zone="lab."), world)
    assert result.status == "broken" and result.broken_at == "example.lab."
    checked = summarize(result, "resolver")
    assert checked.broken and checked.zone == "example.lab."
    assert {(s.address, s.outcome) for s in checked.servers} == {
        ("192.0.2.21", "refused"), ("192.0.2.22", "not_authoritative")}


def test_cname_outside_the_known_zones_ends_the_walk_without_a_guess() -> None:
    """A CNAME to a zone the walk has no servers for ends it as unfinished, not a crash."""
    world = {"192.0.2.21": zone_data({"www.example.lab.": (
        rr("www.example.lab.", "CNAME", "www.elsewhere."),)})}
    result = drive(TraceMachine(WWW, EXAMPLE[:1], start_zone="example.lab."), world)
    assert result.status == "unfinished" and "outside" in result.detail


def test_unreachable_roots_are_unknown_not_lame() -> None:
    """Every root answers ENETUNREACH: `dns --trace` says the walk learned nothing (the
    roots are unknown from here), never that they are lame and should be removed from the
    NS records of `.`."""
    roots = (NameServer(name="a.root-servers.net.", addresses=("198.41.0.4",)),)
    world = {"198.41.0.4": lambda q: failure(q, "error", "Network is unreachable (ENETUNREACH)")}
    result = drive(TraceMachine(WWW, roots), world)
    (finding,) = trace_findings(result)
    assert finding.cause == "dns.trace_incomplete"
    assert "lame" not in finding.summary and "NS records" not in " ".join(finding.fix)
    assert summarize(result, "root").servers == ()


def test_a_slow_secondary_is_within_the_grace() -> None:
    """A 300 ms secondary beside a 1 ms primary is inside the grace (it was 50 ms)."""
    assert straggler_grace(1.0, 1.0) >= 0.3
    assert GRACE_FLOOR >= 0.3


def test_a_server_given_up_on_shows_how_long_it_was_given() -> None:
    """A server still silent after the grace is recorded with the time it was really
    waited for (it printed as 0 ms), at least the grace."""
    async def fake(server: str, q: DnsQuestion, deadline: Deadline) -> DnsServerAnswer:
        if server == "192.0.2.22":
            await asyncio.sleep(3600)  # silent until the driver gives up on it
        found = HEALTHY[server](q)
        assert found is not None
        return found

    async def main() -> TraceResult:
        walk = run_trace(WWW, EXAMPLE, deadline=Deadline.after(30), send=fake,
                         start_zone="example.lab.", server_timeout=5.0)
        return await asyncio.wait_for(walk, 30)

    result = asyncio.run(main())
    (silent,) = [a for a in result.levels[0].attempts if a.address == "192.0.2.22"]
    assert silent.outcome == "timeout"
    assert silent.rtt_ms is not None and silent.rtt_ms >= GRACE_FLOOR * 1000 * 0.99


def test_no_root_hints_means_no_reachable_root() -> None:
    """Without root servers the measured rule says unreachable at once."""
    assert asyncio.run(roots_reachable((), deadline=Deadline.after(1))) is False


def test_check_asks_the_zone_for_the_name_the_resolver_answered() -> None:
    """`check db:5432` resolved through the search list as db.lab.example: the zone is asked
    for db.lab.example., not for db. (the stale cache of the full name is then found)."""
    assert authoritative_question(c.OK_PORT) is None  # it connected: nothing to verify
    failed = replace(c.STALE_CACHE, dns=replace(c.STALE_CACHE.dns, authoritative=None))
    assert authoritative_question(failed) == ("db.lab.example.", "A")


def test_check_asks_the_zone_after_a_resolver_servfail() -> None:
    """A SERVFAIL with nothing to connect to: the zone's servers are asked for the name the
    resolver failed on; the answer and the servers asked land in the DNS evidence."""
    from netdx.model.evidence import AuthoritativeCheck

    ev = replace(c.LAME_DELEGATION, dns=replace(c.LAME_DELEGATION.dns, delegation=None))
    assert authoritative_question(ev) == ("db.corp.example.", "A")
    assert ev.dns is not None and c.LAME_DELEGATION.dns is not None
    servers = c.LAME_DELEGATION.dns.delegation or ()
    merged = with_authoritative(ev.dns, AuthoritativeCheck(via="resolver", servers=servers))
    assert merged.delegation == servers
    hosts = replace(ev, dns=replace(ev.dns, source="hosts"))
    assert authoritative_question(hosts) is None
