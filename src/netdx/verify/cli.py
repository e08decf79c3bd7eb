"""`netdx verify FLOWS [-i INVENTORY]`: check the declared flows and say, for each, whether
it is as expected and why. Thin: read the files, expand the matrix, run, render, exit code."""

from __future__ import annotations

import asyncio
import sys
import time

import click

from netdx.host.option import netns_option

# The one validation of a time budget (finite, 0.1-300 s), shared with --timeout.
from netdx.options import _budget as check_budget

EXIT_OK, EXIT_NOT_AS_EXPECTED, EXIT_CANNOT_RUN = 0, 1, 3


@click.command(
    epilog="""\b
Examples:
  netdx verify flows.yaml -i hosts.yaml             every declared flow, with causes
  netdx verify flows.yaml -i hosts.yaml --junit report.xml
  netdx verify flows.yaml -i hosts.yaml --json --deadline 60
"""
)
@click.argument("flows_path", metavar="FLOWS", type=click.Path(dir_okay=False))
@click.option(
    "-i",
    "--inventory",
    "inventory_path",
    type=click.Path(dir_okay=False),
    help="Ansible inventory (INI, YAML, or `ansible-inventory --list` JSON); needed when a "
    "flow names an inventory host or group.",
)
@click.option(
    "--deadline",
    "deadline_s",
    type=float,
    default=120.0,
    show_default=True,
    callback=check_budget,
    help="One time budget in seconds for every flow together; each flow also keeps its own "
    "timeout.",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Checks (hosts) run at once.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the netdx.verify/1 JSON document.")
@click.option("--markdown", is_flag=True, help="Print Markdown (for a CI job summary).")
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False),
    help="Also write JUnit XML to this file (one testcase per flow).",
)
@click.option(
    "--textfile",
    "textfile_dir",
    type=click.Path(file_okay=False),
    help="Also write the metrics into this node_exporter textfile directory.",
)
@netns_option("Run inside this network namespace (as ip netns exec): local flows probe from it.")
def verify(
    *,
    flows_path: str,
    inventory_path: str | None,
    deadline_s: float,
    max_concurrent: int,
    as_json: bool,
    markdown: bool,
    junit_path: str | None,
    textfile_dir: str | None,
) -> int:
    """Check every flow of FLOWS and compare it with what the file expects.

    Exit 0: every flow as expected; 1: a flow is not; 2: a bad flows file or inventory;
    3: no flow failed but netdx could not run one (e.g. a source host SSH could not reach).
    """
    from netdx.budget import Deadline
    from netdx.verify.flows import load_flows
    from netdx.verify.inventory import load_inventory
    from netdx.verify.matrix import expand
    from netdx.verify.render import Run
    from netdx.verify.run import load_check_modules, run_cases

    if as_json and markdown:
        raise click.UsageError("--json and --markdown cannot be combined")
    flows = load_flows(flows_path)
    inventory = load_inventory(inventory_path) if inventory_path is not None else None
    cases = expand(flows, inventory)
    load_check_modules()
    start = time.monotonic()
    deadline = Deadline.after(deadline_s)
    progress = _progress if sys.stderr.isatty() else None
    results = asyncio.run(
        run_cases(cases, deadline=deadline, max_concurrent=max_concurrent, progress=progress)
    )
    if progress is not None:
        click.echo("\r\x1b[K", nl=False, err=True)
    run = Run(
        flows=flows,
        inventory=inventory_path,
        results=results,
        elapsed_ms=round((time.monotonic() - start) * 1000, 2),
    )
    _outputs(run, junit_path=junit_path, textfile_dir=textfile_dir)
    _render(run, as_json=as_json, markdown=markdown)
    if run.count("fail"):
        return EXIT_NOT_AS_EXPECTED
    return EXIT_CANNOT_RUN if run.count("error") else EXIT_OK


def _progress(done: int, total: int, result: object) -> None:
    from netdx.verify.run import CaseResult

    assert isinstance(result, CaseResult)
    case = result.case
    from netdx.verify.render import printable

    shown = printable(f"{case.source_name} → {case.destination}")
    line = f"\r\x1b[K[{done}/{total}] {shown}"
    click.echo(line[:200], nl=False, err=True)


def _outputs(run: object, *, junit_path: str | None, textfile_dir: str | None) -> None:
    from netdx.verify.render import Run

    assert isinstance(run, Run)
    if junit_path is not None:
        from netdx.options import write_output
        from netdx.verify.junit import to_junit

        write_output(junit_path, to_junit(run))
    if textfile_dir is not None:
        from netdx.verify.textfile import write_textfile

        write_textfile(run, textfile_dir)


def _render(run: object, *, as_json: bool, markdown: bool) -> None:
    from netdx.verify import render

    assert isinstance(run, render.Run)
    if as_json:
        click.echo(render.to_json(run))
    elif markdown:
        click.echo(render.to_markdown(run), nl=False)
    else:
        render.render_matrix(run, file=sys.stdout)
