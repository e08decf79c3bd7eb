"""An output file that cannot be written is a one-line usage error naming it (exit 2),
never an internal error: an empty name, a directory, a missing folder, a full disk, a name
too long, a FIFO nobody reads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import click
import pytest

from netdx.cli import main
from netdx.firewall.live import RunResult


def _readable(argv: Sequence[str]) -> RunResult:
    """A host whose (empty) ruleset reads fine."""
    if argv[0] == "nft":
        return RunResult(returncode=0, stdout='{"nftables": [{"metainfo": {}}]}')
    return RunResult(returncode=0, stdout="[]" if argv[0] == "ip" else "")


@pytest.mark.parametrize(
    "where", ["", "DIR", "DIR/nodir/x", "/dev/full", "DIR/" + "a" * 300, "DIR/fifo"]
)
def test_unwritable_snapshot_output_is_a_usage_error(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`firewall snapshot -o PATH` with a PATH that cannot be written: exit 2, one line."""
    import netdx.firewall.live as live

    monkeypatch.setattr(live, "subprocess_runner", lambda deadline, netns=None: _readable)
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "fifo")  # nobody reads it: opening it to write would wait forever
    path = where.replace("DIR", str(tmp_path))
    assert main(["firewall", "snapshot", "-o", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith("netdx: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err


def test_writable_snapshot_output_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same command with a good path writes the snapshot document."""
    import netdx.firewall.live as live

    monkeypatch.setattr(live, "subprocess_runner", lambda deadline, netns=None: _readable)
    out = tmp_path / "snap.json"
    assert main(["firewall", "snapshot", "-o", str(out)]) == 0
    assert '"schema": "netdx.firewall.snapshot/1"' in out.read_text()


def test_a_fifo_with_a_reader_is_written(tmp_path: Path) -> None:
    """A FIFO someone reads (`-o >(gzip > x)`) is an ordinary output: the text arrives whole."""
    from netdx.options import write_output

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    for _ in range(3000):  # until the reader's open() is in: before it the write is refused
        try:
            write_output(str(fifo), "x" * 100_000)
            break
        except click.UsageError:
            time.sleep(0.01)
    reader.join(timeout=30)
    assert got == [b"x" * 100_000 + b"\n"]


def test_json_file_dash_is_standard_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-` as an output file means standard output, not a file named '-'."""
    from netdx.options import write_output

    monkeypatch.chdir(tmp_path)
    write_output("-", '{"schema": "x"}')
    assert capsys.readouterr().out == '{"schema": "x"}\n'
    assert not (tmp_path / "-").exists()


def test_an_ascii_only_terminal_gets_escapes_not_an_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With PYTHONIOENCODING=ascii the check's ✔ and – are written as escapes: netdx sets
    its streams to escape what their encoding lacks instead of raising UnicodeEncodeError."""
    import io
    import sys

    from netdx import start

    raw = io.BytesIO()
    ascii_out = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", ascii_out)
    start.tolerant_streams()
    print(" ✔ route", file=sys.stdout)
    ascii_out.flush()
    assert raw.getvalue() == b" \\u2714 route\n"
