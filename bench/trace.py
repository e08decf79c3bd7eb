"""Time `netdx trace --tcp -p PORT` against `traceroute -T -p PORT` and `mtr --tcp --report
-c 1` (when installed) on the 4-hop lab path of tests/lab/test_trace.py, to a port the third
router drops, in the same run; prints medians and ratios. Root; run under the lab lock:

    flock /tmp/netdx-lab.lock .venv/bin/python bench/trace.py --runs 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "lab"))

import test_trace as lab  # the topology lives with its tests


def timed(argv: list[str]) -> tuple[float, str]:
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    return time.monotonic() - start, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    port = str(lab.DROPPED_PORT)
    exec_c = ["ip", "netns", "exec", lab.ns("c")]
    tools = {
        "netdx trace --tcp": [sys.executable, "-m", "netdx", "trace", "--netns", lab.ns("c"),
                              "--tcp", "-p", port, "--rounds", "1", "-m", "30", lab.TARGET],
        "traceroute -T": [*exec_c, "traceroute", "-T", "-p", port, "-n", lab.TARGET],
    }
    if shutil.which("mtr"):
        tools["mtr --tcp --report -c 1"] = [*exec_c, "mtr", "--tcp", "-P", port, "--report",
                                            "-c", "1", "-n", lab.TARGET]
    else:
        print("mtr is not installed: compared with traceroute only")
    lab.destroy()
    times: dict[str, list[float]] = {name: [] for name in tools}
    try:
        lab.build()
        for _ in range(args.runs):
            for name, argv in tools.items():
                seconds, _out = timed(argv)
                times[name].append(seconds)
        base = statistics.median(times["netdx trace --tcp"])
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:<26} median {median:6.2f} s  ({median / base:5.1f}x netdx)")
    finally:
        lab.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
