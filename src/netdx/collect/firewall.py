"""The firewall captures as raw text: the commands `netdx.firewall.live` parses, run at once.

Each takes about 0.3 s on a 10,000-rule ruleset, so they run in parallel threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .system import Budget, Host, RunResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")
    R = TypeVar("R")

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

    return tuple(at_once(one, commands))


def at_once(call: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`call(item)` for every item at once, the first in this thread and each other in a
    thread of its own; the results in order, or the first item's exception that raised (as
    `ThreadPoolExecutor.map`). Each call is bounded by its own timeout (a command's), so
    the joins are too. Plain threads, not concurrent.futures: that imports logging, ~6 ms
    of a check that reads a host's firewall."""
    import threading

    results: list[R | None] = [None] * len(items)
    errors: dict[int, BaseException] = {}

    def run(index: int) -> None:
        try:
            results[index] = call(items[index])
        except BaseException as exc:  # raised in the caller's thread below
            errors[index] = exc

    threads = [threading.Thread(target=run, args=(index,), daemon=True)
               for index in range(1, len(items))]
    for thread in threads:
        thread.start()
    if items:
        run(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[min(errors)]
    return results  # type: ignore[return-value]  # every call returned: no None is left


def refused_for_privilege(result: RunResult) -> bool:
    """True when a command failed because it was not run as root."""
    text = (result.error or result.stderr).lower()
    return not result.ok and any(marker in text for marker in _NOT_ROOT)
