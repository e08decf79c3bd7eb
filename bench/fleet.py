"""`netdx verify` on the fleet lab against the same flows checked one by one over SSH.

The fleet lab (`netdx.lab.fleet`: 12 hosts with real sshds behind a router, with its
faults: a server drop rule, a router ACL, a loopback bind, a stopped service, a host down,
an sshd that refuses the key) is built once. The flows: every host of the fleet (12) to 20
destinations (each web host's 80, each db host's 5432 and 6379, two sshd ports), 240 cases.
From the lab's control host, in the same run:
- verify: `netdx verify FLOWS -i hosts.ini --json --max-concurrent 16` (flow timeout
  --timeout), cold (a fresh SSH cache dir: new connections) and warm (the shared ones);
- one by one: `ssh -o BatchMode=yes -o ConnectTimeout=5 root@SRC nc -zv -w 2 ADDR PORT`
  for each case, a new connection each time, as a person types it.
It prints both times, the ratio (aims: ≤ 0.2× and a finished matrix in ≤ 10 s), and how
often the two agree on open (nc exit 0) against verify's `ok`.

Run as root: `make bench` or `.venv/bin/python bench/fleet.py [--timeout T]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from netdx.budget import Deadline
from netdx.lab import fleet

DESTINATIONS = (
    *((h, fleet.APP) for h in fleet.HOSTS if h.group == "web"),
    *((h, fleet.PG) for h in fleet.HOSTS if h.group == "db"),
    *((h, fleet.REDIS) for h in fleet.HOSTS if h.group == "db"),
    (fleet.host("web01"), 22),
    (fleet.host("db01"), 22),
)
NC_WAIT_S = 2
CALL_CAP_S = 30.0  # only against a hang of one ssh call


def flows_yaml(timeout: float) -> str:
    """Every fleet host to every destination: one flow per destination, `from: fleet`."""
    lines = [f"defaults: {{timeout: {timeout:g}}}", "flows:"]
    for dest, port in DESTINATIONS:
        lines += ["  - from: fleet", f'    to: "{dest.name}:{port}"', "    expect: allow"]
    return "\n".join(lines) + "\n"


def run_verify(built: fleet.Fleet, flows: Path, cache: Path) -> tuple[float, dict[str, Any]]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    argv = fleet.verify_argv(built, "--json", "--max-concurrent", "16", flows=flows)
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    seconds = time.monotonic() - start
    if not done.stdout:
        sys.exit(f"verify printed nothing: {done.stderr.strip()[-500:]}")
    return seconds, json.loads(done.stdout)


def one_by_one(built: fleet.Fleet) -> tuple[float, dict[tuple[str, str], bool]]:
    """The manual loop, run inside the control host (this script, re-executed there)."""
    state = built.state_dir
    spec = {
        "key": str(state / "id_ed25519"),
        "known": str(state / "known_hosts"),
        "cases": [
            [src.name, src.address, dest.name, dest.address, port]
            for src in fleet.HOSTS
            for dest, port in DESTINATIONS
        ],
    }
    argv = ["ip", "netns", "exec", fleet.CTL, sys.executable, __file__, "--inside"]
    done = subprocess.run(
        argv, input=json.dumps(spec), capture_output=True, text=True, timeout=3600, check=True
    )
    out = json.loads(done.stdout)
    opened = {(src, f"{dest}:{port}"): ok for src, dest, port, ok in out["results"]}
    return float(out["seconds"]), opened


def inside(spec: dict[str, Any]) -> None:
    """In the control host: each case as `ssh SRC nc -zv -w 2 ADDR PORT`, one by one."""
    results = []
    start = time.monotonic()
    for src, src_addr, dest, dest_addr, port in spec["cases"]:
        argv = [
            "ssh", "-i", spec["key"], "-o", f"UserKnownHostsFile={spec['known']}",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"root@{src_addr}",
            "nc", "-zv", "-w", str(NC_WAIT_S), dest_addr, str(port),
        ]  # fmt: skip
        try:
            code = subprocess.run(argv, capture_output=True, timeout=CALL_CAP_S).returncode
        except subprocess.TimeoutExpired:
            code = -1
        results.append([src, dest, port, code == 0])
    print(json.dumps({"seconds": time.monotonic() - start, "results": results}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=3.0, help="each flow's timeout")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(json.load(sys.stdin))
        return 0
    if os.geteuid() != 0:
        sys.exit("bench/fleet.py needs root (network namespaces)")
    with tempfile.TemporaryDirectory(prefix="ndx-fleet-") as tmp:
        start = time.monotonic()
        built = fleet.build(Path(tmp) / "fleet", deadline=Deadline.after(120.0))
        build_s = time.monotonic() - start
        try:
            flows = Path(tmp) / "bench-flows.yaml"
            flows.write_text(flows_yaml(args.timeout))
            # The second run reuses the first's shared SSH connections (ControlMaster).
            cold_s, cold = run_verify(built, flows, Path(tmp) / "cache")
            warm_s, _ = run_verify(built, flows, Path(tmp) / "cache")
            manual_s, opened = one_by_one(built)
        finally:
            fleet.teardown(built)
    cases = len(cold["results"])
    agree = sum(
        1
        for r in cold["results"]
        if opened.get((r["source_host"], r["to"])) == (r["cause"] == "ok")
    )
    summary = cold["summary"]
    report_s = cold["elapsed_ms"] / 1000
    print(f"fleet: {len(fleet.HOSTS)} hosts × {len(DESTINATIONS)} flows = {cases} cases")
    print(f"built in {build_s:.1f} s; flow timeout {args.timeout:g} s; nc -w {NC_WAIT_S}")
    print(
        f"verdicts: {summary['passed']} open, {summary['failed']} denied (the faults), "
        f"{summary['errors']} could not run (the refusing and the dead host)"
    )
    print(f"netdx verify, cold:          {cold_s:7.2f} s  (its report: {report_s:.2f} s)")
    print(f"netdx verify, warm:          {warm_s:7.2f} s")
    print(f"ssh HOST nc -zv, one by one: {manual_s:7.2f} s")
    print(f"ratio (cold verify / one by one): {cold_s / manual_s:.3f}×   (aim ≤ 0.2×)")
    print(f"finished matrix: {cold_s:.2f} s   (aim ≤ 10 s)")
    print(f"agreement on open (nc exit 0 ⇔ verify ok): {agree}/{cases}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
