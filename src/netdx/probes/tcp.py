"""TCP connect probe: one non-blocking connect with IP_RECVERR, its outcome as evidence.

A connect ends in one of five ways that mean different things: connected, refused (a TCP
reset: the host is up, nothing listens), an ICMP error (a firewall REJECT or a router without
a path, naming its sender), a local error (no route, failed neighbour resolution) or a
timeout (something drops the SYN silently). Linux reports an ICMP port-unreachable as
ECONNREFUSED too, so the error queue is read before calling anything "refused".
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import select
import struct
import time

from netdx.budget import Deadline, elapsed_ms
from netdx.model.evidence import Family, IcmpError, TcpConnect, TcpOutcome
from netdx.model.record import record
from netdx.netlink import csocket as socket  # socket.py without its enums (csocket says why)
from netdx.netlink.errors import errno_name
from netdx.probes.recverr import (
    ExtendedErr,
    enable_recverr,
    first_icmp,
    read_errqueue,
    to_icmp_error,
)

# No asyncio at import: the CLI's check connects from a thread (`tcp_connect_sync`), and
# only `tcp_connect`'s callers (--ssh, serve, verify) run an event loop. mypy reads any name
# TYPE_CHECKING as typing's.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Generator, Iterator
    from typing import Any, Literal

    from netdx.drive import SyncSteering

    TimeoutBasis = Literal["rtt", "budget", "neighbour"]
    Rtt = Callable[[], tuple[bool, float | None]]  # (known yet, the round trip)

# Linux's initial SYN retransmission timeout is 1 s: an RTT-based timeout never goes below
# 1.1 s so that one retransmitted SYN (a single lost packet) can still be answered.
_MIN_RTT_TIMEOUT_S = 1.1
_RTT_SLACK_S = 0.25
_RTT_FACTOR = 10.0
_BUDGET_SHARE = 0.6
# A Linux router answers host-unreachable for a dead host on its subnet only once its ARP/ND
# has failed, 3 s after the first SYN (3 probes, 1 s apart): a cap of exactly 3 s gave up
# just before that word came (issue 10). Given the budget, the connect still hears it.
_BUDGET_CAP_S = 3.5


def connect_timeout(rtt_ms: float | None, remaining_s: float) -> tuple[float, TimeoutBasis]:
    """How long a connect may wait, and why.

    With a measured round trip: max(1.1 s, 0.25 s + 10 × RTT) (basis "rtt"); without one:
    60 % of the remaining budget, at most 3.5 s (basis "budget"). Never more than `remaining_s`.
    """
    remaining_s = max(0.0, remaining_s)
    if rtt_ms is not None:
        wanted = max(_MIN_RTT_TIMEOUT_S, _RTT_SLACK_S + _RTT_FACTOR * rtt_ms / 1000.0)
        return min(wanted, remaining_s), "rtt"
    return min(remaining_s * _BUDGET_SHARE, _BUDGET_CAP_S), "budget"


def address_family(address: str) -> Family:
    """4 or 6 for an IP literal (raises ValueError for anything else: a caller bug)."""
    return 6 if ipaddress.ip_address(address).version == 6 else 4


def sockaddr(address: str, port: int) -> tuple[str, int] | tuple[str, int, int, int]:
    """The connect()/sendto() address tuple (the same shape for both families).

    A scoped IPv6 address (``fe80::1%eth0``) carries its interface as the scope id: Python
    drops the ``%eth0`` of a 2-tuple, and the kernel then refuses a link-local address
    with EINVAL. An unknown interface raises OSError (ENODEV), like connect() would."""
    host, scoped, scope = address.partition("%")
    if not scoped:
        return (address, port)
    try:
        index = int(scope) if scope.isdigit() else socket.if_nametoindex(scope)
    except OSError:
        raise OSError(errno.ENODEV, f"no interface {scope!r}") from None
    return (host, port, 0, index)


def open_socket(family: Family, kind: socket.SocketKind, proto: int = 0) -> socket.socket:
    """A non-blocking socket of the address family, bound as --source/--interface ask."""
    from netdx.probes.bind import bind_socket

    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    sock = socket.socket(af, kind, proto)
    try:
        bind_socket(sock)  # --source / --interface, when given
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


@record
class ConnectResult:
    """How a connect() ended, classified from SO_ERROR and the error queue."""

    outcome: TcpOutcome
    errno: str | None = None
    icmp: IcmpError | None = None


def classify_connect(
    so_error: int, entries: tuple[ExtendedErr, ...], local_address: str | None
) -> ConnectResult:
    """Name a finished connect from its error number and error-queue entries.

    An ICMP entry sent by our own address is the kernel reporting a failed neighbour
    resolution (ARP/ND got no answer): a local error, not an answer from the network.
    """
    if so_error == 0:
        return ConnectResult(outcome="connected")
    name = errno_name(so_error)
    icmp_entry = first_icmp(entries)
    if icmp_entry is not None and icmp_entry.offender != local_address:
        return ConnectResult(outcome="icmp_error", errno=name, icmp=to_icmp_error(icmp_entry))
    if so_error == errno.ECONNREFUSED and icmp_entry is None:
        return ConnectResult(outcome="refused", errno=name)
    if so_error in (errno.ETIMEDOUT, errno.EINPROGRESS):
        return ConnectResult(outcome="timeout", errno=name)
    return ConnectResult(outcome="error", errno=name)


def start_connect(sock: socket.socket, address: str, port: int) -> int:
    """Begin a non-blocking connect; the errno (0, EINPROGRESS or an immediate failure)."""
    try:
        return sock.connect_ex(sockaddr(address, port))
    except OSError as exc:  # connect_ex still raises for some local failures (EACCES...)
        return exc.errno or errno.EIO


def local_endpoint(sock: socket.socket) -> tuple[str, int] | None:
    """The socket's local address and port, once the kernel chose them."""
    try:
        name = sock.getsockname()
    except OSError:
        return None
    return (str(name[0]), int(name[1]))


def finish_connect(sock: socket.socket, rc: int, local: tuple[str, int] | None) -> ConnectResult:
    """Classify a connect that has ended (or failed at once with `rc`)."""
    so_error = rc if rc not in (0, errno.EINPROGRESS) else _so_error(sock)
    entries = read_errqueue(sock)
    return classify_connect(so_error, entries, local[0] if local else None)


def _so_error(sock: socket.socket) -> int:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)


def _set_ready(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


@contextlib.contextmanager
def writable(sock: socket.socket) -> Iterator[asyncio.Future[None]]:
    """A future that resolves when the socket is writable (a connect ended, either way).

    The watcher is removed before the caller closes the socket, so a reused descriptor
    number can never be woken by a stale watcher.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()
    loop.add_writer(fd, _set_ready, fut)
    try:
        yield fut
    finally:
        loop.remove_writer(fd)
        fut.cancel()


def _writable_now(sock: socket.socket) -> bool:
    """Did the connect end just as the time ran out? (A zero-timeout poll, never waits.)"""
    _, ready, _ = select.select([], [sock], [], 0)
    return bool(ready)


def _rtt_value(fut: asyncio.Future[float | None] | None) -> float | None:
    """The RTT from a resolved future; None when absent, pending, failed or cancelled."""
    if fut is None or not fut.done() or fut.cancelled() or fut.exception() is not None:
        return None
    return fut.result()


class _Clock:
    """The connect's current time limit, which a late RTT may replace. (A plain class: a
    dataclass would cost the check path `dataclasses`.)"""

    __slots__ = ("basis", "limit_s", "remaining0", "rtt_ms", "start")

    def __init__(self, deadline: Deadline) -> None:
        self.start = time.monotonic()
        self.remaining0 = deadline.remaining()
        self.limit_s, self.basis = connect_timeout(None, self.remaining0)
        self.rtt_ms: float | None = None

    def apply_rtt(self, rtt_ms: float | None) -> None:
        if rtt_ms is None:
            return
        self.limit_s, self.basis = connect_timeout(rtt_ms, self.remaining0)
        self.rtt_ms = rtt_ms

    def left(self) -> float:
        return max(0.0, self.start + self.limit_s - time.monotonic())

    def stop_now(self) -> None:
        """End the wait here: the caller proved no answer can come (basis "neighbour")."""
        self.limit_s = time.monotonic() - self.start
        self.basis = "neighbour"


def _waits(
    clock: _Clock, rtt: Rtt | None, stopped: Callable[[], bool] | None
) -> Generator[float, bool, bool]:
    """The connect's wait, without the waiting: yields how long to wait next (for the
    socket, a late RTT or the stop), is sent whether the connect ended meanwhile; returns
    True when it ended, False when its current time limit passed or `stopped()` came first.
    Both waits (`tcp_connect`'s futures, `tcp_connect_sync`'s poll) run these steps."""
    rtt_pending = rtt is not None and not rtt()[0]
    while True:
        if stopped is not None and stopped():
            clock.stop_now()
            return False
        left = clock.left()
        if left <= 0.0:
            return False
        ended = yield left
        if rtt_pending and rtt is not None and rtt()[0]:
            rtt_pending = False
            clock.apply_rtt(rtt()[1])
        if ended:
            return True


async def _wait_connect(
    done: asyncio.Future[None],
    rtt: asyncio.Future[float | None] | None,
    stop: asyncio.Future[None] | None,
    clock: _Clock,
) -> bool:
    """`_waits` on the event loop: the socket's, the RTT's and the stop's futures."""
    import asyncio

    steps = _waits(clock, None if rtt is None else (lambda: (rtt.done(), _rtt_value(rtt))),
                   None if stop is None else stop.done)
    try:
        left = next(steps)
        while True:
            waiting: set[asyncio.Future[Any]] = {done}
            waiting.update(f for f in (rtt, stop) if f is not None and not f.done())
            await asyncio.wait(waiting, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            left = steps.send(done.done())
    except StopIteration as end:
        return bool(end.value)


def _wait_connect_sync(sock: socket.socket, steer: SyncSteering | None, clock: _Clock) -> bool:
    """`_waits` in this thread: one poll of the socket and the steering's eventfd (a hint,
    a stop or the driver's cancel wakes it)."""
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    rtt: Rtt | None = None
    stopped: Callable[[], bool] | None = None
    if steer is not None:
        poller.register(steer.fileno(), select.POLLIN)
        rtt, stopped = (lambda: (steer.rtt_known, steer.rtt_ms)), (lambda: steer.ended)
    steps = _waits(clock, rtt, stopped)
    fd = sock.fileno()
    try:
        left = next(steps)
        while True:
            # Any event on the socket ends the wait: a failed connect reports POLLERR.
            ended = any(f == fd for f, _ in poller.poll(left * 1000.0))
            if steer is not None:
                steer.drain()
            left = steps.send(ended)
    except StopIteration as end:
        return bool(end.value)


@contextlib.contextmanager
def _connecting(
    address: str, port: int
) -> Iterator[tuple[socket.socket, int, tuple[str, int] | None]]:
    """A connect to address:port just started: (the socket, connect's errno, the local
    endpoint); the socket is closed on leaving."""
    family = address_family(address)
    with contextlib.closing(open_socket(family, socket.SOCK_STREAM)) as sock:
        enable_recverr(sock, family)  # before connect: errors for the SYN must be queued
        rc = start_connect(sock, address, port)
        yield sock, rc, local_endpoint(sock)


def _ended(
    address: str, port: int, clock: _Clock, sock: socket.socket, rc: int,
    local: tuple[str, int] | None, waited: bool,
) -> TcpConnect:
    """The evidence of a connect whose wait is over (`waited`: it ended within it)."""
    if rc == errno.EINPROGRESS and not (waited or _writable_now(sock)):
        return _result(address, port, clock, ConnectResult(outcome="timeout"), None)
    result = finish_connect(sock, rc, local)
    noticed = elapsed_ms(clock.start)
    took = _kernel_connect_ms(sock, noticed) if result.outcome == "connected" else None
    return _result(address, port, clock, result, local, took)


async def tcp_connect(
    address: str,
    port: int,
    *,
    deadline: Deadline,
    rtt_ms: asyncio.Future[float | None] | None = None,
    stop: asyncio.Future[None] | None = None,
) -> TcpConnect:
    """Connect once to address:port and report how it ended (never raises for the network).

    The connect starts at once. While `rtt_ms` is pending it may run for the budget share of
    `connect_timeout`; when `rtt_ms` resolves to a number the timeout becomes the RTT-based
    one, counted from the connect start. When `stop` resolves first, the wait ends at once
    as a timeout with basis "neighbour" (the runner resolves it when the on-link next hop
    has left ARP/ND unanswered, so no SYN-ACK can come). Never waits past `deadline`.
    """
    clock = _Clock(deadline)
    clock.apply_rtt(_rtt_value(rtt_ms))
    with _connecting(address, port) as (sock, rc, local):
        waited = False
        if rc == errno.EINPROGRESS:
            with writable(sock) as done:
                waited = await _wait_connect(done, rtt_ms, stop, clock)
        return _ended(address, port, clock, sock, rc, local, waited)


def tcp_connect_sync(
    address: str, port: int, *, deadline: Deadline, steer: SyncSteering | None = None
) -> TcpConnect:
    """`tcp_connect` in the calling thread: the same connect, the same rules, steered by
    `steer` (its hint the RTT, its stop or cancel the stop)."""
    clock = _Clock(deadline)
    if steer is not None and steer.rtt_known:
        clock.apply_rtt(steer.rtt_ms)
    with _connecting(address, port) as (sock, rc, local):
        waited = rc == errno.EINPROGRESS and _wait_connect_sync(sock, steer, clock)
        return _ended(address, port, clock, sock, rc, local, waited)


# struct tcp_info (linux/tcp.h): tcpi_last_ack_recv (ms since the last ACK came, here the
# SYN-ACK; jiffy granularity) at byte 56, tcpi_rtt (µs, the handshake's sample) at byte 68.
_TCP_INFO_LEN = 104
_LAST_ACK_RECV_AT, _RTT_AT = 56, 68


def connect_ms(noticed_ms: float, since_ack_ms: float, rtt_ms: float) -> float:
    """The connect's time from the kernel's clock: the event loop notices a finished connect
    late when another probe's work holds it (a plain connect took 0.02 ms where netdx said
    20 ms, issue 10). When the SYN-ACK came is `since_ack_ms` before the loop noticed; never
    less than the handshake's measured round trip, never more than what the loop saw."""
    return round(min(noticed_ms, max(rtt_ms, noticed_ms - since_ack_ms)), 2)


def _kernel_connect_ms(sock: socket.socket, noticed_ms: float) -> float | None:
    """`connect_ms` from the socket's TCP_INFO (None where the kernel does not tell)."""
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_LEN)
    except (OSError, AttributeError):
        return None
    if len(raw) < _RTT_AT + 4:
        return None
    (since_ack,) = struct.unpack_from("=I", raw, _LAST_ACK_RECV_AT)
    (rtt_us,) = struct.unpack_from("=I", raw, _RTT_AT)
    return connect_ms(noticed_ms, float(since_ack), rtt_us / 1000.0)


def _result(
    address: str,
    port: int,
    clock: _Clock,
    result: ConnectResult,
    local: tuple[str, int] | None,
    took_ms: float | None = None,
) -> TcpConnect:
    connected = result.outcome == "connected" and local is not None
    return TcpConnect(
        address=address,
        port=port,
        outcome=result.outcome,
        elapsed_ms=took_ms if took_ms is not None else elapsed_ms(clock.start),
        timeout_ms=round(clock.limit_s * 1000.0, 2),
        timeout_basis=clock.basis,
        rtt_ms=clock.rtt_ms,
        errno=result.errno,
        icmp=result.icmp,
        local=_format_endpoint(local) if connected and local else None,
    )


def _format_endpoint(local: tuple[str, int]) -> str:
    """addr:port, with brackets around an IPv6 address."""
    host, port = local
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
