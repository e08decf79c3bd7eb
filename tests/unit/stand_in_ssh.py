"""A stand-in `ssh` first on PATH, for unit tests of netdx's SSH callers: each test module
gives the Python script that plays ssh (it reads its argv, may log it to $FAKE_SSH_LOG, and
runs the fixed remote command with /bin/sh as the real ssh's server would)."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SYSTEM_PATH = "/usr/bin:/bin"


@contextlib.contextmanager
def stand_in_ssh(monkeypatch: pytest.MonkeyPatch, script: str) -> Iterator[Path]:
    """Install `script` as `ssh` in a fresh directory first on PATH (and the ssh cache dir
    there too); yield the path of its argv log."""
    with tempfile.TemporaryDirectory(prefix="ndx-") as tmp:
        program = Path(tmp) / "ssh"
        program.write_text(f"#!{sys.executable}\n{script}")
        program.chmod(0o755)
        log = Path(tmp) / "argv.log"
        monkeypatch.setenv("PATH", f"{tmp}:{SYSTEM_PATH}")
        monkeypatch.setenv("XDG_CACHE_HOME", tmp)
        monkeypatch.setenv("FAKE_SSH_LOG", str(log))
        yield log
