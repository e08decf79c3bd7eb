"""`live.capture(present=...)`: which commands the check's firewall read runs, given the
tables the kernel holds, and the capture they make (no kernel: a recording runner)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from netdx.collect.firewall import ADDRESSES, COMMANDS, NFT_JSON, NFT_TEXT
from netdx.collect.system import RunResult
from netdx.firewall.live import capture
from netdx.firewall.present import Present, legacy_holds_tables
from netdx.firewall.sources import build_ruleset

NFT = '{"nftables": [{"table": {"family": "inet", "name": "f", "handle": 1}}]}'


def recording(ran: list[tuple[str, ...]]) -> Callable[[Sequence[str]], RunResult]:
    def run(argv: Sequence[str]) -> RunResult:
        ran.append(tuple(argv))
        return RunResult(returncode=0, stdout=NFT if tuple(argv) == NFT_JSON else "")

    return run


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (Present(nft=frozenset(), legacy=frozenset()), set()),
        (Present(nft=frozenset({"inet"}), legacy=frozenset()), {NFT_JSON, NFT_TEXT, ADDRESSES}),
        (Present(nft=frozenset({"ip", "inet"}), legacy=frozenset()),
         {NFT_JSON, NFT_TEXT, ADDRESSES, ("iptables-nft-save",)}),
        (Present(nft=frozenset({"ip6"}), legacy=frozenset({4})),
         {NFT_JSON, NFT_TEXT, ADDRESSES, ("ip6tables-nft-save",), ("iptables-legacy-save",)}),
        (Present(nft=frozenset(), legacy=frozenset({6})),
         {ADDRESSES, ("ip6tables-legacy-save",)}),
        (None, set(COMMANDS)),
    ],
)
def test_only_the_commands_that_can_add_a_rule_run(
    present: Present | None, expected: set[tuple[str, ...]]
) -> None:
    """nft runs only with an nft table, each iptables-nft-save only with an nft table of its
    family, each legacy save only with a legacy table, the addresses only with some table;
    without `present` (not known) all seven run."""
    ran: list[tuple[str, ...]] = []
    captured = capture(recording(ran), present=present)
    assert set(ran) == expected
    assert captured.errors == ()  # a command not run is no error


def test_a_namespace_without_tables_is_an_empty_readable_ruleset() -> None:
    """With no table at all nothing runs, and the ruleset is empty and readable (not
    'unknown'), as nft's own empty listing makes it."""
    captured = capture(recording([]), present=Present(nft=frozenset(), legacy=frozenset()))
    ruleset = build_ruleset(captured)
    assert ruleset.tables == () and ruleset.unreadable == () and ruleset.notes == ()


def test_legacy_tables_are_read_from_proc(tmp_path: Path) -> None:
    """An empty or absent table list means no legacy table; a listed one, or a file that
    cannot be read (not root), means the save must run."""
    names = tmp_path / "ip_tables_names"
    assert legacy_holds_tables(4, str(names)) is False
    names.write_text("")
    assert legacy_holds_tables(4, str(names)) is False
    names.write_text("filter\n")
    assert legacy_holds_tables(4, str(names)) is True
    assert legacy_holds_tables(4, str(tmp_path)) is True  # a directory: unreadable as a file


def test_the_commands_run_at_once_and_their_results_keep_their_order() -> None:
    """`at_once` (the capture's and the collector's runner): every call is in flight at the
    same time (each waits at a barrier that opens only when all have arrived; calls one
    after another would break it), and the results come back in the items' order."""
    import threading

    from netdx.collect.firewall import at_once

    items = list(range(5))
    barrier = threading.Barrier(len(items), timeout=30)

    def call(item: int) -> int:
        barrier.wait()
        return item * 10

    assert at_once(call, items) == [0, 10, 20, 30, 40]
    assert at_once(call, []) == []


def test_the_first_failing_call_is_raised_in_the_caller() -> None:
    """A call that raises (a bug in a runner) is raised by `at_once` as by
    ThreadPoolExecutor.map: the first failing item's exception, after every call ended."""
    from netdx.collect.firewall import at_once

    ended: list[int] = []

    def call(item: int) -> int:
        ended.append(item)
        if item in (2, 3):
            raise ValueError(f"item {item}")
        return item

    with pytest.raises(ValueError, match="item 2"):
        at_once(call, [0, 1, 2, 3, 4])
    assert sorted(ended) == [0, 1, 2, 3, 4]
