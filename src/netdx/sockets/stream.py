"""`netdx sockets` written as the dump is read: no list of 200k sockets, no 200k objects.

The listing `render.table` and `render.json_text` print from a finished `SocketListing`,
byte for byte, but without building one: each datagram of the dump is printed when it
arrives. IPv4 datagrams are read as columns (`netlink.diag_columns.ipv4_runs`: a list per
field of each run of equal-length messages, read by strided slices in C) and printed by one
%-format per run and format, its arguments the columns mapped through tables of names
(addresses, ports, states) filled once: no Python loop visits the sockets one by one. Any
other datagram (IPv6, a socket bound to an interface, the end of a failed dump) is parsed
into DiagSockets and printed by the renderer's own functions, so the rare cases have one
definition.

- JSON (its writers in `stream_json`) without owners streams: each datagram is written
  before the next is read.
- The table waits for the end: its Local column is as wide as the widest IPv6 or
  interface-bound socket of the whole dump. IPv4 lines are made as the datagrams come,
  for the IPv4 width; the few wider sockets, when present, widen them at the end.
- With owners (-p) the /proc walk (`collect.owners_fork`) runs in a child forked before
  the dump, beside it; its result needs every inode (it stops once all are found). The
  table keeps the datagrams as they came (about 100 bytes a socket) and prints them after
  it; JSON makes each datagram's objects at once, the `process` values left to fill in.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import struct
from collections.abc import Callable
from operator import add, itemgetter

from netdx.collect.sockdiag import BOTH_FAMILIES, Dump, Request, dump, one_walk, plan
from netdx.model.vantage import THIS_HOST, Vantage
from netdx.netlink.diag import (
    SOCK_DIAG_BY_FAMILY,
    TCPDIAG_GETSOCK,
    DiagSocket,
    DumpChunk,
    parse_datagram,
)
from netdx.netlink.diag_columns import Ipv4Run, ipv4_runs
from netdx.sockets import render
from netdx.sockets.dump import listing_of, open_source
from netdx.sockets.model import OwnerScan, SocketListing, SocketQuery

# typing costs the listing's start a few ms: annotations name its types only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, NamedTuple

    from netdx.budget import Deadline
    from netdx.collect.sockdiag import DumpSource
else:  # the same class built by collections.namedtuple
    from netdx.netlink._compat import NamedTuple

__all__ = ["stream_listing"]

_AF_INET, _AF_UNSPEC = socket.AF_INET, socket.AF_UNSPEC
# The answers an IPv4 run may be read from: a dump of IPv4, or one of both families.
_ANSWERS: dict[int, int] = {_AF_INET: SOCK_DIAG_BY_FAMILY, _AF_UNSPEC: TCPDIAG_GETSOCK}
_NATIVE_U32 = struct.Struct("=I")


def _pick(table: Any, keys: list[int]) -> tuple[Any, ...]:
    """`table[key]` for each of `keys`, looked up in C (a dict's `__missing__` included)."""
    return itemgetter(*keys)(table) if len(keys) > 1 else (table[keys[0]],)


class _Ports(dict[int, str]):
    """A port as on the wire (network byte order, read as a native u16) → its decimal text."""

    def __missing__(self, raw: int) -> str:
        text = self[raw] = str(((raw & 0xFF) << 8) | (raw >> 8))
        return text


class _PeerPorts(dict[int, str]):
    """The same with ss's `*` for a peer port 0 (a listener has no peer), read from the
    local ports' table (a port is formatted once for both columns)."""

    def __init__(self, ports: _Ports) -> None:
        super().__init__()
        self.ports = ports

    def __missing__(self, raw: int) -> str:
        text = self[raw] = "*" if raw == 0 else self.ports[raw]
        return text


class _Addresses(dict[int, str]):
    """An IPv4 address as a native u32 → its dotted text."""

    def __missing__(self, raw: int) -> str:
        text = self[raw] = socket.inet_ntop(_AF_INET, _NATIVE_U32.pack(raw))
        return text


class _Queues(dict[int, str]):
    """A queue length → its `%6d` column."""

    def __missing__(self, value: int) -> str:
        text = self[value] = "%6d" % value  # noqa: UP031
        return text


class _Ends(dict[int, str]):
    """An IPv4 address as a native u32 → its dotted text and the `:` before a port."""

    def __init__(self, addresses: _Addresses) -> None:
        super().__init__()
        self.addresses = addresses

    def __missing__(self, raw: int) -> str:
        text = self[raw] = self.addresses[raw] + ":"
        return text


class _Tables:
    """The names every row reuses, made once each."""

    def __init__(self) -> None:
        self.ports = _Ports()
        self.peer_ports = _PeerPorts(self.ports)
        self.addresses, self.queues = _Addresses(), _Queues()
        self.ends = _Ends(self.addresses)


class _Writer:
    """Reads each datagram (the dump's `Reader`) and keeps or writes what it printed."""

    def __init__(self, out: IO[str], ifnames: dict[int, str], scan_first: bool) -> None:
        self.out, self.names, self.tables = out, ifnames, _Tables()
        self.scan_first = scan_first
        # In order: a datagram's printed lines (str), its DiagSockets, or (with owners,
        # until the walk) its runs of IPv4 sockets (_Kept), or (JSON) their %-arguments
        # waiting for their `process` values (stream_json's _Held).
        self.parts: list[str | list[DiagSocket] | tuple[Any, ...]] = []
        self.inodes: list[int] = []  # with owners: every socket's, for the walk
        self.seen = 0  # sockets read
        self.later: list[list[DiagSocket]] = []  # IPv6 sockets of a dump of both families

    def read(self, request: Request, datagram: bytes, seq: int | None) -> DumpChunk:
        family = request.family
        got = ipv4_runs(datagram, seq, _ANSWERS[family]) if family in _ANSWERS else None
        if got is None:
            chunk = parse_datagram(datagram, request.proto, seq=seq)
            socks = list(chunk.sockets)
            self.seen += len(socks)
            if self.scan_first:
                self.inodes += [s.inode for s in socks]
            if family == _AF_UNSPEC and any(s.family != _AF_INET for s in socks):
                # A dump of both families: its IPv6 sockets after every IPv4 one, as the
                # dumps by family print them (kept apart until the dump ends).
                self.later.append([s for s in socks if s.family != _AF_INET])
                socks = [s for s in socks if s.family == _AF_INET]
            if socks:
                self.sockets(socks)
            return DumpChunk(sockets=(), done=chunk.done, error=chunk.error,
                             interrupted=chunk.interrupted)  # fmt: skip
        runs, done = got
        self.seen += sum(run.count for run in runs)
        if self.scan_first:
            start = len(self.inodes)
            for run in runs:
                self.inodes += run.columns(_INODE)[0]
            self.keep(_Kept(runs, request.proto, start, len(self.inodes) - start))
        else:
            self.runs(runs, request.proto)
        return DumpChunk(sockets=(), done=done)

    def dumped(self) -> None:
        """At the end of the dumps: the IPv6 sockets of dumps of both families, in order."""
        for socks in self.later:
            self.sockets(socks)
        self.later = []

    def runs(self, runs: list[Ipv4Run], proto: str) -> None:
        raise NotImplementedError

    def keep(self, kept: _Kept) -> None:
        """With owners: keep a datagram's runs until the walk has found their owners."""
        self.parts.append(kept)

    def sockets(self, socks: list[DiagSocket]) -> None:
        self.parts.append(socks)


_INODE = ("inode",)
# The fields of a table line, and of a JSON object.
_LINE_FIELDS = ("state", "rqueue", "wqueue", "src", "sport", "dst", "dport")
_OBJECT_FIELDS = (*_LINE_FIELDS, "uid", "inode")


class _Kept(NamedTuple):
    """An IPv4 datagram's runs, kept until the owner walk ends: their protocol, and the
    index of their first inode in the writer's list and how many there are."""

    runs: list[Ipv4Run]
    proto: str
    start: int
    size: int


# --- the table ---------------------------------------------------------------------------------

_HEADS: dict[str, tuple[str, ...]] = {}


def _heads(proto: str) -> tuple[str, ...]:
    """state number → "proto state " as the table's first two columns print them."""
    heads = _HEADS.get(proto)
    if heads is None:
        heads = _HEADS[proto] = tuple("%-5s %-10s " % (proto, n) for n in render.STATE_NAMES)  # noqa: UP031
    return heads


# An IPv4 Local endpoint padded to the IPv4 width, with the column gap.
_V4_COLUMN = render.V4_WIDTH + 1
# A table line of an IPv4 socket without owners: its line break and "proto state " (one
# name), the queues, the Local endpoint padded to the IPv4 width, the Peer's "address:"
# and port.
_LINE = "%s%6d %6d %-" + str(_V4_COLUMN) + "s%s%s"
# The start of a table line up to the end of its Local endpoint (before the padding).
_TO_LOCAL = re.compile(r"^(\S+ +\S+ +\d+ +\d+ \S+)", re.M)


class _TableWriter(_Writer):
    """The table without owners: IPv4 lines made as the datagrams come, at the IPv4 width."""

    def __init__(self, out: IO[str], ifnames: dict[int, str], scan_first: bool) -> None:
        super().__init__(out, ifnames, scan_first)
        self.line_heads: dict[str, tuple[str, ...]] = {}

    def runs(self, runs: list[Ipv4Run], proto: str) -> None:
        t, heads = self.tables, self.line_heads.get(proto)
        if heads is None:
            heads = self.line_heads[proto] = tuple("\n" + h for h in _heads(proto))
        parts = []
        for run in runs:
            # Each column's names looked up in C, interleaved into one argument list, and
            # the run's lines made by one %-format (it pads the Local column): no Python
            # loop over the sockets at all.
            state, rqueue, wqueue, src, sport, dst, dport = run.columns(_LINE_FIELDS)
            args: list[object] = [None] * (6 * run.count)
            args[0::6] = _pick(heads, state)
            args[1::6] = rqueue
            args[2::6] = wqueue
            args[3::6] = map(add, _pick(t.ends, src), _pick(t.ports, sport))
            args[4::6] = _pick(t.ends, dst)
            args[5::6] = _pick(t.peer_ports, dport)
            parts.append((_LINE * run.count) % tuple(args))
        self.parts.append("".join(parts))

    def finish(self, scan: OwnerScan | None) -> None:
        generic = [s for part in self.parts if isinstance(part, list) for s in part]
        width, peer = render.column_widths(generic, self.names, with_process=False)
        fmt = render.table_format(width, peer)
        pad = " " * (width - render.V4_WIDTH)
        write = self.out.write
        write(render.table_head(width, peer, with_process=False))
        for part in self.parts:
            if isinstance(part, str):  # its lines start with their line break
                write(_TO_LOCAL.sub(r"\g<1>" + pad, part) if pad else part)
            elif isinstance(part, list):
                lines = render.table_lines(part, fmt, self.names, render.NO_CELLS)
                write("\n" + "\n".join(lines))
        write("\n")


class _OwnedTableWriter(_Writer):
    """The table with owners: printed after the walk, when every width is known."""

    def finish(self, scan: OwnerScan | None) -> None:
        assert scan is not None
        generic = [s for part in self.parts if isinstance(part, list) for s in part]
        width, peer = render.column_widths(generic, self.names, with_process=True)
        fmt = render.table_format(width, peer)
        cells = render.owner_cells(scan)
        write = self.out.write
        write(render.table_head(width, peer, with_process=True))
        for part in self.parts:
            if isinstance(part, list):
                lines = render.table_lines(part, fmt, self.names, cells)
                write("\n" + "\n".join(line.rstrip() for line in lines))
            elif isinstance(part, _Kept):
                inodes = self.inodes[part.start : part.start + part.size]
                write("\n" + self._lines(part, width, peer, list(map(cells, inodes))))
        write("\n")

    def _lines(self, kept: _Kept, width: int, peer: int, cells: list[str]) -> str:
        t, heads = self.tables, _heads(kept.proto)
        q = t.queues
        fronts: list[str] = []
        fars: list[str] = []
        for run in kept.runs:
            state, rqueue, wqueue, src, sport, dst, dport = run.columns(_LINE_FIELDS)
            local = map(add, _pick(t.ends, src), _pick(t.ports, sport))
            fronts += [
                f"{head}{rq} {wq} {end.ljust(width)} "
                for head, rq, wq, end in zip(_pick(heads, state), _pick(q, rqueue),
                                             _pick(q, wqueue), local, strict=True)
            ]  # fmt: skip
            fars += map(add, _pick(t.ends, dst), _pick(t.peer_ports, dport))
        # A line with a Process cell pads the Peer column; one without ends at the peer.
        return "\n".join([
            front + (far.ljust(peer) + cell if cell else far)
            for front, far, cell in zip(fronts, fars, cells, strict=True)
        ])  # fmt: skip


# --- the command's entry ---------------------------------------------------------------------


def stream_listing(
    query: SocketQuery,
    *,
    deadline: Deadline,
    out: IO[str],
    as_json: bool,
    process: bool,
    ifnames: dict[int, str],
    source: DumpSource | None = None,
    owners: Callable[[list[int]], OwnerScan] | None = None,
    both_families: bool = True,
    observed_on: Vantage = THIS_HOST,
) -> list[str]:
    """Dump the sockets `query` asks for and write them to `out` as `render.table` or
    `render.json_text` would (with owners when `process`); return the notes (what could
    not be read) for stderr. The JSON document holds them too. `source` replaces the
    kernel's sock_diag socket and `owners` the /proc walk (inodes → scan) in tests;
    `both_families=False` asks for TCP a family at a time (`_dumps`). `observed_on` is
    where the dump is read: the JSON header says it."""
    if as_json:
        from netdx.sockets.stream_json import JsonWriter, OwnedJsonWriter

        kinds: tuple[type[_Writer], type[_Writer]] = (JsonWriter, OwnedJsonWriter)
    else:
        kinds = (_TableWriter, _OwnedTableWriter)
    writer: Any = kinds[process](out, ifnames, scan_first=process)
    if as_json:
        writer.observed_on = observed_on
    with contextlib.ExitStack() as stack:
        if process and owners is None:
            owners = _forked_walk(stack, deadline)  # started now: it runs beside the dump
        if source is None:
            source = stack.enter_context(open_source())
        raw = _dumps(plan(query), source, deadline, writer, both_families=both_families)
        scan = owners(writer.inodes) if process and owners is not None else None
    listing: SocketListing = listing_of(raw)
    notes = list(listing.notes)
    if scan is not None:
        found = set(writer.inodes)
        found.discard(0)  # TIME-WAIT and request sockets: no process holds them
        missing = len(found - scan.holders.keys())
        notes += render.owner_notes(scan, missing)
    writer.finish(scan)
    if as_json:
        out.write(render.json_back(notes))
        out.write("\n")
    return notes


def _dumps(
    requests: tuple[Request, ...],
    source: DumpSource,
    deadline: Deadline,
    writer: _Writer,
    *,
    both_families: bool,
) -> Dump:
    """The dumps of `requests`, each datagram read by `writer`. TCP's two families in one
    walk of the kernel's tables (`collect.sockdiag.one_walk`): a dump of IPv6 alone walks
    every IPv4 socket too (0.04 s of kernel time at 200k sockets); the writer prints its
    IPv6 sockets after the IPv4 ones, as the dumps by family would. A kernel that refuses
    that request (before any socket) gets the dumps by family."""
    tcp = tuple(r for r in requests if r.proto == "tcp")
    merged = one_walk(tcp) if both_families else tcp
    ahead = spare_cpu()
    out = dump(merged, source, deadline, read=writer.read, ahead=ahead)
    if merged != tcp and not writer.seen and any(BOTH_FAMILIES in n for n in out.notes):
        out = dump(tcp, source, deadline, read=writer.read, ahead=ahead)
    writer.dumped()
    rest = tuple(r for r in requests if r.proto != "tcp")
    if rest and deadline.remaining() > 0:  # a dump that timed out leaves no time for more
        more = dump(rest, source, deadline, read=writer.read, ahead=ahead)
        out.notes = list(dict.fromkeys([*out.notes, *more.notes]))  # the DUMP_INTR note once
        out.interrupted |= more.interrupted
    return out


def spare_cpu(stat: str = "/proc/stat") -> bool:
    """Whether a CPU is idle now besides the one this process runs on, so that the dump's
    reader thread (`collect.sockdiag`) overlaps the kernel's work with ours. On a busy host
    it cannot, and only costs: at 200k sockets the thread took a tenth more CPU (0.55 s
    against 0.51 s) and, with both cores taken, as much more wall time. `procs_running`
    counts the tasks running or ready to run now, this one included."""
    try:
        cpus = len(os.sched_getaffinity(0))
        with open(stat, "rb") as lines:
            running = next(int(line.split()[1]) for line in lines
                           if line.startswith(b"procs_running "))  # fmt: skip
    except (AttributeError, OSError, ValueError, IndexError, StopIteration):
        return True  # not Linux's /proc as we know it: the reader thread, as always
    return running < cpus


def _forked_walk(
    stack: contextlib.ExitStack, deadline: Deadline
) -> Callable[[list[int]], OwnerScan]:
    """The /proc walk started in a child now (`collect.owners_fork`); the callable gives
    its scan for the dumped inodes. Leaving `stack` ends a child still running."""
    from netdx.collect.owners_fork import ForkedWalk
    from netdx.sockets.owners import scan_of

    walker = stack.enter_context(ForkedWalk(deadline=deadline))
    return lambda inodes: scan_of(walker.result(inodes))
