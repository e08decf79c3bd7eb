"""The one place that does netlink I/O: a small socket with a timeout on every receive."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from types import TracebackType

from . import csocket as socket  # socket.py without its enums (csocket says why)
from .errors import NetlinkIOError, NetlinkKernelError, NetlinkParseError, NetlinkTimeout
from .wire import NlMsg, Reply, ReplyCollector, encode_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol, TypeVar

    T = TypeVar("T")
else:  # typing's costs a check 5-10 ms; nothing is checked against Transport at run time
    Protocol = object

NETLINK_ROUTE = 0
NETLINK_SOCK_DIAG = 4
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10  # errors echo only the request header, not the whole request
NETLINK_EXT_ACK = 11  # errors carry the kernel's message ("Neighbour entry not found.")

# A dump datagram is at most 32 KiB on current kernels; twice that leaves room.
_RECV_SIZE = 1 << 16


class Transport(Protocol):
    """The one netlink seam: send a request, receive the next datagram before a timeout.
    `NetlinkSocket` is the kernel's; `netlink.fake.ReplayTransport` replays captured
    datagrams. A request/reply exchange (`request`) and a streamed dump (the sock_diag
    reader parses as datagrams come) are both written against it."""

    def send(self, msg_type: int, flags: int, payload: bytes) -> int | None:
        """Send one request; return its sequence number (None: accept any)."""
        ...

    def receive(self, timeout: float) -> bytes:
        """The next datagram within `timeout` seconds, else raise NetlinkTimeout."""
        ...


def request(
    transport: Transport,
    msg_type: int,
    flags: int,
    payload: bytes,
    *,
    timeout: float,
    pid: int | None = None,
) -> Reply:
    """Send one request and collect its reply (multipart dumps included) within `timeout`
    seconds; datagrams of another sequence number (or port id) are stale and skipped."""
    if timeout <= 0:
        raise NetlinkTimeout("no time left to send a netlink request")
    end = time.monotonic() + timeout
    seq = transport.send(msg_type, flags, payload)
    collector = ReplyCollector(seq=seq, pid=pid)
    while not collector.done:
        collector.feed(transport.receive(end - time.monotonic()))
    return collector.reply()


def dump(
    transport: Transport,
    built: tuple[int, int, bytes],
    kind: int,
    parse: Callable[[NlMsg], T],
    *,
    timeout: float,
) -> list[T]:
    """The messages of type `kind` that answer the dump request `built` ((type, flags,
    payload), as the request builders return it), each parsed by `parse`.

    Raises NetlinkKernelError when the kernel refuses the dump.
    """
    reply = request(transport, *built, timeout=timeout)
    if reply.error is not None:
        raise NetlinkKernelError(reply.error.text, errno_code=reply.error.errno)
    return [parse(m) for m in reply.messages if m.type == kind]


class NetlinkSocket:
    """A bound AF_NETLINK socket (rtnetlink by default) that sends a request and collects
    its reply; raises NetlinkTimeout when the reply is not complete within the timeout.

    `send`/`receive` stream one datagram at a time for readers that parse as they go (the
    sock_diag dump). `ack_options` asks for capped and extended acks (a dump reader that
    expects a bare NLMSG_DONE turns them off); `rcvbuf` and `recv_size` size the buffers.
    `sock` is an unbound AF_NETLINK socket of `protocol` opened elsewhere (by a `Host`, in
    another network namespace); the NetlinkSocket owns it from then on.
    """

    def __init__(
        self,
        protocol: int = NETLINK_ROUTE,
        *,
        ack_options: bool = True,
        rcvbuf: int | None = None,
        recv_size: int = _RECV_SIZE,
        sock: socket.socket | None = None,
    ) -> None:
        if sock is None:
            try:
                sock = socket.socket(
                    socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol
                )
            except OSError as exc:
                raise NetlinkIOError(f"netlink socket: {exc}", errno_code=exc.errno or 0) from exc
        self._sock = sock
        self._recv_size = recv_size
        for option in (NETLINK_CAP_ACK, NETLINK_EXT_ACK) if ack_options else ():
            # Best effort: older kernels lack these and answer the same without them.
            with contextlib.suppress(OSError):
                sock.setsockopt(SOL_NETLINK, option, 1)
        try:
            if rcvbuf is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.bind((0, 0))
            self.pid: int = sock.getsockname()[0]
        except OSError as exc:
            sock.close()
            raise NetlinkIOError(f"netlink bind: {exc}", errno_code=exc.errno or 0) from exc
        self._seq = itertools.count(int(time.time()) & 0xFFFF)

    def request(self, msg_type: int, flags: int, payload: bytes, *, timeout: float) -> Reply:
        """`request` on this socket (replies for another port id are skipped too)."""
        return request(self, msg_type, flags, payload, timeout=timeout, pid=self.pid)

    def send(self, msg_type: int, flags: int, payload: bytes) -> int:
        """Send one request with a fresh sequence number; return that number."""
        seq = next(self._seq) & 0xFFFFFFFF
        try:
            self._sock.sendto(encode_message(msg_type, flags, seq, payload), (0, 0))
        except OSError as exc:
            raise NetlinkIOError(f"netlink send: {exc}", errno_code=exc.errno or 0) from exc
        return seq

    def receive(self, timeout: float) -> bytes:
        """The next datagram within `timeout` seconds, else NetlinkTimeout."""
        if timeout <= 0:
            raise NetlinkTimeout()
        self._sock.settimeout(timeout)
        try:
            data, _, msg_flags, _ = self._sock.recvmsg(self._recv_size)
        except socket.timeout as exc:
            raise NetlinkTimeout() from exc
        except OSError as exc:
            raise NetlinkIOError(f"netlink recv: {exc}", errno_code=exc.errno or 0) from exc
        if msg_flags & socket.MSG_TRUNC:
            raise NetlinkParseError(f"datagram larger than {self._recv_size} bytes was truncated")
        return data

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> NetlinkSocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
