"""Lazy package exports (PEP 562): a name is imported from its module on first use.

Stdlib-only and shipped with the netlink package, so the collector core (`netdx.collect`)
and the packages that re-export it (`netdx.host`, `netdx.sockets`) share one helper.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def lazy_exports(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package`: a name in `modules` is read from its
    module (absolute, or relative to `package` when it starts with a dot), imported on first
    use; any other name is an AttributeError, as for a plain module."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(package + module if module[0] == "." else module), name)

    return __getattr__


def import_module(name: str) -> Any:
    """`importlib.import_module(name)` for an absolute name, without the importlib package
    (whose warnings import costs a check ~0.5 ms): the import statement's machinery."""
    __import__(name)
    return sys.modules[name]
