"""What defining the model costs inside one `netdx check` of a refused loopback port.

Each run is a fresh process that times, around the real check, every class defined as a
dataclass: the time spent building classes from their recipes (netdx.model.record, loading
the `netdx.model._methods_*` tables included) and in `dataclasses._process_class` for the
classes built without one. Two modes, run alternately: `table` (as the netdx script runs:
the recipes installed for every dataclass) and `exec` (no table: every class built by
`dataclasses`, each method compiled with exec(), as before issue 14). Prints the medians of
--runs runs of each. No root needed, loopback only.

    .venv/bin/python bench/floor_model.py --runs 15
    .venv/bin/python bench/floor_model.py --runs 15 --before /tmp/before

With --before TREE (a checkout of an earlier commit, its tables generated), the `table` mode
of that tree's own bench/floor_model.py (its netdx on PYTHONPATH, its timings taken as CPU
time as here) runs alternately with this tree's, instead of the `exec` mode.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import socket
import statistics
import subprocess
import sys

_RUN = """
import dataclasses, json, sys, time
begin = time.process_time()
from netdx.model import record
spent = {"recipe": [0.0, 0], "dataclasses": [0.0, 0]}
def timed(fn, key):
    def run(*args, **kwargs):
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[key][0] += time.process_time() - start
            spent[key][1] += 1
    return run
record._from_recipe = timed(record._from_recipe, "recipe")
record._PROCESS = timed(record.original_process(), "dataclasses")
record.use_tables = sys.argv[1] == "table"
from netdx.start import main
code = main(["check", sys.argv[2], "--timeout", "2"])
print(json.dumps({"classes": spent["dataclasses"][1] + (spent["recipe"][1] if
                  record.use_tables else 0),
                  "recipes": len(record.built),
                  "define_ms": (spent["recipe"][0] + spent["dataclasses"][0]) * 1000,
                  "main_ms": (time.process_time() - begin) * 1000}), file=sys.stderr)
"""


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def once(mode: str, target: str, before: str | None = None) -> dict[str, float]:
    code, env = _RUN, None
    if before is not None:
        snippet = runpy.run_path(os.path.join(before, "bench", "floor_model.py"))["_RUN"]
        code = snippet.replace("perf_counter()", "process_time()")
        env = dict(os.environ, PYTHONPATH=os.path.join(before, "src"))
    proc = subprocess.run([sys.executable, "-c", code, mode, target], capture_output=True,
                          text=True, timeout=60, check=False, env=env)
    sample: dict[str, float] = json.loads(proc.stderr.strip().splitlines()[-1])
    return sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each mode")
    parser.add_argument("--before", help="an earlier checkout to compare with")
    args = parser.parse_args()
    target = f"127.0.0.1:{refused_port()}"
    other = "exec" if args.before is None else "before"
    samples: dict[str, list[dict[str, float]]] = {"table": [], other: []}
    for _ in range(args.runs):
        samples["table"].append(once("table", target))
        samples[other].append(once("exec", target) if args.before is None
                              else once("table", target, args.before))
    print(f"check {target} (refused), median of {args.runs} runs of each, alternating")
    print()
    print("| mode | classes defined | from a recipe | defining them CPU ms | main() CPU ms |")
    print("|---|---:|---:|---:|---:|")
    for mode, runs in samples.items():
        def median(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(run.get(key, 0) for run in runs)

        print(f"| {mode} | {median('classes'):.0f} | {median('recipes'):.0f} | "
              f"{median('define_ms'):.1f} | {median('main_ms'):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
