"""Every cause code in docs/causes.md is produced by at least one rule test.

A cause counts as produced when a rule emits it, either here, by running the check rules
over every evidence literal of evidence_cases.py and every captured lab evidence, or in a
unit test that asserts a finding's or verdict's cause equals (or contains) that code.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import evidence_cases

from netdx.diagnose import diagnose, run_rules
from netdx.model import CheckEvidence
from netdx.model.codec import from_data

UNIT = Path(__file__).resolve().parent
DOCS = UNIT.parents[1] / "docs" / "causes.md"
CAUSE_CODE = re.compile(r"^(ok|unknown|[a-z]+\.[a-z0-9_]+)$")


def documented_causes() -> set[str]:
    """The cause headings of docs/causes.md, less those marked as not emitted yet."""
    text = DOCS.read_text()
    headings = re.findall(r"^### `([a-z0-9_.]+)`(.*)$", text, flags=re.MULTILINE)
    return {code for code, rest in headings if "reserved" not in rest}


def evidence_literals() -> Iterator[CheckEvidence]:
    """The hand-written evidence literals and the evidence captured in the lab."""
    yield from (v for v in vars(evidence_cases).values() if isinstance(v, CheckEvidence))
    for path in sorted((UNIT / "fixtures" / "evidence").glob("*.json")):
        yield from_data(CheckEvidence, json.loads(path.read_text()))


def check_rule_causes() -> set[str]:
    """Causes the check rules emit, as findings or verdicts, over every evidence literal."""
    causes: set[str] = set()
    for ev in evidence_literals():
        causes |= {f.cause for f in run_rules(ev)}
        causes.add(diagnose(ev)[1].cause)
    return causes


def _mentions_cause(node: ast.AST) -> bool:
    """The expression reads a cause: `x.cause`, `x["cause"]`, or a helper named *cause*."""
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and "cause" in n.attr:
            return True
        if isinstance(n, ast.Name) and "cause" in n.id:
            return True
        if isinstance(n, ast.Constant) and n.value == "cause":
            return True
    return False


def asserted_causes(root: Path = UNIT) -> dict[str, list[str]]:
    """For each cause code, the unit tests with an `assert` that reads a cause and names
    that code literally (`assert f.cause == "port.refused"`)."""
    found: dict[str, list[str]] = {}
    # This file's own self-test names codes in its asserts: it proves nothing about rules.
    for path in sorted(p for p in root.rglob("test_*.py") if p.resolve() != Path(__file__)):
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test_"):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, ast.Assert) or not _mentions_cause(node.test):
                    continue
                codes = {
                    n.value
                    for n in ast.walk(node.test)
                    if isinstance(n, ast.Constant)
                    and isinstance(n.value, str)
                    and CAUSE_CODE.match(n.value)
                }
                for code in sorted(codes):
                    found.setdefault(code, []).append(f"{path.relative_to(root)}::{fn.name}")
    return found


def test_every_documented_cause_has_a_rule_test() -> None:
    """No cause of the public vocabulary lacks a rule test that produces it."""
    documented = documented_causes()
    produced = check_rule_causes() | set(asserted_causes())
    assert len(documented) >= 30, "the cause headings of docs/causes.md were not found"
    assert sorted(documented - produced) == []


def test_check_rules_cover_their_vocabulary_on_literals() -> None:
    """The evidence literals alone make the check rules produce every cause of `netdx
    check`, and nothing undocumented."""
    from netdx.diagnose import CAUSES

    produced = check_rule_causes()
    assert produced == set(CAUSES)
    assert produced <= documented_causes()


def test_the_scan_counts_only_asserted_causes(tmp_path: Path) -> None:
    """A code counts when an assert compares it with a cause; a code in a list, a comment
    or an assert that reads no cause does not."""
    (tmp_path / "test_x.py").write_text(
        "def test_a():\n"
        "    f = rule()\n"
        '    assert f.cause == "port.refused"\n'
        '    assert "dns.servfail" in causes(8080)\n'
        '    assert doc["verdict"]["cause"] == "ok"\n'
        "\n"
        "def test_b():\n"
        '    codes = ["dns.refused"]  # app.time_wait_churn\n'
        '    assert "dns.cname_loop" in text\n'
        "\n"
        "def helper():\n"
        '    assert f.cause == "route.no_route"\n'
    )
    assert asserted_causes(tmp_path) == {
        "port.refused": ["test_x.py::test_a"],
        "dns.servfail": ["test_x.py::test_a"],
        "ok": ["test_x.py::test_a"],
    }
