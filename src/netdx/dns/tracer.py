"""The thin loops that drive `TraceMachine`, and root hints.

A loop sends what the machine asks for, all at once, and feeds each result back as it
arrives: `run_trace` on asyncio with any `Sender` (--compare, the tests' fakes),
`run_trace_sync` on a `selectors` loop (`netdx dns --trace`, which then imports no
asyncio); `_Walk` is the bookkeeping both share. Queries still in flight when the walk ends
are awaited (each is bounded by the per-server timeout) so every server's outcome is
recorded; pass `wait_stragglers=False` to stop at once instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from netdx.budget import Deadline
from netdx.dns.exchange import QueryOptions
from netdx.dns.trace import TraceLimits, TraceMachine, TraceQuery
from netdx.model.dns import DnsQuestion, DnsServerAnswer
from netdx.model.dns_trace import NameServer, TraceResult

SYSTEM_ROOT_HINTS = ("/usr/share/dns/root.hints", "/etc/unbound/root.hints")  # str: no pathlib
DEFAULT_SERVER_TIMEOUT = 1.0
# Once the walk is done, a server still silent may take 20 times the slowest answer seen,
# and at least half a second: a secondary across a WAN answering in 300 ms while its
# primary took 1 ms is slow, not lame (the floor was 50 ms and named such servers lame).
GRACE_FLOOR, GRACE_FACTOR = 0.5, 20.0

if TYPE_CHECKING:
    import asyncio

# A trace asks with recursion off (RD clear), UDP first.
TRACE_OPTIONS = QueryOptions(recursion_desired=False)

Sender = Callable[[str, DnsQuestion, Deadline], Coroutine[Any, Any, DnsServerAnswer]]
"""The I/O boundary of a trace: ask `server` a question (RD off) before the deadline."""


async def send_query(server: str, question: DnsQuestion, deadline: Deadline) -> DnsServerAnswer:
    """The real `Sender`: one non-recursive query, UDP with a TCP retry on truncation."""
    from netdx.dns.query import query

    return await query(server, question, deadline=deadline, options=TRACE_OPTIONS)


async def run_trace(
    question: DnsQuestion,
    roots: tuple[NameServer, ...],
    *,
    deadline: Deadline,
    server_timeout: float = DEFAULT_SERVER_TIMEOUT,
    limits: TraceLimits | None = None,
    send: Sender = send_query,
    wait_stragglers: bool = True,
    start_zone: str = ".",
) -> TraceResult:
    """Walk the delegation for `question` from `roots` (the servers of `start_zone`: the
    root hints, or an internal zone's servers found through the resolver) and return the
    finished trace.

    Once the walk is done, servers still silent get a grace period (`straggler_grace`) to
    answer before they are recorded as timed out, rather than their full `server_timeout`.
    """
    import asyncio

    walk = _Walk(TraceMachine(question, roots, limits=limits, start_zone=start_zone),
                 deadline=deadline, server_timeout=server_timeout,
                 wait_stragglers=wait_stragglers)
    tasks: dict[asyncio.Task[DnsServerAnswer], TraceQuery] = {}

    def launch() -> None:
        for q in walk.next_queries():
            tasks[asyncio.create_task(send(q.server, q.question, walk.query_deadline()))] = q

    launch()
    try:
        while tasks and (limit := walk.limit()) is not None:
            finished, _ = await asyncio.wait(
                tasks, timeout=limit.remaining(), return_when=asyncio.FIRST_COMPLETED
            )
            if not finished:
                break
            for task in finished:
                q = tasks.pop(task)
                walk.feed(q, _result_of(task, q))
            launch()
        walk.give_up(tasks.values())
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return walk.machine.result()


def run_trace_sync(
    question: DnsQuestion,
    roots: tuple[NameServer, ...],
    *,
    deadline: Deadline,
    server_timeout: float = DEFAULT_SERVER_TIMEOUT,
    limits: TraceLimits | None = None,
    start_zone: str = ".",
) -> TraceResult:
    """`run_trace` with the real sender, without an event loop: the queries fly on one
    `selectors` loop (`netdx.dns.flights`), so `netdx dns --trace` never imports asyncio.
    The same walk, the same grace for stragglers, the same evidence."""
    from netdx.dns.flights import Flights

    walk = _Walk(TraceMachine(question, roots, limits=limits, start_zone=start_zone),
                 deadline=deadline, server_timeout=server_timeout, wait_stragglers=True)
    flights = Flights()
    asked: dict[int, TraceQuery] = {}

    def launch() -> None:
        for q in walk.next_queries():
            asked[q.id] = q
            flights.start(q.id, q.server, q.question, deadline=walk.query_deadline(),
                          options=TRACE_OPTIONS)

    launch()
    try:
        while asked and (limit := walk.limit()) is not None:
            finished = flights.wait(limit)
            if not finished:
                break
            for key, result in finished:
                walk.feed(asked.pop(key), result)
            launch()
        walk.give_up(asked.values())
    finally:
        flights.close()
    return walk.machine.result()


class _Walk:
    """The loops' shared bookkeeping around the machine: when each query was sent, the
    slowest answer so far, and the grace stragglers get once the walk is done."""

    def __init__(self, machine: TraceMachine, *, deadline: Deadline, server_timeout: float,
                 wait_stragglers: bool) -> None:
        self.machine = machine
        self.deadline = deadline
        self.server_timeout = server_timeout
        self.wait_stragglers = wait_stragglers
        self.sent_at: dict[int, float] = {}
        self.slowest = 0.0
        self.grace: Deadline | None = None

    def next_queries(self) -> list[TraceQuery]:
        queries = self.machine.next_queries()
        now = time.monotonic()
        for q in queries:
            self.sent_at[q.id] = now
        return queries

    def query_deadline(self) -> Deadline:
        return self.deadline.within(self.server_timeout)

    def limit(self) -> Deadline | None:
        """How long to wait for the next result; None: stop waiting (the walk is done and
        stragglers are not waited for)."""
        if self.machine.done and self.grace is None:
            if not self.wait_stragglers:
                return None
            self.grace = self.deadline.within(straggler_grace(self.slowest,
                                                              self.server_timeout))
        return self.grace or self.deadline

    def feed(self, q: TraceQuery, result: DnsServerAnswer) -> None:
        if result.message is not None:
            self.slowest = max(self.slowest, result.elapsed_ms)
        self.machine.feed(q.id, result)

    def give_up(self, pending: Iterable[TraceQuery]) -> None:
        """Record the servers still silent at the end of the grace period as timed out
        (nothing, when the deadline ended the walk first)."""
        if self.grace is not None:
            _give_up(self.machine, pending, self.slowest, self.sent_at)


def _result_of(task: asyncio.Task[DnsServerAnswer], q: TraceQuery) -> DnsServerAnswer:
    """The task's result; a sender that raised (a bug, or an address the OS refuses)
    becomes an `error` outcome for that server instead of ending the whole walk."""
    exc = task.exception()
    if exc is None:
        return task.result()
    return DnsServerAnswer(server=q.server, qname=q.question.name, rtype=q.question.rtype,
                           status="error", error=f"{type(exc).__name__}: {exc}")


def straggler_grace(slowest_ms: float, server_timeout: float) -> float:
    """Seconds a server may still take once the walk is done: 20 times the slowest answer
    seen, at least `GRACE_FLOOR`, at most the per-server timeout. A server that much slower
    than its peers is as good as silent for a resolver."""
    return min(server_timeout, max(GRACE_FLOOR, GRACE_FACTOR * slowest_ms / 1000.0))


def _give_up(machine: TraceMachine, pending: Iterable[TraceQuery], slowest: float,
             sent_at: dict[int, float]) -> None:
    now = time.monotonic()
    for q in pending:
        # How long the server was really given (it printed as "0 ms" before).
        waited = round((now - sent_at.get(q.id, now)) * 1000.0, 3)
        why = (f"no answer in {waited:g} ms, within the grace period after the walk "
               f"finished (the slowest answering server took {slowest:g} ms)")
        machine.feed(q.id, DnsServerAnswer(server=q.server, qname=q.question.name,
                                           rtype=q.question.rtype, status="timeout",
                                           error=why, elapsed_ms=waited))


def parse_root_hints(text: str) -> tuple[NameServer, ...]:
    """The root servers of a hints file (zone-file syntax: `. NS name`, `name A addr`)."""
    names: list[str] = []
    addresses: dict[str, list[str]] = {}
    for raw in text.splitlines():
        fields = raw.split(";", 1)[0].split()
        if len(fields) < 3:
            continue
        owner, rtype, value = fields[0].lower(), fields[-2].upper(), fields[-1].lower()
        if rtype == "NS" and owner == ".":
            names.append(value if value.endswith(".") else value + ".")
        elif rtype in ("A", "AAAA"):
            key = owner if owner.endswith(".") else owner + "."
            addresses.setdefault(key, []).append(value)
    return tuple(NameServer(name=n, addresses=tuple(addresses.get(n, ())))
                 for n in dict.fromkeys(names))


def load_root_hints(
    path: str | os.PathLike[str] | None = None,
) -> tuple[tuple[NameServer, ...], str | None]:
    """Root servers from `path`, or from the first system hints file; `((), None)` if none.
    A `path` the user named must be a readable regular file of at most 1 MiB (UsageError)."""
    if path is not None:
        from netdx.files import MIB, read_user_file

        text = read_user_file(path, what="root hints", limit=MIB)
        return parse_root_hints(text), os.fspath(path)
    for candidate in SYSTEM_ROOT_HINTS:
        try:
            with open(candidate) as hints:  # not pathlib: ~5 ms of the trace's CPU
                text = hints.read()
        except OSError:
            continue
        return parse_root_hints(text), candidate
    return (), None
