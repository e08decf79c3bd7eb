"""`netdx lab fleet`: up, run, down for the fleet lab (`netdx.lab.fleet`).

`up` builds the fleet and leaves it running with its inventory and flows file in a state
dir (default /tmp/ndx-fleet); `run` builds it in a temporary dir, runs `netdx verify` in
the control host, compares every flow with what the lab's faults set, and removes it; `down`
removes every `ndx-fl-` namespace and what runs there (it also cleans up after a killed run).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from netdx.errors import UsageError

if TYPE_CHECKING:
    from netdx.lab.fleet import ExpectedCase

DEFAULT_DIR = Path(tempfile.gettempdir()) / "ndx-fleet"
VERIFY_GUARD_S = 300.0  # only against a hang: verify's own --deadline ends it first


_F = TypeVar("_F", bound=Callable[..., Any])


def _state_dir(help_text: str) -> Callable[[_F], _F]:
    """The `--dir` option of `up` and `down`: one state dir, told apart only by its help."""
    return click.option("--dir", "state_dir", type=click.Path(file_okay=False),
                        default=str(DEFAULT_DIR), show_default=True, help=help_text)


@click.group(name="fleet")
def fleet_group() -> None:
    """Twelve hosts with real sshds behind a router, for `netdx verify` (needs root)."""


@fleet_group.command(name="up")
@_state_dir("Where the keys, the inventory and the flows file go.")
def up_command(state_dir: str) -> None:
    """Build the fleet and leave it running (until `netdx lab fleet down`)."""
    from netdx.lab import fleet, fleet_record
    from netdx.lab.netns import require_root

    require_root()
    state = Path(state_dir)
    if state.exists() and any(state.iterdir()):
        raise UsageError(f"lab: {state} is not empty: give another --dir or remove it")
    built = fleet.build(state)  # a failed build removes what it made
    fleet_record.detach()  # left up on purpose: `lab clean` keeps it, `fleet down` removes it
    hosts = ", ".join(h.name for h in fleet.HOSTS)
    click.echo(f"fleet is up: {hosts} (router {fleet.ROUTER}, control host {fleet.CTL})")
    click.echo(f"inventory: {built.inventory}")
    click.echo(f"flows:     {built.flows}")
    click.echo(f"try:   sudo {shlex.join(fleet.verify_argv(built))}")
    click.echo("down:  sudo netdx lab fleet down")


@fleet_group.command(name="run")
@click.option("--json", "as_json", is_flag=True, help="Print verify's JSON document.")
def run_command(as_json: bool) -> None:
    """Build the fleet, run `netdx verify` in its control host, compare every flow with
    the cause the lab's faults set, remove it. Exits 0 when all match, 1 otherwise."""
    from netdx.lab import fleet
    from netdx.lab.netns import require_root

    require_root()
    with tempfile.TemporaryDirectory(prefix="ndx-fleet-") as tmp:
        built = fleet.build(Path(tmp) / "fleet")  # a failed build removes what it made
        try:
            env = {**os.environ, "XDG_CACHE_HOME": tmp}  # its shared SSH connections
            argv = fleet.verify_argv(built, "--json", "--max-concurrent", "16")
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=VERIFY_GUARD_S, env=env
            )
        finally:
            fleet.teardown(built)
    if not done.stdout:
        raise UsageError(f"lab: verify printed nothing: {done.stderr.strip()[-300:]}")
    document = json.loads(done.stdout)
    if as_json:
        click.echo(json.dumps(document, indent=2))
    mismatches = _compare(document, built.expected)
    if not as_json:
        for line in mismatches:
            click.echo(line)
        summary = document["summary"]
        click.echo(
            f"{summary['total']} flows in {document['elapsed_ms'] / 1000:.1f} s: "
            f"{summary['passed']} as expected, {summary['failed']} not, "
            f"{summary['errors']} could not run (verify exit {done.returncode})"
        )
        click.echo(f"match:    {'yes' if not mismatches else 'no'}")
    sys.exit(0 if not mismatches else 1)


def _compare(document: dict[str, Any], expected: tuple[ExpectedCase, ...]) -> list[str]:
    """One line per case whose outcome or cause is not what the lab expects."""
    results: list[dict[str, Any]] = document.get("results") or []
    lines = []
    for index, want in enumerate(expected):
        got = results[index] if index < len(results) else {}
        cause = got.get("cause") or ""  # an error's too: the source's `ssh.<status>`
        mark = "✔" if (got.get("outcome"), cause) == (want.outcome, want.cause) else "✘"
        line = (
            f"{mark} {want.flow}: {want.source} -> {want.destination}: "
            f"{got.get('outcome')} {cause} (expected {want.outcome} {want.cause})"
        )
        if mark == "✘":
            lines.append(line)
    if len(results) != len(expected):
        lines.append(f"✘ {len(results)} results, expected {len(expected)}")
    return lines


@fleet_group.command(name="down")
@_state_dir("The state dir `up` used (removed too).")
def down_command(state_dir: str) -> None:
    """Remove the fleet: every `ndx-fl-` namespace, what runs there, and its state dir."""
    from netdx.lab import fleet
    from netdx.lab.netns import require_root

    require_root()
    removed = fleet.teardown()
    if Path(state_dir).is_dir() and (Path(state_dir) / "hosts.ini").exists():
        shutil.rmtree(state_dir, ignore_errors=True)
    click.echo("removed: " + ", ".join(removed) if removed else "no fleet is up")


_EXAMPLES: dict[click.Command, tuple[str, ...]] = {
    fleet_group: (
        "sudo netdx lab fleet run",
        "sudo netdx lab fleet up && sudo netdx lab fleet down",
    ),
    up_command: ("sudo netdx lab fleet up", "sudo netdx lab fleet up --dir /tmp/ndx-fleet-2"),
    run_command: ("sudo netdx lab fleet run", "sudo netdx lab fleet run --json | jq .summary"),
    down_command: ("sudo netdx lab fleet down", "sudo netdx lab fleet down --dir /tmp/ndx-fleet-2"),
}
for _command, _lines in _EXAMPLES.items():
    _command.epilog = "\b\nExamples:\n" + "".join(f"  {line}\n" for line in _lines)
