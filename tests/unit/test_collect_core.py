"""The collector core: stdlib-only, Python 3.9 syntax, one versioned document whose entries
say honestly what failed and whether root would have helped; the bundle runs under a bare
`python3 -I -S`."""

from __future__ import annotations

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netdx.collect import SCHEMA
from netdx.collect.bundle import build_bundle
from netdx.collect.clock import Deadline
from netdx.collect.document import COLLECTORS, CollectRequest, collect
from netdx.collect.system import RunResult
from netdx.host import FakeHost

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "netdx"
SHIPPED = sorted([*(PACKAGE / "collect").glob("*.py"), *(PACKAGE / "netlink").glob("*.py")])
SYSTEM_PYTHON = "/usr/bin/python3"


def imported_modules(tree: ast.AST) -> set[str]:
    """Absolute module names a module imports at run time (relative imports are inside its
    package; `if TYPE_CHECKING:` blocks are read by mypy only)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_module_parses_as_python_39(path: Path) -> None:
    """Every shipped module (collect and netlink) is valid Python 3.9 syntax."""
    ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 9))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_module_imports_only_stdlib_and_netlink(path: Path) -> None:
    """A shipped module imports the standard library, netdx.netlink and netdx.collect only."""
    for name in imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
        top = name.split(".")[0]
        if top == "netdx":
            assert name.startswith(("netdx.netlink", "netdx.collect")), (path.name, name)
        else:
            assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)


def test_shipped_modules_use_no_310_dataclass_options() -> None:
    """slots= and kw_only= make a dataclass fail on 3.9 at import: shipped modules use
    netlink._compat's decorators, which apply them only where they exist."""
    for path in SHIPPED:
        if path.name == "_compat.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "slots=True" not in text and "kw_only=True" not in text, path.name


def test_bundle_runs_under_bare_system_python(tmp_path: Path) -> None:
    """`python3 -I -S bundle.zip REQUEST` prints one netdx.collect/1 document with an entry
    (error, needs_root, data) per collector; the sysctls and counters are really read."""
    bundle = build_bundle(tmp_path / "collect.zip")
    request = json.dumps({"addresses": ["127.0.0.1"], "interfaces": ["lo"], "timeout": 20})
    done = subprocess.run([SYSTEM_PYTHON, "-I", "-S", str(bundle), request],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == SCHEMA
    assert set(document["collectors"]) == set(COLLECTORS)
    for entry in document["collectors"].values():
        assert set(entry) == {"error", "needs_root", "data"}
    sysctls = document["collectors"]["sysctls"]["data"]["values"]
    assert sysctls["net.ipv4.conf.lo.rp_filter"] in {"0", "1", "2"}
    assert "net.core.somaxconn" in sysctls
    assert "TcpExt:" in document["collectors"]["counters"]["data"]["files"]["/proc/net/netstat"]
    route = document["collectors"]["routes"]["data"]["lookups"][0]["route"]
    assert route["type"] == "local" and route["dst"] == "127.0.0.1"


def test_bundle_reads_its_request_from_stdin_and_refuses_a_bad_one(tmp_path: Path) -> None:
    """`-` reads the request from stdin; an unknown collector is exit 2 with one line."""
    bundle = str(build_bundle(tmp_path / "collect.zip"))
    ok = subprocess.run([SYSTEM_PYTHON, "-I", "-S", bundle, "-"], input='{"collectors": '
                        '["counters"]}', capture_output=True, text=True, timeout=60)  # fmt: skip
    assert list(json.loads(ok.stdout)["collectors"]) == ["counters"]
    bad = subprocess.run([SYSTEM_PYTHON, "-I", "-S", bundle, '{"collectors": ["nope"]}'],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "nope" in bad.stderr


def test_entries_say_which_failure_needs_root() -> None:
    """On a host that refuses sockets and nft/iptables as for a user: sockets and firewall
    report needs_root; counters and sysctls read fine; a missing sysctl is an error of its
    own; routes fail with an error."""
    refused = "Error: Operation not permitted (you must be root)\n"
    commands: dict[tuple[str, ...], RunResult | str] = {
        ("nft", "-j", "list", "ruleset"): RunResult(returncode=1, stderr=refused),
        ("nft", "-a", "list", "ruleset"): RunResult(returncode=1, stderr=refused),
        ("ip", "-j", "addr", "show"): "[]",
    }
    host = FakeHost(
        commands=commands,
        files={
            "/proc/net/netstat": "TcpExt: SyncookiesSent\nTcpExt: 0\n",
            "/proc/net/snmp": "Tcp: RtoAlgorithm\nTcp: 1\n",
            "/proc/net/dev": "h1\nh2\n    lo: 0 0\n  eth0: 1 2\n",
            "/proc/sys/net/ipv4/conf/all/rp_filter": "1\n",
            "/proc/sys/net/ipv4/conf/eth0/rp_filter": "2\n",
            "/proc/sys/net/core/somaxconn": "4096\n",
        },
    )
    doc = collect(host, CollectRequest(addresses=("10.0.0.1",)), Deadline.after(5.0))
    entries = doc["collectors"]
    assert entries["sockets"]["error"] and entries["sockets"]["needs_root"] is True
    assert entries["routes"]["error"] and entries["routes"]["needs_root"] is True
    assert entries["firewall"]["needs_root"] is True
    assert entries["firewall"]["error"] is None  # `ip addr` was read
    assert entries["counters"] == {
        "error": None, "needs_root": False,
        "data": {"files": {"/proc/net/netstat": "TcpExt: SyncookiesSent\nTcpExt: 0\n",
                           "/proc/net/snmp": "Tcp: RtoAlgorithm\nTcp: 1\n"},
                 "errors": {"/proc/net/snmp6": "No such file or directory"}},
    }  # fmt: skip
    values = entries["sysctls"]["data"]["values"]
    assert values == {"net.ipv4.conf.all.rp_filter": "1", "net.ipv4.conf.eth0.rp_filter": "2",
                      "net.core.somaxconn": "4096"}  # fmt: skip
    assert "net.ipv4.conf.lo.rp_filter" in entries["sysctls"]["data"]["errors"]
    assert entries["sysctls"]["needs_root"] is False


def test_request_rejects_unknown_fields_and_collectors() -> None:
    """A request names only known collectors and fields."""
    with pytest.raises(ValueError, match="unknown collectors"):
        CollectRequest.from_json({"collectors": ["sockets", "disk"]})
    with pytest.raises(ValueError, match="unknown request fields"):
        CollectRequest.from_json({"adresses": []})
    parsed = CollectRequest.from_json({"sockets": {"listen": True, "ports": [80]}})
    assert parsed.sockets.listen and parsed.sockets.ports == (80,)


def interpreters() -> list[str]:
    """The system python3 and every other CPython ≥ 3.9 on this machine (pyenv included)."""
    found = {SYSTEM_PYTHON}
    for minor in range(9, 14):
        for candidate in (shutil.which(f"python3.{minor}"),
                          *glob.glob(f"/root/.pyenv/versions/3.{minor}.*/bin/python3.{minor}")):
            if candidate and os.access(candidate, os.X_OK):
                found.add(os.path.realpath(candidate))  # fmt: skip
    return sorted(found)


def test_bundle_runs_under_every_python_from_39(tmp_path: Path) -> None:
    """The bundle imports and runs on each python3 ≥ 3.9 found here (3.9 has no slots= or
    kw_only= dataclasses and no typing.TypeAlias), and says which version ran it."""
    bundle = str(build_bundle(tmp_path / "collect.zip"))
    for python in interpreters():
        done = subprocess.run([python, "-I", "-S", bundle, '{"collectors": ["routes"], '
                               '"addresses": ["127.0.0.1"]}'],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        if "pyenv: " in done.stderr:  # a pyenv shim without its version installed
            continue
        assert done.returncode == 0, (python, done.stderr)
        document = json.loads(done.stdout)
        assert document["collectors"]["routes"]["error"] is None, python


def test_owners_without_sockets_is_an_error_not_an_empty_answer() -> None:
    """Owners are found for the dumped sockets: asked alone, the entry says so."""
    doc = collect(FakeHost(), CollectRequest(collectors=("owners",)), Deadline.after(5.0))
    assert doc["collectors"]["owners"]["error"] == (
        "owners are looked up for the dumped sockets: ask for sockets too"
    )


def test_package_exports_its_api() -> None:
    """netdx.collect exports exactly the schema, the request, collect and build_bundle."""
    import netdx.collect as package

    assert sorted(package.__all__) == ["CollectRequest", "SCHEMA", "build_bundle", "collect"]
    assert package.collect is collect and package.build_bundle is build_bundle
