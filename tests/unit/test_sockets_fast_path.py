"""`netdx sockets` without click (netdx.start → netdx.sockets.run) lists what click's command
lists: the same query, options and output for every argv the fast path reads, and click
itself for every other argv.

The listing body both paths share (`sockets.run.stream_sockets`) is replaced by a recorder
that prints what it was asked, so the comparison does not depend on this machine's sockets
changing between two runs; the last test runs the real body once through the fast path.
"""

from __future__ import annotations

from typing import Any

import pytest

from netdx import cli, start
from netdx.sockets import run
from netdx.sockets.run import fast_sockets

# (argv after `netdx`, read without click?)
ARGVS: list[tuple[list[str], bool]] = [
    (["sockets"], True),
    (["sockets", "-t"], True),
    (["sockets", "-tan"], True),
    (["sockets", "-t", "-a", "-n"], True),
    (["sockets", "-tlnp"], True),
    (["sockets", "-u", "-4"], True),
    (["sockets", "-46", "-l", "--json"], True),
    (["sockets", "--json", "-tp"], True),
    (["sockets", "-t", "-t"], True),
    (["sockets", "-ut6", "--json", "-p"], True),
    (["sockets", "--help"], False),
    (["sockets", "-t", "--timeout", "3"], False),
    (["sockets", "-t", "state", "established"], False),
    (["sockets", "--state", "close-wait"], False),
    (["sockets", "-t", "--port", "22"], False),
    (["sockets", "-t", "--summary"], False),
    (["sockets", "-tx"], False),  # click's error: no such option
    (["sockets", "-l", "--state", "established"], False),  # click's usage error
    (["sockets", "--", "-t"], False),
    (["sockets", "-"], False),
    (["sockets", "--json=1"], False),
    (["sockets", "--tcp"], False),
]


def _recorder(calls: list[tuple[Any, ...]]) -> Any:
    def record(query: Any, *, timeout: float, process: bool, as_json: bool) -> int:
        calls.append((query, timeout, process, as_json))
        print(f"listed {query} {timeout} {process} {as_json}")
        return 0

    return record


@pytest.mark.parametrize(("argv", "fast"), ARGVS, ids=[" ".join(a) for a, _ in ARGVS])
def test_fast_path_matches_click(argv: list[str], fast: bool, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Each argv asks the listing body for the same query, timeout, owners and format (or
    gives click's same usage error and exit code) through netdx.start as through click."""
    assert (fast_sockets(argv[1:]) is not None) == fast
    by_click: list[tuple[Any, ...]] = []
    by_start: list[tuple[Any, ...]] = []
    monkeypatch.setattr("netdx.sockets.cli.stream_sockets", _recorder(by_click))
    monkeypatch.setattr(run, "stream_sockets", _recorder(by_start))
    through_click = (cli.main(argv), *capsys.readouterr())
    through_start = (start.main(argv), *capsys.readouterr())
    assert through_start == through_click
    if fast:
        assert by_start == by_click[:1] and len(by_click) == 1
    else:
        assert not by_start  # click read it, both times
    if argv[1:2] in (["--help"], ["-tx"], ["--"], ["-"], ["--json=1"], ["-l"]):
        assert through_click[0] in (0, 2) and not by_click  # help, or a usage error


def test_fast_path_lists_the_sockets(capsys: pytest.CaptureFixture[str]) -> None:
    """The real body through the fast path prints the table head and exits 0 (the listing
    of this namespace's own TCP sockets, whatever they are)."""
    assert start.main(["sockets", "-tn", "-4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Proto State") and out.endswith("\n")
