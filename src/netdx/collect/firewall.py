"""The firewall captures as raw text: the commands `netdx.firewall.live` parses, run at once.

Each takes about 0.3 s on a 10,000-rule ruleset, so they run in parallel threads.
"""

from __future__ import annotations

from collections.abc import Sequence

from .system import Budget, Host, RunResult

NFT_JSON = ("nft", "-j", "list", "ruleset")
NFT_TEXT = ("nft", "-a", "list", "ruleset")
ADDRESSES = ("ip", "-j", "addr", "show")
SAVES = (
    ("iptables-nft-save",),
    ("ip6tables-nft-save",),
    ("iptables-legacy-save",),
    ("ip6tables-legacy-save",),
)
COMMANDS: tuple[tuple[str, ...], ...] = (NFT_JSON, NFT_TEXT, ADDRESSES, *SAVES)

# What nft and iptables print when run without CAP_NET_ADMIN.
_NOT_ROOT = ("operation not permitted", "permission denied", "must be root")


def run_commands(
    host: Host, commands: Sequence[Sequence[str]], deadline: Budget
) -> tuple[RunResult, ...]:
    """Run `commands` on `host` at once, each bounded by the deadline; results in order."""

    def one(argv: Sequence[str]) -> RunResult:
        return host.run(argv, timeout=deadline.remaining())

    # Here: concurrent.futures imports logging (~12 ms), which a check that only reads the
    # names below (netdx.firewall.live) never needs.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(commands))) as pool:
        return tuple(pool.map(one, commands))


def refused_for_privilege(result: RunResult) -> bool:
    """True when a command failed because it was not run as root."""
    text = (result.error or result.stderr).lower()
    return not result.ok and any(marker in text for marker in _NOT_ROOT)
