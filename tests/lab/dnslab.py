"""The lab DNS hierarchy for lab tests and helpers to run netdx and dig inside it.

The hierarchy is `netdx.dns.lab.DnsLab` (nsd per server, unbound, a client), built with the
prefix `ndxh-dns-` so that it never collides with the general lab's `ndx-*` namespaces.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from netdx.dns.lab import DnsLab

PREFIX = "ndxh-dns-"


def build(*, dead_per_level: bool = False) -> Iterator[DnsLab]:
    """Yield a started lab; always torn down (processes by pid, namespaces, files)."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    lab = DnsLab(prefix=PREFIX, dead_per_level=dead_per_level)
    try:
        lab.start()
        yield lab
    finally:
        lab.close()


def netdx_dns(lab: DnsLab, *args: str, timeout: float = 30.0) -> tuple[int, dict[str, Any]]:
    """Run `netdx dns ARGS --json` in the client namespace: (exit code, document)."""
    argv = lab.exec_argv("client", [sys.executable, "-m", "netdx.dns", *args, "--json"])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def dig(lab: DnsLab, *args: str, timeout: float = 60.0) -> str:
    """Run dig in the client namespace and return its output."""
    argv = lab.exec_argv("client", ["dig", *args])
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          check=False).stdout


def dig_records(text: str) -> set[tuple[str, int, str, str]]:
    """(name, ttl, type, value) of the record lines of dig output (comments skipped)."""
    found = set()
    for line in text.splitlines():
        if not line or line.startswith(";"):
            continue
        parts = line.split(None, 4)
        if len(parts) == 5 and parts[2] == "IN":
            found.add((parts[0].lower(), int(parts[1]), parts[3], parts[4].strip()))
    return found


def causes(doc: dict[str, Any]) -> dict[str, str]:
    """cause -> severity of a netdx.dns/1 document's findings."""
    return {f["cause"]: f["severity"] for f in doc["findings"]}
