"""`netdx verify` from the command line, without touching the network: bad flows files and
inventories exit 2 with FILE:LINE on one line; flows whose sources are remote hosts exit 3
(never a pass) and still write the JUnit file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from netdx.cli import main

REMOTE_ONLY = "flows:\n  - {from: web, to: 'db:5432', expect: deny, deny_by: [port.filtered]}\n"
INVENTORY = "[web]\nw[1:2] ansible_host=192.0.2.1\n[db]\ndb1 ansible_host=192.0.2.2\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_remote_sources_exit_3_and_say_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two remote sources SSH cannot reach (no ssh client on the PATH: nothing is sent) are
    two errors: exit 3, the matrix says why, JUnit has <error>s."""
    monkeypatch.setenv("PATH", str(tmp_path))
    flows = write(tmp_path, "flows.yaml", REMOTE_ONLY)
    inventory = write(tmp_path, "hosts.ini", INVENTORY)
    junit = tmp_path / "out.xml"
    assert main(["verify", flows, "-i", inventory, "--junit", str(junit)]) == 3
    out = capsys.readouterr().out
    assert "ssh.error: ssh: No such file or directory" in out
    assert "0 as expected, 0 not, 2 could not run" in out
    root = ET.parse(junit).getroot()
    assert [c.get("classname") for c in root.iter("testcase")] == ["netdx.web.w1", "netdx.web.w2"]
    assert len(list(root.iter("error"))) == 2


@pytest.mark.parametrize(
    ("flows", "inventory", "expected"),
    [
        ("flows: {}\n", None, "flows.yaml:1: flows: Input should be a valid list"),
        (
            "flows:\n  - {from: nope, to: 'x:1', expect: allow}\n",
            INVENTORY,
            "flows.yaml:2: from: unknown",
        ),
        (
            "flows:\n  - {from: web, to: 'db:0', expect: allow}\n",
            INVENTORY,
            "flows.yaml:2: to: 'db:0'",
        ),
        (REMOTE_ONLY, "[a:children]\nb\n[b:children]\na\n", "hosts.ini:4: a cycle of groups"),
        (REMOTE_ONLY, None, "flows.yaml:2: from: 'web' names inventory hosts: give -i"),
    ],
)
def test_bad_input_exits_2_with_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flows: str,
    inventory: str | None,
    expected: str,
) -> None:
    """Bad flows or inventory: exit 2 and one stderr line naming the file and line."""
    argv = ["verify", write(tmp_path, "flows.yaml", flows)]
    if inventory is not None:
        argv += ["-i", write(tmp_path, "hosts.ini", inventory)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_json_and_markdown_together_is_a_usage_error(tmp_path: Path) -> None:
    """--json and --markdown cannot be combined."""
    flows = write(tmp_path, "flows.yaml", REMOTE_ONLY)
    assert main(["verify", flows, "--json", "--markdown"]) == 2
