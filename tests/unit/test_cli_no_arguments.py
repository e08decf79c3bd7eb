"""`netdx` and `netdx lab` with no arguments show their help (issue 10: they printed
"error: Usage:" and exited 2)."""

from __future__ import annotations

import pytest

from netdx.cli import main


@pytest.mark.parametrize("argv", [[], ["lab"], ["firewall"]])
def test_no_arguments_print_the_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A group called alone prints its help (usage, commands) on stdout and exits 0."""
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"Usage: netdx {' '.join(argv)}".rstrip() + " [OPTIONS] COMMAND")
    assert "Commands:" in out
    assert "error" not in err
