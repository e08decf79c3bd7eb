"""Every command takes one budget, validated the same way: a bad --timeout is a one-line
usage error (exit 2) before anything runs, never an overflow or a deadline that never comes."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdx.cli import main

COMMANDS = (
    ("check", "127.0.0.1:1"),
    ("dns", "x.example", "@127.0.0.1"),
    ("sockets",),
    ("who", "80"),
    ("inspect", "--port", "80"),
    ("firewall", "explain", "--from", "10.0.0.1", "--to", "10.0.0.2:80"),
    ("firewall", "snapshot"),
    ("firewall", "diff", "SNAP"),
)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "1e309", "-1", "0", "0.05", "301", "x"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_bad_budget_is_a_usage_error_everywhere(
    command: tuple[str, ...], bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """nan, infinities, overflowing, negative, zero, too small or too large budgets, or no
    number at all: exit 2 with one line naming --timeout."""
    snap = tmp_path / "snap.json"
    snap.write_text("{}")
    argv = [str(snap) if word == "SNAP" else word for word in command]
    assert main([*argv, "--timeout", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--timeout" in err, err
