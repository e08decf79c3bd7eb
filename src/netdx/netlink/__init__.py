"""A small, stdlib-only netlink implementation (rtnetlink routes and neighbours, sock_diag).

Stdlib-only and relative imports only, so this package can be copied to a server and run
there by a bare `python3`. Layout, one idea per module:

- `wire`   nlmsghdr framing, NLMSG_ERROR/NLMSG_DONE, multipart replies (`ReplyCollector`)
- `attrs`  formats declared as data: `StructFormat`, `AttrSpec` tables, decoders, and the
           records filled from them (`attr`, `decode_record`)
- `rtnl`   rtnetlink: rtmsg/ndmsg, the RTA/NDA tables, request builders, parsers
- `sock`   the only I/O: `NetlinkSocket` (a timeout on every receive) and `Transport`
- `lookup` `get_route` / `get_neighbour` over any Transport
- `fake`   `ReplayTransport`, which replays captured kernel replies

- `tables` the TCP state names, `addr:port` texts and `DiagSocket` (the one socket record),
           pure (the judging side reads them)
- `diag`   sock_diag: inet_diag_req_v2 / inet_diag_msg, the state mask and port bytecode
           filters, `parse_socket` and the datagram fast path `parse_datagram`
"""

from __future__ import annotations

from ._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .attrs import Attr, Attrs, AttrSpec, Field, StructFormat, encode_attr, parse_attrs
    from .diag import (
        DiagSocket,
        DumpChunk,
        dump_request,
        ends_dump,
        parse_datagram,
        parse_socket,
        port_filter,
        state_mask,
    )
    from .errors import (
        NetlinkError,
        NetlinkIOError,
        NetlinkKernelError,
        NetlinkParseError,
        NetlinkTimeout,
        errno_name,
    )
    from .fake import ReplayTransport, SentRequest
    from .lookup import get_neighbour, get_route
    from .rtnl import (
        Neighbour,
        Route,
        neigh_dump_request,
        neigh_get_request,
        nud_names,
        parse_neighbour,
        parse_route,
        route_get_request,
    )
    from .sock import NETLINK_ROUTE, NETLINK_SOCK_DIAG, NetlinkSocket, Transport
    from .wire import (
        ErrorAck,
        NlMsg,
        Reply,
        ReplyCollector,
        collect,
        encode_message,
        parse_error,
        parse_messages,
    )

__all__ = [
    "NETLINK_ROUTE",
    "NETLINK_SOCK_DIAG",
    "Attr",
    "AttrSpec",
    "Attrs",
    "DiagSocket",
    "DumpChunk",
    "ErrorAck",
    "Field",
    "Neighbour",
    "NetlinkError",
    "NetlinkIOError",
    "NetlinkKernelError",
    "NetlinkParseError",
    "NetlinkSocket",
    "NetlinkTimeout",
    "NlMsg",
    "ReplayTransport",
    "Reply",
    "ReplyCollector",
    "Route",
    "SentRequest",
    "StructFormat",
    "Transport",
    "collect",
    "dump_request",
    "encode_attr",
    "encode_message",
    "ends_dump",
    "errno_name",
    "get_neighbour",
    "get_route",
    "neigh_dump_request",
    "neigh_get_request",
    "nud_names",
    "parse_attrs",
    "parse_datagram",
    "parse_error",
    "parse_messages",
    "parse_neighbour",
    "parse_route",
    "parse_socket",
    "port_filter",
    "route_get_request",
    "state_mask",
]

# Loaded on first use: `import netdx.netlink.tables` (the model's state table) must not open
# the socket module, and a bare python3 on a server loads only the modules a collector needs.
_LAZY = {
    "Attr": ".attrs",
    "AttrSpec": ".attrs",
    "Attrs": ".attrs",
    "DiagSocket": ".diag",
    "DumpChunk": ".diag",
    "ErrorAck": ".wire",
    "Field": ".attrs",
    "NETLINK_ROUTE": ".sock",
    "NETLINK_SOCK_DIAG": ".sock",
    "Neighbour": ".rtnl",
    "NetlinkError": ".errors",
    "NetlinkIOError": ".errors",
    "NetlinkKernelError": ".errors",
    "NetlinkParseError": ".errors",
    "NetlinkSocket": ".sock",
    "NetlinkTimeout": ".errors",
    "NlMsg": ".wire",
    "ReplayTransport": ".fake",
    "Reply": ".wire",
    "ReplyCollector": ".wire",
    "Route": ".rtnl",
    "SentRequest": ".fake",
    "StructFormat": ".attrs",
    "Transport": ".sock",
    "collect": ".wire",
    "dump_request": ".diag",
    "encode_attr": ".attrs",
    "encode_message": ".wire",
    "ends_dump": ".diag",
    "errno_name": ".errors",
    "get_neighbour": ".lookup",
    "get_route": ".lookup",
    "neigh_dump_request": ".rtnl",
    "neigh_get_request": ".rtnl",
    "nud_names": ".rtnl",
    "parse_attrs": ".attrs",
    "parse_datagram": ".diag",
    "parse_error": ".wire",
    "parse_messages": ".wire",
    "parse_neighbour": ".rtnl",
    "parse_route": ".rtnl",
    "parse_socket": ".diag",
    "port_filter": ".diag",
    "route_get_request": ".rtnl",
    "state_mask": ".diag",
}


__getattr__ = lazy_exports(__name__, _LAZY)
