"""A scoped IPv6 link-local target (`[fe80::…%IFACE]:PORT`) connects as `nc -zv` does
(issue 10: Python dropped the scope of a 2-tuple address and the connect failed with EINVAL).
Two lab hosts on one veth pair, no link to the root namespace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from netdx.lab import Lab
from netdx.lab.model import Host, Interface, Link, Scenario, Service

pytestmark = pytest.mark.lab

LINK = "ll"
IFACE = f"ndx-{LINK}"
# A tentative (DAD) address cannot be used for ~1 s: the test must not wait on the clock.
NO_DAD = ((f"net.ipv6.conf.{IFACE}.accept_dad", "0"),)


def _scenario() -> Scenario:
    hosts = tuple(
        Host(name=name, interfaces=(Interface(link=LINK, addresses=(address,)),), sysctls=NO_DAD)
        for name, address in (("ll-client", "10.97.0.1/24"), ("ll-server", "10.97.0.2/24"))
    )
    return Scenario(
        name="link-local", topology="pair", description="A link-local target.", fault="none",
        hosts=hosts, links=(Link(name=LINK, hosts=("ll-client", "ll-server")),),
        services=(Service(host="ll-server", kind="tcp", listen="[::]:2222"),),
        client="ll-client", check=("10.97.0.2:2222",), expect="ok",
    )


def test_scoped_link_local_target_connects(lab_env: Path) -> None:
    """`netdx check [fe80::…%ndx-ll]:2222` from the peer connects and says ok."""
    with Lab(_scenario()) as lab:
        shown = subprocess.run(
            ["ip", "-j", "-n", lab.namespace("ll-server"), "-6", "addr", "show", "dev", IFACE,
             "scope", "link"], capture_output=True, text=True, timeout=10, check=True).stdout
        (address,) = [a["local"] for i in json.loads(shown) for a in i["addr_info"]]
        target = f"[{address}%{IFACE}]:2222"
        argv = lab.exec_argv("ll-client", [sys.executable, "-m", "netdx", "check", target,
                                           "--json"])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"]["cause"] == "ok", doc["verdict"]
    (port,) = [s for s in doc["steps"] if s["layer"] == "port"]
    assert port["status"] == "pass" and "connected" in port["summary"], port
