"""`netdx check --ssh` on the command line: what is refused before anything runs."""

from __future__ import annotations

import pytest

from netdx.cli import main


def test_ssh_needs_a_port(capsys: pytest.CaptureFixture[str]) -> None:
    """--ssh reads the server's side of a port: a host-only target is a one-line usage
    error (exit 2), before any probe or ssh runs."""
    assert main(["check", "192.0.2.1", "--ssh", "root@192.0.2.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--ssh" in err and "192.0.2.1:PORT" in err


@pytest.mark.parametrize(
    "dest", ["root@db;reboot", "$(id)@db", "`id`@db", "db\nreboot", "-oProxyCommand=x"]
)
def test_shell_text_in_the_destination_is_refused(
    dest: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A destination with shell syntax or an option's dash never reaches ssh: exit 2 with
    one line, before any probe runs."""
    assert main(["check", "192.0.2.1:5432", "--ssh", dest, "--timeout", "0.5"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_help_names_the_ssh_options() -> None:
    """`check --help` lists --ssh and its companions (names fixed for scripts)."""
    from click.testing import CliRunner

    from netdx.cli import cli

    out = CliRunner().invoke(cli, ["check", "--help"]).output
    for option in ("--ssh", "--ssh-key", "--known-hosts", "--ssh-option", "--sudo"):
        assert option in out
