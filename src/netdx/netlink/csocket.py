"""The `socket` module's names without importing socket.py: what the check path's modules use.

socket.py costs a refused loopback check about 4 ms of CPU, a tenth of what it spends after
Python's own start: it imports `enum` (which on 3.11 builds enums of its own as it loads)
and `selectors`, and converts its constants into IntEnums (AddressFamily, SocketKind,
MsgFlag, AddressInfo). All that the probes, the netlink transport and the collectors use of
it is in the C module `_socket` as plain ints and functions, but for the Python class
`socket.socket`, of which they use the context manager. So a module of the check path
imports this one as `socket` (`from netdx.netlink import csocket as socket`, or relatively
inside netdx.netlink), and `socket.socket` here is the C socket with `with` support; mypy
reads socket.py's class for it. A socket made here is accepted wherever a socket.socket is
(the same C type underneath; its family and type compare equal to socket.py's enums);
other commands and libraries import socket.py as usual.

Stdlib only, Python 3.9 syntax: it ships with the collector (netdx.collect.bundle).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from socket import *  # noqa: F403  (mypy reads socket.py's names and types)
else:
    from _socket import *  # noqa: F403  (the constants, errors, `timeout`, functions)
    from _socket import socket as _CSocket

    class socket(_CSocket):
        """The C socket, closed on leaving a `with` block as socket.socket is."""

        __slots__ = ()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()
