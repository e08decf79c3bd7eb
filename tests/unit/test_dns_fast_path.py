"""`netdx dns ...` without click (netdx.start → netdx.dns.run) behaves as through click
(netdx.cli): the same output, errors and exit code on every argv, fast or not.

Nothing here sends a packet: the traces walk from root hints that name only a loopback
server, which a trace never asks (it refuses loopback addresses), and every other argv is a
usage error before any query; none asks the machine's resolver.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from two_paths import run_steady

from netdx import cli, start
from netdx.dns.run import fast_dns

# (argv, with HINTS for a hints file and DIR for a directory; read without click?)
ARGVS: list[tuple[list[str], bool]] = [
    (["dns", "--trace", "--root-hints", "HINTS", "www.example.lab"], True),
    (["dns", "www.example.lab", "+trace", "--root-hints=HINTS", "--json"], True),
    (["dns", "--json", "--trace", "--root-hints", "HINTS", "--timeout", "2", "example.lab",
      "MX"], True),
    (["dns", "+trace", "+short", "--root-hints", "HINTS", "www.example.lab"], True),
    (["dns"], True),  # the body's usage error: no NAME
    (["dns", "a..b", "--trace", "--root-hints", "HINTS"], True),
    (["dns", "x.lab", "+short", "--json"], True),
    (["dns", "x.lab", "--short", "--compare"], True),
    (["dns", "@-nope", "x.lab"], True),
    (["dns", "x.lab", "+bogus"], True),
    (["dns", "x.lab", "A", "extra"], True),
    (["dns", "--trace", "--root-hints", "/nonexistent/root.hints", "x.lab"], True),
    (["dns", "--help"], False),
    (["dns", "-x", "10.53.1.10", "--trace", "--root-hints", "HINTS"], False),
    (["dns", "x.lab", "--trace", "--root-hints", "HINTS", "--timeout", "0"], False),
    (["dns", "x.lab", "--timeout", "nan"], False),
    (["dns", "x.lab", "--trace", "--root-hints", "DIR"], False),  # click.Path's error
    (["dns", "--trace", "--trace", "x.lab", "--root-hints", "HINTS"], False),
    (["dns", "--", "@-nope", "x.lab"], False),
    (["dns", "x.lab", "--root-hints"], False),
    (["dns", "x.lab", "--json=1"], False),
    (["dns", "x.lab", "-p", "0"], False),
]


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, str]:
    """HINTS: root hints whose only server is on loopback (never asked); DIR: a directory."""
    hints = tmp_path / "root.hints"
    hints.write_text(". 3600 NS a.root.lab.\na.root.lab. 3600 A 127.0.0.1\n")
    return {"HINTS": str(hints), "DIR": str(tmp_path)}


@pytest.mark.parametrize(("argv", "fast"), ARGVS, ids=[" ".join(a) for a, _ in ARGVS])
def test_fast_path_matches_click(argv: list[str], fast: bool, paths: dict[str, str],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Each argv gives the same exit code, stdout and stderr through netdx.start as through
    click; only the plain forms are read without click."""
    argv = [paths.get(a, a) for a in argv]
    assert (fast_dns(argv[1:]) is not None) == fast
    through_click = run_steady(cli.main, argv, capsys)
    through_start = run_steady(start.main, argv, capsys)
    assert through_start == through_click
    # Help is 0; every other argv is a usage error (2) or a trace that learned nothing (1).
    assert through_click[0] in ((0,) if argv == ["dns", "--help"] else (1, 2))


def test_a_trace_without_click_reports_what_click_reports(
    paths: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The walk really runs through the fast path: the unusable loopback root is named, and
    the exit code says a problem was found."""
    argv = ["dns", "--trace", "--root-hints", paths["HINTS"], "www.example.lab"]
    assert start.main(argv) == 1
    out = capsys.readouterr().out
    assert "unusable address 127.0.0.1" in out and "dns.trace_incomplete" in out
