"""`netdx trace TARGET`: mtr's report over TCP-SYN, UDP or ICMP echo."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import time

import click

from netdx.budget import Deadline, elapsed_ms
from netdx.host.option import netns_option
from netdx.model.evidence import Family, Hop
from netdx.options import timeout_option
from netdx.trace.engine import Method, run_round
from netdx.trace.report import TraceReport, build_report

_DEFAULT_PORT = {"tcp": 80, "udp": 33434}
# A round ends this long after its last new answer (at least), or 3x the slowest answer.
_QUIET_FLOOR_S = 0.5


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def to_text(report: TraceReport) -> str:
    """The report as mtr --report lays it out, with the verdict and the notes under it."""
    service = f"{report.method}/{report.port}" if report.port is not None else report.method
    how = "raw socket" if report.raw_socket else "unprivileged sockets"
    bound = "".join(
        f" {word} {value}"
        for word, value in (("from", report.source), ("dev", report.interface))
        if value is not None
    )
    lines = [
        f"trace to {report.target}{bound} over {service}, {report.rounds} round(s), every TTL"
        f" at once ({how}, {report.elapsed_ms:.0f} ms)",
        f"{'HOP':>3}  {'ADDRESS':<24} {'LOSS%':>6} {'SNT':>4} {'LAST':>7} {'AVG':>7} "
        f"{'BEST':>7} {'WRST':>7} {'STDEV':>7}",
    ]
    for hop in report.hops:
        address = hop.address or "???"
        if hop.others:
            address += f" (+{len(hop.others)})"
        row = (
            f"{hop.ttl:>3}  {address:<24} {hop.loss_pct:>6.1f} {hop.sent:>4} {_ms(hop.last_ms):>7}"
            f" {_ms(hop.avg_ms):>7} {_ms(hop.best_ms):>7} {_ms(hop.worst_ms):>7}"
            f" {_ms(hop.stdev_ms):>7}"
        )
        if hop.rate_limited:
            row += "  ICMP rate limit, not loss"
        elif hop.kind == "unreachable" and hop.icmp:
            row += f"  {hop.icmp}"
        lines.append(row)
    lines.append(f"=> {report.summary}")
    lines.extend(f"   note: {note}" for note in report.notes)
    return "\n".join(lines)


async def _resolve(target: str, deadline: Deadline) -> str:
    try:
        return str(ipaddress.ip_address(target))
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(target, None), deadline.remaining())
    except (OSError, TimeoutError, ValueError) as exc:  # UnicodeError: a label too long
        raise click.BadParameter(f"cannot resolve {target!r}: {exc}") from None
    return str(infos[0][4][0])


async def trace(
    target: str,
    method: Method,
    *,
    port: int,
    rounds: int,
    max_hops: int,
    timeout: float,
    interval: float = 0.0,
) -> TraceReport:
    """`rounds` rounds, each sharing what is left of the one budget equally, started at
    least `interval` seconds apart (as mtr does: routers rate-limit ICMP per destination,
    and back-to-back rounds would measure that limit rather than the path)."""
    deadline = Deadline.after(timeout)
    start = time.monotonic()
    address = await _resolve(target, deadline)
    family: Family = 6 if ":" in address else 4
    results: list[dict[int, Hop]] = []
    raw = False
    slowest_s = 0.0
    for done in range(rounds):
        began = time.monotonic()
        share = Deadline.after(deadline.remaining() / (rounds - done))
        quiet = max(_QUIET_FLOOR_S, 3 * slowest_s)
        try:
            hops, raw = await run_round(address, method, family=family, port=port,
                                        max_hops=max_hops, deadline=share, quiet_s=quiet)
        except PermissionError:
            raise click.UsageError(
                "ICMP trace needs root/CAP_NET_RAW, or net.ipv4.ping_group_range to include "
                "your group; try --tcp or --udp"
            ) from None
        rtts = [h.rtt_ms for h in hops.values() if h.rtt_ms is not None]
        slowest_s = max([slowest_s, *(r / 1000 for r in rtts)])
        results.append(hops)
        pause = min(interval - (time.monotonic() - began), deadline.remaining() / 2)
        if done < rounds - 1 and pause > 0:
            await asyncio.sleep(pause)
    return build_report(results, target=address, method=method,
                        port=None if method == "icmp" else port, max_hops=max_hops,
                        raw_socket=raw, elapsed_ms=elapsed_ms(start))


@click.command(
    "trace",
    epilog="""\b
Examples:
  netdx trace 10.0.4.2
  netdx trace --tcp -p 5432 10.0.4.2 --rounds 10
  netdx trace --udp -p 53 10.0.4.2 --json
""",
)
@click.argument("target")
@click.option("--tcp", "method", flag_value="tcp", help="TCP SYN probes (default with -p).")
@click.option("--udp", "method", flag_value="udp", help="UDP probes (port-unreachable = closed).")
@click.option("--icmp", "method", flag_value="icmp", help="ICMP echo probes (default).")
@click.option("-p", "--port", type=click.IntRange(1, 65535),
              help="Destination port (tcp: 80, udp: 33434).")
@click.option("--rounds", "-c", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Rounds; every round probes every TTL at once.")
@click.option("--interval", "-i", type=click.FloatRange(0, 60), default=1.0, show_default=True,
              help="Seconds between the starts of two rounds (mtr's -i).")
@click.option("--max-hops", "-m", type=click.IntRange(1, 64), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema netdx.trace/1).")
@click.option("--source", "-s", "source", metavar="ADDR",
              help="Send from this address of this host (nc -s, ping -I ADDR).")
@click.option("--interface", "-I", "interface", metavar="IFACE",
              help="Send through this interface (SO_BINDTODEVICE, ping -I IFACE).")
@timeout_option(15.0, "One time budget in seconds for every round together.")
@netns_option()
def trace_command(*, target: str, method: str | None, port: int | None, rounds: int,
                  interval: float, max_hops: int, as_json: bool, timeout: float,
                  source: str | None = None, interface: str | None = None) -> int:
    """mtr's report, honest: per-hop loss and latency over rounds, ICMP errors with their
    sender, and where the path stops for that port. Loss at a middle hop that later hops do
    not show is that router's ICMP rate limit, and is reported as such.

    Raw sockets only for ICMP as root when ICMP datagram sockets are not allowed; TCP and UDP
    use unprivileged sockets with IP_RECVERR.

    Exit status: 0 the target answered, 1 it did not, 2 bad usage.

    """
    chosen: Method = "icmp"
    if method in ("tcp", "udp"):
        chosen = "tcp" if method == "tcp" else "udp"
    elif method is None and port is not None:
        chosen = "tcp"
    if chosen == "icmp" and port is not None:
        raise click.BadParameter("-p/--port makes no sense with --icmp")
    from netdx.probes.bind import apply_binding, validate_binding

    binding = validate_binding(source, interface)
    with apply_binding(binding):
        report = asyncio.run(trace(target, chosen, port=port or _DEFAULT_PORT.get(chosen, 0),
                                   rounds=rounds, max_hops=max_hops, timeout=timeout,
                                   interval=interval))
    if binding is not None:
        report = dataclasses.replace(report, source=binding.source,
                                     interface=binding.interface)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=1))
    else:
        click.echo(to_text(report))
    return 0 if report.reached else 1



