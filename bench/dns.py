"""Time `netdx dns --trace` against `dig +trace` on the lab hierarchy, in the same run.

    sudo .venv/bin/python bench/dns.py [--runs N] [--json]

Two labs are built one after the other (namespaces `ndxh-dnsb-*`, torn down after):
- healthy: every server answers (aim: netdx ≤ 1.0× dig);
- dead:    one silent server among the name servers of every level, root included
           (aim: netdx ≤ 0.2× dig).
For each, three timings of tracing www.example.lab from the client namespace over N runs
(median, mean and max, and both ratios to dig). dig +trace picks one server per level
and waits out its timeout when that one is dead, so its cost is a lottery: the mean is the
expected cost, the median may miss the dead servers altogether.
- dig:       `dig +trace +nodnssec www.example.lab` (process wall clock);
- netdx cli: `python -m netdx.dns --trace --root-hints HINTS www.example.lab` (wall clock,
             interpreter start and imports included);
- netdx walk: the same walk run N times inside one process (what the trace itself costs).
dig +trace starts by asking the resolver of resolv.conf (the lab's unbound) for the root NS
set, so it starts from the same root servers as netdx's hints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# This file is named dns.py: its own folder must not be on the path, or it would shadow
# dnspython's `dns` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "src"))

NAME = "www.example.lab"
PREFIX = "ndxh-dnsb-"


def _wall(argv: list[str], runs: int) -> tuple[list[float], str]:
    """Wall-clock milliseconds of `argv` for each of `runs`, and the last output."""
    times, out = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        times.append((time.perf_counter() - start) * 1000)
        out = proc.stdout
    return times, out


def worker(hints: str, runs: int) -> None:
    """Inside the client namespace: run the walk `runs` times, print per-run ms as JSON."""
    from netdx.budget import Deadline
    from netdx.dns.message import Question
    from netdx.dns.tracer import load_root_hints, run_trace

    roots, _ = load_root_hints(Path(hints))
    times, statuses = [], []
    for _ in range(runs):
        start = time.perf_counter()
        result = asyncio.run(run_trace(Question(name=NAME + ".", rtype="A"), roots,
                                       deadline=Deadline.after(10.0)))
        times.append((time.perf_counter() - start) * 1000)
        statuses.append(result.status)
    print(json.dumps({"ms": times, "status": statuses}))


def measure(*, dead: bool, runs: int) -> dict[str, Any]:
    """Build one lab, time the three ways, tear it down."""
    from netdx.dns.lab import DnsLab

    with DnsLab(prefix=PREFIX, dead_per_level=dead) as lab:
        hints = str(lab.hints_path)
        dig_ms, dig_out = _wall(lab.exec_argv("client", ["dig", "+trace", "+nodnssec", NAME]),
                                runs)
        cli = [sys.executable, "-m", "netdx.dns", "--trace", "--root-hints", hints, NAME]
        cli_ms, cli_out = _wall(lab.exec_argv("client", cli), runs)
        argv = lab.exec_argv("client", [sys.executable, __file__, "--worker", hints, str(runs)])
        walk = json.loads(subprocess.run(argv, capture_output=True, text=True, timeout=300,
                                         check=True).stdout)
    return {
        "lab": "dead server per level" if dead else "healthy",
        "dig": _stats(dig_ms),
        "netdx_cli": _stats(cli_ms),
        "netdx_walk": _stats(walk["ms"]),
        "aim": 0.2 if dead else 1.0,
        "dig_answered": "10.53.1.10" in dig_out,
        "netdx_answered": "10.53.1.10" in cli_out and set(walk["status"]) == {"answer"},
    }


def _stats(times: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(times), 1),
            "mean_ms": round(statistics.fmean(times), 1), "max_ms": round(max(times), 1)}


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'lab':<22} {'tool':<11} {'median':>9} {'mean':>9} {'max':>9} "
             f"{'median/dig':>11} {'mean/dig':>9} {'aim':>5}"]
    for r in rows:
        dig = r["dig"]
        for tool in ("dig", "netdx_cli", "netdx_walk"):
            s = r[tool]
            by_median = s["median_ms"] / dig["median_ms"]
            by_mean = s["mean_ms"] / dig["mean_ms"]
            lines.append(f"{r['lab']:<22} {tool:<11} {s['median_ms']:>6} ms {s['mean_ms']:>6} ms "
                         f"{s['max_ms']:>6} ms {by_median:>11.3f} {by_mean:>9.3f} {r['aim']:>5}")
    return "\n".join(lines)


def main() -> int:
    """Run both labs and print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", nargs=2, metavar=("HINTS", "RUNS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]))
        return 0
    rows = [measure(dead=False, runs=args.runs), measure(dead=True, runs=args.runs)]
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    return 0 if all(r["dig_answered"] and r["netdx_answered"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
