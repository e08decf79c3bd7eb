"""Time `netdx check` on every lab scenario against the manual sequence a person would type.

For each scenario the lab is built once; inside the namespace of the host the scenario runs
its command on (`run_on`, by default the client), in the same run:
- netdx:  `netdx check TARGET --json` (the best of --repeat runs, process start included);
- manual: `nslookup NAME` (for names), `ping -c 3 ADDR`, `nc -zv ADDR PORT` (for ports) and
  `curl -sS -o /dev/null URL` (for URLs), one after the other with their default settings,
  as a person types them. A command still running after --cap seconds is stopped and its
  time counted as the cap (shown with ">"): `nc` alone waits ~2 minutes on a dropped SYN.

Scenarios whose command is not `netdx check` are skipped, with a note on stderr: `netdx
inspect` has no target to time against ping/nc, and `netdx trace` is timed against
traceroute and mtr by bench/trace.py.

Run as root: `make bench` or `.venv/bin/python bench/check.py [--repeat N] [--cap S] [NAME...]`.
Prints a Markdown table and the ratios (netdx / manual; below 1 means netdx is faster).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from netdx.lab import Lab, list_scenarios
from netdx.lab.model import Scenario
from netdx.target import parse_target


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    expect: str
    cause: str
    netdx_s: float
    manual_s: float
    capped: bool
    steps: str


def timed(argv: list[str], cap: float) -> tuple[float, bool, str]:
    """Run argv, return (seconds, was_capped, stdout)."""
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=cap, check=False)
    except subprocess.TimeoutExpired:
        return cap, True, ""
    return time.monotonic() - start, False, proc.stdout


def manual_commands(scenario: Scenario, first_address: str | None) -> list[list[str]]:
    """What a person types for this target, in order."""
    target = parse_target(scenario.check[0])
    commands: list[list[str]] = []
    if not target.ip_literal:
        commands.append(["nslookup", target.host])
    address = first_address or target.host
    if first_address is None and not target.ip_literal:
        address = target.host  # nothing resolved: the person would still try the name
    commands.append(["ping", "-c", "3", address])
    if target.port is not None:
        commands.append(["nc", "-zv", address, str(target.port)])
    if target.url is not None:
        commands.append(["curl", "-sS", "-o", "/dev/null", target.url])
    return commands


def bench_scenario(scenario: Scenario, repeat: int, cap: float) -> Row:
    with Lab(scenario) as lab:
        client = scenario.runner
        # A scenario with `ssh:` is defined by its check with --ssh (the lab's sshd).
        check = [sys.executable, "-m", "netdx", "check", *scenario.check, *lab.ssh_argv()]
        netdx_argv = lab.exec_argv(client, [*check, "--json"])
        times, doc = [], {}
        for _ in range(repeat):
            seconds, _capped, out = timed(netdx_argv, cap)
            times.append(seconds)
            if out:
                doc = json.loads(out)
        cause = doc.get("verdict", {}).get("cause", "?")
        first = _first_address(doc)
        manual_total, capped_any = 0.0, False
        for argv in manual_commands(scenario, first):
            seconds, capped, _ = timed(lab.exec_argv(client, argv), cap)
            manual_total += seconds
            capped_any = capped_any or capped
        steps = " + ".join(c[0] for c in manual_commands(scenario, first))
    return Row(scenario.name, scenario.expect, cause, min(times), manual_total, capped_any, steps)


def _first_address(doc: dict[str, object]) -> str | None:
    for step in doc.get("steps", []):  # type: ignore[attr-defined]
        if step.get("layer") == "route":
            routes = step.get("evidence", {}).get("routes") or []
            if routes:
                return str(routes[0].get("address"))
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="scenarios (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="netdx runs per scenario")
    parser.add_argument(
        "--cap", type=float, default=20.0, help="seconds before a command is stopped"
    )
    args = parser.parse_args(argv)
    scenarios = [s for s in list_scenarios() if not args.names or s.name in args.names]
    for skipped in (s for s in scenarios if s.command != "check"):
        why = "bench/trace.py times it" if skipped.command == "trace" else "it has no target"
        print(f"skipped {skipped.name}: netdx {skipped.command} ({why})", file=sys.stderr)
    scenarios = [s for s in scenarios if s.command == "check"]
    rows = [bench_scenario(s, args.repeat, args.cap) for s in scenarios]
    print("| scenario | verdict | expected? | netdx s | manual s | ratio | manual sequence |")
    print("|---|---|---|---:|---:|---:|---|")
    for r in rows:
        manual = f">{r.manual_s:.2f}" if r.capped else f"{r.manual_s:.2f}"
        ok = "yes" if r.cause == r.expect else f"NO ({r.expect})"
        ratio = r.netdx_s / r.manual_s if r.manual_s else float("nan")
        cells = [r.name, r.cause, ok, f"{r.netdx_s:.2f}", manual, f"{ratio:.2f}", r.steps]
        print("| " + " | ".join(cells) + " |")
    ratios = [r.netdx_s / r.manual_s for r in rows if r.manual_s]
    worst = max(rows, key=lambda r: r.netdx_s)
    print()
    print(
        f"netdx: median {statistics.median(r.netdx_s for r in rows):.2f} s, "
        f"slowest {worst.netdx_s:.2f} s ({worst.name}); "
        f"ratio netdx/manual: median {statistics.median(ratios):.2f}, max {max(ratios):.2f}; "
        f"verdicts as expected: {sum(r.cause == r.expect for r in rows)}/{len(rows)}"
    )
    return 0 if all(r.cause == r.expect for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
