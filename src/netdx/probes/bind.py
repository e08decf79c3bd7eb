"""Where the probes send from: `--source ADDR` and `--interface IFACE` (like `nc -s` and
`ping -I`).

One `Binding` is validated up front (a source this host does not have, or an interface that
does not exist, is bad input: exit 2) and then set for the run in a context variable, so every
probe that opens a socket (TCP connect, ICMP echo, UDP exchange, the trace engine) and the
route lookup read the same choice without each probe signature growing two parameters. A
context variable, not a global: asyncio copies it into every task of the run, netdx.drive
into every probe thread, and no further.

IP_FREEBIND is deliberately not used: binding to an address this host does not have must fail,
since probing "from" it would only test a path no real client can take.
"""

from __future__ import annotations

import contextlib
import ipaddress
from contextvars import ContextVar

from netdx.errors import UsageError
from netdx.model.record import record
from netdx.netlink import csocket as socket  # socket.py without its enums (csocket says why)

# No asyncio at import: the CLI's check binds its probes' sockets from threads (netdx.drive
# runs each probe thread in a copy of this context). mypy reads any name TYPE_CHECKING as
# typing's.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterator
    from typing import Any

__all__ = [
    "Binding",
    "apply_binding",
    "bind_socket",
    "current_binding",
    "open_connection",
    "validate_binding",
]


@record
class Binding:
    """The source address and/or the interface the probes' sockets are bound to."""

    source: str | None = None
    interface: str | None = None

    def describe(self) -> str:
        """`from 10.0.0.2 dev eth1` style, for the report."""
        parts = []
        if self.source is not None:
            parts.append(f"from {self.source}")
        if self.interface is not None:
            parts.append(f"dev {self.interface}")
        return " ".join(parts)

    @property
    def ifindex(self) -> int | None:
        """The interface's index (validated to exist), or None without --interface."""
        return socket.if_nametoindex(self.interface) if self.interface is not None else None


_CURRENT: ContextVar[Binding | None] = ContextVar("netdx_binding", default=None)


def current_binding() -> Binding | None:
    """The binding of this run, or None when the probes send as the kernel chooses."""
    return _CURRENT.get()


@contextlib.contextmanager
def apply_binding(binding: Binding | None) -> Iterator[None]:
    """Set `binding` for everything run inside the block (tasks created in it inherit it)."""
    token = _CURRENT.set(binding)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def validate_binding(source: str | None, interface: str | None) -> Binding | None:
    """The Binding of --source/--interface, or None when neither was given.

    Raises UsageError (exit 2) when the source is not an IP address or not one of this host's
    (the kernel refuses the bind: EADDRNOTAVAIL), or when the interface does not exist.
    """
    if source is None and interface is None:
        return None
    if interface is not None:
        try:
            socket.if_nametoindex(interface)
        except OSError:
            raise UsageError(f"--interface {interface!r}: no such interface on this host") from None
    if source is not None:
        try:
            addr = ipaddress.ip_address(source)
        except ValueError:
            raise UsageError(f"--source {source!r} is not an IP address") from None
        source = str(addr)
        af = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
        try:
            with socket.socket(af, socket.SOCK_DGRAM) as probe:
                probe.bind((source, 0))
        except OSError as exc:
            raise UsageError(
                f"--source {source}: this host has no such address ({exc.strerror})"
            ) from None
    return Binding(source=source, interface=interface)


def bind_socket(sock: socket.socket, binding: Binding | None = None) -> None:
    """Bind `sock` as the run's binding asks: SO_BINDTODEVICE to the interface, bind() to the
    source address with port 0 (the kernel picks the port). A source of the other address
    family than the socket is left out: with -4/-6 unset a name may resolve to both."""
    binding = binding if binding is not None else current_binding()
    if binding is None:
        return
    if binding.interface is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, binding.interface.encode())
    if binding.source is not None:
        version = ipaddress.ip_address(binding.source).version
        if (version == 6) == (sock.family == socket.AF_INET6):
            sock.bind((binding.source, 0))


async def open_connection(
    address: str, port: int, **kwargs: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """`asyncio.open_connection` from the run's source address and interface: the HTTP, TLS
    and protocol exchanges leave from where the connect probe left, or the report would name
    a source their packets never used. Without a binding, asyncio's own call."""
    import asyncio

    binding = current_binding()
    if binding is None:
        return await asyncio.open_connection(address, port, **kwargs)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        bind_socket(sock, binding)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock, **kwargs)
