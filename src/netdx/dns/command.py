"""Run one `netdx dns` request: direct queries, the trace, the comparison, under one budget."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from netdx.budget import Deadline, elapsed_ms
from netdx.diagnose.dns_trace import dns_findings
from netdx.dns.render import DnsReport
from netdx.errors import UsageError
from netdx.model.dns import DnsQuestion
from netdx.model.record import record

if TYPE_CHECKING:
    import asyncio

    from netdx.model.dns import DnsComparison, DnsServerAnswer
    from netdx.model.dns_trace import TraceResult

# The resolvers' rows may use this share of the budget; the authoritative walk the rest.
COMPARE_SHARE = 0.4


@record
class DnsRequest:
    """What the user asked for. No `servers` means: the first nameserver of resolv.conf;
    a server may be a host name, resolved through the system resolver within the budget."""

    name: str
    types: tuple[str, ...] = ("A",)
    servers: tuple[str, ...] = ()
    port: int = 53
    trace: bool = False
    compare: bool = False
    root_hints: str | None = None
    tcp: bool = False
    recurse: bool = True
    timeout: float = 5.0
    server_timeout: float = 1.0
    # Paths as str: pathlib would cost the trace ~5 ms of CPU to import.
    resolv_conf: str = "/etc/resolv.conf"
    hosts: str = "/etc/hosts"


def run_sync(request: DnsRequest) -> DnsReport:
    """`run` from synchronous code (the CLI). A trace alone runs without an event loop
    (`netdx.dns.flights`): importing asyncio would cost it more than the whole walk."""
    if request.trace and not request.servers and not request.compare:
        start = time.monotonic()
        trace = _trace(request, _absolute(request.name), Deadline.after(request.timeout))
        return _report((), trace, None, start)
    import asyncio

    return asyncio.run(run(request))


async def run(request: DnsRequest) -> DnsReport:
    """Everything the request asks for; network outcomes are in the report, never raised.
    The findings come from the rules in `netdx.diagnose.dns_trace`."""
    start = time.monotonic()
    deadline = Deadline.after(request.timeout)
    name = _absolute(request.name)
    direct = bool(request.servers) or not (request.trace or request.compare)
    queries: tuple[DnsServerAnswer, ...] = ()
    trace: TraceResult | None = None
    if direct:
        queries = await _direct(request, name, deadline)
    comparison: DnsComparison | None = None
    if request.compare:
        comparison, trace = await _compare(request, deadline)
    elif request.trace:
        # The walk runs its own loop (it sends nothing while direct queries are in flight:
        # they were answered above).
        trace = _trace(request, name, deadline)
    return _report(queries, trace, comparison, start)


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _report(queries: tuple[DnsServerAnswer, ...], trace: TraceResult | None,
            comparison: DnsComparison | None, start: float) -> DnsReport:
    return DnsReport(queries=queries, trace=trace, comparison=comparison,
                     findings=dns_findings(queries, trace, comparison),
                     elapsed_ms=elapsed_ms(start))


async def _direct(request: DnsRequest, name: str,
                  deadline: Deadline) -> tuple[DnsServerAnswer, ...]:
    """Every type asked of every server at once, in the order given: server by server."""
    import asyncio

    from netdx.dns.query import QueryOptions, query

    servers = request.servers or (_default_server(request.resolv_conf),)
    addresses = [await server_address(s, deadline) for s in servers]
    options = QueryOptions(recursion_desired=request.recurse, tcp_only=request.tcp,
                           port=request.port)
    return tuple(await asyncio.gather(*(
        query(server, DnsQuestion(name=name, rtype=t), deadline=deadline, options=options)
        for server in addresses
        for t in request.types
    )))


async def server_address(server: str, deadline: Deadline) -> str:
    """An @SERVER as an address: itself when numeric, else the first address the system
    resolver gives for the name (getaddrinfo, as dig does), within the budget.
    A name that does not resolve is the user's input: UsageError (exit 2).

    getaddrinfo cannot be cancelled, so it runs in a daemon thread of its own that is left
    behind when the budget ends: the default executor would be joined when asyncio.run()
    returns, holding the command for the resolver's own timeouts."""
    import asyncio
    import contextlib
    import ipaddress
    import socket
    import threading

    try:
        return str(ipaddress.ip_address(server))
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()

    def settle(address: str | None, error: str | None) -> None:
        if done.done():
            return
        if address is not None:
            done.set_result(address)
        else:
            done.set_exception(UsageError(f"@{server}: cannot resolve the server name: {error}"))

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(server, None, type=socket.SOCK_DGRAM)
            found: tuple[str | None, str | None] = (str(infos[0][4][0]), None)
        except (OSError, IndexError, UnicodeError) as exc:
            found = (None, str(exc) or type(exc).__name__)
        with contextlib.suppress(RuntimeError):  # the loop ended first: nobody waits
            loop.call_soon_threadsafe(settle, *found)

    threading.Thread(target=lookup, name="netdx-dns-server", daemon=True).start()
    try:
        return await asyncio.wait_for(done, deadline.remaining())
    except TimeoutError:
        raise UsageError(
            f"@{server}: cannot resolve the server name: no answer within the time budget"
        ) from None


def _trace(request: DnsRequest, name: str, deadline: Deadline) -> TraceResult:
    from netdx.dns.tracer import load_root_hints, run_trace_sync

    roots, _source = load_root_hints(request.root_hints)
    if not roots:
        where = request.root_hints or "the system (/usr/share/dns/root.hints)"
        raise UsageError(f"no root servers found in {where}; give --root-hints FILE")
    return run_trace_sync(DnsQuestion(name=name, rtype=request.types[0]), roots,
                          deadline=deadline, server_timeout=request.server_timeout)


async def _compare(request: DnsRequest,
                   deadline: Deadline) -> tuple[DnsComparison, TraceResult | None]:
    """The sources side by side, then the authoritative answer for the name the resolver
    settled on, found by `dns.verify`'s rule (the public root only when reachable or given
    with --root-hints; else the zone's servers, found through the resolver)."""
    import dataclasses
    from pathlib import Path

    from netdx.dns.compare import gather, settled_name
    from netdx.dns.verify import configured_resolvers, find_authoritative, from_trace

    rtype = request.types[0]
    comparison = await gather(request.name, rtype, deadline=deadline.share(COMPARE_SHARE),
                              hosts_path=Path(request.hosts),
                              resolv_path=Path(request.resolv_conf))
    resolvers = configured_resolvers(request.resolv_conf)
    found = await find_authoritative(settled_name(comparison), rtype, deadline=deadline,
                                     resolvers=resolvers,
                                     root_hints=None if request.root_hints is None
                                     else Path(request.root_hints),
                                     server_timeout=request.server_timeout)
    if found is None:
        return comparison, None
    trace, _ = found
    return dataclasses.replace(comparison, authoritative=from_trace(trace)), trace


def _default_server(resolv_conf: str) -> str:
    """The first nameserver, read glibc's way (127.0.0.1 when the file names none)."""
    from netdx.probes.dns import read_resolv_conf

    return read_resolv_conf(resolv_conf).nameservers[0]
