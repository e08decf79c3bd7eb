"""A ruleset that cannot be read gives "unknown" with what would settle it, never "accept"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from netdx.cli import main
from netdx.errors import CannotRun
from netdx.firewall.diff import Snapshot, diff_snapshots
from netdx.firewall.explain import explain_local
from netdx.firewall.live import RunResult, capture
from netdx.firewall.model import Packet


def _not_root(argv: Sequence[str]) -> RunResult:
    """What the tools answer to an unprivileged user (captured on Debian 12)."""
    if argv[0] == "ip":
        return RunResult(returncode=0, stdout="[]")
    if argv[0] == "nft":
        return RunResult(
            returncode=1,
            stdout="",
            stderr="netlink: Error: cache initialization failed: Operation not permitted",
        )
    return RunResult(
        returncode=1,
        stdout="",
        stderr=f"{argv[0]}: Could not fetch rule set generation id: Permission denied",
    )


def test_unreadable_ruleset_is_unknown() -> None:
    """Without permission to read netfilter, explain says unknown and names root as the fix."""
    packet = Packet(family=4, saddr="10.0.0.10", daddr="10.0.0.20", proto="tcp", dport=5432)
    found = explain_local(packet, "output", runner=_not_root)
    assert found.decision == "unknown"
    assert found.rule is None and found.policy is None
    assert any("CAP_NET_ADMIN" in u for u in found.unknown)
    assert any("Operation not permitted" in u for u in found.unknown)


def test_missing_tool_only_for_addresses_does_not_make_it_unknown() -> None:
    """An unreadable address list alone does not hide the rules: nft and iptables were read."""

    def runner(argv: Sequence[str]) -> RunResult:
        if argv[0] == "ip":
            return RunResult(returncode=1, stdout="", stderr="ip: not found")
        if argv[0] == "nft":
            return RunResult(returncode=0, stdout='{"nftables": [{"metainfo": {}}]}')
        return RunResult(returncode=0, stdout="")

    packet = Packet(family=4, saddr="10.0.0.10", daddr="10.0.0.20", proto="tcp", dport=5432)
    found = explain_local(packet, "output", runner=runner)
    assert found.decision == "accept"


def test_unparseable_source_makes_every_evaluation_unknown() -> None:
    """A source that was read but cannot be parsed hides rules too: evaluate (used by
    explain and diff alike) answers unknown and names the source."""
    from netdx.firewall.evaluate import evaluate
    from netdx.firewall.sources import Capture, build_ruleset

    ruleset = build_ruleset(Capture(nft_json="{not json", addresses_json="[]"))
    packet = Packet(family=4, saddr="10.0.0.10", daddr="10.0.0.20", proto="tcp", dport=5432)
    found = evaluate(ruleset, packet, "input")
    assert found.decision == "unknown"
    assert any("nft -j list ruleset could not be read" in u for u in found.unknown)


def _snapshot(runner: Callable[[Sequence[str]], RunResult]) -> Snapshot:
    return Snapshot(capture=capture(runner), taken_at="2026-12-03T08:00:00+00:00", host="h")


def _readable(argv: Sequence[str]) -> RunResult:
    if argv[0] == "nft":
        return RunResult(returncode=0, stdout='{"nftables": [{"metainfo": {}}]}')
    return RunResult(returncode=0, stdout="[]" if argv[0] == "ip" else "")


def test_diff_against_an_unreadable_capture_is_refused() -> None:
    """A capture taken without permission would diff as "every rule removed": refused, on
    either side, with the reason and what would settle it."""
    good, bad = _snapshot(_readable), _snapshot(_not_root)
    assert diff_snapshots(good, good).rules == ()
    for old, new in ((good, bad), (bad, good)):
        with pytest.raises(CannotRun, match=r"could not be read: .*CAP_NET_ADMIN"):
            diff_snapshots(old, new)


def test_snapshot_without_permission_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`netdx firewall snapshot` as a user who cannot read netfilter exits 3 with one line
    and leaves no empty capture behind."""
    import netdx.firewall.live as live

    monkeypatch.setattr(live, "subprocess_runner", lambda deadline, netns=None: _not_root)
    out = tmp_path / "snap.json"
    assert main(["firewall", "snapshot", "-o", str(out)]) == 3
    assert not out.exists()


def test_diff_of_a_snapshot_file_without_a_ruleset_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A snapshot FILE whose capture holds no readable ruleset (no nft output and no
    reason, as an older netdx wrote without root; or a non-root capture) is unusable input:
    exit 2 naming the file and why, never exit 3 "cannot run" (make fuzz found it)."""
    import json

    from netdx.firewall.diff import snapshot_to_json

    good = tmp_path / "good.json"
    good.write_text(json.dumps(snapshot_to_json(_snapshot(_readable))))
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"schema": "netdx.firewall.snapshot/1", "taken_at": "x",
                                 "host": "h", "capture": {}}))
    denied = tmp_path / "denied.json"
    denied.write_text(json.dumps(snapshot_to_json(_snapshot(_not_root))))
    assert main(["firewall", "diff", str(good), str(good)]) == 0
    capsys.readouterr()
    for bad, why in ((empty, "no nft ruleset"), (denied, "CAP_NET_ADMIN")):
        for argv in ([str(bad), str(good)], [str(good), str(bad)]):
            assert main(["firewall", "diff", *argv]) == 2
            err = capsys.readouterr().err.strip()
            assert err.startswith(f"netdx: error: snapshot {bad}: its ruleset cannot be read")
            assert why in err and len(err.splitlines()) == 1
