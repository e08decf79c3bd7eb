"""The DNS probe: what the application gets (getaddrinfo) and what every configured server says.

Two views of one name, run concurrently by `resolve()`:

- `system_resolve()` calls getaddrinfo() exactly as a Python application does (flags 0,
  SOCK_STREAM), so /etc/hosts, nsswitch.conf and resolv.conf all apply.
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

The servers are asked through netdx's one DNS transport (`netdx.dns.query`); resolv.conf
and the search list are read by `netdx.dns.resolvconf`, glibc's way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import socket
import threading
import time
from typing import Any

from netdx.budget import Deadline, elapsed_ms
from netdx.dns.query import QueryOptions, query
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
from netdx.netlink.errors import errno_name
from netdx.probes import hostsfile

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
    records = tuple(
        DnsRecord(name=r.name.rstrip(".") or ".", rtype=r.rtype, ttl=r.ttl,
                  value=r.value.rstrip(".") if r.rtype in _NAME_TYPES else r.value)
        for r in answer.records
    )
    return dataclasses.replace(answer, qname=answer.qname.rstrip("."), records=records,
                               exchange=None)


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
    status, addresses, gai_error = await _getaddrinfo_outcome(name, family, deadline)
    return NssResult(
        name=name,
        status=status,
        addresses=addresses,
        hosts_addresses=hosts,
        gai_error=gai_error,
        elapsed_ms=elapsed_ms(start),
    )


async def _getaddrinfo_outcome(
    name: str, family: Family | None, deadline: Deadline
) -> tuple[NssStatus, tuple[str, ...], str | None]:
    try:
        infos = await asyncio.wait_for(_getaddrinfo_in_thread(name, family), deadline.remaining())
    except TimeoutError:
        return "timeout", (), None
    except socket.gaierror as exc:
        code = gai_error_name(exc.errno or 0)
        return _GAI_STATUS.get(code, "error"), (), code
    except OSError as exc:  # EAI_SYSTEM arrives as a plain OSError with the errno
        return "error", (), f"EAI_SYSTEM ({errno_name(exc.errno or 0)})"
    except UnicodeError as exc:  # a name the IDNA codec cannot encode never reaches glibc
        return "error", (), f"UnicodeError: {exc}"
    return "ok", tuple(dict.fromkeys(str(info[4][0]) for info in infos)), None


def _hosts_addresses(path: str, name: str, family: Family | None) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return ()
    return hostsfile.lookup(text, name, family=family)


GaiInfo = tuple[Any, ...]


def _getaddrinfo_in_thread(name: str, family: Family | None) -> asyncio.Future[list[GaiInfo]]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list[GaiInfo]] = loop.create_future()
    af = {None: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[family]

    def settle(result: list[GaiInfo], error: Exception | None) -> None:
        if future.done():  # we stopped waiting (deadline): nobody wants it any more
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        result: list[GaiInfo] = []
        error: Exception | None = None
        try:
            result = socket.getaddrinfo(name, None, af, socket.SOCK_STREAM)
        except Exception as exc:  # handed to the awaiting coroutine, which sorts it out
            error = exc
        # A closed loop means netdx finished without this answer.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="netdx-getaddrinfo", daemon=True).start()
    return future


# --- asking the servers ---------------------------------------------------------------------


async def query_servers(
    name: str,
    *,
    family: Family | None,
    deadline: Deadline,
    servers: tuple[str, ...] | None = None,
    resolv_conf: str = "/etc/resolv.conf",
) -> DnsQueryResult:
    """Ask every server (resolv.conf's, or `servers` given as `ADDR` / `ADDR#PORT`) for the
    A and/or AAAA records of `name`, all at once, each bounded by `deadline`.

    Search list, ndots and `options edns0` come from resolv.conf in both cases. Per server
    and type the candidates are tried in the stub resolver's order until one has addresses;
    a timeout, a network error or REFUSED stops the walk (glibc moves on to the next server
    there).
    UDP is retransmitted after 1 s, 2 s, ... while the deadline allows; a truncated answer
    is asked again over TCP. ValueError for a malformed `servers` entry.
    """
    conf = read_resolv_conf(resolv_conf)
    chosen = servers if servers is not None else conf.nameservers
    targets = [(spec, *parse_server(spec)) for spec in chosen]
    candidates = search_candidates(name, search=conf.search, ndots=conf.ndots)
    rtypes = {None: ("A", "AAAA"), 4: ("A",), 6: ("AAAA",)}[family]
    answers = await asyncio.gather(
        *(
            _ask_one_server(label, address, port, candidates, rtype, deadline,
                            edns=conf.edns0)
            for label, address, port in targets
            for rtype in rtypes
        )
    )
    return DnsQueryResult(answers=tuple(answers), configured_servers=chosen, search=conf.search)


def read_resolv_conf(path: str) -> ResolvConf:
    """resolv.conf at `path` as glibc reads it (`dns.resolvconf`); a missing or unreadable
    file is an empty one, as for glibc (which then asks 127.0.0.1)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""  # glibc then asks 127.0.0.1, as parse_resolv_conf does
    return parse_resolv_conf(text, hostname=socket.gethostname())


async def _ask_one_server(
    label: str,
    address: str,
    port: int,
    candidates: tuple[str, ...],
    rtype: str,
    deadline: Deadline,
    *,
    edns: bool,
) -> DnsServerAnswer:
    start = time.monotonic()
    # Asked the way glibc asks: EDNS0 only with `options edns0`.
    options = QueryOptions(port=port, edns=edns)
    tried = await ask_search_list(address, candidates, rtype, deadline=deadline,
                                  options=options, label=label)
    chosen = pick_answer([as_check_answer(a) for a in tried])
    return dataclasses.replace(chosen, elapsed_ms=elapsed_ms(start))


async def ask_search_list(
    address: str,
    candidates: tuple[str, ...],
    rtype: str,
    *,
    deadline: Deadline,
    options: QueryOptions,
    label: str | None = None,
) -> tuple[DnsServerAnswer, ...]:
    """Ask one server for the `candidates` (`resolvconf.search_candidates`) in order, as
    the stub resolver does: the walk ends at the first answer after which glibc stops
    (`resolvconf.search_goes_on`). Every answer received, in order, with its exchange."""
    tried: list[DnsServerAnswer] = []
    for qname in candidates:
        answer = await query(address, DnsQuestion(name=qname + ".", rtype=rtype),
                             deadline=deadline, options=options, label=label)
        tried.append(answer)
        if not search_goes_on(answer.status):
            break
    return tuple(tried)


# --- both views together --------------------------------------------------------------------


async def resolve(
    name: str,
    *,
    family: Family | None,
    deadline: Deadline,
    servers: tuple[str, ...] | None = None,
) -> DnsEvidence:
    """getaddrinfo and every server's answer for `name`, concurrently, with the source of
    the first address. An IP literal comes back at once as source `literal`."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return DnsEvidence(name=name, source="literal")
    nss, queried = await asyncio.gather(
        system_resolve(name, family=family, deadline=deadline),
        query_servers(name, family=family, deadline=deadline, servers=servers),
    )
    return DnsEvidence(
        name=name,
        source=choose_source(nss, queried.answers),
        nss=nss,
        servers=queried.answers,
        configured_servers=queried.configured_servers,
        search=queried.search,
    )
