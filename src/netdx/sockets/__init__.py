"""The server side: sockets, their owners and states, and the verdict for one port.

Data flows one way, one module per step:

- `model`     frozen values: `SocketQuery`, `SocketEntry` (netlink.diag's `DiagSocket`),
              `Owner`, `OwnerScan`, `SocketListing`
- `dump`      I/O: the sock_diag dump, kernel-filtered by state and port (`list_sockets`)
- `owners`    I/O: socket inode → process through /proc/PID/fd (`find_owners`)
- `findings`  pure rules over one port (`PortView` → `netdx.model.Finding`)
- `inspect`   the verdict for one port: `judge` (pure) and `inspect_local` (I/O)
- `render`    table, summary, JSON; `cli` the click commands sockets / who / inspect

Names are re-exported lazily: `netdx sockets` must not import the rules, nor the rules the
renderers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "INSPECT_SCHEMA",
    "Inspection",
    "Owner",
    "OwnerScan",
    "PortView",
    "ProcessIssue",
    "SocketEntry",
    "SocketListing",
    "SocketQuery",
    "build_view",
    "find_owners",
    "inspect_local",
    "is_local_address",
    "judge",
    "list_sockets",
]

_LAZY = {
    "INSPECT_SCHEMA": "netdx.sockets.inspect",
    "Inspection": "netdx.sockets.inspect",
    "build_view": "netdx.sockets.inspect",
    "inspect_local": "netdx.sockets.inspect",
    "is_local_address": "netdx.sockets.inspect",
    "judge": "netdx.sockets.inspect",
    "PortView": "netdx.sockets.findings",
    "Owner": "netdx.sockets.model",
    "OwnerScan": "netdx.sockets.model",
    "ProcessIssue": "netdx.sockets.model",
    "SocketEntry": "netdx.sockets.model",
    "SocketListing": "netdx.sockets.model",
    "SocketQuery": "netdx.sockets.model",
    "find_owners": "netdx.sockets.owners",
    "list_sockets": "netdx.sockets.dump",
}

if TYPE_CHECKING:
    from netdx.sockets.dump import list_sockets
    from netdx.sockets.findings import PortView
    from netdx.sockets.inspect import (
        INSPECT_SCHEMA,
        Inspection,
        build_view,
        inspect_local,
        is_local_address,
        judge,
    )
    from netdx.sockets.model import (
        Owner,
        OwnerScan,
        ProcessIssue,
        SocketEntry,
        SocketListing,
        SocketQuery,
    )
    from netdx.sockets.owners import find_owners


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netdx.sockets' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
