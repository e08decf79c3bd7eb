"""Before and after: the floor's netdx rows for an earlier commit and for this tree, the two
alternating run by run in one loop (both see the same machine load), wall clock and CPU.

The earlier tree is `git archive REV src` in a temporary directory, run with the same
interpreter and site-packages (PYTHONPATH puts it first); each tree starts as its installed
script does (`netdx.start:run`, `netdx.start:main` or `netdx.cli:main`, the first that the
tree has), with its bytecode compiled first. Rows: a refused loopback check, `--version`,
and the NXDOMAIN, no-route and healthy checks inside their lab scenarios, and `dns --trace`
on the healthy DNS tree. The median of --runs of each, as a Markdown table.

Run as root, under the lab lock: `.venv/bin/python bench/floor_compare.py --before fd64a49`.
"""

from __future__ import annotations

import argparse
import compileall
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from floor import refused_port
from timing import run_timed

from netdx.lab import Lab, dnstree, load_scenario

ROOT = Path(__file__).resolve().parent.parent
Sample = tuple[float, float]  # wall ms, CPU ms


def entry(src: Path) -> list[str]:
    """`python -c ...` that starts the tree at `src` the way its installed script does."""
    start = src / "netdx" / "start.py"
    module = "netdx.start" if start.exists() else "netdx.cli"
    function = "run" if start.exists() and "\ndef run() -> int:" in start.read_text() else "main"
    code = f"import sys; from {module} import {function}; sys.exit({function}())"
    return ["env", f"PYTHONPATH={src}", sys.executable, "-c", code]


def run(argv: list[str]) -> Sample:
    """Wall and CPU ms of one run, waited for with a blocking wait4 (`timing.run_timed`)."""
    wall, cpu, _ = run_timed(argv)
    return wall, cpu


def compare(old: list[str], new: list[str], runs: int) -> tuple[Sample, Sample]:
    """Medians (wall, CPU) of `old` and of `new`, run alternately after one warm-up each."""
    run(old)
    run(new)
    olds, news = [], []
    for _ in range(runs):
        olds.append(run(old))
        news.append(run(new))

    def median(samples: list[Sample]) -> Sample:
        return (statistics.median(s[0] for s in samples),
                statistics.median(s[1] for s in samples))

    return median(olds), median(news)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the earlier commit (git rev)")
    parser.add_argument("--runs", type=int, default=21, help="runs of each (≥ 15)")
    args = parser.parse_args()
    if args.runs < 15:
        parser.error("--runs must be at least 15")
    with tempfile.TemporaryDirectory(prefix="netdx-before-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "src", "tools"],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp)  # our own repository's archive (3.11.2 has no filter=)
        old_src, new_src = Path(tmp) / "src", ROOT / "src"
        if (old_src / "netdx" / "model" / "record.py").exists():
            # The model's method tables are generated, not in git: without them the earlier
            # tree would compile every dataclass method at import, as no `make venv` does.
            # Its own generator: the table format changes with record.py.
            subprocess.run([sys.executable, str(Path(tmp) / "tools" / "precompile_records.py")],
                           env={**os.environ, "PYTHONPATH": str(old_src)},
                           capture_output=True, check=True)
        for src in (old_src, new_src):
            compileall.compile_dir(src / "netdx", quiet=1)  # what pip install does
        old, new = entry(old_src), entry(new_src)
        rows = []
        port = str(refused_port())
        for work, argv in ((f"check 127.0.0.1:{port}, refused (loopback)",
                            ["check", f"127.0.0.1:{port}", "--timeout", "2"]),
                           ("netdx --version", ["--version"])):
            rows.append((work, *compare([*old, *argv], [*new, *argv], args.runs)))
            print(f"  {work}: done", file=sys.stderr)
        labs = {"dns-nxdomain": "db-server-02:5432", "route-no-route": "10.0.2.20:5432",
                "healthy-flat": "db-server-01:5432"}
        for name, target in labs.items():
            scenario = load_scenario(name)
            argv = ["check", target, "--timeout", "5"]
            with Lab(scenario) as lab:
                before, after = compare(lab.exec_argv(scenario.runner, [*old, *argv]),
                                        lab.exec_argv(scenario.runner, [*new, *argv]), args.runs)
            rows.append((f"check {target} ({name})", before, after))
            print(f"  {name}: done", file=sys.stderr)
        with Lab(dnstree.scenario()) as lab:
            assert lab.workdir is not None
            hints = lab.workdir / "root.hints"
            hints.write_text(dnstree.root_hints(dead_per_level=False))
            argv = ["dns", "--trace", "--root-hints", str(hints), "www.example.lab"]
            before, after = compare(lab.exec_argv(dnstree.CLIENT_HOST, [*old, *argv]),
                                    lab.exec_argv(dnstree.CLIENT_HOST, [*new, *argv]), args.runs)
        rows.append(("dns --trace www.example.lab (healthy 4-level tree)", before, after))
        print("  dns-tree: done", file=sys.stderr)
    print(f"median of {args.runs} runs each, {args.before} and this tree alternating in one loop")
    print()
    print("| work | before ms | after ms | after / before | before CPU ms | after CPU ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for work, (b_wall, b_cpu), (a_wall, a_cpu) in rows:
        print(f"| {work} | {b_wall:.0f} | {a_wall:.0f} | {a_wall / b_wall:.2f} | {b_cpu:.0f} | "
              f"{a_cpu:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
