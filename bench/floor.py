"""The process floor: netdx against the one-shot tools a person would type, as whole processes.

Each pair runs in the same loop, alternating netdx and the tool (so both see the same machine
load), --runs times (at least 15); the table shows the medians, the ratio netdx / tool and the
aim of issue 14. Everything but loopback and `--version` runs inside lab namespaces:
- `check 127.0.0.1:PORT`, a refused loopback port        vs `nc -zv 127.0.0.1 PORT`
- `check db-server-02:5432`, NXDOMAIN (dns-nxdomain)    vs `nslookup db-server-02`
- `check 10.0.2.20:5432`, no route (route-no-route)     vs `ping -c1 10.0.2.20`
- `check db-server-01:5432`, healthy (healthy-flat)     vs nslookup + ping -c1 + nc -zv
- `dns --trace www.example.lab` (healthy dns-tree)      vs `dig +trace +nodnssec`
- `netdx --version`                                      vs `python3 -c pass` (the same python)
netdx is run as the installed `netdx` script (what a user types), else `python -m netdx`, with
its bytecode compiled first, as `pip install` compiles a wheel: an editable install under
PYTHONDONTWRITEBYTECODE=1 would otherwise compile every netdx module from source on every run
(about 90 ms of CPU for a check on a loaded 2-core machine), which no installed netdx does.

Run as root: `make bench` or `.venv/bin/python bench/floor.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import compileall
import json
import socket
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from timing import run_timed

import netdx
from netdx.lab import Lab, dnstree, load_scenario

Argvs = tuple[list[str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """One line of the table: what netdx did, what it is timed against, the aim."""

    work: str
    netdx: Argvs
    tool: Argvs
    tool_name: str
    aim_ms: float | None = None  # an absolute aim for netdx's median
    aim_ratio: float | None = None  # or an aim for netdx / tool
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    pair: Pair
    netdx_ms: float
    tool_ms: float

    @property
    def ratio(self) -> float:
        return self.netdx_ms / self.tool_ms if self.tool_ms else float("inf")

    @property
    def met(self) -> bool:
        if self.pair.aim_ms is not None:
            return self.netdx_ms <= self.pair.aim_ms
        return self.pair.aim_ratio is not None and self.ratio <= self.pair.aim_ratio


def netdx_argv(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "netdx"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "netdx", *args]


def run_ms(argvs: Argvs) -> float:
    """Wall-clock milliseconds of the commands run one after the other (each waited for with
    a blocking wait4: `timing.run_timed` says why)."""
    return sum(run_timed(argv)[0] for argv in argvs)


def verdict(argv: list[str]) -> str:
    """The cause netdx reports for `argv` (with --json), to show each row timed a real answer."""
    proc = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=60,
                          check=False)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        return f"exit {proc.returncode}"
    if "verdict" in doc:
        return str(doc["verdict"].get("cause", "?"))
    return "answer" if proc.returncode == 0 else f"exit {proc.returncode}"


def time_pair(pair: Pair, runs: int) -> Timing:
    run_ms(pair.netdx)  # warm the page cache and __pycache__ for both before timing
    run_ms(pair.tool)
    netdx_times, tool_times = [], []
    for _ in range(runs):
        netdx_times.append(run_ms(pair.netdx))
        tool_times.append(run_ms(pair.tool))
    return Timing(pair=pair, netdx_ms=statistics.median(netdx_times),
                  tool_ms=statistics.median(tool_times))


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def root_pairs() -> list[Pair]:
    port = str(refused_port())
    return [
        Pair(work=f"check 127.0.0.1:{port} refused (loopback)",
             netdx=(netdx_argv("check", f"127.0.0.1:{port}", "--timeout", "2"),),
             tool=(["nc", "-zv", "127.0.0.1", port],), tool_name="nc -zv", aim_ms=60),
        Pair(work="netdx --version", netdx=(netdx_argv("--version"),),
             # netdx's own interpreter: `python3` on PATH may be a shim (pyenv's is a script).
             tool=([sys.executable, "-c", "pass"],), tool_name="python3 -c pass", aim_ms=40),
    ]


def lab_pairs(lab: Lab, host: str, check: str, tools: Sequence[list[str]], tool_name: str,
              work: str, aim_ms: float) -> Pair:
    return Pair(work=work,
                netdx=(lab.exec_argv(host, netdx_argv("check", check, "--timeout", "5")),),
                tool=tuple(lab.exec_argv(host, t) for t in tools), tool_name=tool_name,
                aim_ms=aim_ms)


def measure(runs: int, only: set[str]) -> list[tuple[Timing, str]]:
    rows: list[tuple[Timing, str]] = []

    def add(pair: Pair) -> None:
        cause = verdict(pair.netdx[0]) if pair.work != "netdx --version" else "-"
        rows.append((time_pair(pair, runs), cause))
        print(f"  {pair.work}: done", file=sys.stderr)

    if not only or "root" in only:
        for pair in root_pairs():
            add(pair)
    labs = {
        "dns-nxdomain": ("db-server-02:5432", [["nslookup", "db-server-02"]], "nslookup",
                         "check NXDOMAIN name (lab resolver)", 80.0),
        "route-no-route": ("10.0.2.20:5432", [["ping", "-c1", "10.0.2.20"]], "ping -c1",
                           "check with no route", 60.0),
        "healthy-flat": ("db-server-01:5432", [["nslookup", "db-server-01"],
                                               ["ping", "-c1", "10.0.0.20"],
                                               ["nc", "-zv", "10.0.0.20", "5432"]],
                         "nslookup + ping -c1 + nc -zv", "healthy check host:port (LAN)", 100.0),
    }
    for name, (check, tools, tool_name, work, aim) in labs.items():
        if only and name not in only:
            continue
        scenario = load_scenario(name)
        with Lab(scenario) as lab:
            add(lab_pairs(lab, scenario.runner, check, tools, tool_name, work, aim))
    if not only or "dns-tree" in only:
        with Lab(dnstree.scenario()) as lab:
            assert lab.workdir is not None
            hints = lab.workdir / "root.hints"
            hints.write_text(dnstree.root_hints(dead_per_level=False))
            client, name = dnstree.CLIENT_HOST, "www.example.lab"
            trace = netdx_argv("dns", "--trace", "--root-hints", str(hints), name)
            add(Pair(work="dns --trace (healthy 4-level tree)",
                     netdx=(lab.exec_argv(client, trace),),
                     tool=(lab.exec_argv(client, ["dig", "+trace", "+nodnssec", name]),),
                     tool_name="dig +trace", aim_ratio=2.0))
    return rows


def table(rows: list[tuple[Timing, str]], runs: int) -> str:
    out = [f"median of {runs} runs each, wall clock, whole processes, alternating in one loop",
           "",
           "| work | netdx verdict | netdx ms | against | tool ms | netdx / tool | aim | met |",
           "|---|---|---:|---|---:|---:|---|---|"]
    for t, cause in rows:
        p = t.pair
        aim = f"≤ {p.aim_ms:.0f} ms" if p.aim_ms is not None else f"≤ {p.aim_ratio:g}×"
        out.append(f"| {p.work} | {cause} | {t.netdx_ms:.0f} | {p.tool_name} | "
                   f"{t.tool_ms:.1f} | {t.ratio:.1f}× | {aim} | {'yes' if t.met else 'no'} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (≥ 15)")
    parser.add_argument("only", nargs="*", help="root, dns-nxdomain, route-no-route, "
                        "healthy-flat, dns-tree (default: all)")
    args = parser.parse_args()
    if args.runs < 15:
        parser.error("--runs must be at least 15 (the issue asks for the median of ≥ 15)")
    compileall.compile_dir(Path(netdx.__file__).parent, quiet=1)  # what pip install does
    rows = measure(args.runs, set(args.only))
    print(table(rows, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
