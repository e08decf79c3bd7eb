"""The raw egress check leaves from --source/--interface, like the connect it explains (root).

Two namespaces linked only to each other: ndx-egb-h (10.78.1.1 on ndxegb-ha, 10.78.2.1 on
ndxegb-hb) and ndx-egb-t (10.78.1.2 on ndxegb-ta, 10.78.2.2 on ndxegb-tb, 10.78.9.9 on lo with
a listener). The host routes 10.78.9.0/24 through ndxegb-ha, and through ndxegb-hb only at a
worse metric (for a socket bound to that device). Its output chain drops the port from
10.78.2.1 and out of ndxegb-hb: the b link's output is filtered, the a link's is not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nsscript import script_in

pytestmark = pytest.mark.lab

HOST, TARGET = "ndx-egb-h", "ndx-egb-t"
PORT = 8098
DEST = "10.78.9.9"
SRC = str(Path(__file__).resolve().parents[2] / "src")
SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", HOST),
    ("ip", "netns", "add", TARGET),
    ("ip", "-n", HOST, "link", "add", "ndxegb-ha", "type", "veth", "peer", "name", "ndxegb-ta",
     "netns", TARGET),
    ("ip", "-n", HOST, "link", "add", "ndxegb-hb", "type", "veth", "peer", "name", "ndxegb-tb",
     "netns", TARGET),
    ("ip", "-n", HOST, "addr", "add", "10.78.1.1/24", "dev", "ndxegb-ha"),
    ("ip", "-n", HOST, "addr", "add", "10.78.2.1/24", "dev", "ndxegb-hb"),
    ("ip", "-n", TARGET, "addr", "add", "10.78.1.2/24", "dev", "ndxegb-ta"),
    ("ip", "-n", TARGET, "addr", "add", "10.78.2.2/24", "dev", "ndxegb-tb"),
    ("ip", "-n", TARGET, "addr", "add", f"{DEST}/32", "dev", "lo"),
    *(("ip", "-n", ns, "link", "set", dev, "up") for ns, dev in (
        (HOST, "lo"), (HOST, "ndxegb-ha"), (HOST, "ndxegb-hb"),
        (TARGET, "lo"), (TARGET, "ndxegb-ta"), (TARGET, "ndxegb-tb"))),
    ("ip", "-n", HOST, "route", "add", "10.78.9.0/24", "via", "10.78.1.2", "dev", "ndxegb-ha"),
    ("ip", "-n", HOST, "route", "add", "10.78.9.0/24", "via", "10.78.2.2", "dev", "ndxegb-hb",
     "metric", "200"),
)
RULES = (
    "table inet ndxegb {\n chain out {\n  type filter hook output priority 0;\n"
    f"  ip saddr 10.78.2.1 tcp dport {PORT} drop\n"
    f'  oifname "ndxegb-hb" tcp dport {PORT} drop\n }}\n}}\n'
)
SERVER = (
    "import socket\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    f"s.bind(('{DEST}', {PORT})); s.listen(64); print('up', flush=True)\n"
    "while True:\n    c,_=s.accept(); c.close()\n"
)
# One egress check in the host's namespace under a binding, as `check` runs it; -W error
# fails on an unclosed socket.
RUNNER = r"""
import asyncio, json, sys
from netdx.budget import Deadline
from netdx.probes.bind import apply_binding, validate_binding
from netdx.probes.egress import egress_check

source, interface = (a or None for a in sys.argv[1:3])
with apply_binding(validate_binding(source, interface)):
    result = asyncio.run(egress_check(sys.argv[3], int(sys.argv[4]), deadline=Deadline.after(1)))
print(json.dumps({"status": result.status, "errno": result.errno}))
"""


def run(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, "PYTHONPATH": SRC})


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    """The two namespaces, the host's output rules and the listener; removed however the
    tests end."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    for ns in (HOST, TARGET):
        run("ip", "netns", "del", ns)  # a killed earlier run's leftovers
    try:
        for argv in SETUP:
            subprocess.run(argv, check=True, timeout=30)
        loaded = run("ip", "netns", "exec", HOST, "nft", "-f", "-", stdin=RULES)
        assert loaded.returncode == 0, loaded.stderr
        with script_in(TARGET, SERVER, "up"):
            yield
    finally:
        for ns in (HOST, TARGET):
            run("ip", "netns", "del", ns)


def egress(source: str = "", interface: str = "") -> dict[str, Any]:
    done = run("ip", "netns", "exec", HOST, sys.executable, "-X", "dev", "-W", "error", "-c",
               RUNNER, source, interface, DEST, str(PORT))
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("source", "interface", "status"),
    [
        ("", "", "clear"),  # the kernel's choice: 10.78.1.1 out of ndxegb-ha
        ("10.78.1.1", "", "clear"),
        ("10.78.2.1", "", "blocked"),  # the filtered source, routed out of ndxegb-ha
        ("", "ndxegb-ha", "clear"),
        ("", "ndxegb-hb", "blocked"),  # the filtered device (and its source 10.78.2.1)
        ("10.78.1.1", "ndxegb-hb", "blocked"),  # only the device rule can match: the device
    ],
)
def test_egress_check_leaves_from_the_binding(
    lab: None, source: str, interface: str, status: str
) -> None:
    """The raw SYN is judged from the chosen source and device: blocked on the filtered
    link's address or device, clear on the other link's (unbound, it left from 10.78.1.1 on
    ndxegb-ha whatever was asked, and said clear)."""
    result = egress(source, interface)
    assert result["status"] == status, result
    assert result["errno"] == ("EPERM" if status == "blocked" else None)


def test_check_from_the_filtered_source_names_the_local_egress_rule(lab: None) -> None:
    """`check --source` on the filtered link: the silent connect is this host's own output
    filter (the egress SYN from that source failed with EPERM); from the other link's source
    the port answers."""
    def check(source: str) -> tuple[int, dict[str, Any]]:
        done = run(sys.executable, "-m", "netdx", "check", f"{DEST}:{PORT}", "--source", source,
                   "--timeout", "3", "--json", "--netns", HOST)
        assert done.returncode in (0, 1), done.stderr
        doc: dict[str, Any] = json.loads(done.stdout)
        return done.returncode, doc

    code, doc = check("10.78.2.1")
    assert code == 1 and doc["verdict"]["cause"] == "firewall.local_egress", doc["verdict"]
    assert any("failed at once with EPERM" in line for line in doc["verdict"]["evidence"])
    code, doc = check("10.78.1.1")
    assert code == 0 and doc["verdict"]["cause"] == "ok", doc["verdict"]
