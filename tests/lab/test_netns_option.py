"""`--netns NAME` on every command gives the same output as `ip netns exec NAME netdx ...`:
two namespaces joined by a veth pair (no link to the root namespace), a listener and an nft
drop rule on the server side, a resolv.conf of the client's own in /etc/netns."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.lab

NS_S, NS_C = "ndx-hn-s", "ndx-hn-c"
DEV_S, DEV_C = "ndx-hns0", "ndx-hnc0"
SERVER, CLIENT = "10.98.1.2", "10.98.1.1"
SERVER_MAC = "02:00:0a:62:01:02"
SRC = str(Path(__file__).resolve().parents[2] / "src")
ETC_C = Path("/etc/netns") / NS_C

SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", NS_S),
    ("ip", "netns", "add", NS_C),
    ("ip", "-n", NS_S, "link", "add", DEV_S, "address", SERVER_MAC, "type", "veth",
     "peer", "name", DEV_C, "netns", NS_C),
    ("ip", "-n", NS_S, "link", "set", "lo", "up"),
    ("ip", "-n", NS_C, "link", "set", "lo", "up"),
    ("ip", "-n", NS_S, "link", "set", DEV_S, "up"),
    ("ip", "-n", NS_C, "link", "set", DEV_C, "up"),
    ("ip", "-n", NS_S, "addr", "add", f"{SERVER}/24", "dev", DEV_S),
    ("ip", "-n", NS_C, "addr", "add", f"{CLIENT}/24", "dev", DEV_C),
    # check reports the neighbour entry of the server, whose state ages between two runs:
    # a permanent entry keeps it the same for both.
    ("ip", "-n", NS_C, "neigh", "replace", SERVER, "lladdr", SERVER_MAC, "dev", DEV_C,
     "nud", "permanent"),
    ("ip", "netns", "exec", NS_S, "nft", "add table inet ndxh; "
     "add chain inet ndxh input { type filter hook input priority 0; policy accept; }; "
     "add rule inet ndxh input tcp dport 9090 drop comment \"ndxh\""),
)  # fmt: skip
LISTENER = (
    "import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 8080)); s.listen(8); print('up', flush=True); sys.stdin.read()\n"
)
# Fields that measure time: they differ between any two runs.
TIMING_KEYS = {"elapsed_ms", "rtt_ms", "time_ms", "duration_ms", "taken_at", "ms", "at"}


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture(scope="module")
def namespaces() -> Iterator[None]:
    """The two namespaces with the listener running in the server one; removed on any exit."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    listener: subprocess.Popen[str] | None = None
    try:
        for argv in SETUP:
            run(*argv)
        ETC_C.mkdir(parents=True)
        (ETC_C / "resolv.conf").write_text(f"nameserver {SERVER}\noptions timeout:1\n")
        listener = subprocess.Popen(
            ["ip", "netns", "exec", NS_S, sys.executable, "-c", LISTENER],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert listener.stdout is not None and listener.stdout.readline().strip() == "up"
        yield
    finally:
        if listener is not None:
            listener.kill()
            listener.wait(timeout=10)
            for pipe in (listener.stdin, listener.stdout):
                if pipe is not None:
                    pipe.close()
        shutil.rmtree(ETC_C, ignore_errors=True)
        for ns in (NS_S, NS_C):
            run("ip", "netns", "del", ns, check=False)


def netdx(*args: str, netns: str, via_ip: bool) -> subprocess.CompletedProcess[str]:
    """netdx ARGS with `--netns`, or under `ip netns exec` without it."""
    env = {**os.environ, "PYTHONPATH": SRC}
    base = [sys.executable, "-m", "netdx", *args]
    argv = ["ip", "netns", "exec", netns, *base] if via_ip else [*base, "--netns", netns]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


def untimed(value: Any) -> Any:
    """`value` without what differs between any two runs: fields that measure time,
    durations in sentences ("connected in 1.24 ms") and ephemeral source ports."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items()
                if k not in TIMING_KEYS and not k.endswith("_ms")}  # fmt: skip
    if isinstance(value, list):
        return [untimed(v) for v in value]
    if isinstance(value, str):
        value = re.sub(r"\d+(?:\.\d+)? ?ms\b", "T ms", value)
        return re.sub(rf"{CLIENT}:\d+", f"{CLIENT}:EPHEMERAL", value)
    return value


def same_both_ways(*args: str, netns: str) -> tuple[Any, int]:
    """Run ARGS both ways; assert equal exit codes and JSON (timings dropped); return it."""
    ours = netdx(*args, netns=netns, via_ip=False)
    theirs = netdx(*args, netns=netns, via_ip=True)
    assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
    mine, reference = untimed(json.loads(ours.stdout)), untimed(json.loads(theirs.stdout))
    assert mine == reference
    return mine, ours.returncode


def test_sockets_with_owners_equal_ip_netns_exec(namespaces: None) -> None:
    """`netdx sockets -p --json --netns` lists the server's listener and its owner exactly
    as under `ip netns exec`, and nothing of the root namespace."""
    doc, code = same_both_ways("sockets", "-t", "-l", "-p", "--json", netns=NS_S)
    assert code == 0 and doc["schema"] == "netdx.sockets/1"
    listing = doc["sockets"]
    ports = {(s["local"], s.get("process", {}).get("command") if s.get("process") else None)
             for s in listing}  # fmt: skip
    assert any(local.endswith(":8080") for local, _cmd in ports), listing
    assert len(listing) == 1, listing


def test_check_equal_ip_netns_exec(namespaces: None) -> None:
    """`netdx check` from the client namespace: an open port and a dropped one give the same
    report and exit code both ways."""
    report, code = same_both_ways(
        "check", f"{SERVER}:8080", "--json", "--timeout", "2", netns=NS_C
    )
    assert code == 0 and report["verdict"]["layer"] == "ok"
    # Both ways the report says where it was observed: the namespace, by name.
    assert report["observed_on"] == {"kind": "netns", "name": NS_C}
    report, code = same_both_ways(
        "check", f"{SERVER}:9090", "--json", "--timeout", "2", netns=NS_C
    )
    assert code == 1 and report["verdict"]["cause"] == "port.filtered"


def test_firewall_explain_equal_ip_netns_exec(namespaces: None) -> None:
    """`netdx firewall explain --netns` names the namespace's own drop rule."""
    result, code = same_both_ways(
        "firewall", "explain", "--from", CLIENT, "--to", f"{SERVER}:9090", "--json",
        netns=NS_S,
    )  # fmt: skip
    assert code == 1 and result["decision"] == "drop"
    assert "ndxh" in json.dumps(result["rule"])


def test_dns_reads_the_namespace_resolv_conf(namespaces: None) -> None:
    """`netdx dns` with a numeric server, and with the resolver of /etc/netns/NAME/resolv.conf
    (bound over /etc as ip netns exec does), answers the same both ways."""
    same_both_ways("dns", "example.test", f"@{SERVER}", "--json", "--timeout", "2", netns=NS_C)
    doc, _code = same_both_ways("dns", "example.test", "--json", "--timeout", "2", netns=NS_C)
    assert SERVER in json.dumps(doc)


def test_missing_namespace_is_one_line_exit_2(namespaces: None) -> None:
    """Every command refuses a namespace that does not exist with one line and exit 2."""
    for args in (("sockets",), ("who", ":22"), ("inspect", "--port", "22"), ("check", "x:1"),
                 ("dns", "example.test", "@127.0.0.1"),
                 ("firewall", "explain", "--from", CLIENT, "--to", f"{SERVER}:1"),
                 ("firewall", "snapshot"), ("route", "10.0.0.1"), ("trace", "10.0.0.1"),
                 ("verify", "flows.yaml"), ("serve",)):  # fmt: skip
        done = netdx(*args, netns="ndx-hn-missing", via_ip=False)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and "ndx-hn-missing" in done.stderr, done.stderr


def test_who_inspect_and_snapshot_equal_ip_netns_exec(namespaces: None) -> None:
    """`who`, `inspect` and `firewall snapshot` with --netns answer as under ip netns exec:
    the namespace's listener, its verdict, and its own nft table."""
    who, code = same_both_ways("who", ":8080", "--json", netns=NS_S)
    assert code == 0 and who["schema"] == "netdx.who/1"
    owners = who["sockets"]
    assert [o["local"] for o in owners if o["state"] == "LISTEN"] == ["0.0.0.0:8080"]
    verdict, code = same_both_ways("inspect", "--port", "8080", "--json", netns=NS_S)
    assert code == 0, verdict
    snapshot, code = same_both_ways("firewall", "snapshot", netns=NS_S)
    assert code == 0 and "ndxh" in json.dumps(snapshot)
