"""The pure core does no I/O: netdx.diagnose, netdx.model and netdx.render import nothing
that talks to the network, runs commands or reads the system, not even in a function body
and not through another netdx module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PURE = ("netdx.diagnose", "netdx.model", "netdx.render")

# Modules that do I/O: the network, processes, the file system, the event loop. A module is
# forbidden with everything under it (`http` covers `http.client`).
IO_MODULES = (
    "asyncio",
    "ftplib",
    "http",
    "io",
    "multiprocessing",
    "os",
    "pathlib",
    "select",
    "selectors",
    "shutil",
    "smtplib",
    "socket",
    "socketserver",
    "ssl",
    "subprocess",
    "tempfile",
    "threading",
    "urllib",
    "aiohttp",
    "asyncssh",
    "httpx",
    "paramiko",
    "requests",
    "dns.asyncquery",
    "dns.asyncresolver",
    "dns.query",
    "dns.resolver",
    # netdx's own I/O: probes, collectors, the hosts they run on, the lab, the commands.
    "netdx.check",
    "netdx.cli",
    "netdx.collect",
    "netdx.dns.command",
    "netdx.dns.lab",
    "netdx.dns.query",
    "netdx.dns.tracer",
    "netdx.dns.verify",
    "netdx.firewall.live",
    "netdx.host",
    "netdx.lab",
    "netdx.netlink.sock",
    "netdx.probes",
    "netdx.sockets.dump",
    "netdx.sockets.owners",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Import:
    """One import statement's target, and where it is written."""

    module: str
    where: str


def _module_file(src: Path, name: str) -> Path | None:
    """The source file of module `name` under `src` (a package's __init__), or None."""
    base = src.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, skipping `if TYPE_CHECKING:` bodies (they never run)."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _is_type_checking(child):
            yield from (n for stmt in child.orelse for n in (stmt, *_nodes(stmt)))
            continue
        yield child
        yield from _nodes(child)


def imports_of(src: Path, name: str, path: Path) -> Iterator[Import]:
    """The modules `name` imports, at module level and inside functions: for
    `from a import b`, both `a` and `a.b` (b may be a submodule)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _nodes(ast.parse(path.read_text(), str(path))):
        where = f"{path.relative_to(src)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module=alias.name, where=where)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield Import(module=module, where=where)
            for alias in node.names:
                yield Import(module=f"{module}.{alias.name}", where=where)


def _parents(name: str) -> list[str]:
    """`a.b.c` → `a`, `a.b`: importing a module runs its packages' __init__ first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _forbidden(module: str) -> str | None:
    for banned in IO_MODULES:
        if module == banned or module.startswith(banned + "."):
            return banned
    return None


def io_imports(root: str, src: Path = SRC) -> list[str]:
    """Each I/O import reachable from the modules of package `root` (under `src`), with the
    chain of netdx modules that leads to it."""
    start = [
        ".".join(p.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted(src.joinpath(*root.split(".")).rglob("*.py"))
    ]
    assert start, f"{root}: no modules found under {src}"
    chains: dict[str, tuple[str, ...]] = {m: (m,) for m in start}
    todo = list(start)
    found: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    while todo:
        name = todo.pop()
        path = _module_file(src, name)
        if path is None:
            continue
        for imp in imports_of(src, name, path):
            banned = _forbidden(imp.module)
            if banned is not None:
                # `from a import b` yields a and a.b: name the statement once.
                if (name, imp.where, banned) not in seen:
                    seen.add((name, imp.where, banned))
                    found.append(f"{' → '.join(chains[name])} imports {imp.module} ({imp.where})")
                continue
            if not imp.module.startswith("netdx"):
                continue
            for module in (*_parents(imp.module), imp.module):
                if module not in chains and _module_file(src, module) is not None:
                    chains[module] = (*chains[name], module)
                    todo.append(module)
    return sorted(found)


@pytest.mark.parametrize("root", PURE)
def test_pure_packages_import_no_io(root: str) -> None:
    """No module of the package, nor any netdx module it reaches, imports an I/O module."""
    assert io_imports(root) == []


def test_the_walk_sees_function_level_and_transitive_imports(tmp_path: Path) -> None:
    """The walker finds an I/O import inside a function, one reached through another netdx
    module (and its package __init__), and ignores `if TYPE_CHECKING:` imports."""
    pkg = tmp_path / "netdx"
    for folder, files in {
        "pure": {
            "__init__.py": "",
            "rule.py": "def rule():\n    from netdx.io_ish import helper\n",
            "typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import socket\n",
        },
        "io_ish": {"__init__.py": "import subprocess\n", "helper.py": ""},
        "lazy": {"__init__.py": "", "m.py": "def f():\n    import asyncio.streams\n"},
    }.items():
        (pkg / folder).mkdir(parents=True)
        for name, text in files.items():
            (pkg / folder / name).write_text(text)
    assert io_imports("netdx.pure", tmp_path) == [
        "netdx.pure.rule → netdx.io_ish imports subprocess (netdx/io_ish/__init__.py:1)"
    ]
    assert io_imports("netdx.lazy", tmp_path) == [
        "netdx.lazy.m imports asyncio.streams (netdx/lazy/m.py:2)"
    ]
