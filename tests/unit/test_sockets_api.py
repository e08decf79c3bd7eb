"""The public surface of netdx.sockets: lazy exports, the local-address test used by
`netdx check`, and the stdlib-only sock_diag parser running on a bare Python."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import netdx.netlink
import netdx.sockets

FIXTURES = Path(__file__).parent / "fixtures" / "sockdiag"


def test_public_api_is_exported() -> None:
    """Every name in netdx.sockets.__all__ is listed once and resolves to the very object
    its module defines; a name outside __all__ is an AttributeError."""
    names = netdx.sockets.__all__
    assert names and len(names) == len(set(names))
    assert set(names) == set(netdx.sockets._LAZY)
    for name in names:
        home = importlib.import_module(netdx.sockets._LAZY[name])
        assert getattr(netdx.sockets, name) is vars(home)[name], name
    with pytest.raises(AttributeError):
        _ = netdx.sockets.judge


def test_listing_does_not_import_the_rules() -> None:
    """`netdx sockets` imports neither the rules nor rich (they are lazy)."""
    code = (
        "import sys; from netdx.sockets import cli, dump, render;"
        "print(sorted(m for m in ('rich', 'netdx.diagnose.server') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_sockdiag_parser_runs_on_a_bare_python(tmp_path: Path) -> None:
    """Copied alone, the netlink package decodes a captured sock_diag datagram with
    `python3 -I -S` (it can be shipped to a server and run there)."""
    shutil.copytree(Path(netdx.netlink.__file__).parent, tmp_path / "nlcopy")
    line = next(
        x for x in (FIXTURES / "tcp4_listen_port_7000.hex").read_text().splitlines()
        if x.startswith("< ")
    )  # fmt: skip
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import nlcopy;"
        "c = nlcopy.parse_datagram(bytes.fromhex(sys.argv[2]), 'tcp');"
        "s = c.sockets[0]; print(s.state_name, s.local, s.rqueue, s.wqueue)"
    )
    argv = [sys.executable, "-I", "-S", "-c", code, str(tmp_path), line[2:]]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "LISTEN 127.0.0.1:7000 2 1"), done.stderr
