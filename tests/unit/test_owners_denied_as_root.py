"""A process whose fds are refused to root is not "needs root" (issue 10: pid 1 of a sandbox
was reported "not readable (needs root)" to root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_sockets_owners import make_proc

from netdx.budget import Deadline
from netdx.sockets.owners import find_owners


def test_refused_to_root_says_ptrace_not_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root, a refused fd directory names ptrace access as the reason, never root."""
    proc = make_proc(tmp_path)
    real_open = os.open

    def refusing_open(path: str, flags: int, *args: object, **kwargs: object) -> int:
        if path.endswith("/20/fd"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing_open)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    scan = find_owners([113], deadline=Deadline.after(5), proc=str(proc))
    [issue] = scan.unreadable
    assert issue.pid == 20
    assert "needs root" not in issue.reason
    assert "even as root" in issue.reason and "ptrace" in issue.reason
