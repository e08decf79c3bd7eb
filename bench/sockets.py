"""Time `netdx sockets` / `netdx who` against ss, lsof and psutil on a host with N connections.

For each N (default 1000 and 10000; 100000 works too) a fresh namespace `ndxh-sk-bench`
(loopback only, no link anywhere) gets W worker processes. Each worker listens on
127.0.0.1:(10000+w) and a few more ports (IPv4 and IPv6), opens N/W connections to itself
from source addresses 127.(10+w).x.y (1000 per address, so ephemeral ports never run
out), then turns 1% of them into CLOSE-WAIT (the client shuts down, the server never
closes) and 1% into TIME-WAIT (the server closes first). Inside the namespace, in the same
run, it then:

1. checks that `netdx sockets -t --json` lists exactly the sockets `ss -tanH` prints;
2. times each command as a whole process (process start included, output to /dev/null),
   netdx as a user runs it (the installed `netdx` script): --repeat rounds in which every
   command runs once, in turn, so that a change of the machine's load falls on netdx and
   on the tool it is compared with alike; each command's median wall time, median CPU
   time (user+sys) and largest peak memory (max RSS), as GNU time reports them:
   `netdx sockets -t`, `sockets -t --json` vs `ss -tan`; `sockets -t -p` vs `ss -tanp`;
   `sockets -t -p --json` vs `lsof -nP -iTCP` and psutil `net_connections("tcp")`;
   `netdx who :10000` vs `ss -tlnp` (the slow ones, at 50k connections and more, in a
   third as many rounds);
3. times, inside one process (best of --repeat), the owner walk against the /proc floor:
   netdx's walk (`find_owners` on the dumped inodes), the same walk in a forked child as
   `sockets -p` runs it (`collect.owners_fork`, nothing to overlap here) and a bare walk
   that does only what any owner lookup must (for each process of the namespace: listdir
   of /proc/PID/fd and readlink of each fd).

Run as root: `.venv/bin/python bench/sockets.py [--sizes 1000 10000 100000]
[--psutil /path/to/python-with-psutil]`. Prints a Markdown table with the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

NS = "ndxh-sk-bench"
ROOT = Path(__file__).resolve().parents[1]
PER_ADDRESS = 1000
# netdx as installed (`make venv`): the script a user runs, else the same entry by -m.
_SCRIPT = Path(sys.executable).with_name("netdx")
NETDX = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "netdx"]


# --- the worker (runs inside the namespace) ------------------------------------------------


def worker(index: int, conns: int) -> None:
    """Hold `conns` connections to our own listener, plus CLOSE-WAIT and TIME-WAIT ones."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * conns + 200
    if need > hard:
        raise SystemExit(f"{conns} connections need {need} fds; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 10000 + index))
    listener.listen(4096)
    keep: list[socket.socket] = [listener]
    for port in (20000 + 3 * index, 20001 + 3 * index):
        extra = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        extra.bind(("0.0.0.0", port))
        extra.listen(16)
        keep.append(extra)
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    v6.bind(("::", 30000 + index))
    v6.listen(16)
    keep.append(v6)
    for n in range(conns):
        batch = n // PER_ADDRESS
        source = f"127.{10 + index}.{batch // 250}.{batch % 250 + 1}"
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.bind((source, 0))
        client.connect(("127.0.0.1", 10000 + index))
        server, _ = listener.accept()
        if n % 100 == 1:  # CLOSE-WAIT on the server, FIN-WAIT-2 (kept: not orphaned) on the client
            client.shutdown(socket.SHUT_WR)
        elif n % 100 == 2:  # TIME-WAIT on the server side, which closes first
            server.close()
            client.close()
            continue
        keep += [client, server]
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


# --- the driver (root namespace: only ip netns commands) ---------------------------------------


def inside(argv: list[str]) -> list[str]:
    """An argv run inside the bench namespace."""
    return ["ip", "netns", "exec", NS, *argv]


def build(n: int, workers: int) -> list[subprocess.Popen[str]]:
    """Create the namespace and start the workers; return once all are ready."""
    subprocess.run(["ip", "netns", "add", NS], check=True)
    procs: list[subprocess.Popen[str]] = []
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        for index in range(workers):
            argv = inside([sys.executable, __file__, "--worker", str(index), str(n // workers)])
            procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"worker {proc.pid} failed")
    except BaseException:
        teardown(procs)
        raise
    return procs


def teardown(procs: list[subprocess.Popen[str]]) -> None:
    """Stop our workers (by pid) and delete the namespace."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    subprocess.run(["ip", "netns", "del", NS], check=False)


@dataclass(frozen=True)
class Run:
    """One command over its rounds: median wall seconds, median CPU seconds, peak RSS in MB."""

    wall: float
    cpu: float
    rss_mb: float


def timed(commands: dict[str, list[str]], rounds: int) -> dict[str, Run]:
    """Each of `commands` (inside the namespace, stdout discarded) run once a round, in
    turn, for `rounds` rounds; its median wall and CPU time and its largest peak memory,
    as GNU time reports them (a child of this Python would inherit its memory in the count
    until exec)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        for _ in range(rounds):
            for name, argv in commands.items():
                wrapped = ["/usr/bin/time", "-f", "%U %S %M", "-o", report.name, *argv]
                start = time.perf_counter()
                subprocess.run(inside(wrapped), stdout=subprocess.DEVNULL, check=True, env=env)
                wall = time.perf_counter() - start
                user, system, rss_kb = report.read().split()[-3:]
                report.seek(0)
                runs[name].append((wall, float(user) + float(system), int(rss_kb) / 1024))
    return {
        name: Run(
            wall=statistics.median(r[0] for r in got),
            cpu=statistics.median(r[1] for r in got),
            rss_mb=max(r[2] for r in got),
        )
        for name, got in runs.items()
    }


def same_sockets() -> tuple[bool, str]:
    """Whether netdx and ss list the same TCP sockets (state, local, peer), as multisets."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    ours_text = subprocess.run(
        inside([*NETDX, "sockets", "-t", "--json"]), capture_output=True, text=True,
        check=True, env=env,
    ).stdout  # fmt: skip
    ss_text = subprocess.run(
        inside(["ss", "-tanH"]), capture_output=True, text=True, check=True
    ).stdout
    ours = Counter((o["state"], o["local"], o["remote"]) for o in json.loads(ours_text)["sockets"])
    theirs: Counter[tuple[str, str, str]] = Counter()
    for line in ss_text.splitlines():
        cols = line.split()
        theirs[(cols[0], cols[3], cols[4])] += 1
    if ours == theirs:
        return True, f"{sum(ours.values())} sockets, identical"
    return (
        False,
        f"netdx-only {sum((ours - theirs).values())}, ss-only {sum((theirs - ours).values())}",
    )


def measure(n: int, workers: int, repeat: int, psutil_python: str | None) -> dict[str, object]:
    """Build N connections, check equality, time every command; always clean up."""
    procs = build(n, workers)
    try:
        equal, detail = same_sockets()
        row: dict[str, object] = {"n": n, "equal": equal, "detail": detail}
        slow = max(1, repeat // 3) if n >= 50000 else repeat
        row.update(timed({
            "ss -tan": ["ss", "-tan"],
            "netdx sockets": [*NETDX, "sockets", "-t"],
            "netdx sockets --json": [*NETDX, "sockets", "-t", "--json"],
            "netdx sockets -p": [*NETDX, "sockets", "-t", "-p"],
            "netdx sockets -p --json": [*NETDX, "sockets", "-t", "-p", "--json"],
            "netdx who :10000": [*NETDX, "who", ":10000"],
        }, repeat))  # fmt: skip
        code = "import psutil; print(len(psutil.net_connections('tcp')))"
        row.update(timed({
            "ss -tanp": ["ss", "-tanp"],
            "lsof -nP -iTCP": ["lsof", "-nP", "-iTCP"],
            **({"psutil": [psutil_python, "-c", code]} if psutil_python else {}),
            "ss -tlnp": ["ss", "-tlnp"],
        }, slow))  # fmt: skip
        walk = subprocess.run(inside([sys.executable, __file__, "--walks", str(repeat)]),
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")})  # fmt: skip
        row["walks"] = json.loads(walk.stdout)
        return row
    finally:
        teardown(procs)


def walks(repeat: int) -> None:
    """(Inside the namespace.) Print, as JSON, the best times of netdx's owner walk and of
    the bare /proc floor over the same processes, alternated in this one process."""
    from netdx.budget import Deadline
    from netdx.collect.owners_fork import ForkedWalk
    from netdx.sockets.dump import list_sockets
    from netdx.sockets.model import SocketQuery
    from netdx.sockets.owners import find_owners

    listing = list_sockets(SocketQuery(protocols=("tcp",)), deadline=Deadline.after(60))
    inodes = [s.inode for s in listing.sockets]
    best = {"netdx walk": float("inf"), "floor walk": float("inf"), "forked walk": float("inf")}
    fds = 0
    for _ in range(repeat):
        start = time.perf_counter()
        scan = find_owners(inodes, deadline=Deadline.after(60))
        best["netdx walk"] = min(best["netdx walk"], time.perf_counter() - start)
        start = time.perf_counter()
        fds = floor_walk()
        best["floor walk"] = min(best["floor walk"], time.perf_counter() - start)
        # What `sockets -p` runs: the walk in a child, its reads sent back and applied
        # here (the whole cost when nothing else overlaps it).
        start = time.perf_counter()
        with ForkedWalk(deadline=Deadline.after(60)) as walker:
            forked = walker.result(inodes)
        best["forked walk"] = min(best["forked walk"], time.perf_counter() - start)
        assert forked.holders == scan.holders
    print(json.dumps({**best, "fds": fds, "owned": len(scan.holders)}))


def floor_walk() -> int:
    """The least an owner lookup does: for each process in our network namespace, list
    /proc/PID/fd and readlink every fd. Returns how many fds it read."""
    ours = os.stat("/proc/self/ns/net")
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            theirs = os.stat(f"/proc/{name}/ns/net")
            if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
                continue
            dir_fd = os.open(f"/proc/{name}/fd", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            names = os.listdir(dir_fd)
            try:  # as tight as Python goes: one comprehension (netdx's own shape)
                count += len([os.readlink(fd, dir_fd=dir_fd) for fd in names])
            except OSError:  # an fd closed meanwhile: one by one
                for fd in names:
                    with contextlib.suppress(OSError):
                        os.readlink(fd, dir_fd=dir_fd)
                        count += 1
        finally:
            os.close(dir_fd)
    return count


_COLUMNS = (
    ("netdx sockets", "ss -tan", 1.2),
    ("netdx sockets --json", "ss -tan", 2.0),
    ("netdx sockets -p", "ss -tanp", None),
    ("netdx sockets -p --json", "lsof -nP -iTCP", 0.5),
    ("netdx sockets -p --json", "psutil", 0.5),
    ("netdx who :10000", "ss -tlnp", 0.3),
)


def _ratio(row: dict[str, object], a: str, b: str) -> str:
    """Wall-time ratio (CPU-time ratio): on a busy machine the two can differ a lot."""
    if a not in row or b not in row:
        return "n/a"
    ours, theirs = row[a], row[b]
    assert isinstance(ours, Run) and isinstance(theirs, Run)
    # GNU time counts CPU in 10 ms steps: a small run can show 0.00.
    cpu = f"{ours.cpu / theirs.cpu:.2f}" if theirs.cpu else "n/a"
    return f"{ours.wall / theirs.wall:.2f} ({cpu} CPU)"


def _cell(run: object) -> str:
    assert isinstance(run, Run)
    return f"{run.wall:.3f} s ({run.cpu:.2f} CPU, {run.rss_mb:.0f} MB)"


def report(rows: list[dict[str, object]]) -> str:
    """A Markdown table per size: each command's median wall time, median CPU and peak
    memory, the ratios the issue aims at, and the owner walk against the /proc floor."""
    out = []
    for row in rows:
        out += [f"N={row['n']} ({row['detail']}):", "", "| command | wall (CPU, peak RSS) |",
                "|---|---|"]  # fmt: skip
        out += [f"| `{k}` | {_cell(v)} |" for k, v in row.items() if isinstance(v, Run)]
        ratios = [
            f"{a} / {b} = {_ratio(row, a, b)}" + (f" (aim ≤ {aim})" if aim else "")
            for a, b, aim in _COLUMNS
        ]  # fmt: skip
        out += ["", "ratios: " + "; ".join(ratios)]
        w = row["walks"]
        assert isinstance(w, dict)
        out.append(
            f"owner walk: netdx {w['netdx walk']:.3f} s, floor (listdir + readlink) "
            f"{w['floor walk']:.3f} s = {w['netdx walk'] / w['floor walk']:.2f}x the floor "
            f"({w['fds']} fds read, {w['owned']} sockets owned); in a child and sent back "
            f"(`sockets -p`) {w['forked walk']:.3f} s = "
            f"{w['forked walk'] / w['floor walk']:.2f}x the floor"
        )
        out.append("")
    return "\n".join(out)


def workers_for(n: int, at_least: int) -> int:
    """Enough workers that each stays under the fd hard limit (2 fds per connection)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    per_worker = max(1, (hard - 200) // 2)
    return max(at_least, -(-n // per_worker))


def main() -> None:
    """Parse arguments; run as a worker or as the driver."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, type=int, metavar=("INDEX", "CONNS"))
    parser.add_argument("--walks", type=int, metavar="REPEAT", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 10000])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (a third for the slow)")
    parser.add_argument("--psutil", default=None, help="a python that can import psutil")
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if args.walks:
        walks(args.walks)
        return
    rows = [measure(n, workers_for(n, args.workers), args.repeat, args.psutil) for n in args.sizes]
    print(report(rows))


if __name__ == "__main__":
    main()
