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
- `check 127.0.0.1:PORT` refused on a host with an nft ruleset (payment-db-firewall's
  database host), vs `nc -zv`: no aim; the rows above run where no firewall table is, and a
  host with tables has them read (nft twice, `ip addr`) and parsed as evidence
- at 100k connections (bench/sockets.py's namespace: ~200k sockets, loopback only):
  `sockets -t` and `sockets -t --json` vs `ss -tan` (and their peak memory), and
  `sockets -t -p --json` vs `lsof -nP -iTCP` and vs psutil's `net_connections("tcp")`
netdx is run as the installed `netdx` script (what a user types), else `python -m netdx`, with
its bytecode compiled first, as `pip install` compiles a wheel: an editable install under
PYTHONDONTWRITEBYTECODE=1 would otherwise compile every netdx module from source on every run
(about 90 ms of CPU for a check on a loaded 2-core machine), which no installed netdx does.

Run as root: `make bench` or `.venv/bin/python bench/floor.py [--runs N] [--psutil PYTHON]
[GROUP ...]`.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sockets as sockets_bench
from timing import run_usage

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
    aim_rss_mb: float | None = None  # and one for netdx's peak memory (then read by GNU time)
    shown: str | None = None  # the verdict column, when it is not netdx's --json cause


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    pair: Pair
    netdx_ms: float
    tool_ms: float
    netdx_rss_mb: float  # the largest peak of netdx's runs

    @property
    def ratio(self) -> float:
        return self.netdx_ms / self.tool_ms if self.tool_ms else float("inf")

    @property
    def met(self) -> bool:
        rss = self.pair.aim_rss_mb is None or self.netdx_rss_mb <= self.pair.aim_rss_mb
        if self.pair.aim_ms is not None:
            return rss and self.netdx_ms <= self.pair.aim_ms
        return rss and self.pair.aim_ratio is not None and self.ratio <= self.pair.aim_ratio


def netdx_argv(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "netdx"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "netdx", *args]


def run_ms(argvs: Argvs) -> tuple[float, float]:
    """Wall-clock milliseconds of the commands run one after the other (each waited for with
    a blocking wait4: `timing.run_timed` says why), and the largest peak memory (MB) that
    GNU time wrote to PEAK_FILE for them (0 when none is wrapped by `peak_measured`)."""
    PEAK_FILE.write_text("")
    wall = sum(run_usage(argv)[0] for argv in argvs)
    peaks = [int(line) / 1024 for line in PEAK_FILE.read_text().split() if line.isdigit()]
    return wall, max(peaks, default=0.0)


# wait4's max RSS of a child this Python forked counts the pages it shares with this
# process until exec (hundreds of MB once the sockets rows have read 200k sockets), so a
# peak is read by GNU time, which forks from a small process, as bench/sockets.py does.
PEAK_FILE = Path(tempfile.gettempdir()) / f"netdx-floor-peak-{os.getpid()}"


def peak_measured(argv: list[str]) -> list[str]:
    """`argv` under GNU time, which appends its peak memory (KiB) to PEAK_FILE."""
    return ["/usr/bin/time", "-a", "-f", "%M", "-o", str(PEAK_FILE), *argv]


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
    netdx_times, tool_times, peaks = [], [], []
    for _ in range(runs):
        wall, peak = run_ms(pair.netdx)
        netdx_times.append(wall)
        peaks.append(peak)
        tool_times.append(run_ms(pair.tool)[0])
    return Timing(pair=pair, netdx_ms=statistics.median(netdx_times),
                  tool_ms=statistics.median(tool_times), netdx_rss_mb=max(peaks))


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


SOCKETS_N = 100_000


def sockets_pairs(psutil_python: str | None, shown: str) -> list[Pair]:
    """Issue 14's listing rows, each run inside bench/sockets.py's namespace."""
    def inside(argv: list[str]) -> list[str]:  # netdx and the tools alike under GNU time
        return sockets_bench.inside(peak_measured(argv))

    netdx = [*sockets_bench.NETDX, "sockets", "-t"]
    ss = (inside(["ss", "-tan"]),)
    pairs = [
        Pair(work="sockets -t (100k connections)", netdx=(inside(netdx),), tool=ss,
             tool_name="ss -tan", aim_ratio=1.2, aim_rss_mb=50, shown=shown),
        Pair(work="sockets -t --json (100k connections)", netdx=(inside([*netdx, "--json"]),),
             tool=ss, tool_name="ss -tan", aim_ratio=2.0, aim_rss_mb=50, shown=shown),
        Pair(work="sockets -t -p --json (100k connections)",
             netdx=(inside([*netdx, "-p", "--json"]),),
             tool=(inside(["lsof", "-nP", "-iTCP"]),), tool_name="lsof -nP -iTCP",
             aim_ratio=0.5, shown=shown),
    ]
    if psutil_python:
        code = "import psutil; print(len(psutil.net_connections('tcp')))"
        pairs.append(Pair(work="sockets -t -p --json (100k connections)",
                          netdx=(inside([*netdx, "-p", "--json"]),),
                          tool=(inside([psutil_python, "-c", code]),),
                          tool_name="psutil net_connections", aim_ratio=0.5, shown=shown))
    return pairs


def has_psutil(python: str) -> bool:
    return subprocess.run([python, "-c", "import psutil"], capture_output=True,
                          check=False).returncode == 0


def measure(runs: int, only: set[str], psutil_python: str | None) -> list[tuple[Timing, str]]:
    rows: list[tuple[Timing, str]] = []

    def add(pair: Pair) -> None:
        cause = pair.shown or (verdict(pair.netdx[0]) if pair.work != "netdx --version" else "-")
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
    if not only or "firewall" in only:
        scenario = load_scenario("payment-db-firewall")
        with Lab(scenario) as lab:
            port = str(refused_port())  # ephemeral: the lab hosts listen on their services only
            add(Pair(work=f"check 127.0.0.1:{port} refused, host with an nft ruleset",
                     netdx=(lab.exec_argv("db-server-01", netdx_argv(
                         "check", f"127.0.0.1:{port}", "--timeout", "2")),),
                     tool=(lab.exec_argv("db-server-01", ["nc", "-zv", "127.0.0.1", port]),),
                     tool_name="nc -zv"))
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
    if not only or "sockets" in only:
        procs = sockets_bench.build(SOCKETS_N, sockets_bench.workers_for(SOCKETS_N, 8))
        try:
            equal, detail = sockets_bench.same_sockets()
            if not equal:
                raise SystemExit(f"netdx and ss list different sockets: {detail}")
            for pair in sockets_pairs(psutil_python, detail.replace(", identical", " as ss")):
                add(pair)
        finally:
            sockets_bench.teardown(procs)
    return rows


def table(rows: list[tuple[Timing, str]], runs: int) -> str:
    out = [f"median of {runs} runs each, wall clock, whole processes, alternating in one loop",
           "",
           "| work | netdx verdict | netdx ms | netdx peak MB | against | tool ms | netdx / tool "
           "| aim | met |",
           "|---|---|---:|---:|---|---:|---:|---|---|"]
    for t, cause in rows:
        p = t.pair
        if p.aim_ms is not None:
            aim = f"≤ {p.aim_ms:.0f} ms"
        elif p.aim_ratio is not None:
            aim = f"≤ {p.aim_ratio:g}×"
        else:
            aim = "-"
        if p.aim_rss_mb is not None:
            aim += f", ≤ {p.aim_rss_mb:.0f} MB"
        ratio = f"{t.ratio:.2f}×" if t.ratio < 10 else f"{t.ratio:.1f}×"
        peak = f"{t.netdx_rss_mb:.0f}" if t.netdx_rss_mb else "-"
        out.append(f"| {p.work} | {cause} | {t.netdx_ms:.0f} | {peak} | "
                   f"{p.tool_name} | {t.tool_ms:.1f} | {ratio} | {aim} | "
                   f"{('yes' if t.met else 'no') if aim != '-' else '-'} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (≥ 15)")
    parser.add_argument("--psutil", default=sys.executable,
                        help="a python that can import psutil (default: this one)")
    parser.add_argument("only", nargs="*", help="root, dns-nxdomain, route-no-route, "
                        "healthy-flat, dns-tree, firewall, sockets (default: all)")
    args = parser.parse_args()
    if args.runs < 15:
        parser.error("--runs must be at least 15 (the issue asks for the median of ≥ 15)")
    compileall.compile_dir(Path(netdx.__file__).parent, quiet=1)  # what pip install does
    psutil_python = args.psutil if has_psutil(args.psutil) else None
    if psutil_python is None:
        print(f"{args.psutil} cannot import psutil: no psutil row", file=sys.stderr)
    try:
        rows = measure(args.runs, set(args.only), psutil_python)
    finally:
        PEAK_FILE.unlink(missing_ok=True)
    print(table(rows, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
