"""The outputs of netdx verify: JUnit valid against Jenkins' junit-10.xsd with failures,
errors and properties where CI reads them; the netdx.verify/1 JSON; the textfile metrics;
and a remote source that is reported as an error whose cause is ssh's status (`ssh.auth`)
in every output, never run from here."""

from __future__ import annotations

import asyncio
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from netdx.budget import Deadline
from netdx.diagnose import CAUSES
from netdx.model import Report, Verdict
from netdx.verify.flows import parse_flows
from netdx.verify.inventory import parse_inventory
from netdx.verify.junit import to_junit
from netdx.verify.matrix import expand, judge
from netdx.verify.render import Run, render_matrix, to_json, to_markdown
from netdx.verify.run import CaseResult, run_cases
from netdx.verify.textfile import to_textfile, write_textfile

XSD = Path(__file__).parent / "fixtures" / "junit" / "junit-10.xsd"
FLOWS = parse_flows(
    "flows:\n"
    "  - {name: db, from: local, to: 'db:5432', expect: deny, deny_by: [port.filtered]}\n"
    "  - {name: dns, from: local, to: 'ns1:53', expect: allow}\n"
    "  - {name: web, from: web, to: 'db:5432', expect: deny}\n",
    source="flows.yaml",
)
INVENTORY = parse_inventory("[web]\nw1 ansible_host=10.0.0.1\n", source="hosts.ini")
AUTH = "ssh.auth: root@10.0.0.1: Permission denied (publickey)"


def make_run() -> Run:
    cases = expand(FLOWS, INVENTORY)
    outcomes = ["port.filtered", "dns.nxdomain\x01", None]
    results = []
    for case, cause in zip(cases, outcomes, strict=True):
        if cause is None:
            results.append(
                CaseResult(
                    case=case,
                    report=None,
                    judgement=judge(case, None, AUTH, error_cause="ssh.auth"),
                )
            )
            continue
        verdict = Verdict(cause=cause, summary=f"{cause} <&>", evidence=("TCP connect: no reply",))
        report = Report(target=case.target, steps=(), verdict=verdict, elapsed_ms=12.0)
        results.append(CaseResult(case=case, report=report, judgement=judge(case, report)))
    return Run(flows=FLOWS, inventory="hosts.ini", results=tuple(results), elapsed_ms=40.0)


def test_junit_is_valid_against_the_jenkins_schema() -> None:
    """The document validates against junit-10.xsd, even with XML-hostile text in it."""
    xmlschema.XMLSchema(str(XSD)).validate(to_junit(make_run()))


def test_junit_cases_failures_errors_and_properties() -> None:
    """One testcase per flow with the agreed classname and name; a mismatch is a failure,
    a flow netdx could not run an error typed by its cause (ssh.auth); the verdict and
    evidence are in the body."""
    root = ET.fromstring(to_junit(make_run()))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["flows.sha256"] == FLOWS.sha256 and props["netdx.version"]
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("netdx.local.local", "db:5432 expect=deny"),
        ("netdx.local.local", "ns1:53 expect=allow"),
        ("netdx.web.w1", "db:5432 expect=deny"),
    ]
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.text is not None
    assert "verdict: dns.nxdomain" in failure.text and "evidence: TCP connect" in failure.text
    error = cases[2].find("error")
    assert error is not None and error.get("message") == AUTH
    assert error.get("type") == "ssh.auth"


def test_json_document() -> None:
    """netdx.verify/1 carries the summary and each flow with its full check report."""
    document = json.loads(to_json(make_run()))
    assert document["schema"] == "netdx.verify/1"
    assert document["summary"] == {"total": 3, "passed": 1, "failed": 1, "errors": 1}
    first, _, last = document["results"]
    assert first["report"]["verdict"]["cause"] == "port.filtered" and first["outcome"] == "pass"
    assert last["report"] is None and last["outcome"] == "error"
    assert (last["cause"], last["reason"]) == ("ssh.auth", AUTH)


def test_markdown_rows() -> None:
    """Markdown has one row per flow with its mark and cause."""
    text = to_markdown(make_run())
    assert "| ✔ | db | local | db:5432 | deny | `port.filtered` |" in text
    assert "| ! | web | w1 | db:5432 | deny | `ssh.auth` | ssh.auth: root@10.0.0.1: " in text


def test_textfile_metrics(tmp_path: Path) -> None:
    """The textfile has the exporter's names, the cause as an enum over the vocabulary, no
    timestamps, and lands by rename (no temporary file left)."""
    path = write_textfile(make_run(), str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["netdx_verify_flows.prom"]
    text = Path(path).read_text()
    assert text == to_textfile(make_run()) + "\n"
    labels = 'flow="db",source="local",destination="db:5432",expect="deny"'
    assert f'netdx_probe_cause{{{labels},cause="port.filtered"}} 1' in text
    assert f'netdx_probe_cause{{{labels},cause="ok"}} 0' in text
    assert sum(
        1 for line in text.splitlines() if line.startswith(f"netdx_probe_cause{{{labels}")
    ) == len(CAUSES)
    assert f"netdx_verify_flow_as_expected{{{labels}}} 1" in text
    assert (
        'netdx_verify_flow_error{flow="web",source="w1",destination="db:5432",expect="deny"} 1'
        in text
    )
    for line in text.splitlines():
        if not line.startswith("#"):
            assert len(line.rsplit(" ", 2)) == 2 or line.count("} ") == 1  # value, no timestamp


def test_remote_source_is_an_error_not_a_local_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case whose source is an inventory host that SSH cannot reach (no ssh client on the
    PATH: nothing is sent) is not run from here: it is an error with the ssh status as its
    cause, so verify exits 3, never a fake pass."""
    monkeypatch.setenv("PATH", str(tmp_path))
    (web_case,) = [c for c in expand(FLOWS, INVENTORY) if c.source is not None]
    (result,) = asyncio.run(run_cases((web_case,), deadline=Deadline.after(5), max_concurrent=1))
    assert result.report is None and result.judgement.outcome == "error"
    assert result.judgement.reason.startswith("ssh.error: ssh: ")
    assert result.judgement.cause == "ssh.error"


@pytest.mark.parametrize("deadline_s", [0.0, 0.05])
def test_spent_deadline_runs_nothing(deadline_s: float) -> None:
    """Once the one --deadline is spent, a local case is an error, not a check."""
    (local_case, *_) = expand(FLOWS, INVENTORY)
    (result,) = asyncio.run(
        run_cases((local_case,), deadline=Deadline.after(deadline_s), max_concurrent=1)
    )
    assert result.judgement.outcome == "error" and "deadline" in result.judgement.reason


MATRIX = """\
             netdx verify flows.yaml
┏━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ from \\ to ┃ db:5432         ┃ ns1:53          ┃
┡━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ local     │ ✔ port.filtered │ ✘ dns.nxdomain\ufffd │
│ w1        │ ! ssh.auth      │                 │
└───────────┴─────────────────┴─────────────────┘
✘ dns (local → ns1:53, expect allow): expected allow, got dns.nxdomain\ufffd: dns.nxdomain\ufffd <&>
! web (w1 → db:5432, expect deny): ssh.auth: root@10.0.0.1: Permission denied (publickey)
1 as expected, 1 not, 1 could not run (3 flows, 0.0 s)
"""


def test_terminal_matrix_at_a_fixed_width() -> None:
    """Rows are sources, columns destinations, each cell the outcome's mark and the cause;
    what is not as expected is listed below with why (control characters dropped)."""
    out = io.StringIO()
    render_matrix(make_run(), file=out, width=100)
    assert [line.rstrip() for line in out.getvalue().splitlines()] == MATRIX.splitlines()


def test_a_urls_password_never_reaches_any_output() -> None:
    """A flow to `http://u:SECRET@host/` names its destination `http://u:***@host/` in the
    flow's default name, the JUnit file, the JSON, the Markdown and the terminal matrix."""
    flows = parse_flows(
        "flows:\n  - {from: local, to: 'http://u:SECRET@10.0.0.5:8080/x', expect: allow}\n",
        source="flows.yaml",
    )
    (case,) = expand(flows, None)
    verdict = Verdict(cause="ok", summary="ok", evidence=())
    report = Report(target=case.target, steps=(), verdict=verdict, elapsed_ms=1.0)
    run = Run(
        flows=flows,
        inventory=None,
        results=(CaseResult(case=case, report=report, judgement=judge(case, report)),),
        elapsed_ms=1.0,
    )
    out = io.StringIO()
    render_matrix(run, file=out, width=120)
    texts = [to_junit(run), to_json(run), to_markdown(run), out.getvalue(), case.flow.name]
    for text in texts:
        assert "SECRET" not in text
    assert "u:***@10.0.0.5" in case.destination
