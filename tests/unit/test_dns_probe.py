"""The DNS probe: real server responses, replayed over loopback UDP, become `netdx check`'s
evidence; the search-list pick and the address source; the I/O that needs no network.

The `*.response.bin` fixtures are real nsd 4.6.1 answers captured on the wire in the lab
(`fixtures/dns/capture_wire.py`): the zone netdx.internal. with A, AAAA, CNAME, MX-only and
a 60-record name whose UDP answer comes back truncated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from netdx.budget import Deadline
from netdx.dns.message import parse_response, status_of
from netdx.model.evidence import DnsRecord, DnsServerAnswer, NssResult
from netdx.probes import dns as probe

FIXTURES = Path(__file__).parent / "fixtures" / "dns"


def _wire(case: str) -> bytes:
    return (FIXTURES / f"{case}.response.bin").read_bytes()


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A UDP server on 127.0.0.1 that answers each query with the captured response whose
    question matches, its ID set to the query's; and a resolv.conf without search list."""
    responses = {parse_response(_wire(c)).question[0]: _wire(c)
                 for c in ("ok_a", "cname_aaaa", "nxdomain_a", "nodata_a", "refused_a")}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = False

    def serve() -> None:
        while not stop:
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            wire = responses.get(parse_response(data).question[0])
            if wire is not None:
                sock.sendto(data[:2] + wire[2:], peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    conf = tmp_path / "resolv.conf"
    conf.write_text("search invalid.test\n")
    try:
        yield f"127.0.0.1#{sock.getsockname()[1]}", conf
    finally:
        stop = True
        thread.join(timeout=5)
        sock.close()


def _on_asyncio(**kwargs: Any) -> probe.DnsQueryResult:
    async def awaited() -> probe.DnsQueryResult:
        return await probe.awaited_in_thread(lambda: probe.query_servers(**kwargs), "test")

    return asyncio.run(awaited())


@pytest.fixture(params=[_on_asyncio, probe.query_servers], ids=["asyncio", "flights"])
def ask(request: pytest.FixtureRequest) -> Callable[..., probe.DnsQueryResult]:
    """The one search walk called both ways: awaited from asyncio in a thread, as `resolve`
    does (--ssh, serve, verify), and directly (the CLI's check): the same evidence."""
    return request.param  # type: ignore[no-any-return]


def test_work_awaited_in_a_thread_drops_a_late_result_and_raises_a_failure() -> None:
    """An asyncio caller that stops waiting (its own timeout, a cancelled task) leaves the
    thread to end on its own (a walk ends by its deadline); the late outcome is dropped
    without an error in the loop, and a failure in the thread reaches the awaiting caller."""
    finished = threading.Event()

    def slow() -> int:
        finished.wait(5.0)
        return 1

    async def give_up() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(probe.awaited_in_thread(slow, "test-slow"), 0.01)
        finished.set()  # the thread now delivers to a future nobody awaits
        await asyncio.sleep(0)

    async def failing() -> None:
        def boom() -> int:
            raise ValueError("bad server")

        with pytest.raises(ValueError, match="bad server"):
            await probe.awaited_in_thread(boom, "test-boom")

    asyncio.run(give_up())
    asyncio.run(failing())


def _answer(replay: tuple[str, Path], name: str, family: int,
            ask: Callable[..., probe.DnsQueryResult], timeout: float = 20.0) -> DnsServerAnswer:
    server, conf = replay
    got = ask(name=name, family=family, deadline=Deadline.after(timeout), servers=(server,),
              resolv_conf=str(conf))
    (answer,) = got.answers
    return answer


def test_a_query_that_ends_at_once_is_still_answered(
    replay: tuple[str, Path], ask: Callable[..., probe.DnsQueryResult]
) -> None:
    """A name that cannot be sent (a label over 63 bytes) ends its query before any packet:
    the server's answer says why, both ways (the flights' walk once lost it, and the check
    ended in an internal error; found by the CLI fuzzer in an empty namespace, where the
    kernel refuses the socket at once)."""
    answer = _answer(replay, "a" * 70, 4, ask)
    assert answer.status == "error" and "invalid name" in (answer.error or "")


# --- real responses → check's evidence -------------------------------------------------------


def test_real_a_answer_is_ok_with_ttl(
    replay: tuple[str, Path], ask: Callable[..., probe.DnsQueryResult]
) -> None:
    """nsd's A answer becomes status ok with the record and its TTL, names without the
    final dot, and no wire detail (check keeps only the meaning)."""
    answer = _answer(replay, "web.netdx.internal.", 4, ask)
    assert (answer.status, answer.qname, answer.exchange) == ("ok", "web.netdx.internal", None)
    assert [(r.name, r.rtype, r.ttl, r.value) for r in answer.records] == [
        ("web.netdx.internal", "A", 120, "10.77.0.1")
    ]
    assert answer.addresses == ("10.77.0.1",)


def test_real_cname_answer_keeps_the_chain(
    replay: tuple[str, Path], ask: Callable[..., probe.DnsQueryResult]
) -> None:
    """A CNAME answer keeps the CNAME (target without final dot) before the address."""
    answer = _answer(replay, "alias.netdx.internal.", 6, ask)
    assert answer.status == "ok"
    assert [(r.rtype, r.ttl, r.value) for r in answer.records] == [
        ("CNAME", 60, "web.netdx.internal"),
        ("AAAA", 120, "fd77::1"),
    ]
    assert answer.addresses == ("fd77::1",)


def test_real_nxdomain_nodata_and_refused(
    replay: tuple[str, Path], ask: Callable[..., probe.DnsQueryResult]
) -> None:
    """NXDOMAIN, NOERROR with an empty answer, and REFUSED get their own statuses."""
    assert _answer(replay, "nope.netdx.internal.", 4, ask).status == "nxdomain"
    nodata = _answer(replay, "mxonly.netdx.internal.", 4, ask)
    assert (nodata.status, nodata.records) == ("nodata", ())
    assert _answer(replay, "example.com.", 4, ask).status == "refused"


def test_the_search_walk_goes_on_after_nxdomain(
    replay: tuple[str, Path], ask: Callable[..., probe.DnsQueryResult]
) -> None:
    """A short name walks the search list as glibc does: nope.netdx.internal. is NXDOMAIN,
    so `nope.` is asked next (the replay never answers it: a timeout at the deadline ends
    the walk, and that failure is the answer kept)."""
    replay[1].write_text("search netdx.internal\n")  # the resolv.conf the replay names
    answer = _answer(replay, "nope", 4, ask, timeout=1.0)
    assert (answer.qname, answer.status) == ("nope", "timeout")


def test_the_walk_keeps_every_answer_of_every_server_in_order(
    replay: tuple[str, Path]
) -> None:
    """walk_search_lists, the one walk (check picks from it, --compare shows all of it):
    per server as given, every answer of its walk with the exchange, in order; NXDOMAIN
    lets the walk go on, a refused port (ICMP unreachable) ends it."""
    server, _ = replay
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    dead = f"127.0.0.1#{closed.getsockname()[1]}"
    closed.close()  # nothing listens there now: the kernel answers port unreachable
    walks = probe.walk_search_lists((server, dead), ("nope.netdx.internal", "web.netdx.internal"),
                                    ("A",), deadline=Deadline.after(20.0), edns=False)
    assert [[(a.server, a.qname, a.status) for a in walk] for walk in walks] == [
        [(server, "nope.netdx.internal.", "nxdomain"), (server, "web.netdx.internal.", "ok")],
        [(dead, "nope.netdx.internal.", "error")],
    ]
    assert all(a.exchange is not None for walk in walks for a in walk)


def test_real_truncated_answer_has_tc_and_no_records() -> None:
    """The 60-record UDP answer is truncated (the transport then asks over TCP)."""
    response = parse_response(_wire("truncated_a"))
    assert response.tc and response.answer == ()
    assert status_of(response, "A") == ("nodata", None)


def _with_rcode(rcode: int) -> bytes:
    data = bytearray(_wire("ok_a"))
    data[3] = (data[3] & 0xF0) | rcode
    return bytes(data)


def test_servfail_and_other_rcodes() -> None:
    """SERVFAIL is servfail; an rcode without its own status is an error naming it."""
    assert status_of(parse_response(_with_rcode(2)), "A") == ("servfail", None)
    assert status_of(parse_response(_with_rcode(4)), "A") == ("error", "rcode NOTIMP")


def test_only_the_asked_type_makes_an_answer_ok() -> None:
    """A CNAME alone (the target has no record of the type) is nodata, not ok."""
    full = parse_response(_wire("cname_aaaa"))
    cname_only = dataclasses.replace(full, answer=full.answer[:1])
    assert status_of(cname_only, "AAAA") == ("nodata", None)
    assert status_of(full, "AAAA") == ("ok", None)


# --- picking among search-list answers and the address source -------------------------------------


def _a(status: str, qname: str) -> DnsServerAnswer:
    return DnsServerAnswer(server="s", qname=qname, rtype="A", status=status)  # type: ignore[arg-type]


def test_pick_answer_prefers_ok_then_nodata_then_servfail() -> None:
    """The settled answer is the first ok, else nodata, else servfail."""
    assert probe.pick_answer([_a("nxdomain", "a"), _a("ok", "b")]).qname == "b"
    assert (
        probe.pick_answer([_a("nxdomain", "a"), _a("nodata", "b"), _a("nxdomain", "c")]).qname
        == "b"
    )
    assert probe.pick_answer([_a("servfail", "a"), _a("nxdomain", "b")]).qname == "a"


def test_pick_answer_keeps_the_failure_that_ended_the_walk() -> None:
    """A timeout or refusal that stopped the walk wins over earlier NXDOMAINs; all-NXDOMAIN
    reports the first name tried."""
    assert probe.pick_answer([_a("nxdomain", "a"), _a("refused", "b")]).status == "refused"
    assert probe.pick_answer([_a("nxdomain", "a"), _a("nxdomain", "b")]).qname == "a"


def test_source_is_hosts_dns_or_nss() -> None:
    """The first getaddrinfo address decides: from /etc/hosts, from a server, or neither."""
    dns_answer = DnsServerAnswer(
        server="s",
        qname="web",
        rtype="A",
        status="ok",
        records=(DnsRecord(name="web", rtype="A", ttl=1, value="10.0.0.2"),),
    )
    pinned = NssResult(
        name="web", status="ok", addresses=("10.0.0.1",), hosts_addresses=("10.0.0.1",)
    )
    from_dns = NssResult(name="web", status="ok", addresses=("10.0.0.2",))
    other = NssResult(name="web", status="ok", addresses=("10.0.0.3",))
    failed = NssResult(name="web", status="nxdomain", gai_error="EAI_NONAME")
    assert probe.choose_source(pinned, (dns_answer,)) == "hosts"
    assert probe.choose_source(from_dns, (dns_answer,)) == "dns"
    assert probe.choose_source(other, (dns_answer,)) == "nss"
    assert probe.choose_source(failed, (dns_answer,)) == "dns"


def test_gai_error_names() -> None:
    """getaddrinfo error numbers map to their EAI_* names."""
    assert probe.gai_error_name(socket.EAI_NONAME) == "EAI_NONAME"
    assert probe.gai_error_name(socket.EAI_AGAIN) == "EAI_AGAIN"
    assert probe.gai_error_name(12345) == "12345"


# --- I/O that needs no network --------------------------------------------------------------------


def test_ip_literal_is_returned_without_lookups() -> None:
    """resolve() of an IP literal answers `literal` at once and asks nobody."""
    evidence = asyncio.run(probe.resolve("10.1.2.3", family=None, deadline=Deadline.after(0)))
    assert (evidence.source, evidence.nss, evidence.servers) == ("literal", None, ())


def test_system_resolve_reads_the_given_hosts_file(tmp_path: Path) -> None:
    """hosts_addresses come from the hosts file named, filtered by family; getaddrinfo of a
    numeric name needs no resolver."""
    hosts = tmp_path / "hosts"
    hosts.write_text("10.9.9.9 127.0.0.1\n")
    result = asyncio.run(
        probe.system_resolve(
            "127.0.0.1", family=4, deadline=Deadline.after(2), hosts_path=str(hosts)
        )
    )
    assert (result.status, result.addresses, result.hosts_addresses) == (
        "ok",
        ("127.0.0.1",),
        ("10.9.9.9",),
    )


def test_probe_modules_import_no_heavy_library() -> None:
    """Importing the probes loads neither dnspython nor aiohttp (`netdx --help` stays fast),
    and the DNS transport does not need dnspython at all."""
    code = (
        "import sys, netdx.probes.dns, netdx.probes.http, netdx.probes.hostsfile;"
        "import netdx.dns.query, netdx.dns.command, netdx.dns.tracer;"
        "heavy = [m for m in sys.modules if m == 'aiohttp' or m.startswith(('dns.', 'aiohttp.'))"
        " or m == 'dns'];"
        "print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "[]"
