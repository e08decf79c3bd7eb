"""`netdx lab shell` puts this netdx on PATH (issue 10: inside the shell `netdx` was not
found, although `lab up` prints it as the thing to try)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from netdx.lab.cli import shell_exec


def test_the_shell_finds_this_netdx_first() -> None:
    """Under sudo's secure_path the venv's bin (this interpreter's) comes first on PATH, and
    the `netdx` found there is this install's script."""
    argv, env = shell_exec("ndx-1234-client", {"PATH": "/usr/sbin:/usr/bin", "SHELL": "/bin/sh"})
    assert argv == ["ip", "netns", "exec", "ndx-1234-client", "/bin/sh"]
    first, *rest = env["PATH"].split(os.pathsep)
    assert first == os.path.dirname(sys.executable)
    assert rest == ["/usr/sbin", "/usr/bin"]
    assert (Path(first) / "netdx").exists()


def test_without_shell_or_path_bash_and_this_bin() -> None:
    """No SHELL and no PATH: bash, with only this interpreter's directory on PATH."""
    argv, env = shell_exec("ndx-1234-client", {})
    assert argv[-1] == "bash"
    assert env["PATH"] == os.path.dirname(sys.executable)
