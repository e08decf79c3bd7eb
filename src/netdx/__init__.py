"""netdx: why can't A connect to B? A layered network diagnosis for Linux.

The public API is re-exported here lazily, so `import netdx` (and `netdx --help`) stays fast.
"""

from __future__ import annotations

# `typing` costs `netdx --version` about a third of its own start: mypy reads any name
# TYPE_CHECKING as typing's.
TYPE_CHECKING = False

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


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use (PEP 562). Not through
    `netdx.netlink._lazy.lazy_exports`: importing that package (and typing) would double the
    imports of `netdx --version`, which starts by importing this package."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
