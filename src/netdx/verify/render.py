"""`netdx verify`'s outputs that read the finished results and compute nothing: the JSON
document (`netdx.verify/1`, every flow with its full `netdx.check/1` report), Markdown for
a CI job summary, and the terminal matrix (rows: sources, columns: destinations, each cell
the cause). JUnit and the node_exporter textfile have their own modules."""

from __future__ import annotations

import json
from typing import IO, Any

from netdx.model.record import record
from netdx.verify.flows import FlowsFile
from netdx.verify.run import CaseResult

VERIFY_SCHEMA = "netdx.verify/1"
MARKS = {"pass": "✔", "fail": "✘", "error": "!"}


@record
class Run:
    """A finished `netdx verify`: the flows file, the inventory's path, every result."""

    flows: FlowsFile
    inventory: str | None
    results: tuple[CaseResult, ...]
    elapsed_ms: float

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.judgement.outcome == outcome)


def printable(text: str) -> str:
    """`text` with control characters shown as U+FFFD: a name from DNS or a server's reply
    must not drive the user's terminal."""
    return "".join(c if c.isprintable() or c == "\n" else "\ufffd" for c in text)


def cell(result: CaseResult) -> str:
    """A matrix cell: the mark of the outcome and the observed cause (or `error`)."""
    judgement = result.judgement
    return printable(f"{MARKS[judgement.outcome]} {judgement.cause or 'error'}")


def verify_document(run: Run) -> dict[str, Any]:
    """The JSON-ready `netdx.verify/1` document."""
    from netdx.render.json import report_document

    results = []
    for r in run.results:
        case, judgement = r.case, r.judgement
        results.append(
            {
                "flow": case.flow.name,
                "line": case.flow.line,
                "from": case.flow.source,
                "source_group": case.source_group,
                "source_host": case.source_name,
                "to": case.destination,
                "expect": case.flow.expect,
                "deny_by": list(case.flow.deny_by),
                "outcome": judgement.outcome,
                "cause": judgement.cause or None,
                "reason": judgement.reason,
                "report": report_document(r.report) if r.report is not None else None,
            }
        )
    return {
        "schema": VERIFY_SCHEMA,
        "flows_file": {"path": run.flows.source, "sha256": run.flows.sha256},
        "inventory": run.inventory,
        "summary": {
            "total": len(run.results),
            "passed": run.count("pass"),
            "failed": run.count("fail"),
            "errors": run.count("error"),
        },
        "results": results,
        "elapsed_ms": run.elapsed_ms,
    }


def to_json(run: Run) -> str:
    return json.dumps(verify_document(run), indent=2, ensure_ascii=False)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(run: Run) -> str:
    """A summary line and one table row per flow: for `$GITHUB_STEP_SUMMARY` and the like."""
    lines = [
        f"# netdx verify `{_md(run.flows.source)}`",
        "",
        f"{run.count('pass')} as expected, {run.count('fail')} not, "
        f"{run.count('error')} could not run ({len(run.results)} flows)",
        "",
        "| | Flow | From | To | Expect | Cause | Why |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in run.results:
        c, j = r.case, r.judgement
        lines.append(
            f"| {MARKS[j.outcome]} | {_md(c.flow.name)} | {_md(c.source_name)} | "
            f"{_md(c.destination)} | {c.flow.expect} | `{j.cause or 'error'}` | {_md(j.reason)} |"
        )
    lines += [
        "",
        f"_{VERIFY_SCHEMA}, flows sha256 {run.flows.sha256[:12]}, {run.elapsed_ms:.0f} ms_",
    ]
    return "\n".join(lines) + "\n"


def render_matrix(run: Run, *, file: IO[str], width: int | None = None) -> None:
    """Who reaches whom: one row per source, one column per destination; then each flow
    that is not as expected, with why."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=file, width=width, highlight=False)
    sources = list(dict.fromkeys(r.case.source_name for r in run.results))
    destinations = list(dict.fromkeys(r.case.destination for r in run.results))
    cells: dict[tuple[str, str], list[CaseResult]] = {}
    for r in run.results:
        cells.setdefault((r.case.source_name, r.case.destination), []).append(r)
    table = Table(title=Text(printable(f"netdx verify {run.flows.source}")))
    table.add_column(Text("from \\ to"))
    for destination in destinations:
        table.add_column(Text(printable(destination)))
    styles = {"pass": "green", "fail": "bold red", "error": "magenta"}
    for source in sources:
        row = [Text(printable(source))]
        for destination in destinations:
            found = cells.get((source, destination), [])
            text = Text()
            for index, r in enumerate(found):
                if index:
                    text.append("\n")
                text.append(cell(r), style=styles[r.judgement.outcome])
            row.append(text)
        table.add_row(*row)
    console.print(table)
    for r in run.results:
        if r.judgement.outcome != "pass":
            c = r.case
            line = Text(f"{MARKS[r.judgement.outcome]} ", style=styles[r.judgement.outcome])
            line.append(
                printable(f"{c.flow.name} ({c.source_name} → {c.destination}, ")
                + f"expect {c.flow.expect}): "
            )
            line.append(printable(r.judgement.reason))
            console.print(line, soft_wrap=True)  # a CI log keeps the line whole
    seconds = run.elapsed_ms / 1000
    console.print(
        Text(
            f"{run.count('pass')} as expected, {run.count('fail')} not, "
            f"{run.count('error')} could not run ({len(run.results)} flows, {seconds:.1f} s)"
        ),
        soft_wrap=True,
    )
