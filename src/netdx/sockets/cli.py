"""`netdx sockets`, `netdx who` and `netdx inspect`: click commands the main CLI mounts.

Thin: parse, build a query, call, render, return an exit code (0 ok / something found,
1 a problem or nothing found, 2 bad usage). Top-level imports are click and stdlib only.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from netdx.host.option import netns_option
from netdx.host.ssh_option import ssh_options
from netdx.options import timeout_option
from netdx.sockets.filters import STATE_WORDS
from netdx.sockets.run import gc_paused, interface_names, listing_query, note, stream_sockets

if TYPE_CHECKING:
    from netdx.budget import Deadline
    from netdx.host.ssh import SshOptions
    from netdx.sockets.filters import ListingFilter
    from netdx.sockets.inspect import Inspection
    from netdx.sockets.model import SocketEntry, SocketListing, SocketQuery

EXIT_OK, EXIT_PROBLEM = 0, 1


_SOCKETS_EXAMPLES = """\b
Examples:
  netdx sockets -tlnp                  listening TCP sockets with their processes (ss -tlnp)
  netdx sockets -tan state close-wait  TCP connections stuck in CLOSE-WAIT
  netdx sockets --dst 10.0.0.5:5432 --pid 4242 --json
"""


@click.command(epilog=_SOCKETS_EXAMPLES)
@click.argument("words", nargs=-1, metavar="[state NAME] [src ADDR[:PORT]] [dst ADDR[:PORT]]")
@click.option("-t", "--tcp", is_flag=True, help="TCP sockets (default: TCP and UDP).")
@click.option("-u", "--udp", is_flag=True, help="UDP sockets.")
@click.option("-4", "ipv4", is_flag=True, help="IPv4 only.")
@click.option("-6", "ipv6", is_flag=True, help="IPv6 only.")
@click.option("-l", "--listen", is_flag=True, help="Listening sockets only (UDP: unconnected).")
@click.option("-a", "--all", "all_states", is_flag=True,
              help="Every state (netdx's default already; accepted for ss habits).")
@click.option("-n", "--numeric", is_flag=True,
              help="Accepted for ss habits: netdx never resolves names or ports.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATE_WORDS, case_sensitive=False),
    metavar="NAME",
    help="Only this state (repeatable), filtered in the kernel: ss names (established, "
    "close-wait, time-wait, listening...) or groups (connected, synchronized, all).",
)
@click.option("--port", "ports", multiple=True, type=click.IntRange(0, 65535),
              help="Local or remote port (repeatable), filtered in the kernel.")  # fmt: skip
@click.option("--src", "src", multiple=True, metavar="ADDR[:PORT]",
              help="Local address, network (ADDR/LEN) and/or :PORT (repeatable).")
@click.option("--dst", "dst", multiple=True, metavar="ADDR[:PORT]",
              help="Remote address, network (ADDR/LEN) and/or :PORT (repeatable).")
@click.option("--pid", "pids", multiple=True, type=click.IntRange(1), metavar="N",
              help="Only sockets held by this process (repeatable; implies -p).")
@click.option("-p", "--process", is_flag=True, help="Show the owning process, user and fd.")
@click.option("--summary", is_flag=True, help="Counts per state, and per state × port/process.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON (netdx.sockets/1; with --summary netdx.sockets.summary/1).")
@timeout_option(10.0, "Time budget in seconds.")
@netns_option()
@ssh_options
def sockets(
    *,
    words: tuple[str, ...],
    tcp: bool,
    udp: bool,
    ipv4: bool,
    ipv6: bool,
    listen: bool,
    all_states: bool,
    numeric: bool,
    states: tuple[str, ...],
    ports: tuple[int, ...],
    src: tuple[str, ...],
    dst: tuple[str, ...],
    pids: tuple[int, ...],
    process: bool,
    summary: bool,
    as_json: bool,
    timeout: float,
    ssh: SshOptions | None,
) -> int:
    """List TCP and UDP sockets with their state and queues (the ss of netdx).

    ss's habits work: combined short flags (-tlnp, -tan, -uan), its state names and
    groups (--state established, or `state connected` as ss writes it), and `src`/`dst`
    filters (--src 10.0.0.0/8, dst :443).
    """
    from netdx.budget import Deadline
    from netdx.sockets.dump import list_sockets
    from netdx.sockets.filters import apply

    del all_states, numeric  # ss habits with nothing to do: netdx lists all, numerically
    chosen_states, listing_filter = _filters(words, states, src, dst, pids)
    if listen and chosen_states:
        raise click.UsageError("-l and a state filter cannot be combined (-l is state listening)")
    process = process or bool(pids)
    query = listing_query(tcp=tcp, udp=udp, ipv4=ipv4, ipv6=ipv6, listen=listen,
                          states=chosen_states, ports=ports)  # fmt: skip
    if ssh is None and not summary and listing_filter.empty:
        # The common listing: written as the dump is read, never held whole (stream.py);
        # `netdx.start` runs its plain forms without click (sockets.run).
        return stream_sockets(query, timeout=timeout, process=process, as_json=as_json)
    deadline = Deadline.after(timeout)
    if ssh is not None:
        listing, ifnames = _read_over_ssh(ssh, query, owners=process, deadline=deadline)
    else:
        listing = _here(list_sockets(query, deadline=deadline))
        if process:
            listing = _with_owners(listing, deadline)
        ifnames = interface_names()
    listing = apply(listing, listing_filter)
    _print_listing(listing, process=process, summary=summary, as_json=as_json, ifnames=ifnames)
    return EXIT_OK


def _filters(
    words: tuple[str, ...],
    states: tuple[str, ...],
    src: tuple[str, ...],
    dst: tuple[str, ...],
    pids: tuple[int, ...],
) -> tuple[tuple[str, ...], ListingFilter]:
    """The kernel's state filter and the listing filter from options and ss's words;
    a usage error (exit 2) for a word or spec that does not parse."""
    from netdx.sockets.filters import ListingFilter, parse_endpoint, parse_words, state_names

    try:
        extra = parse_words(words)
        names = state_names((*states, *extra.states))
        return names, ListingFilter(
            src=tuple(parse_endpoint(s) for s in (*src, *extra.src)),
            dst=tuple(parse_endpoint(s) for s in (*dst, *extra.dst)),
            pids=pids,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _here(listing: SocketListing) -> SocketListing:
    """The listing marked with where it was read: the namespace this process is in
    (--netns, `ip netns exec`), else this host."""
    from dataclasses import replace

    from netdx.host.netns import here

    return replace(listing, observed_on=here())


def _with_owners(listing: SocketListing, deadline: Deadline) -> SocketListing:
    from dataclasses import replace

    from netdx.sockets.owners import find_owners

    scan = find_owners([s.inode for s in listing.sockets], deadline=deadline)
    return replace(listing, owners=scan)


def _read_over_ssh(
    ssh: SshOptions, query: SocketQuery, *, owners: bool, deadline: Deadline
) -> tuple[SocketListing, dict[int, str]]:
    """The listing (with owners when asked) the server's collector read, and the server's
    interface names; CannotRun (exit 3) when the server could not be read."""
    from dataclasses import asdict, replace

    from netdx.remote.fetch import (
        collector_read,
        fetch_document,
        ssh_vantage,
        unusable_as_cannot_run,
    )

    collectors = ["sockets", *(["owners"] if owners else []), "addresses"]
    request = {"collectors": collectors, "sockets": asdict(query)}
    doc = fetch_document(ssh, request, deadline)
    collector_read(doc, "sockets", ssh.destination)
    with unusable_as_cannot_run(ssh.destination):
        listing = replace(doc.listing(), observed_on=ssh_vantage(ssh))
        if owners:
            listing = replace(listing, owners=doc.owner_scan())
        ifnames = doc.interface_names()
    note([f"read on {ssh.destination} over SSH"])
    return listing, ifnames


def _print_listing(
    listing: SocketListing,
    *,
    process: bool,
    summary: bool,
    as_json: bool,
    ifnames: dict[int, str],
    who: dict[str, object] | None = None,
) -> None:
    """Print the listing; JSON notes go in the document, else to stderr."""
    from netdx.sockets import render

    if as_json and summary:
        text = render.summary_json(listing, with_process=process)
    elif as_json and who is not None:
        text = render.json_text(listing, with_process=process, ifnames=ifnames,
                                schema=render.WHO_SCHEMA, head=who)
    elif as_json:
        text = render.json_text(listing, with_process=process, ifnames=ifnames)
    elif summary:
        text = render.summary(listing, with_process=process)
    else:
        text = render.table(listing, with_process=process, ifnames=ifnames)
    sys.stdout.write(text + "\n")
    note(render.notes_text(listing))


def parse_port_spec(spec: str) -> tuple[str | None, int]:
    """PORT, :PORT, ADDR:PORT or [V6ADDR]:PORT → (address or None, port)."""
    import ipaddress

    from netdx.target import port_number  # who and inspect only: `sockets` starts without it

    text, _, port_text = spec.rpartition(":")
    host = text.strip("[]") or None
    port = port_number(port_text)
    if port is None:
        raise click.BadParameter(f"{spec!r}: expected PORT, :PORT or ADDR:PORT")
    if host is None:
        return None, port
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError as exc:
        raise click.BadParameter(f"{host!r} is not an IP address") from exc


@click.command(epilog="""\b
Examples:
  netdx who :5432                   who holds port 5432 (listener and connections)
  netdx who 10.0.0.5:443 --json     one address only, as JSON (netdx.who/1)
  netdx who :8080 --ssh admin@web1  read on the server over SSH
""")
@click.argument("spec", metavar="[ADDR]:PORT")
@click.option("--json", "as_json", is_flag=True,
              help="JSON (netdx.who/1): the port, the address and the sockets with owners.")
@timeout_option(10.0, "Time budget in seconds.")
@netns_option()
@ssh_options
def who(*, spec: str, as_json: bool, timeout: float, ssh: SshOptions | None) -> int:
    """Which process, user and fd own the listener and connections on a port (lsof -i)."""
    from dataclasses import replace

    from netdx.budget import Deadline
    from netdx.sockets.dump import list_sockets
    from netdx.sockets.model import SocketQuery
    from netdx.sockets.owners import find_owners

    address, port = parse_port_spec(spec)
    deadline = Deadline.after(timeout)
    query = SocketQuery(ports=(port,))
    with gc_paused():
        if ssh is not None:
            listing, ifnames = _read_over_ssh(ssh, query, owners=True, deadline=deadline)
        else:
            listing, ifnames = _here(list_sockets(query, deadline=deadline)), interface_names()
        if address is not None:
            keep = tuple(s for s in listing.sockets if address in (s.src, s.dst) or _wild(s.src))
            listing = replace(listing, sockets=keep)
        if ssh is None:
            scan = find_owners([s.inode for s in listing.sockets], deadline=deadline)
            listing = replace(listing, owners=scan, notes=(*listing.notes, *_udp_drops(
                port, listing.sockets, deadline)))
        _print_listing(listing, process=True, summary=False, as_json=as_json, ifnames=ifnames,
                       who={"port": port, "address": address})
    if not listing.sockets:
        note([f"no TCP or UDP socket uses port {port}" + (f" on {address}" if address else "")])
    return EXIT_OK if listing.sockets else EXIT_PROBLEM


def _udp_drops(port: int, found: Sequence[SocketEntry], deadline: Deadline) -> list[str]:
    """Notes on the receive-buffer drops of the port's UDP sockets (sk_drops) and the host's
    UdpRcvbufErrors, read only when a UDP socket uses the port; nothing when unreadable."""
    if not any(s.proto == "udp" for s in found):
        return []
    from netdx.netlink import NetlinkError
    from netdx.sockets.udp import drop_notes, read_udp_port

    try:
        return drop_notes(read_udp_port(port, deadline=deadline, owners=False))
    except (NetlinkError, OSError):
        return []


def _wild(address: str) -> bool:
    return address in ("0.0.0.0", "::")


@click.command(epilog="""\b
Examples:
  netdx inspect --port 5432                       the verdict for the postgres port here
  netdx inspect --port 443 --address 10.0.0.5     judge one address clients connect to
  netdx inspect --port 8080 --ssh admin@web1 --json
""")
@click.option("--port", required=True, type=click.IntRange(1, 65535), help="The service port.")
@click.option("--address", default=None, help="The address clients connect to (optional).")
@click.option("--json", "as_json", is_flag=True, help="The verdict as JSON (netdx.inspect/1).")
@timeout_option(10.0, "Time budget in seconds.")
@netns_option()
@ssh_options
def inspect(
    *, port: int, address: str | None, as_json: bool, timeout: float, ssh: SshOptions | None
) -> int:
    """Server-side verdict for one TCP port: nothing listening, loopback only, one address
    family only, a full accept queue, a CLOSE-WAIT leak."""
    import json

    from netdx.budget import Deadline
    from netdx.sockets import render
    from netdx.sockets.inspect import inspect_local

    if address is not None:
        address = parse_port_spec(f"{address}:{port}")[0]
        if ssh is None and address is not None and not is_local_address(address):
            raise click.UsageError(f"--address {address} is not an address of this host "
                                   "(inspect reads this host's sockets; --ssh reads another)")
    deadline = Deadline.after(timeout)
    if ssh is not None:
        result, ifnames = _inspect_over_ssh(ssh, port, address, deadline)
    else:
        result, ifnames = inspect_local(port, deadline=deadline, address=address), interface_names()
    if as_json:
        doc = render.inspect_document(result, ifnames)
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        click.echo(render.inspect_text(result))
    return EXIT_OK if result.verdict.ok else EXIT_PROBLEM


def is_local_address(address: str) -> bool:
    """Whether `address` belongs to this host (this namespace): binding a UDP socket to it
    succeeds only then (EADDRNOTAVAIL otherwise). Nothing is sent."""
    import socket

    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


def _inspect_over_ssh(
    ssh: SshOptions, port: int, address: str | None, deadline: Deadline
) -> tuple[Inspection, dict[int, str]]:
    """Inspect `port` on the server as `inspect_local` does there: a second CLOSE-WAIT
    sample a moment later in the same session when there are a few."""
    from netdx.diagnose.server import CLOSE_WAIT_THRESHOLD
    from netdx.model.server import TCP_CLOSE_WAIT
    from netdx.probes.server import port_sockets
    from netdx.remote.document import CollectDocument, server_request
    from netdx.remote.fetch import collector_read, fetch_twice, ssh_vantage, unusable_as_cannot_run
    from netdx.sockets.inspect import inspect_evidence

    def waiting(doc: CollectDocument) -> int:
        rows = doc.rows()
        return sum(1 for s in port_sockets(port, rows, rows).connections
                   if s.state == TCP_CLOSE_WAIT)  # fmt: skip

    request = server_request(port, collectors=("sockets", "owners", "counters", "addresses"))
    with unusable_as_cannot_run(ssh.destination):
        first, later = fetch_twice(
            ssh, request, deadline, again=lambda d: 0 < waiting(d) < CLOSE_WAIT_THRESHOLD, gap=0.3
        )
        latest = later or first
        collector_read(latest, "sockets", ssh.destination)
        evidence = latest.server_evidence(
            address=address, port=port, earlier=first if later else None,
            observed_on=ssh_vantage(ssh),
        )  # fmt: skip
        return inspect_evidence(evidence), latest.interface_names()


@click.group()
def _standalone() -> None:
    """The three commands on their own (python -m netdx.sockets.cli), until mounted."""


_standalone.add_command(sockets)
_standalone.add_command(who)
_standalone.add_command(inspect)


def main(argv: list[str] | None = None) -> int:
    """Run the standalone group; return the exit code."""
    try:
        result = _standalone.main(args=argv, prog_name="netdx", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return 2
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
