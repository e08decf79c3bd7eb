"""The server's side, read over SSH: its `netdx.collect/1` documents read back here.

- `document`  `CollectDocument`: a checked document and the netdx values built from it
              through the local commands' own code (`DocumentError` when it is malformed)
- `checks`    the type and range checks a document from the network goes through
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netdx.netlink._lazy import lazy_exports

__all__ = ["CollectDocument", "DocumentError", "server_request"]

_LAZY = {
    "CollectDocument": "netdx.remote.document",
    "DocumentError": "netdx.remote.checks",
    "server_request": "netdx.remote.document",
}

if TYPE_CHECKING:
    from netdx.remote.checks import DocumentError
    from netdx.remote.document import CollectDocument, server_request

__getattr__ = lazy_exports(__name__, _LAZY)
