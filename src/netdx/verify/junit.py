"""`netdx verify --junit FILE`: one testcase per flow, in the JUnit XML that Jenkins and
GitLab read (checked against Jenkins' junit-10.xsd in the tests).

classname `netdx.<from-group>.<from-host>`, name `<to> expect=<allow|deny>`; a flow that
is not as expected is a `<failure>`, one netdx could not run an `<error>`; the verdict and
its evidence are in the body (CI pages show it, not only the message attribute) and in
`<system-out>`; the suite's properties hold the netdx version and the flows file's sha256.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from netdx.target import redact
from netdx.verify.render import Run
from netdx.verify.run import CaseResult

# XML 1.0 cannot carry these even escaped; a resolver's odd bytes must not break the file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _body(result: CaseResult) -> str:
    case, judgement, report = result.case, result.judgement, result.report
    lines = [
        f"flow: {case.flow.name} ({case.flow.source} → {redact(case.flow.to)}, "
        f"line {case.flow.line})",
        f"from: {case.source_name}   to: {case.destination}   expect: {case.flow.expect}"
        + (f" (deny_by: {', '.join(case.flow.deny_by)})" if case.flow.deny_by else ""),
        f"result: {judgement.outcome}: {judgement.reason}",
    ]
    if report is not None:
        verdict = report.verdict
        lines.append(f"verdict: {verdict.cause}: {verdict.summary}")
        lines += [f"  evidence: {e}" for e in verdict.evidence]
        lines += [f"  fix: {f}" for f in verdict.fix]
        lines += [f"  {s.layer}: {s.status}: {s.summary}" for s in report.steps]
    return _clean("\n".join(lines))


def to_junit(run: Run) -> str:
    """The JUnit XML document of a finished run."""
    from netdx import __version__

    seconds = f"{run.elapsed_ms / 1000:.3f}"
    counts = {
        "tests": str(len(run.results)),
        "failures": str(run.count("fail")),
        "errors": str(run.count("error")),
    }
    suites = ET.Element("testsuites", {"name": "netdx verify", **counts, "time": seconds})
    suite = ET.SubElement(
        suites,
        "testsuite",
        {"name": _clean(run.flows.source), **counts, "skipped": "0", "time": seconds},
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("netdx.version", __version__),
        ("flows.file", run.flows.source),
        ("flows.sha256", run.flows.sha256),
        ("inventory", run.inventory or ""),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    for result in run.results:
        case, judgement = result.case, result.judgement
        elapsed = result.report.elapsed_ms / 1000 if result.report is not None else 0.0
        testcase = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": _clean(f"netdx.{case.source_group}.{case.source_name}"),
                "name": _clean(f"{case.destination} expect={case.flow.expect}"),
                "time": f"{elapsed:.3f}",
            },
        )
        body = _body(result)
        if judgement.outcome != "pass":
            tag = "failure" if judgement.outcome == "fail" else "error"
            element = ET.SubElement(
                testcase,
                tag,
                {"message": _clean(judgement.reason), "type": _clean(judgement.cause or "error")},
            )
            element.text = body
        ET.SubElement(testcase, "system-out").text = body
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")
