"""What defining the model costs inside one `netdx check` of a refused loopback port.

Each run is a fresh process that times, around the real check, every class `dataclasses`
processes (`dataclasses._process_class`) and the loads of the precompiled methods
(`netdx.model._methods_*`, inside it), in two modes run alternately: `table` (as the netdx
script runs: netdx.model.record's precompiled methods, installed for every dataclass) and
`exec` (no table: every method compiled by dataclasses with exec(), as before issue 14's
second cut). Prints the medians of --runs runs of each. No root needed, loopback only.

    .venv/bin/python bench/floor_model.py --runs 15
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys

_RUN = """
import dataclasses, json, sys, time
spent = [0.0, 0]
process = dataclasses._process_class
def timed(*args, **kwargs):
    start = time.perf_counter()
    try:
        return process(*args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - start
        spent[1] += 1
dataclasses._process_class = timed
begin = time.perf_counter()
from netdx.model import record
loading = [0.0]
load = record._methods
def timed_load(package):
    start = time.perf_counter()
    try:
        return load(package)
    finally:
        loading[0] += time.perf_counter() - start
record._methods = timed_load if sys.argv[1] == "table" else (lambda package: {})
from netdx.start import main
code = main(["check", sys.argv[2], "--timeout", "2"])
print(json.dumps({"classes": spent[1], "define_ms": spent[0] * 1000, "table_ms": loading[0] * 1000,
                  "main_ms": (time.perf_counter() - begin) * 1000}), file=sys.stderr)
"""


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def once(mode: str, target: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", _RUN, mode, target], capture_output=True,
                          text=True, timeout=60, check=False)
    sample: dict[str, float] = json.loads(proc.stderr.strip().splitlines()[-1])
    return sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each mode")
    args = parser.parse_args()
    target = f"127.0.0.1:{refused_port()}"
    samples: dict[str, list[dict[str, float]]] = {"table": [], "exec": []}
    for _ in range(args.runs):
        for mode, runs in samples.items():
            runs.append(once(mode, target))
    print(f"check {target} (refused), median of {args.runs} runs of each, alternating")
    print()
    print("| mode | classes defined | defining them ms | loading the table ms | "
          "main() ms |")
    print("|---|---:|---:|---:|---:|")
    for mode, runs in samples.items():
        def median(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(run[key] for run in runs)

        print(f"| {mode} | {median('classes'):.0f} | {median('define_ms'):.1f} | "
              f"{median('table_ms'):.1f} | {median('main_ms'):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
