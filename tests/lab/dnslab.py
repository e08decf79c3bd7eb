"""The `dns-tree` lab scenario (`netdx.lab.dnstree`: nsd per server, unbound, a client),
built by the one lab runner, and helpers to run netdx and dig inside it.

Its namespaces carry its lab instance's prefix (ndx-<hex>-dns-*) and are removed when the
fixture ends, however it ends (the `Lab` context manager tears down on errors, Ctrl-C and
SIGTERM).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from netdx.lab import Lab, dnstree


@dataclass
class DnsTree:
    """A running hierarchy: the lab, and the root hints file the client can read."""

    lab: Lab
    hints_path: Path
    dead_per_level: bool

    def exec_argv(self, host: str, argv: Sequence[str]) -> list[str]:
        """`argv` inside `host` (`client` is the hierarchy's client)."""
        return self.lab.exec_argv(dnstree.CLIENT_HOST if host == "client" else host, argv)

    def change_moved(self, address: str) -> None:
        """Change moved.example.lab's address on its servers (the stale-cache case)."""
        running = [service for service, _ in self.lab.started]
        for old, new in dnstree.moved_services(running, address,
                                               dead_per_level=self.dead_per_level):
            self.lab.replace_service(old, new)


def build(*, dead_per_level: bool = False) -> Iterator[DnsTree]:
    """Yield a started hierarchy; always torn down (processes, namespaces, files)."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    with Lab(dnstree.scenario(dead_per_level=dead_per_level)) as lab:
        assert lab.workdir is not None
        hints = lab.workdir / "root.hints"
        hints.write_text(dnstree.root_hints(dead_per_level=dead_per_level))
        yield DnsTree(lab=lab, hints_path=hints, dead_per_level=dead_per_level)


def netdx_dns(lab: DnsTree, *args: str, timeout: float = 30.0) -> tuple[int, dict[str, Any]]:
    """Run `netdx dns ARGS --json` in the client namespace: (exit code, document)."""
    argv = lab.exec_argv("client", [sys.executable, "-m", "netdx.dns", *args, "--json"])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def dig(lab: DnsTree, *args: str, timeout: float = 60.0) -> str:
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
