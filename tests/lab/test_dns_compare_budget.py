"""`netdx dns --compare` against a black-holed resolver ends within its --timeout: the
getaddrinfo of the system resolver runs in a thread netdx abandons at the deadline (glibc
alone would wait timeout x attempts = 10 s here, and asyncio.run used to wait for it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

NS = "ndx-cmpb"
ETC = Path("/etc/netns") / NS
# A resolver on an on-link subnet whose only other end never answers ARP: a black hole.
SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", NS),
    ("ip", "-n", NS, "link", "set", "lo", "up"),
    ("ip", "-n", NS, "link", "add", "ndx-cmpb0", "type", "veth", "peer", "name", "ndx-cmpb1"),
    ("ip", "-n", NS, "link", "set", "ndx-cmpb1", "up"),
    ("ip", "-n", NS, "addr", "add", "10.99.0.1/24", "dev", "ndx-cmpb0"),
    ("ip", "-n", NS, "link", "set", "ndx-cmpb0", "up"),
)
HANG_GUARD_S = 30.0


@pytest.fixture(scope="module")
def blackholed() -> Iterator[str]:
    """A namespace whose resolv.conf names a resolver that never answers."""
    ETC.mkdir(parents=True, exist_ok=True)
    (ETC / "resolv.conf").write_text("nameserver 10.99.0.53\noptions timeout:5 attempts:2\n")
    (ETC / "hosts").write_text("127.0.0.1 localhost\n")
    # The authoritative walk starts from a root of the black-holed subnet too, never from
    # the Internet's roots.
    (ETC / "root.hints").write_text(".  3600000 NS a.root.lab.\na.root.lab. 3600000 A 10.99.0.54\n")
    try:
        for argv in SETUP:
            subprocess.run(argv, check=True, timeout=30, capture_output=True)
        yield NS
    finally:
        subprocess.run(("ip", "netns", "del", NS), timeout=30, capture_output=True)
        shutil.rmtree(ETC, ignore_errors=True)


@pytest.mark.parametrize("budget", [0.5, 1.0])
def test_compare_with_a_dead_resolver_keeps_its_budget(blackholed: str, budget: float) -> None:
    """The report's own time stays within the budget plus a small wrap-up, and the
    resolver is named as unreachable; the wall clock only guards against a hang."""
    proc = subprocess.run(
        [sys.executable, "-m", "netdx", "dns", "www.example.lab", "--compare", "--json",
         "--timeout", str(budget), "--root-hints", str(ETC / "root.hints"),
         "--netns", blackholed],
        capture_output=True, text=True, timeout=budget + HANG_GUARD_S, check=False,
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    assert doc["total_ms"] <= (budget + 0.5) * 1000
    assert "dns.resolver_unreachable" in {f["cause"] for f in doc["findings"]}, doc["findings"]
