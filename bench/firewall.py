"""How long `netdx firewall explain` takes on a 10,000-rule ruleset (root: namespaces).

Loads a 10,000-rule nftables ruleset (a set-free chain of per-source rules, the worst case
for a linear walk) and a 10,000-rule iptables-nft ruleset into a scratch namespace, reads
them back like `netdx firewall explain` does, and times: the capture (nft -j, nft -a,
iptables-save), the parse, and the evaluation of a flow that matches no rule (every rule is
tried). Run: .venv/bin/python bench/firewall.py
"""

from __future__ import annotations

import subprocess
import sys
import time

from netdx.budget import Deadline
from netdx.firewall.evaluate import evaluate
from netdx.firewall.live import capture, subprocess_runner
from netdx.firewall.model import Packet
from netdx.firewall.sources import build_ruleset

NS = "ndxh-fw-bench"
RULES = 10_000


def nft_script(count: int) -> str:
    rules = "\n".join(
        f"    ip saddr 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256} "
        f"tcp dport {1 + i % 60000} drop"
        for i in range(count)
    )
    return (
        "table inet big {\n  chain input { type filter hook input priority 0; policy accept;\n"
        f"{rules}\n  }}\n}}\n"
    )


def iptables_script(count: int) -> str:
    rules = "\n".join(
        f"-A INPUT -s 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}/32 -p tcp -m tcp "
        f"--dport {1 + i % 60000} -j DROP"
        for i in range(count)
    )
    chains = ":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    return f"*filter\n{chains}{rules}\nCOMMIT\n"


def sh(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(list(argv), input=stdin, text=True, check=True, timeout=120, capture_output=True)


def bench(name: str, loader: tuple[str, ...], script: str) -> float:
    """Load, then time capture + parse + evaluate; returns the total in seconds."""
    subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)
    try:
        sh("ip", "netns", "add", NS)
        sh("ip", "netns", "exec", NS, *loader, stdin=script)
        t0 = time.perf_counter()
        captured = capture(subprocess_runner(Deadline.after(60.0), NS))
        t1 = time.perf_counter()
        ruleset = build_ruleset(captured)
        t2 = time.perf_counter()
        packet = Packet.build(saddr="192.0.2.1", daddr="10.0.0.20", dport=5432, iif="eth0")
        result = evaluate(ruleset, packet, "input")
        t3 = time.perf_counter()
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)
    rules = sum(len(c.rules) for t in ruleset.tables for c in t.chains.values())
    print(
        f"{name:<14} {rules:>6} rules  capture {t1 - t0:6.3f} s  parse {t2 - t1:6.3f} s  "
        f"evaluate {t3 - t2:6.3f} s  total {t3 - t0:6.3f} s  -> {result.decision}"
    )
    return t3 - t0


def main() -> int:
    totals = [
        bench("nftables", ("nft", "-f", "-"), nft_script(RULES)),
        bench("iptables-nft", ("iptables-nft-restore",), iptables_script(RULES)),
    ]
    return 0 if max(totals) < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
