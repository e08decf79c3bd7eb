"""Time `netdx dns --trace` against `dig +trace` on the lab hierarchy, in the same run.

    sudo .venv/bin/python bench/dns.py [--runs N] [--json]
    sudo .venv/bin/python bench/dns.py --transport [--runs N]

`--transport` measures the DNS transport instead (the figures behind netdx's own codec):
the import time (`python -X importtime`, median of 5) of netdx's transport and of the
dnspython modules the old probe imported, and the median round trip of N queries for
www.example.lab A to the lab's nsd through each (dnspython only if it is installed).

Two labs are built one after the other (the `dns-tree` lab scenario, then its variant with
a dead server per level; namespaces `ndx-dns-*`, torn down after):
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
    from netdx.dns.tracer import load_root_hints, run_trace
    from netdx.model.evidence import DnsQuestion

    roots, _ = load_root_hints(Path(hints))
    times, statuses = [], []
    for _ in range(runs):
        start = time.perf_counter()
        result = asyncio.run(run_trace(DnsQuestion(name=NAME + ".", rtype="A"), roots,
                                       deadline=Deadline.after(10.0)))
        times.append((time.perf_counter() - start) * 1000)
        statuses.append(result.status)
    print(json.dumps({"ms": times, "status": statuses}))


def measure(*, dead: bool, runs: int) -> dict[str, Any]:
    """Build one lab, time the three ways, tear it down."""
    from netdx.lab import Lab, dnstree

    client = dnstree.CLIENT_HOST
    with Lab(dnstree.scenario(dead_per_level=dead)) as lab:
        assert lab.workdir is not None
        hints_path = lab.workdir / "root.hints"
        hints_path.write_text(dnstree.root_hints(dead_per_level=dead))
        hints = str(hints_path)
        dig_ms, dig_out = _wall(lab.exec_argv(client, ["dig", "+trace", "+nodnssec", NAME]),
                                runs)
        cli = [sys.executable, "-m", "netdx.dns", "--trace", "--root-hints", hints, NAME]
        cli_ms, cli_out = _wall(lab.exec_argv(client, cli), runs)
        argv = lab.exec_argv(client, [sys.executable, __file__, "--worker", hints, str(runs)])
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


IMPORTS = {
    "netdx.dns.query": ["netdx.dns.query"],
    "dnspython": ["dns.message", "dns.asyncquery", "dns.asyncbackend", "dns.rcode",
                  "dns.rdatatype", "dns.flags"],
}


def import_ms(modules: list[str]) -> float:
    """Median over 5 interpreters of the cumulative import time of `modules` (ms), on top of
    what every netdx run imports anyway (asyncio, the model, the budget)."""
    runs = []
    for _ in range(5):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                               "import asyncio, socket, secrets, netdx.model.evidence, "
                               "netdx.budget; import " + ", ".join(modules)],
                              capture_output=True, text=True, timeout=60, check=True)
        total = 0
        for line in proc.stderr.splitlines():
            fields = line.split("|")
            if len(fields) == 3 and fields[2].strip() in modules and fields[2][1:2] != " ":
                total += int(fields[1])
        runs.append(total / 1000)
    return round(statistics.median(runs), 1)


def transport_worker(runs: int) -> None:
    """Inside the client namespace: round trips through each transport, as JSON."""
    from netdx.budget import Deadline
    from netdx.dns.query import QueryOptions, query
    from netdx.model.evidence import DnsQuestion

    server, question = "10.53.0.21", DnsQuestion(name=NAME + ".", rtype="A")
    options = QueryOptions(recursion_desired=False)

    async def own() -> list[float]:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            answer = await query(server, question, deadline=Deadline.after(2), options=options)
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status == "ok", answer
        return times

    async def theirs() -> list[float]:
        import dns.asyncquery
        import dns.flags
        import dns.message

        times = []
        for _ in range(runs):
            start = time.perf_counter()
            msg = dns.message.make_query(question.name, "A", use_edns=0, payload=1232)
            msg.flags &= ~dns.flags.RD
            await dns.asyncquery.udp(msg, server, timeout=2)
            times.append((time.perf_counter() - start) * 1000)
        return times

    out: dict[str, Any] = {"own_ms": asyncio.run(own())}
    try:
        out["dnspython_ms"] = asyncio.run(theirs())
    except ImportError:
        out["dnspython_ms"] = None
    print(json.dumps(out))


def measure_transport(runs: int) -> dict[str, Any]:
    """Import times here; round trips from the client namespace of a healthy lab."""
    from netdx.lab import Lab, dnstree

    imports: dict[str, float | None] = {}
    for name, modules in IMPORTS.items():
        try:
            imports[name] = import_ms(modules)
        except subprocess.CalledProcessError:
            imports[name] = None  # dnspython is not installed
    with Lab(dnstree.scenario()) as lab:
        argv = lab.exec_argv(dnstree.CLIENT_HOST, [sys.executable, __file__,
                                                   "--transport-worker", str(runs)])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"transport worker failed: {proc.stderr.strip()[-2000:]}")
        trips = json.loads(proc.stdout)
    return {"import_ms": imports,
            "round_trip_median_ms": {k.removesuffix("_ms"): (round(statistics.median(v), 3)
                                                              if v else None)
                                     for k, v in trips.items()},
            "runs": runs}


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
    parser.add_argument("--transport", action="store_true",
                        help="measure the DNS transport (imports and round trips)")
    parser.add_argument("--worker", nargs=2, metavar=("HINTS", "RUNS"), help=argparse.SUPPRESS)
    parser.add_argument("--transport-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]))
        return 0
    if args.transport_worker:
        transport_worker(args.transport_worker)
        return 0
    if args.transport:
        print(json.dumps(measure_transport(args.runs), indent=2))
        return 0
    rows = [measure(dead=False, runs=args.runs), measure(dead=True, runs=args.runs)]
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    return 0 if all(r["dig_answered"] and r["netdx_answered"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
