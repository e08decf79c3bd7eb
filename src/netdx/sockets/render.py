"""Text and JSON for socket listings: read finished values, compute nothing but layout.

Plain strings, no rich: a listing of 100k sockets must print in well under a second.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from netdx.model.server import Process
from netdx.model.vantage import THIS_HOST, Vantage, vantage_data
from netdx.netlink.tables import STATE_NUMBERS, TCP_STATES, endpoint_text
from netdx.sockets.model import OwnerScan, SocketEntry, SocketListing

# typing costs the listing's start a few ms: annotations name its types only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from netdx.sockets.inspect import Inspection

_AF_INET = socket.AF_INET


def local_text(sock: SocketEntry, ifnames: Mapping[int, str]) -> str:
    """The local end as ss prints it, with %ifname for a socket bound to an interface."""
    ifname = ifnames.get(sock.ifindex, str(sock.ifindex)) if sock.ifindex else None
    return endpoint_text(sock.family, sock.src, sock.sport, v6only=sock.v6only, ifname=ifname)


def _owner_cells(listing: SocketListing) -> Callable[[int], str]:
    """inode → the Process cell (" command(pid=N,fd=N,user=U)"), text made once per process."""
    return owner_cells(listing.owners) if listing.owners is not None else NO_CELLS


def owner_cells(scan: OwnerScan) -> Callable[[int], str]:
    """inode → the Process cell of a scan's first holder, "" for none."""
    around = {pid: (f" {p.command}(pid={pid},fd=", f",user={p.user})")
              for pid, p in scan.processes.items()}  # fmt: skip
    get, none = scan.holders.get, ("", "")

    def cell(inode: int) -> str:
        held = get(inode)
        if held is None:
            return ""
        before, after = around.get(held[0], none)
        return before + str(held[1]) + after

    return cell


def process_text(owner: Process | None) -> str:
    """`command(pid=N)`, or "" for no owner."""
    return f"{owner.command}(pid={owner.pid})" if owner is not None else ""


_HEAD = ("Proto", "State", "Recv-Q", "Send-Q", "Local", "Peer")
V4_WIDTH = len("255.255.255.255:65535")


_LISTENING = (STATE_NUMBERS["UNCONN"], STATE_NUMBERS["LISTEN"])
# The state names by number, as ss prints them (one index instead of a lookup per socket).
STATE_NAMES = tuple(TCP_STATES.get(n) or f"STATE-{n}" for n in range(256))


def table(
    listing: SocketListing, *, with_process: bool, ifnames: Mapping[int, str] | None = None
) -> str:
    """An ss-like table: Proto State Recv-Q Send-Q Local Peer [Process].

    The Local and Peer columns are as wide as the widest IPv4 endpoint, wider only for the
    IPv6 and interface-bound sockets present: no pass over every socket to measure them.
    """
    names = ifnames or {}
    socks = listing.sockets
    width, peer = column_widths(socks, names, with_process=with_process)
    cells = _owner_cells(listing) if with_process else NO_CELLS
    lines = table_lines(socks, table_format(width, peer), names, cells)
    head = table_head(width, peer, with_process=with_process)
    if not with_process:
        return "\n".join([head, *lines])
    # Sockets without an owner end in the Peer column's padding: strip it.
    return "\n".join([head, *(line.rstrip() for line in lines)])


def column_widths(
    socks: Iterable[SocketEntry], names: Mapping[int, str], *, with_process: bool
) -> tuple[int, int]:
    """(Local, Peer) column widths: an IPv4 endpoint's at least, more for the IPv6 and
    interface-bound sockets among `socks` (only those can be wider); Peer is 0 (unpadded)
    without the Process column."""
    odd = [s for s in socks if s.family != _AF_INET or s.ifindex]
    width = max([V4_WIDTH, *(len(local_text(s, names)) for s in odd)])
    peer = max([V4_WIDTH, *(len(s.remote) for s in odd)]) if with_process else 0
    return width, peer


def table_format(width: int, peer: int) -> str:
    """The %-format of one table line (before its Process cell)."""
    return "%%-5s %%-10s %%6d %%6d %%-%ds %%-%ds" % (width, peer)  # noqa: UP031


def table_head(width: int, peer: int, *, with_process: bool) -> str:
    """The table's head line."""
    head = table_format(width, peer).replace("d", "s") % _HEAD
    return head + " Process" if with_process else head


def table_lines(
    socks: Iterable[SocketEntry], fmt: str, names: Mapping[int, str], cells: Callable[[int], str]
) -> list[str]:
    """One table line per socket (Process cells not yet stripped).

    This runs once per socket on 100k sockets: tuple unpacking in the loop target and
    %-formatting are the fastest Python has (twice as fast as attributes and f-strings).
    """
    state_names, v4 = STATE_NAMES, _AF_INET
    return [
        fmt % (
            proto, state_names[state], rq, wq,
            src + ":" + str(sport) if fam == v4 and not ifx else local_text(s, names),
            dst + ":" + (str(dport) if dport else "*") if fam == v4 else s.remote,
        )
        + cells(inode)
        for s in socks
        for (proto, fam, state, src, sport, dst, dport, ifx, rq, wq, _, inode, _) in (s,)
    ]  # fmt: skip


def NO_CELLS(inode: int) -> str:
    """No Process cell for any socket."""
    return ""


def notes_text(listing: SocketListing) -> list[str]:
    """What could not be read, one sentence per line (for stderr or a table footer)."""
    scan = listing.owners
    if scan is None:
        return list(listing.notes)
    missing = sum(1 for s in listing.sockets if s.inode and scan.owner_of(s) is None)
    return [*listing.notes, *owner_notes(scan, missing)]


def owner_notes(scan: OwnerScan, missing: int) -> list[str]:
    """The scan's notes, and why `missing` sockets (with an inode) have no known owner."""
    out = list(scan.notes)
    if not missing:
        return out
    why = "some processes are not readable" if scan.unreadable else "no process found"
    out.append(f"{missing} socket(s) without a known owner: {why}")
    if scan.vanished:
        out.append(f"{scan.vanished} process(es) exited while /proc was read")
    for issue in scan.unreadable[:5]:
        out.append(f"pid {issue.pid} ({issue.command or '?'}): {issue.reason}")
    if len(scan.unreadable) > 5:
        out.append(f"... and {len(scan.unreadable) - 5} more unreadable processes")
    return out


def socket_object(
    sock: SocketEntry,
    ifnames: Mapping[int, str],
    owners: Sequence[tuple[Process, int]] | None = None,
) -> dict[str, Any]:
    """One socket as the JSON object of `netdx sockets --json`; with `owners` (the
    (process, fd) pairs holding it, first holder first) the process keys too."""
    obj: dict[str, Any] = {
        "proto": sock.proto,
        "family": 6 if sock.family == 10 else 4,
        "state": sock.state_name,
        "local": local_text(sock, ifnames),
        "remote": sock.remote,
        "local_address": sock.src,
        "local_port": sock.sport,
        "remote_address": sock.dst,
        "remote_port": sock.dport,
        "recv_q": sock.rqueue,
        "send_q": sock.wqueue,
        "uid": sock.uid,
        "inode": sock.inode,
        "interface": ifnames.get(sock.ifindex, str(sock.ifindex)) if sock.ifindex else None,
        "v6only": sock.v6only,
    }
    if owners is not None:
        obj["process"] = owner_object(*owners[0]) if owners else None
        if len(owners) > 1:
            obj["processes"] = [owner_object(p, fd) for p, fd in owners]
    return obj


def owner_object(process: Process, fd: int) -> dict[str, Any]:
    return {"pid": process.pid, "command": process.command, "user": process.user, "fd": fd}


def _listing_owners(
    listing: SocketListing, sock: SocketEntry, with_process: bool
) -> tuple[tuple[Process, int], ...] | None:
    if not with_process:
        return None
    return listing.owners.owners_of(sock.inode) if listing.owners else ()


SOCKETS_SCHEMA = "netdx.sockets/1"
WHO_SCHEMA = "netdx.who/1"
SUMMARY_SCHEMA = "netdx.sockets.summary/1"


def json_text(
    listing: SocketListing,
    *,
    with_process: bool,
    ifnames: Mapping[int, str] | None = None,
    schema: str = SOCKETS_SCHEMA,
    head: Mapping[str, Any] | None = None,
) -> str:
    """The listing as one JSON object: `schema`, the `head` keys (who: port, address), the
    `sockets` array with one object per socket and one socket per line (greppable, and three
    times faster to write than an indented document), then `notes`."""
    names = ifnames or {}
    dumps = json.dumps
    body = ",\n".join(
        dumps(socket_object(s, names, _listing_owners(listing, s, with_process)))
        for s in listing.sockets
    )
    array = "[\n" + body + "\n]" if body else "[]"
    front = json_front(schema, head, listing.observed_on)
    return front + array + json_back(notes_text(listing))


def json_front(
    schema: str = SOCKETS_SCHEMA,
    head: Mapping[str, Any] | None = None,
    observed_on: Vantage = THIS_HOST,
) -> str:
    """The listing document up to its `sockets` array (the object still open): `schema`,
    where the sockets were read (`observed_on`), then the `head` keys."""
    where = vantage_data(observed_on)
    return json.dumps({"schema": schema, "observed_on": where, **(head or {})})[:-1] + (
        ', "sockets": '
    )



def json_back(notes: list[str]) -> str:
    """The listing document after its `sockets` array: the notes, and the object closed."""
    return f',\n"notes": {json.dumps(notes, ensure_ascii=False)}}}'


def service_port(sock: SocketEntry, listening: frozenset[tuple[str, int]]) -> int:
    """The port that names the service of a connection: the local one if something listens
    on it here (server side), else the remote one (client side)."""
    return sock.sport if (sock.proto, sock.sport) in listening or not sock.dport else sock.dport


def _summary_counts(
    listing: SocketListing, with_process: bool
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str, int, str]]]:
    """(proto, state) → count, and (proto, state, service port, process text) → count."""
    states = Counter((s.proto, s.state_name) for s in listing.sockets)
    # Listening: TCP LISTEN, and UDP sockets bound without a peer (ss -l shows both).
    listening = frozenset((s.proto, s.sport) for s in listing.sockets if s.state in _LISTENING)
    groups: Counter[tuple[str, str, int, str]] = Counter()
    for s in listing.sockets:
        owner = process_text(listing.owner_of(s)) if with_process else ""
        groups[(s.proto, s.state_name, service_port(s, listening), owner)] += 1
    return states, groups


def summary(listing: SocketListing, *, with_process: bool, top: int = 20) -> str:
    """Counts per state, then the biggest groups per state × port (× process with -p)."""
    states, groups = _summary_counts(listing, with_process)
    lines = [f"{len(listing.sockets)} sockets"]
    lines += [f"  {p:<4} {st:<11} {n:>8}" for (p, st), n in sorted(states.items())]
    lines.append(f"by state and port{' and process' if with_process else ''} (top {top}):")
    for (proto, state, port, owner), n in groups.most_common(top):
        lines.append(f"  {proto:<4} {state:<11} :{port:<6} {n:>8}  {owner}".rstrip())
    return "\n".join(lines)


def summary_json(listing: SocketListing, *, with_process: bool) -> str:
    """The summary as JSON (netdx.sockets.summary/1): every state count and every
    state × port (× process) group, biggest first (no top-N cut: a program reads it)."""
    states, groups = _summary_counts(listing, with_process)
    doc: dict[str, Any] = {
        "schema": SUMMARY_SCHEMA,
        "observed_on": vantage_data(listing.observed_on),
        "total": len(listing.sockets),
        "states": [{"proto": p, "state": st, "count": n} for (p, st), n in sorted(states.items())],
        "groups": [
            {"proto": p, "state": st, "port": port, "count": n,
             **({"process": owner or None} if with_process else {})}
            for (p, st, port, owner), n in groups.most_common()
        ],
        "notes": notes_text(listing),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def inspect_document(
    inspection: Inspection, ifnames: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """An Inspection as the JSON-ready mapping of the `netdx.inspect/1` contract; the
    verdict and findings in the one contract of `render.json`."""
    from netdx.render.json import finding_document, verdict_document

    names = ifnames or {}
    server = inspection.server
    return {
        "schema": inspection.schema,
        "observed_on": vantage_data(server.observed_on),  # this host, a netns or over SSH
        "port": inspection.port,
        "address": inspection.address,
        "verdict": verdict_document(inspection.verdict),
        "findings": [finding_document(f) for f in inspection.findings],
        "listeners": [socket_object(s, names, server.owners_of(s)) for s in server.listeners],
        "states": dict(inspection.states),
        "notes": list(inspection.notes),
        **_udp_document(inspection, names),
    }


def _udp_document(inspection: Inspection, names: Mapping[int, str]) -> dict[str, Any]:
    """The port's UDP sockets with their drops, and the host's UdpRcvbufErrors: only when a
    UDP socket is bound there (other documents stay as they were)."""
    udp = inspection.udp
    if udp is None or not udp.sockets:
        return {}
    sockets = [
        {**socket_object(u.socket, names, ((u.owner, u.fd),) if u.owner is not None else None),
         "drops": u.drops}
        for u in udp.sockets
    ]  # fmt: skip
    return {"udp": {"sockets": sockets, "rcvbuf_errors": udp.rcvbuf_errors}}


def inspect_text(inspection: Inspection) -> str:
    """The verdict first, then its evidence, fixes, warnings and the connection counts."""
    verdict = inspection.verdict
    mark = "ok" if verdict.ok else verdict.cause
    lines = [f"port {inspection.port}: {mark}", f"  {verdict.summary}"]
    lines += [f"  evidence: {e}" for e in verdict.evidence]
    lines += [f"  fix: {f}" for f in verdict.fix]
    lines += [f"  warning [{w.cause}]: {w.summary}" for w in verdict.warnings]
    if inspection.states:
        counts = ", ".join(f"{n} {state}" for state, n in inspection.states.items())
        lines.append(f"  connections: {counts}")
    if inspection.udp is not None and inspection.udp.rcvbuf_errors:
        lines.append(f"  UdpRcvbufErrors: {inspection.udp.rcvbuf_errors} on this host")
    lines += [f"  note: {n}" for n in inspection.notes]
    if _remote(inspection):
        lines.append(f"  observed on: {inspection.server.observed_on.name} (over SSH)")
    return "\n".join(lines)


def _remote(inspection: Inspection) -> bool:
    return inspection.server.observed_on.kind == "ssh"
