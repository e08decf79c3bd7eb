"""`netdx self`: can this host reach itself, its link, its gateway, a host beyond, and does
DNS resolve — and which step fails first."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from typing import TYPE_CHECKING

import click

from netdx.budget import Deadline
from netdx.diagnose.selfcheck import SelfReport
from netdx.host.option import netns_option
from netdx.host.ssh_option import ssh_options
from netdx.options import timeout_option

if TYPE_CHECKING:
    from netdx.host.ssh import SshOptions

SCHEMA = "netdx.self/1"
_MARK = {"ok": "ok  ", "fail": "FAIL", "skipped": "skip", "unknown": "??  "}


def _addresses(_ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> (
    tuple[str, ...]
):
    out = []
    for text in value:
        try:
            out.append(str(ipaddress.ip_address(text)))
        except ValueError:
            # A name would need the resolver, and DNS is one of the things being tested.
            raise click.BadParameter(f"{text!r} is not an IP address", param=param) from None
    return tuple(out)


def _name(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The name in its ASCII (IDNA) form, as `netdx dns` takes it (make fuzz found a name
    that could not be put on the wire reaching the query builder of `self --ssh`)."""
    if value is None:
        return None
    from netdx.dns.message import ascii_name

    try:
        name = ascii_name(value).rstrip(".")
    except ValueError:
        name = ""
    if not name:
        raise click.BadParameter(f"{value!r} is not a DNS name", param=param)
    return name


def to_text(report: SelfReport) -> str:
    """The steps, one line each with their evidence below, then the verdict."""
    lines = []
    for step in report.steps:
        lines.append(f"{_MARK[step.status]} {step.number} {step.name:<10} {step.summary}")
        lines.extend(f"          {note}" for note in step.notes)
    verdict = report.verdict
    lines.append("")
    lines.append(("OK: " if verdict.ok else "PROBLEM: ") + verdict.text)
    if verdict.fix:
        lines.append(f"  next: {verdict.fix}")
    lines.extend(f"  warning: {warning}" for warning in verdict.warnings)
    return "\n".join(lines)


@click.command(
    "self",
    epilog="""\b
Examples:
  netdx self
  netdx self --beyond 10.0.0.1 --resolve db.internal --json
  netdx self --ssh admin@web1 --resolve db.internal
""",
)
@click.option("--beyond", "named", metavar="ADDR", multiple=True, callback=_addresses,
              help="A host beyond the gateway to try (default: the DNS servers of"
                   " resolv.conf). Repeatable; addresses only.")
@click.option("--resolve", metavar="NAME", callback=_name,
              help="Ask the configured DNS servers for this name (A). Default: DNS not asked.")
@click.option("--json", "as_json", is_flag=True, help=f"Print JSON (schema {SCHEMA}).")
@timeout_option(3.0, "One time budget in seconds for the whole command.")
@netns_option()
@ssh_options
def self_command(*, named: tuple[str, ...], resolve: str | None, as_json: bool,
                 timeout: float, ssh: SshOptions | None) -> int:
    """This host cannot reach anything? The first procedure, in the method's order:
    1 loopback, 2 interfaces (up, carrier, addresses), 3 the default gateway (route,
    ARP/NDP state, echo), 4 a host beyond it (--beyond, else the DNS servers), 5 DNS
    (--resolve NAME). The first failing step names the layer. The family walked is
    IPv4, or IPv6 on a host without an IPv4 default route; on a dual-stack host the other
    family's gateway is checked too (a warning when it fails). With --ssh, the walk runs
    on the server and is judged here.

    Exit status: 0 every step works, 1 a problem found, 2 bad usage, 3 could not run.
    """
    from netdx.diagnose.selfcheck import judge
    from netdx.selfcheck.gather import gather

    deadline = Deadline.after(timeout)
    if ssh is not None:
        from netdx.selfcheck.remote import read_over_ssh

        evidence = read_over_ssh(ssh, named=named, resolve=resolve, deadline=deadline)
        click.echo(f"netdx: note: walked on {ssh.destination} over SSH", err=True)
    else:
        evidence = gather(named=named, resolve=resolve, deadline=deadline)
    report = judge(evidence)
    if as_json:
        data = {"schema": SCHEMA, **dataclasses.asdict(report)}
        click.echo(json.dumps(data, indent=1))
    else:
        click.echo(to_text(report))
    return 0 if report.verdict.ok else 1
