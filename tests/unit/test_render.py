"""Renderers: golden text at a fixed width, the JSON contract, quiet mode, lazy rich import.

Set NETDX_UPDATE_GOLDEN=1 to rewrite the golden files (then review them by eye).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import evidence_cases as c
import pytest
import remote_cases as r

from netdx.diagnose import build_report
from netdx.model import CheckEvidence, Report
from netdx.render import render_terminal, to_json, to_markdown

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NETDX_UPDATE_GOLDEN") == "1"

# name -> (target key, evidence): the representative cases of the golden files.
CASES: dict[str, tuple[str, CheckEvidence]] = {
    "ok": ("web", c.OK_HTTP),
    "port_filtered": ("db", c.PORT_FILTERED),
    "firewall_reject_admin": ("db", c.REJECT_ADMIN),
    "dns_nxdomain": ("dbx", c.NXDOMAIN),
    "service_http_error": ("web", c.HTTP_500),
    "service_ipv6_only_mismatch": ("localhost", c.IPV6_MISMATCH),
    "ssh_port_filtered": ("db", r.REMOTE_RULE_CONFIRMED),
    "ssh_hostkey": ("db", r.REMOTE_SSH_HOSTKEY),
}


def _report(name: str) -> Report:
    target, ev = CASES[name]
    return build_report(c.TARGETS[target], ev, 1234.5)


def _terminal(report: Report, **kw: object) -> str:
    buf = io.StringIO()
    render_terminal(report, file=buf, width=100, color=False, **kw)  # type: ignore[arg-type]
    return buf.getvalue()


def _check_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}: run with NETDX_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_terminal_golden(name: str) -> None:
    """The terminal rendering at width 100 without colour matches its golden file exactly."""
    _check_golden(GOLDEN / f"{name}.txt", _terminal(_report(name)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_markdown_golden(name: str) -> None:
    """The Markdown rendering matches its golden file exactly."""
    _check_golden(GOLDEN / f"{name}.md", to_markdown(_report(name)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_golden(name: str) -> None:
    """The JSON document matches its golden file exactly."""
    _check_golden(GOLDEN / f"{name}.json", to_json(_report(name)) + "\n")


@pytest.mark.parametrize("name", sorted(CASES))
def test_terminal_lines_fit_and_have_no_trailing_space(name: str) -> None:
    """Every terminal line fits in 100 columns and carries no trailing padding."""
    for line in _terminal(_report(name)).splitlines():
        assert len(line) <= 100 and line == line.rstrip()


def test_json_contract() -> None:
    """The JSON has the netdx.check/1 keys, verdict.layer as the cause prefix, and the URL."""
    doc = json.loads(to_json(_report("service_http_error")))
    assert list(doc) == ["schema", "target", "observed_on", "steps", "verdict", "elapsed_ms"]
    assert doc["observed_on"] == {"kind": "local"}
    assert doc["schema"] == "netdx.check/1"
    assert doc["target"]["url"] == "http://web.lab.example:80/health"
    assert [s["layer"] for s in doc["steps"]] == ["dns", "route", "reach", "port", "service"]
    assert list(doc["steps"][0]) == ["layer", "status", "summary", "evidence", "elapsed_ms"]
    verdict = doc["verdict"]
    assert list(verdict) == ["layer", "cause", "summary", "evidence", "fix", "warnings"]
    assert verdict["layer"] == "service" and verdict["cause"] == "service.http_error"


def test_json_ok_layer_and_no_url_for_plain_targets() -> None:
    """An ok verdict has layer ok; a non-URL target has no url key; warnings are cause+summary."""
    report = build_report(c.TARGETS["db"], c.RESOLVER_PARTIAL, 10.0)
    doc = json.loads(to_json(report))
    assert doc["verdict"]["layer"] == "ok" and "url" not in doc["target"]
    assert doc["verdict"]["warnings"] == [
        {"cause": "dns.resolver_unreachable", "summary": report.verdict.warnings[0].summary}
    ]


def test_json_says_where_the_check_was_observed() -> None:
    """A check run in a namespace says so at the top of the document and in its DNS step."""
    from dataclasses import replace

    from netdx.model.vantage import in_netns

    where = in_netns("ndx-client")
    assert c.OK_HTTP.dns is not None
    ev = replace(c.OK_HTTP, observed_on=where, dns=replace(c.OK_HTTP.dns, observed_on=where))
    doc = json.loads(to_json(build_report(c.TARGETS["web"], ev, 1.0)))
    assert doc["observed_on"] == {"kind": "netns", "name": "ndx-client"}
    assert doc["steps"][0]["evidence"]["observed_on"] == doc["observed_on"]


def test_quiet_prints_only_the_verdict() -> None:
    """Quiet mode prints the verdict line and nothing else, on one line whatever the width
    (issue 10: it wrapped when piped)."""
    text = _terminal(_report("port_filtered"), quiet=True)
    assert text == (
        "✘ port.filtered: no answer from 10.0.2.5:5432: a firewall silently drops the SYN (this "
        "host's own output rules could not be ruled out without root)\n"
    )


def test_terminal_keeps_brackets_literal() -> None:
    """IPv6 endpoints like [::1]:8080 are printed as text, not eaten as rich markup."""
    assert "[::1]:8080" in _terminal(_report("service_ipv6_only_mismatch"))


def test_terminal_colour_when_forced() -> None:
    """color=True emits ANSI escapes even into a non-terminal file."""
    buf = io.StringIO()
    render_terminal(_report("ok"), file=buf, width=100, color=True)
    assert "\x1b[" in buf.getvalue()


def test_markdown_escapes_pipes_in_table_cells() -> None:
    """A pipe inside a step summary cannot break the Markdown table."""
    report = _report("ok")
    step = report.steps[0]
    piped = type(step)(layer=step.layer, status=step.status, summary="a | b")
    text = to_markdown(
        Report(target=report.target, steps=(piped,), verdict=report.verdict, elapsed_ms=1.0)
    )
    assert "| dns | ✔ pass | a \\| b |" in text


def test_rich_is_imported_lazily() -> None:
    """Importing the renderers and the engine does not import rich (netdx --help stays fast)."""
    code = "import sys, netdx.render, netdx.diagnose; print('rich' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == "False"
