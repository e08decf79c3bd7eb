"""The issue's bad inputs to `netdx verify`, end to end through the CLI: an unknown group,
a bad port, YAML that is not a mapping and a cycle of groups, in the flows file and in INI,
YAML and JSON inventories, each exit 2 with one stderr line that starts with FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdx.cli import main

FLOWS = "flows:\n  - {from: web, to: 'db:5432', expect: allow}\n"
INI = "[web]\nw1 ansible_host=192.0.2.1\n[db]\ndb1 ansible_host=192.0.2.2\n"
YAML_CYCLE = (
    "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n"
)
JSON_CYCLE = '{"a": {"children": ["b"]},\n "b": {"children": ["a"]}}'
WEB_PORT_ABC = (
    "all:\n  children:\n    web:\n      hosts:\n        w1:\n          ansible_port: abc\n"
)

CASES = [
    # (flows text, inventory file name, inventory text, the file and line, what)
    ("flows:\n  - {from: nope, to: 'db:5432', expect: allow}\n", "hosts.ini", INI,
     "flows.yaml:2", "unknown group or host 'nope'"),
    (FLOWS, "hosts.ini", "[web]\nw1\n[db]\ndb1\n[site:children]\nweb\nzz\n",
     "hosts.ini:7", "names 'zz', which no section defines"),
    ("flows:\n  - {from: web, to: 'db:70000', expect: allow}\n", "hosts.ini", INI,
     "flows.yaml:2", "port must be a number from 1 to 65535"),
    ("flows:\n  - {from: local, to: '192.0.2.1:0', expect: allow}\n", None, None,
     "flows.yaml:2", "port 0 is out of range"),
    (FLOWS, "hosts.ini", "[web]\nw1 ansible_port=99999\n[db]\ndb1\n",
     "hosts.ini:2", "ansible_port '99999' is not a port"),
    (FLOWS, "hosts.yml", WEB_PORT_ABC, "hosts.yml:5", "ansible_port 'abc' is not a port"),
    ("- a\n- b\n", None, None, "flows.yaml:1", "a flows file must be a mapping"),
    ("just text\n", None, None, "flows.yaml:1", "a flows file must be a mapping"),
    (FLOWS, "hosts.yml", "- a\n", "hosts.yml:1", "a YAML inventory must be a mapping"),
    (FLOWS, "hosts.yml", "web: [a]\n", "hosts.yml:1", "group 'web' must be a mapping"),
    (FLOWS, "hosts.json", "[1, 2]\n", "hosts.json:1", "must be an object of groups"),
    (FLOWS, "hosts.ini", "[web]\nw1\n[a:children]\nb\n[b:children]\na\n",
     "hosts.ini:6", "a cycle of groups: a -> b -> a"),
    (FLOWS, "hosts.ini", "[a:children]\na\n", "hosts.ini:2", "a cycle of groups: a -> a"),
    (FLOWS, "hosts.yml", YAML_CYCLE, "hosts.yml:7", "a cycle of groups: a -> b -> a"),
    (FLOWS, "hosts.json", JSON_CYCLE, "hosts.json:2", "a cycle of groups: a -> b -> a"),
]  # fmt: skip


@pytest.mark.parametrize(("flows", "name", "inventory", "where", "what"), CASES)
def test_bad_input_is_one_line_with_file_and_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flows: str,
    name: str | None,
    inventory: str | None,
    where: str,
    what: str,
) -> None:
    """Exit 2; stderr is one line: `netdx: error: FILE:LINE: ...` saying what is wrong."""
    (tmp_path / "flows.yaml").write_text(flows)
    argv = ["verify", str(tmp_path / "flows.yaml")]
    if name is not None and inventory is not None:
        (tmp_path / name).write_text(inventory)
        argv += ["-i", str(tmp_path / name)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"netdx: error: {tmp_path}/{where}: "), captured.err
    assert what in captured.err, captured.err
