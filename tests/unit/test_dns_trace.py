"""The trace state machine, driven by hand with hand-built responses: no network at all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from netdx.budget import Deadline
from netdx.diagnose.dns_trace import trace_findings
from netdx.dns.trace import TraceMachine, TraceQuery
from netdx.dns.tracer import parse_root_hints, run_trace
from netdx.model.dns_trace import NameServer, TraceResult
from netdx.model.evidence import DnsExchange, DnsMessage, DnsQuestion, DnsRecord, DnsServerAnswer

Server = Callable[[DnsQuestion], DnsServerAnswer | None]  # None: the server stays silent

ROOTS = (NameServer(name="a.root.", addresses=("192.0.2.1",)),
         NameServer(name="b.root.", addresses=("192.0.2.2",)))


def rr(name: str, rtype: str, value: str, ttl: int = 300) -> DnsRecord:
    return DnsRecord(name=name, rtype=rtype, ttl=ttl, value=value)


def response(q: DnsQuestion, *, rcode: str = "NOERROR", aa: bool = False,
             answer: tuple[DnsRecord, ...] = (), authority: tuple[DnsRecord, ...] = (),
             additional: tuple[DnsRecord, ...] = ()) -> DnsServerAnswer:
    flags = ("qr", "aa") if aa else ("qr",)
    msg = DnsMessage(id=1, rcode=rcode, flags=flags, question=(q,), answer=answer,
                      authority=authority, additional=additional)
    return DnsServerAnswer(server="x", qname=q.name, rtype=q.rtype, status="ok",
                           elapsed_ms=1.0, records=answer,
                           exchange=DnsExchange(port=53, transport="udp", message=msg))


def failure(q: DnsQuestion, status: str, error: str) -> DnsServerAnswer:
    return DnsServerAnswer(server="x", qname=q.name, rtype=q.rtype,
                           status=status,  # type: ignore[arg-type]
                           elapsed_ms=1000.0, error=error)


def referral(zone: str, servers: dict[str, str | None]) -> Server:
    """A server that refers every question to `zone` with glue for the given addresses."""
    def answer(q: DnsQuestion) -> DnsServerAnswer:
        ns = tuple(rr(zone, "NS", n) for n in servers)
        glue = tuple(rr(n, "A", a) for n, a in servers.items() if a is not None)
        return response(q, authority=ns, additional=glue)
    return answer


def zone_data(records: dict[str, tuple[DnsRecord, ...]]) -> Server:
    """An authoritative server: the records of each owner name, NXDOMAIN for others."""
    def answer(q: DnsQuestion) -> DnsServerAnswer:
        found = records.get(q.name)
        if found is None:
            return response(q, rcode="NXDOMAIN", aa=True)
        cname = tuple(r for r in found if r.rtype == "CNAME")
        return response(q, aa=True, answer=cname or tuple(r for r in found if r.rtype == q.rtype))
    return answer


def silent(q: DnsQuestion) -> DnsServerAnswer | None:
    return None


def drive(machine: TraceMachine, world: dict[str, Server], *, rounds: int = 200) -> TraceResult:
    """Answer the machine's queries round by round; silent servers time out last."""
    waiting: list[TraceQuery] = []
    for _ in range(rounds):
        batch = machine.next_queries()
        if not batch and not waiting:
            break
        timeouts = []
        for q in batch:
            result = world.get(q.server, silent)(q.question)
            if result is None:
                timeouts.append(q)
            else:
                machine.feed(q.id, result)
        for q in waiting:
            machine.feed(q.id, failure(q.question, "timeout", "no answer"))
        waiting = timeouts
    return machine.result()


HEALTHY: dict[str, Server] = {
    "192.0.2.1": referral("lab.", {"ns1.nic.lab.": "192.0.2.11"}),
    "192.0.2.2": referral("lab.", {"ns1.nic.lab.": "192.0.2.11"}),
    "192.0.2.11": referral("example.lab.", {"ns1.example.lab.": "192.0.2.21",
                                            "ns2.example.lab.": "192.0.2.22"}),
    "192.0.2.21": zone_data({"www.example.lab.": (rr("www.example.lab.", "A", "10.0.0.1"),)}),
    "192.0.2.22": zone_data({"www.example.lab.": (rr("www.example.lab.", "A", "10.0.0.1"),)}),
}

WWW = DnsQuestion(name="www.example.lab", rtype="A")


def test_healthy_walk_records_each_zone_cut() -> None:
    """Root → lab. → example.lab. ends in the authoritative A record, every server recorded."""
    result = drive(TraceMachine(WWW, ROOTS), HEALTHY)
    assert result.status == "answer"
    assert [lv.zone for lv in result.levels] == [".", "lab.", "example.lab."]
    assert [lv.referral for lv in result.levels] == ["lab.", "example.lab.", None]
    assert result.addresses == ("10.0.0.1",)
    assert len(result.levels[2].attempts) == 2
    assert result.lame == ()
    assert trace_findings(result) == ()


def test_a_finished_walk_round_trips_through_the_codec() -> None:
    """A walk with lame servers (every level, attempt and the final response) is evidence the
    codec rebuilds equal."""
    from netdx.model.codec import from_data, to_data

    world = dict(HEALTHY)
    world["192.0.2.2"] = silent
    result = drive(TraceMachine(WWW, ROOTS), world)
    assert result.lame and result.response is not None
    assert from_data(TraceResult, to_data(result)) == result


def test_one_silent_server_per_level_is_lame_but_the_walk_goes_on() -> None:
    """A dead server at each level does not hold the walk; each is named as lame (warning)."""
    roots = (*ROOTS, NameServer(name="c.root.", addresses=("192.0.2.3",)))
    world = dict(HEALTHY)
    world["192.0.2.1"] = referral(
        "lab.", {"ns1.nic.lab.": "192.0.2.11", "ns9.nic.lab.": "192.0.2.19"})
    result = drive(TraceMachine(WWW, roots), world)
    assert result.status == "answer"
    assert {(s.zone, s.address, s.reason) for s in result.lame} >= {
        (".", "192.0.2.3", "timeout"), ("lab.", "192.0.2.19", "timeout")}
    findings = trace_findings(result)
    assert {f.cause for f in findings} == {"dns.lame_delegation"}
    assert all(f.severity == "warn" for f in findings)


def test_all_servers_lame_breaks_the_walk_at_that_zone() -> None:
    """Silent, REFUSED and non-authoritative servers for one zone: broken there, a failure."""
    world = dict(HEALTHY)
    world["192.0.2.21"] = lambda q: response(q, rcode="REFUSED")
    world["192.0.2.22"] = lambda q: response(q, answer=(rr(q.name, "A", "6.6.6.6"),))
    result = drive(TraceMachine(WWW, ROOTS), world)
    assert result.status == "broken"
    assert result.broken_at == "example.lab."
    assert {s.reason for s in result.lame} == {"refused", "not_authoritative"}
    (finding,) = trace_findings(result)
    assert (finding.cause, finding.severity) == ("dns.lame_delegation", "fail")


def test_referral_loop_upwards_ends_as_a_broken_delegation() -> None:
    """Servers for example.lab. that refer back up to lab. are lame (loop), never followed."""
    world = dict(HEALTHY)
    loop = referral("lab.", {"ns1.nic.lab.": "192.0.2.11"})
    world["192.0.2.21"] = world["192.0.2.22"] = loop
    result = drive(TraceMachine(WWW, ROOTS), world)
    assert result.status == "broken"
    assert {s.reason for s in result.lame} == {"bad_referral"}
    assert len(result.levels) == 3


def test_referral_to_itself_is_a_loop() -> None:
    """A server that delegates its own zone to itself again is a loop, not a new level."""
    world = dict(HEALTHY)
    world["192.0.2.21"] = world["192.0.2.22"] = referral(
        "example.lab.", {"ns1.example.lab.": "192.0.2.21"})
    result = drive(TraceMachine(WWW, ROOTS), world)
    assert result.status == "broken" and result.broken_at == "example.lab."


def test_fifty_step_cname_chain_stops_at_the_limit() -> None:
    """A 50-step CNAME chain ends as cname_too_long with a finding, after a bounded walk."""
    chain = {f"c{i}.example.lab.": (rr(f"c{i}.example.lab.", "CNAME", f"c{i + 1}.example.lab."),)
             for i in range(50)}
    world = dict(HEALTHY)
    world["192.0.2.21"] = world["192.0.2.22"] = zone_data(chain)
    result = drive(TraceMachine(DnsQuestion(name="c0.example.lab.", rtype="A"), ROOTS), world)
    assert result.status == "cname_too_long"
    assert sum(1 for r in result.answer if r.rtype == "CNAME") == 17
    assert len(result.levels) < 40
    assert trace_findings(result)[-1].cause == "dns.cname_chain_too_long"


def test_cname_loop_is_named() -> None:
    """a → b → a ends as a CNAME loop with the chain as evidence."""
    world = dict(HEALTHY)
    world["192.0.2.21"] = world["192.0.2.22"] = zone_data({
        "a.example.lab.": (rr("a.example.lab.", "CNAME", "b.example.lab."),),
        "b.example.lab.": (rr("b.example.lab.", "CNAME", "a.example.lab."),),
    })
    result = drive(TraceMachine(DnsQuestion(name="a.example.lab.", rtype="A"), ROOTS), world)
    assert result.status == "cname_loop"
    assert trace_findings(result)[-1].cause == "dns.cname_loop"


def test_cname_to_another_zone_restarts_from_the_closest_known_zone() -> None:
    """A CNAME into lab. resumes at lab. (cached), not at the root, and finds the target."""
    world = dict(HEALTHY)
    world["192.0.2.21"] = world["192.0.2.22"] = zone_data({
        "www.example.lab.": (rr("www.example.lab.", "CNAME", "web.other.lab."),)})
    world["192.0.2.11"] = lambda q: (
        referral("other.lab.", {"ns.other.lab.": "192.0.2.31"})(q) if "other" in q.name
        else referral("example.lab.", {"ns1.example.lab.": "192.0.2.21"})(q))
    world["192.0.2.31"] = zone_data({"web.other.lab.": (rr("web.other.lab.", "A", "10.0.0.9"),)})
    result = drive(TraceMachine(WWW, ROOTS), world)
    assert result.status == "answer"
    assert result.addresses == ("10.0.0.9",)
    assert [lv.zone for lv in result.levels] == [".", "lab.", "example.lab.", "lab.", "other.lab."]


def test_dangling_cname_is_its_own_cause() -> None:
    """A CNAME whose target does not exist is dns.dangling_cname, not a plain NXDOMAIN."""
    world = dict(HEALTHY)
    world["192.0.2.21"] = world["192.0.2.22"] = lambda q: response(
        q, rcode="NXDOMAIN", aa=True,
        answer=(rr("www.example.lab.", "CNAME", "gone.example.lab."),))
    result = drive(TraceMachine(WWW, ROOTS), world)
    assert result.status == "nxdomain"
    assert trace_findings(result)[-1].cause == "dns.dangling_cname"


def test_glueless_name_server_is_resolved_by_a_nested_walk() -> None:
    """An out-of-bailiwick NS without glue is looked up from the root, then asked."""
    world = dict(HEALTHY)
    world["192.0.2.11"] = lambda q: (
        referral("example.lab.", {"ns.helper.lab.": None})(q) if "example" in q.name
        else referral("helper.lab.", {"ns1.helper.lab.": "192.0.2.41"})(q))
    world["192.0.2.41"] = zone_data({"ns.helper.lab.": (rr("ns.helper.lab.", "A", "192.0.2.21"),)})
    result = drive(TraceMachine(WWW, ROOTS), world)
    assert result.status == "answer"
    assert result.levels[-1].attempts[0].address == "192.0.2.21"


def test_cyclic_glueless_delegation_does_not_recurse_forever() -> None:
    """NS names whose addresses live only inside the zone they serve end as broken."""
    world = dict(HEALTHY)
    world["192.0.2.11"] = referral("example.lab.", {"ns.example.lab.": None})
    result = drive(TraceMachine(WWW, ROOTS), world)
    assert result.status == "broken"
    assert result.broken_at == "example.lab."
    assert trace_findings(result)[-1].severity == "fail"


def test_out_of_bailiwick_glue_is_ignored() -> None:
    """The lab. servers may not hand out addresses for names outside lab. (poisoning)."""
    world = dict(HEALTHY)
    world["192.0.2.11"] = lambda q: response(
        q, authority=(rr("example.lab.", "NS", "ns.evil.test."),),
        additional=(rr("ns.evil.test.", "A", "203.0.113.66"),))
    machine = TraceMachine(WWW, ROOTS)
    drive(machine, world)
    asked = {a.address for lv in machine.result().levels for a in lv.attempts}
    assert "203.0.113.66" not in asked


def test_late_answers_are_still_recorded() -> None:
    """A server that answers after the level was settled still gets its outcome recorded."""
    machine = TraceMachine(WWW, ROOTS)
    first, second = machine.next_queries()
    machine.feed(first.id, HEALTHY["192.0.2.1"](first.question))  # type: ignore[arg-type]
    machine.feed(second.id, failure(second.question, "timeout", "no answer"))
    root = machine.result().levels[0]
    assert [a.outcome for a in root.attempts] == ["referral", "timeout"]


def test_unfinished_walk_says_where_it_stopped() -> None:
    """Asking for the result before the walk ends gives `unfinished` at the current zone."""
    machine = TraceMachine(WWW, ROOTS)
    machine.next_queries()
    result = machine.result()
    assert result.status == "unfinished" and result.broken_at == "."
    assert trace_findings(result)[-1].cause == "dns.trace_incomplete"


def test_async_driver_stops_at_the_deadline_when_nothing_answers() -> None:
    """With servers that never answer, run_trace returns at its deadline as `unfinished`
    (the 30 s guard only catches a hang; the deadline itself is 0.2 s)."""
    async def never(server: str, q: DnsQuestion, deadline: Deadline) -> DnsServerAnswer:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def main() -> TraceResult:
        walk = run_trace(WWW, ROOTS, deadline=Deadline.after(0.2), send=never)
        return await asyncio.wait_for(walk, 30)

    assert asyncio.run(main()).status == "unfinished"


def test_async_driver_runs_the_walk_concurrently() -> None:
    """The driver asks all servers of a level at once: a server that never answers does
    not hold the walk, which ends with the answer of its peer long before the deadline."""
    async def fake(server: str, q: DnsQuestion, deadline: Deadline) -> DnsServerAnswer:
        if server == "192.0.2.22":
            await asyncio.sleep(3600)  # silent until the driver cancels it
        result = HEALTHY[server](q)
        assert result is not None
        return result

    async def main() -> TraceResult:
        walk = run_trace(WWW, ROOTS, deadline=Deadline.after(3600), send=fake,
                         wait_stragglers=False)
        return await asyncio.wait_for(walk, 30)

    assert asyncio.run(main()).status == "answer"


def test_root_hints_file_format() -> None:
    """A root hints file gives the NS names with their A addresses (AAAA kept too)."""
    text = (".  3600000  NS  A.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET. 3600000 A 198.41.0.4\n"
            "A.ROOT-SERVERS.NET. 3600000 AAAA 2001:503:ba3e::2:30\n; comment\n")
    (root,) = parse_root_hints(text)
    assert root.name == "a.root-servers.net."
    assert root.addresses == ("198.41.0.4", "2001:503:ba3e::2:30")


def test_long_chain_in_one_answer_is_also_too_long() -> None:
    """A server that hands over a 50-step chain with its address in one answer is refused."""
    chain = tuple(rr(f"c{i}.example.lab.", "CNAME", f"c{i + 1}.example.lab.") for i in range(50))
    world = dict(HEALTHY)
    world["192.0.2.21"] = world["192.0.2.22"] = lambda q: response(
        q, aa=True, answer=(*chain, rr("c50.example.lab.", "A", "10.0.0.50")))
    result = drive(TraceMachine(DnsQuestion(name="c0.example.lab.", rtype="A"), ROOTS), world)
    assert result.status == "cname_too_long"


def test_glue_pointing_at_this_host_is_never_queried() -> None:
    """Glue of 127.0.0.1 or 0.0.0.0 is not followed (a referral must not aim us at ourselves)."""
    world = dict(HEALTHY)
    world["192.0.2.11"] = referral("example.lab.", {"ns1.example.lab.": "127.0.0.1",
                                                    "ns2.example.lab.": "0.0.0.0"})
    machine = TraceMachine(WWW, ROOTS)
    result = drive(machine, world)
    assert result.status == "broken"
    asked = {a.address for lv in result.levels for a in lv.attempts}
    assert not asked & {"127.0.0.1", "0.0.0.0"}
    assert "unusable address" in result.levels[-1].attempts[0].detail


def test_a_sender_that_raises_is_an_error_outcome() -> None:
    """An exception from the I/O boundary marks that server, and the walk goes on."""
    async def flaky(server: str, q: DnsQuestion, deadline: Deadline) -> DnsServerAnswer:
        if server == "192.0.2.1":
            raise OSError(22, "Invalid argument")
        result = HEALTHY[server](q)
        assert result is not None
        return result

    result = asyncio.run(run_trace(WWW, ROOTS, deadline=Deadline.after(2.0), send=flaky))
    assert result.status == "answer"
    first = result.levels[0].attempts[0]
    assert (first.outcome, first.lame) == ("error", True)
