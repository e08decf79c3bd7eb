"""The DNS probe: what the application gets (getaddrinfo) and what every configured server says.

Two views of one name, run concurrently by `resolve_sync()` (`resolve()` awaits it in a
thread):

- getaddrinfo() exactly as a Python application calls it (flags 0, SOCK_STREAM), so
  /etc/hosts, nsswitch.conf and resolv.conf all apply (`system_resolve()` on asyncio).
- `query_servers()` asks each nameserver itself, for A and AAAA, with the stub resolver's
  search-list rules, and keeps each server's answer with TTLs: the evidence that tells a
  stale /etc/hosts line, a lagging server or a missing record apart.

glibc 2.36 facts the code relies on (checked in a namespace, see the lab tests):

- A name that exists with no A/AAAA record (NOERROR, empty answer) makes getaddrinfo fail
  with EAI_NODATA ("no_address"), for AF_UNSPEC, AF_INET and AF_INET6 alike; NXDOMAIN
  gives EAI_NONAME ("nxdomain"). Other NSS modules (systemd-resolved, older glibc) may
  say EAI_NONAME for both: the servers' answers (`nodata` vs `nxdomain`) decide.
- A server that answers with ICMP port unreachable or REFUSED (even for just one name of
  the search walk) makes getaddrinfo fail with EAI_AGAIN ("again"), not EAI_NONAME.

The servers are asked through netdx's one DNS transport's rules (`netdx.dns.exchange`), on
`netdx.dns.flights`' selectors loop; resolv.conf and the search list are read by
`netdx.dns.resolvconf`, glibc's way.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time

from netdx.budget import Deadline, elapsed_ms
from netdx.dns.exchange import QueryOptions
from netdx.dns.resolvconf import (
    ResolvConf,
    parse_resolv_conf,
    parse_server,
    search_candidates,
    search_goes_on,
)
from netdx.model.evidence import (
    AddressSource,
    DnsEvidence,
    DnsQuestion,
    DnsRecord,
    DnsServerAnswer,
    Family,
    NssResult,
    NssStatus,
)
from netdx.model.record import record
from netdx.netlink._compat import cast
from netdx.netlink.errors import errno_name
from netdx.probes import hostsfile

# No asyncio, typing or dataclasses at import: the CLI's check resolves from a thread
# (`resolve_sync`: getaddrinfo in a thread of its own, the servers on `dns.flights`'
# selectors loop); `resolve` awaits the same in a thread. mypy reads any name
# TYPE_CHECKING as typing's.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")
    GaiInfo = tuple[Any, ...]
    GaiOutcome = tuple[NssStatus, tuple[str, ...], str | None]

_GAI_STATUS: dict[str, NssStatus] = {
    "EAI_NONAME": "nxdomain",
    "EAI_NODATA": "no_address",
    "EAI_ADDRFAMILY": "no_address",
    "EAI_AGAIN": "again",
}
_NAME_TYPES = frozenset({"CNAME", "DNAME", "NS", "PTR"})


@record
class DnsQueryResult:
    """Every server's answers, plus the configuration they were asked under."""

    answers: tuple[DnsServerAnswer, ...]
    configured_servers: tuple[str, ...]
    search: tuple[str, ...]


# --- pure parts -----------------------------------------------------------------------------


def pick_answer(tried: list[DnsServerAnswer]) -> DnsServerAnswer:
    """The answer the stub resolver settles on after walking the search list: the first
    `ok`; else the first `nodata` (glibc reports NO_DATA over NXDOMAIN); else the first
    `servfail`; else a timeout, refusal or error that ended the walk; else (all NXDOMAIN)
    the first name tried."""
    for wanted in ("ok", "nodata", "servfail"):
        for answer in tried:
            if answer.status == wanted:
                return answer
    return tried[-1] if tried[-1].status != "nxdomain" else tried[0]


def choose_source(nss: NssResult, answers: tuple[DnsServerAnswer, ...]) -> AddressSource:
    """Where the address the application uses first came from (see `DnsEvidence.source`).

    When getaddrinfo gave nothing, the failure is DNS's: `dns`.
    """
    if not nss.addresses:
        return "dns"
    first = nss.addresses[0]
    if first in nss.hosts_addresses:
        return "hosts"
    if any(first in a.addresses for a in answers):
        return "dns"
    return "nss"


def as_check_answer(answer: DnsServerAnswer) -> DnsServerAnswer:
    """A transport answer in the form `netdx check` keeps: names without the final dot (as
    the user wrote the name), and without the wire detail, which only `netdx dns` shows."""
    from dataclasses import replace

    records = tuple(
        DnsRecord(name=r.name.rstrip(".") or ".", rtype=r.rtype, ttl=r.ttl,
                  value=r.value.rstrip(".") if r.rtype in _NAME_TYPES else r.value)
        for r in answer.records
    )
    return replace(answer, qname=answer.qname.rstrip("."), records=records, exchange=None)


def gai_error_name(code: int) -> str:
    """EAI_NONAME for -2 and so on; the number itself when unknown."""
    for attr in dir(socket):
        if attr.startswith("EAI_") and getattr(socket, attr) == code:
            return attr
    return str(code)


# --- getaddrinfo ----------------------------------------------------------------------------


async def system_resolve(
    name: str,
    *,
    family: Family | None,
    deadline: Deadline,
    hosts_path: str = "/etc/hosts",
) -> NssResult:
    """What the application gets: getaddrinfo(name, None, family, SOCK_STREAM), flags 0.

    It runs in a daemon thread of its own, not the loop's executor: getaddrinfo cannot be
    cancelled, and asyncio.run() joins the default executor at exit, so a black-holed
    resolver would hold netdx for glibc's full timeout. At the deadline we stop waiting
    (status `timeout`) and leave the thread to finish on its own. Addresses keep
    getaddrinfo's order (RFC 6724), without duplicates.
    """
    start = time.monotonic()
    hosts = _hosts_addresses(hosts_path, name, family)
    outcome = await _getaddrinfo_outcome(name, family, deadline)
    return _nss_result(name, hosts, outcome, start, time.monotonic())


def _nss_result(name: str, hosts: tuple[str, ...], outcome: GaiOutcome, start: float,
                end: float) -> NssResult:
    status, addresses, gai_error = outcome
    return NssResult(name=name, status=status, addresses=addresses, hosts_addresses=hosts,
                     gai_error=gai_error, elapsed_ms=round((end - start) * 1000.0, 2))


async def _getaddrinfo_outcome(name: str, family: Family | None, deadline: Deadline) -> GaiOutcome:
    import asyncio

    try:
        infos = await asyncio.wait_for(
            awaited_in_thread(_getaddrinfo(name, family), "netdx-getaddrinfo"),
            deadline.remaining())
    except TimeoutError:
        return _gai_outcome(None, None)
    except Exception as exc:  # sorted out (or raised again) by _gai_outcome
        return _gai_outcome(None, exc)
    return _gai_outcome(infos, None)


def _gai_outcome(infos: list[GaiInfo] | None, error: Exception | None) -> GaiOutcome:
    """getaddrinfo's answer or error as (status, addresses, error name); neither: it had
    not answered by the deadline. An error that is not the resolver's is raised again."""
    if isinstance(error, socket.gaierror):
        code = gai_error_name(error.errno or 0)
        return _GAI_STATUS.get(code, "error"), (), code
    if isinstance(error, OSError):  # EAI_SYSTEM arrives as a plain OSError with the errno
        return "error", (), f"EAI_SYSTEM ({errno_name(error.errno or 0)})"
    if isinstance(error, UnicodeError):  # a name the IDNA codec cannot encode
        return "error", (), f"UnicodeError: {error}"
    if error is not None:
        raise error
    if infos is None:
        return "timeout", (), None
    return "ok", tuple(dict.fromkeys(str(info[4][0]) for info in infos)), None


def _hosts_addresses(path: str, name: str, family: Family | None) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return ()
    return hostsfile.lookup(text, name, family=family)


def _in_thread(work: Callable[[], T], deliver: Callable[[T | None, Exception | None], None],
               thread_name: str) -> None:
    """`work` in a daemon thread of its own; `deliver` gets its result or error (in that
    thread), unless nobody waits any more. A daemon thread, not the loop's executor, which
    asyncio.run() joins at exit: getaddrinfo cannot be cancelled, and a black-holed resolver
    would hold netdx for glibc's full timeout."""

    def run() -> None:
        result: T | None = None
        error: Exception | None = None
        try:
            result = work()
        except Exception as exc:  # handed to the waiter, which sorts it out
            error = exc
        deliver(result, error)

    threading.Thread(target=run, name=thread_name, daemon=True).start()


def _getaddrinfo(name: str, family: Family | None) -> Callable[[], list[GaiInfo]]:
    """getaddrinfo as the application calls it, to run in a thread (`_in_thread`)."""
    af = {None: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[family]
    return lambda: socket.getaddrinfo(name, None, af, socket.SOCK_STREAM)


def _getaddrinfo_started(
    name: str, family: Family | None
) -> Callable[[Deadline], tuple[GaiOutcome, float]]:
    """getaddrinfo started in its thread; the call returned waits for it until a deadline:
    its outcome and when it came (time.monotonic()), or a timeout at the deadline."""
    done = threading.Event()
    box: list[tuple[list[GaiInfo] | None, Exception | None, float]] = []

    def deliver(result: list[GaiInfo] | None, error: Exception | None) -> None:
        box.append((result, error, time.monotonic()))
        done.set()

    _in_thread(_getaddrinfo(name, family), deliver, "netdx-getaddrinfo")

    def wait(deadline: Deadline) -> tuple[GaiOutcome, float]:
        if not done.wait(max(0.0, deadline.remaining())):
            return _gai_outcome(None, None), time.monotonic()
        infos, error, at = box[0]
        return _gai_outcome(infos, error), at

    return wait


def awaited_in_thread(work: Callable[[], T], thread_name: str) -> asyncio.Future[T]:
    """`work` in a daemon thread of its own (`_in_thread`), as a future of the running loop.
    Whoever stops waiting (a deadline, a cancelled task) leaves the thread to end on its own:
    its result is then dropped."""
    import asyncio

    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: Exception | None) -> None:
        if future.done():  # we stopped waiting (deadline): nobody wants it any more
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(cast("T", result))  # no error: `work` returned it

    def deliver(result: T | None, error: Exception | None) -> None:
        # A closed loop means netdx finished without this answer.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    _in_thread(work, deliver, thread_name)
    return future


# --- asking the servers ---------------------------------------------------------------------


def query_servers(
    name: str,
    *,
    family: Family | None,
    deadline: Deadline,
    servers: tuple[str, ...] | None = None,
    resolv_conf: str = "/etc/resolv.conf",
) -> DnsQueryResult:
    """Ask every server (resolv.conf's, or `servers` given as `ADDR` / `ADDR#PORT`) for the
    A and/or AAAA records of `name`, all at once on `dns.flights`' selectors loop, each
    bounded by `deadline`.

    Search list, ndots and `options edns0` come from resolv.conf in both cases. Per server
    and type the candidates are tried in the stub resolver's order until one has addresses
    (the next name once the last answer lets the walk go on); a timeout, a network error or
    REFUSED stops the walk (glibc moves on to the next server there).
    UDP is retransmitted after 1 s, 2 s, ... while the deadline allows; a truncated answer
    is asked again over TCP. ValueError for a malformed `servers` entry.
    """
    conf = read_resolv_conf(resolv_conf)
    chosen = servers if servers is not None else conf.nameservers
    candidates = search_candidates(name, search=conf.search, ndots=conf.ndots)
    rtypes = {None: ("A", "AAAA"), 4: ("A",), 6: ("AAAA",)}[family]
    start = time.monotonic()
    walks = walk_search_lists(chosen, candidates, rtypes, deadline=deadline, edns=conf.edns0)
    answers = tuple(_picked(tried, start) for tried in walks)
    return DnsQueryResult(answers=answers, configured_servers=chosen, search=conf.search)


def walk_search_lists(
    servers: tuple[str, ...],
    candidates: tuple[str, ...],
    rtypes: tuple[str, ...],
    *,
    deadline: Deadline,
    edns: bool,
) -> list[tuple[DnsServerAnswer, ...]]:
    """Ask every server (`ADDR` or `ADDR#PORT`) for each of `rtypes`, all at once on
    `dns.flights`' selectors loop, each walk trying the `candidates`
    (`resolvconf.search_candidates`) in order as the stub resolver does: the walk ends at the
    first answer after which glibc stops (`resolvconf.search_goes_on`). Every answer each
    walk received, in order, with its exchange and the server as given; walks server by
    server, type by type. ValueError for a malformed server."""
    from dataclasses import replace

    from netdx.dns.flights import Flights

    chains = [(spec, *parse_server(spec), rtype) for spec in servers for rtype in rtypes]
    tried: list[list[DnsServerAnswer]] = [[] for _ in chains]
    flights = Flights()

    def ask(key: int) -> None:
        _, address, port, rtype = chains[key]
        qname = candidates[len(tried[key])]
        # Asked the way glibc asks: EDNS0 only with `options edns0`.
        flights.start(key, address, DnsQuestion(name=qname + ".", rtype=rtype),
                      deadline=deadline, options=QueryOptions(port=port, edns=edns))

    try:
        for key in range(len(chains)):
            ask(key)
        while len(flights):  # every flight ends by its deadline (a timeout answer)
            for key, answer in flights.wait(deadline):
                tried[key].append(replace(answer, server=chains[key][0]))  # as labelled
                if search_goes_on(answer.status) and len(tried[key]) < len(candidates):
                    ask(key)
    finally:
        flights.close()
    return [tuple(t) for t in tried]


def read_resolv_conf(path: str) -> ResolvConf:
    """resolv.conf at `path` as glibc reads it (`dns.resolvconf`); a missing or unreadable
    file is an empty one, as for glibc (which then asks 127.0.0.1)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""  # glibc then asks 127.0.0.1, as parse_resolv_conf does
    return parse_resolv_conf(text, hostname=socket.gethostname())


def _picked(tried: list[DnsServerAnswer] | tuple[DnsServerAnswer, ...],
            start: float) -> DnsServerAnswer:
    """The answer a server's search walk settles on, as check keeps it, timed from `start`."""
    from dataclasses import replace

    chosen = pick_answer([as_check_answer(a) for a in tried])
    return replace(chosen, elapsed_ms=elapsed_ms(start))


# --- both views together --------------------------------------------------------------------


async def resolve(
    name: str,
    *,
    family: Family | None,
    deadline: Deadline,
    servers: tuple[str, ...] | None = None,
) -> DnsEvidence:
    """`resolve_sync` for a caller on asyncio (check's async driver: --ssh, serve, verify),
    in a thread of its own so the event loop goes on. Both views end by `deadline` whoever
    waits; a cancelled caller leaves the thread to end there and its evidence is dropped."""

    def both() -> DnsEvidence:
        return resolve_sync(name, family=family, deadline=deadline, servers=servers)

    return await awaited_in_thread(both, "netdx-resolve")


def resolve_sync(
    name: str,
    *,
    family: Family | None,
    deadline: Deadline,
    servers: tuple[str, ...] | None = None,
) -> DnsEvidence:
    """getaddrinfo and every server's answer for `name`, concurrently, with the source of
    the first address: getaddrinfo runs in its thread while this one asks the servers
    (`query_servers`), then waits for it until the deadline. An IP literal comes back at
    once as source `literal`."""
    if _literal(name):
        return DnsEvidence(name=name, source="literal")
    start = time.monotonic()
    hosts = _hosts_addresses("/etc/hosts", name, family)
    nss = _getaddrinfo_started(name, family)
    queried = query_servers(name, family=family, deadline=deadline, servers=servers)
    outcome, end = nss(deadline)
    return _evidence(name, _nss_result(name, hosts, outcome, start, end), queried)


def _literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _evidence(name: str, nss: NssResult, queried: DnsQueryResult) -> DnsEvidence:
    return DnsEvidence(
        name=name,
        source=choose_source(nss, queried.answers),
        nss=nss,
        servers=queried.answers,
        configured_servers=queried.configured_servers,
        search=queried.search,
    )
