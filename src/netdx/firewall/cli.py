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
from typing import TYPE_CHECKING

import click

from netdx.files import MIB, read_user_file
from netdx.host.option import entered_netns, netns_option
from netdx.host.ssh_option import ssh_options
from netdx.options import timeout_option, write_output

if TYPE_CHECKING:
    from netdx.budget import Deadline
    from netdx.firewall.diff import Snapshot
    from netdx.firewall.sources import Capture
    from netdx.host.ssh import SshOptions
    from netdx.model.vantage import Vantage
    from netdx.remote.document import CollectDocument

_HOOKS = ("input", "output", "forward")
EXIT_ACCEPT, EXIT_BLOCKED, EXIT_UNKNOWN = 0, 1, 3


@click.group(
    name="firewall",
    epilog="""\b
Examples:
  netdx firewall explain --from 10.0.0.9 --to 10.0.0.5:5432
  netdx firewall snapshot -o before.json
  netdx firewall diff before.json
""",
)
def firewall() -> None:
    """Find the firewall rule that decides a flow (nftables, iptables, ufw, firewalld, Docker)."""


_netns_option = netns_option("Read the ruleset inside this network namespace.")


@firewall.command(
    name="explain",
    epilog="""\b
Examples:
  netdx firewall explain --from 10.0.0.9 --to 10.0.0.5:5432
  netdx firewall explain --from 10.0.0.9 --to [fd00::5]:53 --proto udp
  netdx firewall explain --from 10.0.0.9 --to 10.0.0.5:443 --ssh admin@10.0.0.5
""",
)
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
@ssh_options
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
    ssh: SshOptions | None,
) -> int:
    """Which rule accepts, drops or rejects the flow SRC → DST:PORT on this host (on the
    server with --ssh)."""
    from dataclasses import replace

    from netdx.budget import Deadline
    from netdx.firewall.explain import explain_local, to_json
    from netdx.firewall.flows import make_packet, parse_endpoint
    from netdx.firewall.render import render_explanation

    address, port = parse_endpoint(dst)
    packet = replace(make_packet(src, address, port, proto, iif), sport=sport)
    direction = next((h for h in ("input", "output", "forward") if h == hook), None)
    deadline = Deadline.after(timeout)
    if ssh is None:
        result = explain_local(packet, direction, deadline=deadline)
    else:
        from netdx.firewall.live import fake_runner

        # The server's ruleset and its routes toward both ends, explained by the same code
        # as here: the capture and `ip route get` answers are replayed from its document.
        doc = _read_server(ssh, deadline, routed=(packet.saddr, packet.daddr))
        runner = fake_runner(_server_capture(ssh, doc), _server_routes(ssh, doc))
        result = explain_local(packet, direction, runner=runner)
    if as_json:
        click.echo(json.dumps(with_vantage(to_json(result), _vantage(ssh)), indent=2))
    else:
        click.echo(render_explanation(result) + _observed_line(ssh))
    if result.decision == "unknown":
        return EXIT_UNKNOWN
    return EXIT_ACCEPT if result.decision == "accept" else EXIT_BLOCKED


@firewall.command(
    name="snapshot",
    epilog="""\b
Examples:
  netdx firewall snapshot -o before.json     the live ruleset, to diff later
  netdx firewall snapshot --netns ns1 -o ns1.json
""",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the snapshot here (default: stdout).",
)
@timeout_option(5.0, "Time budget in seconds for reading the ruleset.")
@_netns_option
@ssh_options
def snapshot_command(*, output: Path | None, timeout: float, ssh: SshOptions | None) -> int:
    """Save the live ruleset (nft and every iptables variant) as netdx.firewall.snapshot/1."""
    from netdx.budget import Deadline
    from netdx.errors import CannotRun
    from netdx.firewall.diff import Snapshot, snapshot_to_json
    from netdx.firewall.sources import build_ruleset

    captured, host = _live_capture(ssh, Deadline.after(timeout))
    unreadable = build_ruleset(captured).unreadable
    if unreadable:
        # An empty capture written as if it were the ruleset would later diff as "every
        # rule removed": refuse instead.
        raise CannotRun(f"no snapshot written: {unreadable[0]}")
    snap = Snapshot(
        capture=captured,
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        host=host,
        observed_on=_vantage(ssh),
    )
    text = json.dumps(snapshot_to_json(snap), indent=1)
    if output is None:
        click.echo(text)
    else:
        write_output(str(output), text)
    return 0


@firewall.command(
    name="diff",
    epilog="""\b
Examples:
  netdx firewall diff before.json              the snapshot against the live ruleset
  netdx firewall diff before.json after.json --json
""",
)
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
@ssh_options
def diff_command(
    *,
    old: Path,
    new: Path | None,
    flows: tuple[str, ...],
    flows_file: Path | None,
    as_json: bool,
    timeout: float,
    ssh: SshOptions | None,
) -> int:
    """What changed between snapshot OLD and NEW (default: the live ruleset, the server's
    with --ssh), and which flows changed verdict. Exits 1 when a flow changed verdict,
    else 0."""
    from netdx.budget import Deadline
    from netdx.firewall.diff import (
        Snapshot,
        diff_snapshots,
        diff_to_json,
        render_diff,
        snapshot_from_json,
    )
    from netdx.firewall.flows import parse_flow, parse_flow_lines

    if new is not None and entered_netns() is not None:
        raise click.UsageError("--netns reads the live ruleset: give OLD only, not NEW")
    if new is not None and ssh is not None:
        raise click.UsageError("--ssh reads the server's live ruleset: give OLD only, not NEW")
    before = _readable_snapshot(old, snapshot_from_json(_load_json(old)))
    if new is not None:
        after = _readable_snapshot(new, snapshot_from_json(_load_json(new)))
    else:
        captured, host = _live_capture(ssh, Deadline.after(timeout))
        after = Snapshot(
            capture=captured,
            taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
            host=host,
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


def _readable_snapshot(path: Path, snap: Snapshot) -> Snapshot:
    """`snap` if its rules can be read; a snapshot FILE whose capture holds no readable
    ruleset (taken without root by an older netdx, or damaged) is bad input: a diff
    against it would show every rule as removed or added, a guess. Only the live side's
    failure to read is "cannot run here" (diff_snapshots says so)."""
    from netdx.errors import UsageError
    from netdx.firewall.sources import build_ruleset

    unreadable = build_ruleset(snap.capture).unreadable
    if unreadable:
        raise UsageError(f"snapshot {path}: its ruleset cannot be read: {unreadable[0]}")
    return snap


def _live_capture(ssh: SshOptions | None, deadline: Deadline) -> tuple[Capture, str]:
    """The live ruleset's capture and the host it was read on: here (this host's name), or
    the server with --ssh (its destination as given)."""
    if ssh is None:
        from netdx.firewall.live import capture, subprocess_runner

        return capture(subprocess_runner(deadline)), socket.gethostname()
    return _server_capture(ssh, _read_server(ssh, deadline)), ssh.destination


def _read_server(
    ssh: SshOptions, deadline: Deadline, routed: tuple[str, ...] = ()
) -> CollectDocument:
    """The server's firewall, addresses (and routes to `routed`) over SSH; CannotRun (exit
    3) when the server cannot be read."""
    from netdx.remote.fetch import fetch_document

    collectors = ["firewall", "addresses", *(["routes"] if routed else [])]
    request = {"collectors": collectors, "addresses": list(routed)}
    return fetch_document(ssh, request, deadline)


def _server_capture(ssh: SshOptions, doc: CollectDocument) -> Capture:
    from netdx.remote.fetch import unusable_as_cannot_run

    with unusable_as_cannot_run(ssh.destination):
        return doc.firewall_capture()


def _server_routes(ssh: SshOptions, doc: CollectDocument) -> dict[str, str]:
    """{address: the server's interface toward it} for the addresses it routed."""
    from netdx.remote.fetch import unusable_as_cannot_run

    routes: dict[str, str] = {}
    with unusable_as_cannot_run(ssh.destination):
        lookups = doc.route_lookups()
    for lookup in lookups:
        if lookup.interface is not None and lookup.status in ("ok", "local"):
            routes[lookup.address] = lookup.interface
    return routes


def with_vantage(document: dict[str, object], where: Vantage) -> dict[str, object]:
    """The explain document with where the ruleset was read: right after `schema` (this
    host, or the namespace of --netns / `ip netns exec`); last over SSH, as it always was."""
    from netdx.model.vantage import vantage_data

    if where.kind == "ssh":
        return {**document, "observed_on": vantage_data(where)}
    schema = document.pop("schema")
    return {"schema": schema, "observed_on": vantage_data(where), **document}


def _vantage(ssh: SshOptions | None) -> Vantage:
    """Where the ruleset is read: the SSH destination, else the namespace this process is
    in (--netns, `ip netns exec`), else this host."""
    if ssh is not None:
        from netdx.remote.fetch import ssh_vantage

        return ssh_vantage(ssh)
    from netdx.host.netns import here

    return here()


def _observed_line(ssh: SshOptions | None) -> str:
    return "" if ssh is None else f"\nobserved on: {ssh.destination} (over SSH)"


def _load_json(path: Path) -> object:
    try:
        return json.loads(read_user_file(path, what="snapshot"))
    except (RecursionError, ValueError) as exc:
        from netdx.errors import UsageError

        raise UsageError(f"{path}: not a readable JSON snapshot ({exc})") from exc


if __name__ == "__main__":  # pragma: no cover - `python -m netdx.firewall.cli`
    sys.exit(firewall.main(standalone_mode=False))
