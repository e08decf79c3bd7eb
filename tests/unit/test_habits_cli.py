"""Habits every command shares: `--help` ends with examples, and shell completion works
through click with the lazy command group (without importing every command module)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from netdx.cli import _LAZY_COMMANDS, cli

SRC = Path(__file__).resolve().parents[2] / "src"


def all_commands() -> list[tuple[str, ...]]:
    """Every command path: the group's commands and the subcommands of its groups."""
    ctx = click.Context(cli)
    out: list[tuple[str, ...]] = []
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        out.append((name,))
        if isinstance(command, click.Group):
            sub = click.Context(command)
            out += [(name, s) for s in command.list_commands(sub)]
    return out


@pytest.mark.parametrize("path", [(), *all_commands()], ids=lambda p: " ".join(p) or "netdx")
def test_help_ends_with_examples(path: tuple[str, ...]) -> None:
    """Each --help ends with an Examples section of two or three `netdx` lines (or a
    `sudo netdx` line, for the lab)."""
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="netdx")
    assert result.exit_code == 0, result.output
    tail = result.output.rstrip().split("Examples:")
    assert len(tail) == 2, f"no Examples in netdx {' '.join(path)} --help"
    lines = [line.strip() for line in tail[1].splitlines() if line.strip()]
    assert 2 <= len(lines) <= 3, lines
    assert all(line.startswith(("netdx ", "sudo netdx ", "eval ")) for line in lines), lines


def run_netdx(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m netdx` with a completion environment: what the shell runs on <TAB>."""
    full = {**os.environ, "PYTHONPATH": str(SRC), **env}
    return subprocess.run([sys.executable, "-m", "netdx"], env=full, capture_output=True,
                          text=True, timeout=60, check=False)


def test_bash_source_prints_the_completion_script() -> None:
    """`_NETDX_COMPLETE=bash_source netdx` prints a bash function bound to netdx."""
    result = run_netdx({"_NETDX_COMPLETE": "bash_source"})
    assert result.returncode == 0, result.stderr
    assert "_netdx_completion()" in result.stdout
    assert "complete -o nosort -F _netdx_completion netdx" in result.stdout


def complete(words: str, cword: int) -> list[str]:
    result = run_netdx({"_NETDX_COMPLETE": "bash_complete", "COMP_WORDS": words,
                        "COMP_CWORD": str(cword)})
    assert result.returncode == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


def test_completes_lazy_command_names_options_and_choices() -> None:
    """Lazy command names, a lazy command's options and its choices (ss state words)."""
    assert complete("netdx so", 1) == ["sockets"]
    assert "--summary" in complete("netdx sockets --su", 2)
    assert complete("netdx sockets --state time", 3) == ["time-wait"]
    assert "--version" in complete("netdx --v", 1)


def test_completing_a_command_name_imports_no_command_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Completing `netdx ` lists every command from the lazy table alone."""
    for module in {e.partition(":")[0] for e, _h in _LAZY_COMMANDS.values()}:
        monkeypatch.delitem(sys.modules, module, raising=False)
    items = cli.shell_complete(click.Context(cli), "")
    assert [i.value for i in items if i.value in _LAZY_COMMANDS] == sorted(_LAZY_COMMANDS)
    assert not [e for e, _h in _LAZY_COMMANDS.values() if e.partition(":")[0] in sys.modules]
