"""The ``netdx lab`` click group: list, up, run, shell, down, clean.

Errors are raised as `UsageError` / `CannotRun` for the netdx error handler to print. Heavy
imports happen inside the commands.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from typing import TYPE_CHECKING

import click

from netdx.errors import NetdxError, UsageError
from netdx.lab.fleet_cli import fleet_group

if TYPE_CHECKING:
    from netdx.lab.run import RunResult


@click.group(name="lab")
def lab() -> None:
    """Failure modes rebuilt in network namespaces (needs root)."""


@lab.command(name="list")
def list_command() -> None:
    """List the scenarios: name, topology, expected cause, description."""
    from netdx.lab.loader import list_scenarios

    scenarios = list_scenarios()
    width = max(len(s.name) for s in scenarios)
    cause_width = max(len(s.expect) for s in scenarios)
    for s in scenarios:
        click.echo(f"{s.name:<{width}}  {s.topology:<6}  {s.expect:<{cause_width}}  {s.summary}")


@lab.command(name="up")
@click.argument("name")
def up_command(name: str) -> None:
    """Build scenario NAME and leave it running (until `netdx lab down`)."""
    from netdx.lab.loader import load_scenario
    from netdx.lab.run import up

    scenario = load_scenario(name)
    state = up(name)
    hosts = ", ".join(host.name for host in scenario.hosts)
    click.echo(f"lab {state.scenario} is up (instance {state.instance}): {hosts}")
    click.echo(f"fault: {scenario.fault}")
    ssh = "".join(f" {arg}" for arg in state.ssh)
    click.echo(
        f"try:   netdx lab shell {name} {scenario.runner} {state.instance}   then   "
        f"netdx {' '.join(scenario.argv)}{ssh}"
    )
    click.echo(f"down:  netdx lab down {state.instance}")


@lab.command(name="run")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run_command(name: str, as_json: bool) -> None:
    """Build NAME, run its `netdx check` (or `inspect`, `trace`) on its host, compare the causes.

    Exits 0 when the verdict matched, 1 otherwise.
    """
    from netdx.lab.loader import load_scenario
    from netdx.lab.run import run_scenario

    scenario = load_scenario(name)
    if not as_json:
        click.echo(f"scenario: {scenario.name} ({scenario.topology})")
        story = textwrap.fill(" ".join(scenario.description.split()), width=88)
        click.echo("story:    " + story.replace("\n", "\n          "))
        ssh = f" --ssh root@{scenario.ssh_address}" if scenario.ssh else ""
        click.echo(f"on {scenario.runner}: netdx {' '.join(scenario.argv)}{ssh}")
        click.echo("")
    result = run_scenario(scenario, show_report=not as_json)
    if as_json:
        doc = run_document(result, scenario.command, scenario.runner, scenario.ssh or None)
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(result.stdout.rstrip("\n"))
        click.echo("")
        for label, value in _summary(result):
            click.echo(f"{label + ':':<10}{value}")
    sys.exit(0 if result.matched else 1)


LAB_RUN_SCHEMA = "netdx.lab.run/1"


def run_document(
    result: RunResult, command: str, run_on: str, ssh: str | None
) -> dict[str, object]:
    """A lab run as the JSON-ready mapping of the `netdx.lab.run/1` contract: tagged like
    every other command's --json, so a reader can tell it from the `check` document inside."""
    return {
        "schema": LAB_RUN_SCHEMA,
        "scenario": result.scenario,
        "cause": result.cause,
        "expected": result.expected,
        "match": result.matched,
        "seconds": result.elapsed,
        "max_seconds": result.max_seconds,
        "command": command,
        "run_on": run_on,
        "ssh": ssh,
        "expect_evidence": list(result.expected_evidence),
        "missing_evidence": list(result.missing_evidence),
        "expect_warnings": list(result.expected_warnings),
        "missing_warnings": list(result.missing_warnings),
        "expect_rate_limited": list(result.expected_rate_limited),
        "missing_rate_limited": list(result.missing_rate_limited),
        "check": result.doc,
    }


def _summary(result: RunResult) -> list[tuple[str, str]]:
    """The (label, value) lines under a run's report: what it said against what was expected."""
    rows = [("verdict", result.cause or "(no verdict)"), ("expected", result.expected)]
    if result.expected_evidence:
        held = [f for f in result.expected_evidence if f not in result.missing_evidence]
        rows.append(("server", ", ".join(held) or "-"))
        if result.missing_evidence:
            rows.append(("missing", ", ".join(result.missing_evidence)))
    if result.expected_warnings:
        rows.append(("warnings", ", ".join(result.warnings) or "-"))
        if result.missing_warnings:
            rows.append(("missing", f"{', '.join(result.missing_warnings)} (warnings)"))
    if result.expected_rate_limited:
        hops = ", ".join(f"hop {ttl}" for ttl in result.rate_limited) or "-"
        rows.append(("limited", f"{hops} (ICMP rate limit, not loss)"))
        if result.missing_rate_limited:
            missing = ", ".join(f"hop {ttl}" for ttl in result.missing_rate_limited)
            rows.append(("missing", f"{missing} (rate limit)"))
    rows.append(("match", "yes" if result.matched else "no"))
    rows.append(("seconds", f"{result.elapsed:.2f} (max {result.max_seconds:g})"))
    if result.cause is None and result.stderr.strip():
        rows.append(("stderr", result.stderr.strip().splitlines()[-1]))
    return rows


@lab.command(name="shell")
@click.argument("name")
@click.argument("host")
@click.argument("instance", required=False)
def shell_command(name: str, host: str, instance: str | None) -> None:
    """Open a shell on HOST of the running lab NAME (INSTANCE: which one, when several)."""
    from netdx.lab.record import prefix_of
    from netdx.lab.run import labs

    found = [s for s in labs() if s.scenario == name and instance in (None, s.instance)]
    if not found:
        up_now = ", ".join(f"{s.scenario} ({s.instance})" for s in labs())
        raise UsageError(f"lab: {name} is not up" + (f" ({up_now} is)" if up_now else ""))
    if len(found) > 1:
        names = ", ".join(s.instance for s in found)
        raise UsageError(f"lab: {name} is up {len(found)} times ({names}): name the instance")
    state = found[0]
    namespace = prefix_of(state.instance) + host
    if namespace not in state.namespaces:
        raise UsageError(f"lab: {name} has no host {host!r}")
    argv, env = shell_exec(namespace, dict(os.environ))
    os.execvpe("ip", argv, env)


def shell_exec(namespace: str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The `ip netns exec` argv and environment of a lab shell: the directory of this
    netdx's interpreter (where the `netdx` script lives) first on PATH, since `lab up`
    offers `netdx check …` as the thing to try there and sudo's secure_path lacks a venv."""
    shell = env.get("SHELL") or "bash"
    here = os.path.dirname(sys.executable)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != here]
    return (["ip", "netns", "exec", namespace, shell],
            {**env, "PATH": os.pathsep.join([here, *path])})


@lab.command(name="down")
@click.argument("instance", required=False)
def down_command(instance: str | None) -> None:
    """Remove the lab started by `netdx lab up` (INSTANCE: that one, whoever started it),
    and any lab whose build was killed."""
    from netdx.lab.run import down

    state = down(instance)
    click.echo(f"lab {state.scenario} ({state.instance}) is down")


@lab.command(name="clean")
def clean_command() -> None:
    """Remove every abandoned lab (its builder died) and what it left: namespaces,
    processes, /etc/netns and /tmp files; the fleet lab's too. Running labs, and labs left
    up, stay."""
    from netdx.lab.run import clean

    removed = clean()
    click.echo("removed: " + ", ".join(removed) if removed else "nothing to clean")


lab.add_command(fleet_group)  # `netdx lab fleet up|run|down`: the fleet lab of `netdx verify`


def main() -> None:
    """Standalone entry point (``python -m netdx.lab``) with netdx's error convention."""
    try:
        lab.main(standalone_mode=False)
    except NetdxError as exc:
        click.echo(f"netdx: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)


# The examples each --help ends with, kept apart from the commands (set once, at import).
_EXAMPLES: dict[click.Command, tuple[str, ...]] = {
    lab: (
        "sudo netdx lab list",
        "sudo netdx lab run dns-nxdomain     build it, diagnose it, tear it down",
        "sudo netdx lab up app-close-wait-leak",
    ),
    list_command: ("sudo netdx lab list", "sudo netdx lab list | grep dns-"),
    up_command: ("sudo netdx lab up dns-nxdomain", "sudo netdx lab up app-accept-queue-full"),
    run_command: (
        "sudo netdx lab run dns-nxdomain",
        "sudo netdx lab run app-close-wait-leak --json",
    ),
    shell_command: (
        "sudo netdx lab shell dns-nxdomain client",
        "sudo netdx lab shell app-close-wait-leak server",
    ),
    down_command: ("sudo netdx lab down", "sudo netdx lab up dns-nxdomain && sudo netdx lab down"),
    clean_command: ("sudo netdx lab clean", "sudo netdx lab clean && ip netns list"),
}
for _command, _lines in _EXAMPLES.items():
    _command.epilog = "\b\nExamples:\n" + "".join(f"  {line}\n" for line in _lines)
