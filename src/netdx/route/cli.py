"""`netdx route DEST`: the route the kernel picks and why (rule, table, type, next hop)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import socket
from typing import TYPE_CHECKING

import click

from netdx.budget import Deadline
from netdx.host.option import netns_option
from netdx.host.ssh_option import ssh_options
from netdx.options import timeout_option
from netdx.route.command import RouteReport, explain_route

if TYPE_CHECKING:
    from netdx.host.ssh import SshOptions

SCHEMA = "netdx.route/1"


def _address(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an IP address", param=param) from None


def _iface_here(value: str) -> None:
    """An --iif read here must name an interface of this host (over SSH, of the server's)."""
    try:
        socket.if_nametoindex(value)
    except (OSError, ValueError):
        raise click.BadParameter(f"no interface {value!r} here", param_hint="'--iif'") from None


def read_over_ssh(ssh: SshOptions, destination: str, *, source: str | None, iif: str | None,
                  mark: int | None, deadline: Deadline) -> RouteReport:
    """The report of the facts the server's `route` collector read; CannotRun (exit 3)
    when the server could not be read, UsageError (exit 2) for an --iif it lacks."""
    from netdx.errors import UsageError
    from netdx.remote.fetch import collector_read, fetch_document, unusable_as_cannot_run
    from netdx.route.command import judge, query
    from netdx.route.facts import route_facts, unknown_iif

    flow = query(destination, source=source, iif=iif, mark=mark)
    request = {"collectors": ["route"], "route": flow, "timeout": deadline.remaining()}
    doc = fetch_document(ssh, request, deadline)
    collector_read(doc, "route", ssh.destination)
    with unusable_as_cannot_run(ssh.destination):
        data = doc.entries["route"].data
        if unknown_iif(data) is not None:
            raise UsageError(f"--iif: no interface {iif!r} on {ssh.destination}")
        facts = route_facts(data)
    return judge(facts, destination, source=source, iif=iif, mark=mark)


def to_text(report: RouteReport) -> str:
    """The report the way a person reads `ip route get` plus its reasons."""
    lines = []
    kind = report.route_type or "none"
    head = f"{report.destination}: {kind}"
    if report.status in ("no_route", "error"):
        head += f" — no usable route ({report.error})" if report.error else " — no usable route"
    lines.append(head)
    if report.gateway:
        lines.append(f"  via      {report.gateway} (neighbour {report.neighbour or 'no entry'})")
    elif report.interface and report.status == "ok":
        lines.append(f"  on-link  neighbour {report.neighbour or 'no entry'}")
    if report.interface:
        lines.append(f"  dev      {report.interface}")
    if report.source or report.source_asked:
        lines.append(f"  src      {report.source or report.source_asked}")
    if report.mtu:
        lines.append(f"  mtu      {report.mtu} (from the {report.mtu_from})")
    if report.table:
        lines.append(f"  table    {report.table}")
    lines.append(f"  rule     {report.rule or 'none identified'}")
    lines.append(f"  why      {report.why}")
    for rule in report.unjudged_rules:
        lines.append(f"  note     rule `{rule}` has selectors netdx does not judge (uid, ports...)")
    back = report.return_path
    if back is not None:
        verdict = "passes" if back.ok else "DROPPED"
        lines.append(f"  rp_filter {back.mode} on {back.iif or 'any'}: {verdict} — {back.note}")
    return "\n".join(lines)


@click.command(
    "route",
    epilog="""\b
Examples:
  netdx route 10.0.2.5
  netdx route 10.0.2.5 --from 192.168.1.10 --ssh admin@gw1
  netdx route 8.8.8.8 --from 10.1.0.7 --iif eth1 --json
""",
)
@click.argument("destination", callback=_address)
@click.option("--from", "source", metavar="SRC", callback=_address,
              help="Source address of the packet (ip route get ... from SRC).")
@click.option("--iif", metavar="IFACE",
              help="The packet arrives on this interface (a forwarded packet).")
@click.option("--mark", type=click.IntRange(0, 0xFFFFFFFF), help="Firewall mark of the packet.")
@click.option("--json", "as_json", is_flag=True, help=f"Print JSON (schema {SCHEMA}).")
@timeout_option(2.0, "One time budget in seconds for the whole command.")
@netns_option()
@ssh_options
def route(*, destination: str, source: str | None, iif: str | None, mark: int | None,
          as_json: bool, timeout: float, ssh: SshOptions | None) -> int:
    """The route the kernel picks for DESTINATION and why: the policy rule and table,
    the route type, the gateway and its neighbour state, the source address, the MTU, and
    rp_filter for the return path (with --from/--iif). With --ssh, the route the server
    picks, read there.

    Exit status: 0 a usable route, 1 no route (blackhole, prohibit, unreachable, none),
    2 bad usage.

    """
    if source is not None and (":" in source) != (":" in destination):
        raise click.BadParameter("--from must be of the same family as DESTINATION")
    if iif is not None and source is None:
        raise click.BadParameter("--iif needs --from (a forwarded packet has a source)")
    deadline = Deadline.after(timeout)
    if ssh is not None:
        report = read_over_ssh(ssh, destination, source=source, iif=iif, mark=mark,
                               deadline=deadline)
        click.echo(f"netdx: note: read on {ssh.destination} over SSH", err=True)
    else:
        if iif is not None:
            _iface_here(iif)
        report = explain_route(destination, source=source, iif=iif, mark=mark,
                               deadline=deadline)
    if as_json:
        data = {"schema": SCHEMA, **dataclasses.asdict(report), "usable": report.usable}
        click.echo(json.dumps(data, indent=1))
    else:
        click.echo(to_text(report))
    return 0 if report.usable else 1
