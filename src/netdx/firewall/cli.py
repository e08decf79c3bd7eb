"""The ``netdx firewall`` click group: explain, snapshot, diff.

Only click and the standard library are imported at the top, so `netdx --help` stays fast;
each command imports what it needs. Exit codes of `explain`: 0 accept, 1 drop or reject,
3 unknown (the ruleset uses a construct netdx does not model).
"""

from __future__ import annotations

import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from netdx.files import MIB, read_user_file
from netdx.host.option import entered_netns, netns_option
from netdx.options import timeout_option, write_output

_HOOKS = ("input", "output", "forward")
EXIT_ACCEPT, EXIT_BLOCKED, EXIT_UNKNOWN = 0, 1, 3


@click.group(name="firewall")
def firewall() -> None:
    """Find the firewall rule that decides a flow (nftables, iptables, ufw, firewalld, Docker)."""


_netns_option = netns_option("Read the ruleset inside this network namespace.")


@firewall.command(name="explain")
@click.option("--from", "src", required=True, metavar="ADDR", help="Source address of the flow.")
@click.option("--to", "dst", required=True, metavar="ADDR:PORT", help="Destination ([v6]:port).")
@click.option("--proto", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True)
@click.option("--in", "iif", metavar="IFACE", help="Input interface (default: the route's).")
@click.option(
    "--hook",
    type=click.Choice(_HOOKS),
    help="Default: input if DST is local, output if SRC is local, else forward.",
)
@click.option("--sport", type=click.IntRange(1, 65535), help="Source port, if rules test it.")
@click.option("--json", "as_json", is_flag=True, help="Print netdx.firewall.explain/1 JSON.")
@timeout_option(5.0, "Time budget in seconds for reading the ruleset.")
@_netns_option
def explain_command(
    *,
    src: str,
    dst: str,
    proto: str,
    iif: str | None,
    hook: str | None,
    sport: int | None,
    as_json: bool,
    timeout: float,
) -> int:
    """Which rule accepts, drops or rejects the flow SRC → DST:PORT on this host."""
    from dataclasses import replace

    from netdx.budget import Deadline
    from netdx.firewall.explain import explain_local, to_json
    from netdx.firewall.flows import make_packet, parse_endpoint
    from netdx.firewall.render import render_explanation

    address, port = parse_endpoint(dst)
    packet = replace(make_packet(src, address, port, proto, iif), sport=sport)
    direction = next((h for h in ("input", "output", "forward") if h == hook), None)
    result = explain_local(packet, direction, deadline=Deadline.after(timeout))
    if as_json:
        click.echo(json.dumps(to_json(result), indent=2))
    else:
        click.echo(render_explanation(result))
    if result.decision == "unknown":
        return EXIT_UNKNOWN
    return EXIT_ACCEPT if result.decision == "accept" else EXIT_BLOCKED


@firewall.command(name="snapshot")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the snapshot here (default: stdout).",
)
@timeout_option(5.0, "Time budget in seconds for reading the ruleset.")
@_netns_option
def snapshot_command(*, output: Path | None, timeout: float) -> int:
    """Save the live ruleset (nft and every iptables variant) as netdx.firewall.snapshot/1."""
    from netdx.budget import Deadline
    from netdx.errors import CannotRun
    from netdx.firewall.diff import Snapshot, snapshot_to_json
    from netdx.firewall.live import capture, subprocess_runner
    from netdx.firewall.sources import build_ruleset

    captured = capture(subprocess_runner(Deadline.after(timeout)))
    unreadable = build_ruleset(captured).unreadable
    if unreadable:
        # An empty capture written as if it were the ruleset would later diff as "every
        # rule removed": refuse instead.
        raise CannotRun(f"no snapshot written: {unreadable[0]}")
    snap = Snapshot(
        capture=captured,
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        host=socket.gethostname(),
    )
    text = json.dumps(snapshot_to_json(snap), indent=1)
    if output is None:
        click.echo(text)
    else:
        write_output(str(output), text)
    return 0


@firewall.command(name="diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--flow",
    "flows",
    multiple=True,
    metavar="SRC>DST:PORT[/proto][@hook]",
    help="A flow whose verdict to compare (repeatable).",
)
@click.option(
    "--flows",
    "flows_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of flows, one per line.",
)
@click.option("--json", "as_json", is_flag=True, help="Print netdx.firewall.diff/1 JSON.")
@timeout_option(5.0, "Time budget in seconds for reading the ruleset.")
@_netns_option
def diff_command(
    *,
    old: Path,
    new: Path | None,
    flows: tuple[str, ...],
    flows_file: Path | None,
    as_json: bool,
    timeout: float,
) -> int:
    """What changed between snapshot OLD and NEW (default: the live ruleset), and which flows
    changed verdict. Exits 1 when a flow changed verdict, else 0."""
    from netdx.budget import Deadline
    from netdx.firewall.diff import (
        Snapshot,
        diff_snapshots,
        diff_to_json,
        render_diff,
        snapshot_from_json,
    )
    from netdx.firewall.flows import parse_flow, parse_flow_lines
    from netdx.firewall.live import capture, subprocess_runner

    if new is not None and entered_netns() is not None:
        raise click.UsageError("--netns reads the live ruleset: give OLD only, not NEW")
    before = snapshot_from_json(_load_json(old))
    if new is not None:
        after = snapshot_from_json(_load_json(new))
    else:
        captured = capture(subprocess_runner(Deadline.after(timeout)))
        after = Snapshot(
            capture=captured,
            taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
            host=socket.gethostname(),
        )
    wanted = tuple(parse_flow(f) for f in flows)
    if flows_file is not None:
        wanted += parse_flow_lines(read_user_file(flows_file, what="--flows", limit=MIB))
    result = diff_snapshots(before, after, wanted)
    if as_json:
        click.echo(json.dumps(diff_to_json(result), indent=2))
    else:
        click.echo(render_diff(result))
    return 1 if any(f.changed for f in result.flows) else 0


def _load_json(path: Path) -> object:
    try:
        return json.loads(read_user_file(path, what="snapshot"))
    except (RecursionError, ValueError) as exc:
        from netdx.errors import UsageError

        raise UsageError(f"{path}: not a readable JSON snapshot ({exc})") from exc


if __name__ == "__main__":  # pragma: no cover - `python -m netdx.firewall.cli`
    sys.exit(firewall.main(standalone_mode=False))
