"""The flows file of netdx verify: a good file becomes frozen Flows with their lines; a bad
one is one line naming the file, the line and what is wrong."""

from __future__ import annotations

import hashlib

import pytest

from netdx.errors import UsageError
from netdx.verify.flows import parse_flows

GOOD = """\
defaults: {timeout: 3}
flows:
  - name: payments-to-db
    from: payments
    to: db-server-01:5432
    expect: allow
  - from: web
    to: db:5432
    expect: deny
    deny_by: [port.filtered, firewall.reject_admin]
    read_destination: true
    timeout: 1.5
"""


def test_good_file() -> None:
    """Names default to `<from> -> <to>`, timeouts to `defaults`, and each flow keeps its
    line and the file its sha256."""
    flows = parse_flows(GOOD, source="f.yaml")
    first, second = flows.flows
    assert (first.name, first.source, first.to, first.expect, first.timeout, first.line) == (
        "payments-to-db", "payments", "db-server-01:5432", "allow", 3.0, 3,
    )  # fmt: skip
    assert second.name == "web -> db:5432"
    assert second.deny_by == ("port.filtered", "firewall.reject_admin")
    assert second.read_destination and second.timeout == 1.5 and second.line == 7
    assert flows.sha256 == hashlib.sha256(GOOD.encode()).hexdigest()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n", "f.yaml:1: a flows file must be a mapping"),
        ("flows: [\n", "f.yaml:2: invalid YAML"),
        ("flows: []\n", "f.yaml:1: flows: List should have at least 1 item"),
        (
            "flows:\n  - from: local\n    to: x:1\n    expect: maybe\n",
            "f.yaml:4: flows.0.expect: Input should be 'allow' or 'deny'",
        ),
        (
            "flows:\n  - from: local\n\n    to: x:1\n    expect: deny\n"
            "    deny_by: [port.blocked]\n",
            "f.yaml:6: flows.0.deny_by: unknown cause 'port.blocked'",
        ),
        (
            "flows:\n  - from: local\n    to: x:1\n    expect: allow\n"
            "    deny_by: [port.filtered]\n",
            "f.yaml:2: flows.0: deny_by is for flows that expect deny",
        ),
        (
            "flows:\n  - from: local\n    to: 5432\n    expect: deny\n",
            "f.yaml:3: flows.0.to: Input should be a valid string",
        ),
        (
            "defaults: {timeout: 0}\nflows:\n - {from: local, to: x:1, expect: allow}\n",
            "f.yaml:1: defaults.timeout: must be between 0.1 and 300 seconds",
        ),
        (
            "flows:\n - from: local\n   to: x:1\n   expect: allow\n   colour: red\n",
            "f.yaml:5: flows.0.colour: Extra inputs are not permitted",
        ),
        ("flows:\n - to: x:1\n   expect: allow\n", "f.yaml:2: flows.0.from: Field required"),
    ],
)
def test_bad_files_say_file_line_and_what(text: str, expected: str) -> None:
    """Each mistake is reported at the line to edit, in one line."""
    with pytest.raises(UsageError) as info:
        parse_flows(text, source="f.yaml")
    assert str(info.value).startswith(expected), str(info.value)
    assert "\n" not in str(info.value)
