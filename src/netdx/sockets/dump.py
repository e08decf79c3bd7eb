"""The netlink sock_diag dump: the kernel filters by state and port, this module reads.

The reading is `netdx.collect.sockdiag` (stdlib-only, so the same code runs on a server by
a bare python3); a `SocketQuery` is the collector's own `Selection`, and this module turns
the dump's result into a `SocketListing`. The I/O is one small interface, `DumpSource`:
`NetlinkDumpSource` opens a sock_diag socket through a `Host` (this machine by default),
`netlink.fake.ReplayTransport` replays captured datagrams in tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from netdx.budget import Deadline
from netdx.collect.sockdiag import (
    BOTH_FAMILIES,
    Dump,
    DumpSource,
    NetlinkDumpSource,
    Request,
    by_family,
    dump,
    plan,
)
from netdx.collect.sockdiag import one_walk as merge_families
from netdx.collect.system import Host, LocalHost
from netdx.errors import CannotRun
from netdx.netlink import NetlinkIOError
from netdx.sockets.model import SocketListing, SocketQuery

__all__ = [
    "DumpSource",
    "NetlinkDumpSource",
    "Request",
    "list_sockets",
    "listing_of",
    "open_source",
    "plan",
]


def open_source(host: Host | None = None) -> NetlinkDumpSource:
    """A sock_diag source in `host`'s network namespace; CannotRun when it cannot open."""
    try:
        return NetlinkDumpSource(host or LocalHost())
    except NetlinkIOError as exc:
        raise CannotRun(f"cannot open a sock_diag netlink socket: {exc}") from exc


def list_sockets(
    query: SocketQuery,
    *,
    deadline: Deadline,
    source: DumpSource | None = None,
    host: Host | None = None,
    one_walk: bool = False,
) -> SocketListing:
    """Dump the sockets `query` asks for (without owners), from `source` or else through
    `host` (default: this machine). A dump that times out or fails becomes a note in the
    listing, with the sockets read so far. `one_walk`: TCP of both families in one dump
    (`collect.sockdiag.one_walk`), the same sockets in the same order, for a small
    listing (it is held whole to be put in order)."""
    requests = plan(query)
    if one_walk:
        out = _dump(merge_families(requests), deadline, source, host)
        if not any(BOTH_FAMILIES in note for note in out.notes):
            out.sockets = by_family(out.sockets)
            return listing_of(out)
        # A kernel that refuses the request of both families: one dump a family, as always.
    return listing_of(_dump(requests, deadline, source, host))


def _dump(
    requests: Sequence[Request], deadline: Deadline, source: DumpSource | None, host: Host | None
) -> Dump:
    if source is not None:
        return dump(requests, source, deadline)
    with open_source(host) as own:
        return dump(requests, own, deadline)


def listing_of(out: Dump) -> SocketListing:
    """The listing of a raw dump: read here, or on a server (`remote.document`)."""
    return SocketListing(
        sockets=tuple(out.sockets), notes=tuple(out.notes), interrupted=out.interrupted
    )
