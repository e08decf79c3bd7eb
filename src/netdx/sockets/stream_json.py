"""`netdx sockets --json` (`netdx.sockets/1`) written as the dump is read: the writers of
`sockets.stream` for JSON, with and without owners. An IPv4 run's objects are one %-format
of the run's columns mapped through the tables; any other socket is `render.socket_object`
through json.dumps, so the rare cases have one definition.
"""

from __future__ import annotations

import json

from netdx.model.vantage import THIS_HOST, Vantage
from netdx.netlink.diag import DiagSocket
from netdx.netlink.diag_columns import Ipv4Run
from netdx.sockets import render
from netdx.sockets.model import OwnerScan
from netdx.sockets.stream import _OBJECT_FIELDS, _Kept, _pick, _Writer

# typing costs the listing's start a few ms: annotations name its types only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, NamedTuple
else:  # the same class built by collections.namedtuple
    from netdx.netlink._compat import NamedTuple

__all__ = ["JsonWriter", "OwnedJsonWriter"]


_OBJECT_HEADS: dict[str, tuple[str, ...]] = {}


def _object_heads(proto: str) -> tuple[str, ...]:
    """state number → a socket object's keys up to its `local` value, as json.dumps writes."""
    heads = _OBJECT_HEADS.get(proto)
    if heads is None:
        heads = _OBJECT_HEADS[proto] = tuple(
            json.dumps({"proto": proto, "family": 4, "state": n, "local": ""})[:-2]
            for n in render.STATE_NAMES
        )
    return heads


# An IPv4 socket's `netdx.sockets/1` object (the renderer's bytes) from its `local` value on,
# without its closing brace.
_OBJECT = (
    '%s%s:%s", "remote": "%s:%s", "local_address": "%s", "local_port": %s, '
    '"remote_address": "%s", "remote_port": %s, "recv_q": %d, "send_q": %d, "uid": %d, '
    '"inode": %d, "interface": null, "v6only": null'
)
# The same with its `process` value (JSON made by `_owners_value` or `_ProcessFronts`), each
# after the `,\n` that separates it from the one before.
_OWNED_OBJECT = ',\n' + _OBJECT + ', "process": %s}'


class JsonWriter(_Writer):
    """`netdx.sockets/1` without owners: each datagram is written when it arrives."""

    observed_on: Vantage = THIS_HOST  # the header's `observed_on` (stream_listing sets it)

    def __init__(self, out: IO[str], ifnames: dict[int, str], scan_first: bool) -> None:
        super().__init__(out, ifnames, scan_first)
        self.started = False

    def front(self) -> str:
        return render.json_front(observed_on=self.observed_on)

    def emit(self, body: str) -> None:
        """Write objects, each after its `,\n` (the first one's dropped: it opens the array)."""
        self.out.write(body if self.started else self.front() + "[\n" + body[2:])
        self.started = True

    def runs(self, runs: list[Ipv4Run], proto: str) -> None:
        self.emit("".join([
            ((",\n" + _OBJECT + "}") * run.count) % tuple(self.arguments(run, proto, 13))
            for run in runs
        ]))  # fmt: skip

    def arguments(self, run: Ipv4Run, proto: str, each: int) -> list[object]:
        """The %-arguments of a run's `_OBJECT`s: the run's columns mapped through the
        tables, `each` to a socket (its 13, and the process value's place after them)."""
        t = self.tables
        a, p = t.addresses, t.ports
        state, rqueue, wqueue, src, sport, dst, dport, uid, inode = run.columns(_OBJECT_FIELDS)
        local_address, local_port, remote_address = _pick(a, src), _pick(p, sport), _pick(a, dst)
        args: list[object] = [None] * (each * run.count)
        args[0::each] = _pick(_object_heads(proto), state)
        args[1::each] = args[5::each] = local_address
        args[2::each] = args[6::each] = local_port
        args[3::each] = args[7::each] = remote_address
        args[4::each] = _pick(t.peer_ports, dport)
        args[8::each] = _pick(p, dport)
        args[9::each] = rqueue
        args[10::each] = wqueue
        args[11::each] = uid
        args[12::each] = inode
        return args

    def sockets(self, socks: list[DiagSocket]) -> None:
        dumps, names = json.dumps, self.names
        self.emit("".join([",\n" + dumps(render.socket_object(s, names)) for s in socks]))

    def finish(self, scan: OwnerScan | None) -> None:
        self.out.write("\n]" if self.started else self.front() + "[]")


class OwnedJsonWriter(JsonWriter):
    """`netdx.sockets/1` with owners. Each IPv4 datagram's %-arguments are made as it
    arrives (its columns mapped through the tables), while the /proc walk runs beside the
    dump, with a place left for each `process` value; after the walk they are filled in and
    formatted. Held as arguments, 200k sockets take ~25 MB where their text took ~65 MB."""

    fronts: _ProcessFronts | None = None

    def keep(self, kept: _Kept) -> None:
        runs = [(self.arguments(run, kept.proto, 14), run.count) for run in kept.runs]
        self.parts.append(_Held(runs, kept.start, kept.size))

    def sockets(self, socks: list[DiagSocket]) -> None:
        self.parts.append(socks)

    def finish(self, scan: OwnerScan | None) -> None:
        assert scan is not None
        for part in self.parts:
            if isinstance(part, list):
                dumps, names = json.dumps, self.names
                self.emit("".join([
                    ",\n" + dumps(render.socket_object(s, names, scan.owners_of(s.inode)))
                    for s in part
                ]))  # fmt: skip
            elif isinstance(part, _Held):
                self._owned_rows(part, scan)
        super().finish(scan)

    def _owned_rows(self, held: _Held, scan: OwnerScan) -> None:
        fronts, shared = self.fronts or _ProcessFronts(scan), scan.shared
        self.fronts = fronts
        inodes = self.inodes[held.start : held.start + held.size]
        if shared and any(ino in shared for ino in inodes):
            # A socket held by several processes: its `process` and `processes` values
            # as the renderer makes them, for this datagram's rows.
            values = [_owners_value(scan, ino) for ino in inodes]
        else:
            get = scan.holders.get
            values = [
                "null" if (h := get(ino)) is None else fronts[h[0]] + str(h[1]) + "}"
                for ino in inodes
            ]  # fmt: skip
        body, at = [], 0
        for args, count in held.runs:
            args[13::14] = values[at : at + count]
            body.append((_OWNED_OBJECT * count) % tuple(args))
            at += count
        self.emit("".join(body))


def _owners_value(scan: OwnerScan, inode: int) -> str:
    """A socket's `process` value, and its `processes` key when several hold it, as
    `json.dumps(render.socket_object(...))` writes them after `"process": `."""
    owners = scan.owners_of(inode)
    if not owners:
        return "null"
    text = json.dumps(render.owner_object(*owners[0]))
    if len(owners) > 1:
        text += ', "processes": ' + json.dumps([render.owner_object(p, fd) for p, fd in owners])
    return text


class _Held(NamedTuple):
    """An IPv4 datagram's runs as %-arguments of `_OWNED_OBJECT`s (the `process` values'
    places empty) with their counts, and the index of its first inode in the writer's list
    and how many there are."""

    runs: list[tuple[list[object], int]]
    start: int
    size: int


class _ProcessFronts(dict[int, str]):
    """pid → its `process` object as JSON up to the fd's value (`..."fd": `)."""

    def __init__(self, scan: OwnerScan) -> None:
        super().__init__()
        self.scan = scan

    def __missing__(self, pid: int) -> str:
        whole = json.dumps(render.owner_object(self.scan.process(pid), 0))
        front = self[pid] = whole[: -len("0}")]
        return front
