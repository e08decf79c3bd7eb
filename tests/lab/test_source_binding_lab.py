"""--source / --interface against the kernel: a host with two links to the target's namespace
where only one source (and one interface) reaches it. Two namespaces linked only to each
other: ndx-src-h (10.77.1.1 on ndxsrc-ha, 10.77.2.1 on ndxsrc-hb) and ndx-src-t (10.77.1.2 on
ndxsrc-ta, ndxsrc-tb up with no address, 10.77.9.9 on lo with a listener). The target has no
route back to 10.77.2.0/24, and the host routes 10.77.9.0/24 through ndxsrc-ha only."""

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

HOST, TARGET = "ndx-src-h", "ndx-src-t"
PORT = 8097
SRC = str(Path(__file__).resolve().parents[2] / "src")
SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", HOST),
    ("ip", "netns", "add", TARGET),
    ("ip", "-n", HOST, "link", "add", "ndxsrc-ha", "type", "veth", "peer", "name", "ndxsrc-ta",
     "netns", TARGET),
    ("ip", "-n", HOST, "link", "add", "ndxsrc-hb", "type", "veth", "peer", "name", "ndxsrc-tb",
     "netns", TARGET),
    ("ip", "-n", HOST, "addr", "add", "10.77.1.1/24", "dev", "ndxsrc-ha"),
    ("ip", "-n", HOST, "addr", "add", "10.77.2.1/24", "dev", "ndxsrc-hb"),
    ("ip", "-n", TARGET, "addr", "add", "10.77.1.2/24", "dev", "ndxsrc-ta"),
    ("ip", "-n", TARGET, "addr", "add", "10.77.9.9/32", "dev", "lo"),
    *(("ip", "-n", ns, "link", "set", dev, "up") for ns, dev in (
        (HOST, "lo"), (HOST, "ndxsrc-ha"), (HOST, "ndxsrc-hb"),
        (TARGET, "lo"), (TARGET, "ndxsrc-ta"), (TARGET, "ndxsrc-tb"))),
    ("ip", "-n", HOST, "route", "add", "10.77.9.0/24", "via", "10.77.1.2", "dev", "ndxsrc-ha"),
)
SERVER = (
    "import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    f"s.bind(('10.77.9.9', {PORT})); s.listen(64); print('up', flush=True)\n"
    "while True:\n    c,_=s.accept(); c.close()\n"
)


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    """The two namespaces and the listener; removed however the tests end."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    try:
        for argv in SETUP:
            subprocess.run(argv, check=True, timeout=30)
        with script_in(TARGET, SERVER, "up"):
            yield
    finally:
        for ns in (HOST, TARGET):
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=30)


def netdx(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "netdx", *args, "--netns", HOST], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def check(*options: str) -> tuple[int, dict[str, Any]]:
    result = netdx("check", f"10.77.9.9:{PORT}", "--timeout", "3", "--json", *options)
    assert result.returncode in (0, 1), result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, doc


def test_the_source_with_a_way_back_reaches_and_is_named(lab: None) -> None:
    """From 10.77.1.1 on ndxsrc-ha the port answers, and the route line names that source."""
    code, doc = check("--source", "10.77.1.1", "--interface", "ndxsrc-ha")
    assert code == 0, doc["verdict"]
    assert "src 10.77.1.1" in json.dumps(doc) and "ndxsrc-ha" in json.dumps(doc)


def test_a_source_the_target_cannot_answer_does_not_reach(lab: None) -> None:
    """From 10.77.2.1 the SYN leaves but the target has no route back: not reached, and the
    report says which source was used."""
    code, doc = check("--source", "10.77.2.1")
    assert code == 1 and doc["verdict"]["cause"] == "port.filtered", doc["verdict"]
    assert "via 10.77.1.2 dev ndxsrc-ha src 10.77.2.1" in json.dumps(doc)


def test_an_interface_the_answers_cannot_come_back_on_does_not_reach(lab: None) -> None:
    """Bound to ndxsrc-hb the kernel sends on-link out of that device (the route lookup asks
    with its oif, as the socket does) from 10.77.2.1, which the target cannot answer: not
    reached, where the unbound check reaches."""
    code, doc = check("--interface", "ndxsrc-hb")
    assert code == 1 and doc["verdict"]["cause"] == "port.filtered", doc["verdict"]
    assert "dev ndxsrc-hb src 10.77.2.1" in json.dumps(doc)
    assert check()[0] == 0


def test_trace_from_each_source(lab: None) -> None:
    """`trace --tcp -s` reaches the port from the good source only, and names the source."""
    good = netdx("trace", "--tcp", "-p", str(PORT), "10.77.9.9", "-s", "10.77.1.1",
                 "--rounds", "1", "--timeout", "3")
    assert good.returncode == 0 and "from 10.77.1.1" in good.stdout, good.stdout
    bad = netdx("trace", "--tcp", "-p", str(PORT), "10.77.9.9", "-s", "10.77.2.1",
                "--rounds", "1", "--timeout", "3", "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)["source"] == "10.77.2.1"


def test_a_source_this_host_lacks_is_exit_2(lab: None) -> None:
    """10.77.9.9 is the target's address, not the host's: refused before any probe."""
    result = netdx("check", f"10.77.9.9:{PORT}", "--source", "10.77.9.9")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
