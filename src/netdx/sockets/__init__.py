"""The server side: sockets, their owners and states, and the verdict for one port.

Data flows one way, one module per step:

- `model`     the listing's values: `SocketQuery` (collect.sockdiag's `Selection`),
              `SocketEntry` (netlink.diag's `DiagSocket`, the dump's wire record),
              `OwnerScan`, `SocketListing`;
              `Process` and `ProcessIssue` are `netdx.model.server`'s
- `dump`      I/O: the sock_diag dump, kernel-filtered by state and port (`list_sockets`)
- `owners`    I/O: socket inode → process through /proc/PID/fd (`find_owners`)
- `inspect`   the verdict for one port: `probes.server` reads a `ServerEvidence`, the rules
              of `diagnose.server` and the engine's picker judge it (`inspect_local`)
- `render`    table, summary, JSON; `cli` the click commands sockets / who / inspect
- `stream`    the plain listing (`netdx sockets [-p] [--json]`) printed as the dump is read,
              byte for byte what `render` prints, without holding 200k sockets

Names are re-exported lazily: `netdx sockets` must not import the rules, nor the rules the
renderers.
"""

from __future__ import annotations

from netdx.netlink._lazy import lazy_exports

__all__ = [
    "INSPECT_SCHEMA",
    "Inspection",
    "OwnerScan",
    "Process",
    "ProcessIssue",
    "SocketEntry",
    "SocketListing",
    "SocketQuery",
    "find_owners",
    "inspect_evidence",
    "inspect_local",
    "list_sockets",
]

_LAZY = {
    "INSPECT_SCHEMA": "netdx.sockets.inspect",
    "Inspection": "netdx.sockets.inspect",
    "inspect_evidence": "netdx.sockets.inspect",
    "inspect_local": "netdx.sockets.inspect",
    "OwnerScan": "netdx.sockets.model",
    "Process": "netdx.sockets.model",
    "ProcessIssue": "netdx.sockets.model",
    "SocketEntry": "netdx.sockets.model",
    "SocketListing": "netdx.sockets.model",
    "SocketQuery": "netdx.sockets.model",
    "find_owners": "netdx.sockets.owners",
    "list_sockets": "netdx.sockets.dump",
}

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.sockets.dump import list_sockets
    from netdx.sockets.inspect import (
        INSPECT_SCHEMA,
        Inspection,
        inspect_evidence,
        inspect_local,
    )
    from netdx.sockets.model import (
        OwnerScan,
        Process,
        ProcessIssue,
        SocketEntry,
        SocketListing,
        SocketQuery,
    )
    from netdx.sockets.owners import find_owners


__getattr__ = lazy_exports(__name__, _LAZY)
