"""What `--ssh` costs: `netdx check` with and without the server's side, cold and warm,
against the manual sequence a person types, in the same run on the payment scenario.

Inside the payment lab (the client namespace; the server runs a real sshd), each as a whole
process, median of --repeat runs:
- `check`: `netdx check db-server-01:5432 --timeout T --json` (the client alone);
- `check --ssh` cold: a fresh cache dir each run, so ssh opens a new connection (TCP, key
  exchange, authentication) and a new shared master;
- `check --ssh` warm: the shared connection (ControlMaster) of a first run is reused;
- manual: `nc -zv -w T db-server-01 5432`, then `ssh srv 'ss -tlnp; nft -a list ruleset'`
  (a new connection, as typed), one after the other.
It prints the table, the time `--ssh` adds to the check (aims: ≤ 0.5 s warm, ≤ 2.5 s total
cold with T = 2 s), and whether every joined verdict named the server's rule and counter.

Run as root: `make bench` or `.venv/bin/python bench/ssh.py [--repeat N] [--timeout T]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netdx.lab import Lab, load_scenario

SCENARIO = "payment-db-firewall"
TARGET = "db-server-01:5432"


def timed(argv: list[str], cap: float) -> tuple[float, str]:
    """(seconds, stdout) of one whole process."""
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=cap, check=False)
    return time.monotonic() - start, proc.stdout


def _named_rule(out: str) -> bool:
    """Did the joined verdict name the server's rule with its counter?"""
    try:
        doc = json.loads(out)
    except ValueError:
        return False
    verdict = doc.get("verdict", {})
    text = " ".join([verdict.get("summary", ""), *verdict.get("evidence", [])])
    return verdict.get("cause") == "port.filtered" and "counter +" in text and "handle" in text


def _stop_masters(lab: Lab, client: str, ssh_opts: list[str], caches: list[Path]) -> None:
    """End the shared connections the runs left (each cache dir has its own)."""
    dest, key, known = ssh_opts[1], ssh_opts[3], ssh_opts[5]
    for cache in caches:
        for sock in (cache / "netdx" / "ssh").glob("*"):
            argv = ["ssh", "-o", f"ControlPath={sock}", "-i", key,
                    "-o", f"UserKnownHostsFile={known}", "-O", "exit", dest]  # fmt: skip
            subprocess.run(lab.exec_argv(client, argv), capture_output=True, timeout=10,
                           check=False)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each (median)")
    parser.add_argument("--timeout", type=float, default=2.0, help="the check's --timeout")
    args = parser.parse_args(argv)
    scenario = load_scenario(SCENARIO)
    budget = args.timeout
    cap = budget + 30.0
    caches: list[Path] = []
    rows: dict[str, list[float]] = {"check": [], "cold": [], "warm": [], "manual": []}
    named = {"cold": 0, "warm": 0}
    with Lab(scenario) as lab, tempfile.TemporaryDirectory(prefix="ndx-bench-ssh-") as tmp:
        client = scenario.runner
        ssh_opts = lab.ssh_argv()
        address = scenario.ssh_address
        assert ssh_opts and address, "the payment scenario reads its server over ssh"

        def netdx(cache: Path, *extra: str) -> list[str]:
            return lab.exec_argv(client, [
                "env", f"XDG_CACHE_HOME={cache}", sys.executable, "-m", "netdx", "check",
                TARGET, "--timeout", str(budget), "--json", *extra,
            ])  # fmt: skip

        warm_cache = Path(tmp) / "warm"
        caches.append(warm_cache)
        timed(netdx(warm_cache, *ssh_opts), cap)  # opens the shared connection
        manual_ssh = [
            "ssh", "-i", ssh_opts[3], "-o", f"UserKnownHostsFile={ssh_opts[5]}",
            "-o", "BatchMode=yes", ssh_opts[1], "ss -tlnp; nft -a list ruleset",
        ]  # fmt: skip
        for run in range(args.repeat):
            seconds, _ = timed(netdx(Path(tmp) / "none"), cap)
            rows["check"].append(seconds)
            cold_cache = Path(tmp) / f"cold-{run}"
            caches.append(cold_cache)
            seconds, out = timed(netdx(cold_cache, *ssh_opts), cap)
            rows["cold"].append(seconds)
            named["cold"] += _named_rule(out)
            seconds, out = timed(netdx(warm_cache, *ssh_opts), cap)
            rows["warm"].append(seconds)
            named["warm"] += _named_rule(out)
            nc, _ = timed(lab.exec_argv(client, ["nc", "-zv", "-w", str(int(budget)), address,
                                                 "5432"]), cap)  # fmt: skip
            ssh_s, _ = timed(lab.exec_argv(client, manual_ssh), cap)
            rows["manual"].append(nc + ssh_s)
        _stop_masters(lab, client, ssh_opts, caches)
    med = {name: statistics.median(times) for name, times in rows.items()}
    print(f"payment-db-firewall, --timeout {budget:g}, median of {args.repeat} runs:")
    print("| run | seconds | vs check alone | vs manual |")
    print("|---|---:|---:|---:|")
    labels = {
        "check": "netdx check (client only)",
        "cold": "netdx check --ssh, cold",
        "warm": "netdx check --ssh, warm connection",
        "manual": "nc -zv -w T, then ssh 'ss -tlnp; nft -a list ruleset'",
    }
    for name, label in labels.items():
        print(f"| {label} | {med[name]:.2f} | +{med[name] - med['check']:.2f} s | "
              f"{med[name] / med['manual']:.2f}x |")  # fmt: skip
    print()
    added_warm = med["warm"] - med["check"]
    print(f"--ssh adds {added_warm:.2f} s warm (aim <= 0.5 s), cold total {med['cold']:.2f} s "
          f"(aim <= 2.5 s); verdict named the rule and its counter: cold "
          f"{named['cold']}/{args.repeat}, warm {named['warm']}/{args.repeat}")  # fmt: skip
    return 0 if named["cold"] == named["warm"] == args.repeat else 1


if __name__ == "__main__":
    sys.exit(main())
