"""netdx: why can't A connect to B? A layered network diagnosis for Linux.

The public API is re-exported here lazily, so `import netdx` (and `netdx --help`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netdx.netlink._lazy import lazy_exports

__version__ = "0.1.0"

__all__ = [
    "CannotRun",
    "CheckSettings",
    "Deadline",
    "NetdxError",
    "Report",
    "Target",
    "TargetError",
    "UsageError",
    "Verdict",
    "__version__",
    "check",
    "parse_target",
    "run_check",
]

_LAZY = {
    "CannotRun": "netdx.errors",
    "NetdxError": "netdx.errors",
    "TargetError": "netdx.errors",
    "UsageError": "netdx.errors",
    "Deadline": "netdx.budget",
    "Report": "netdx.model",
    "Target": "netdx.model",
    "Verdict": "netdx.model",
    "parse_target": "netdx.target",
    "CheckSettings": "netdx.check",
    "check": "netdx.check",
    "run_check": "netdx.check",
}

if TYPE_CHECKING:
    from netdx.budget import Deadline
    from netdx.check import CheckSettings, check, run_check
    from netdx.errors import CannotRun, NetdxError, TargetError, UsageError
    from netdx.model import Report, Target, Verdict
    from netdx.target import parse_target


__getattr__ = lazy_exports(__name__, _LAZY)
