"""A file the user names is read only when it is a regular file of bounded size in UTF-8:
/dev/zero cannot fill memory, a FIFO cannot hang the command, and each refusal is a
one-line usage error naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netdx.cli import main
from netdx.errors import UsageError
from netdx.files import read_user_file


def test_regular_utf8_file_is_read(tmp_path: Path) -> None:
    """A small UTF-8 file comes back as its text."""
    path = tmp_path / "hints"
    path.write_text(". 3600 IN NS a.root.\n", encoding="utf-8")
    assert read_user_file(path, what="root hints") == ". 3600 IN NS a.root.\n"


def test_fifo_device_large_binary_and_missing_files_are_refused(tmp_path: Path) -> None:
    """A FIFO without a writer, a character device, a directory (also as the empty path,
    which is `.`), a file over the cap, bytes that are not UTF-8 and a missing path are each
    refused with the reason (the FIFO without waiting)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2049)
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe")
    cases = {
        fifo: "not a regular file",
        Path("/dev/zero"): "not a regular file",
        tmp_path: "not a regular file",
        Path(""): "not a regular file",
        big: "larger than",
        binary: "not UTF-8",
        tmp_path / "none": "No such file",
    }
    for path, reason in cases.items():
        with pytest.raises(UsageError, match=reason):
            read_user_file(path, what="snapshot", limit=2048)


def test_diff_of_dev_zero_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`firewall diff /dev/zero` stops at once with exit 2 (it used to read until memory ran
    out)."""
    assert main(["firewall", "diff", "/dev/zero", "/dev/zero"]) == 2
    assert "not a regular file" in capsys.readouterr().err
