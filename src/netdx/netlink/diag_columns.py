"""The IPv4 sockets of a sock_diag datagram as columns: a list per field, no object per socket.

A listing of 200k sockets spends its time per socket, and the cheapest socket is one Python
never visits in a loop of its own. The messages of a dump come in runs of one length (a full
socket is 124 bytes on a current kernel, a TIME-WAIT one 96), so within a run each field of
every message sits at one stride: a strided slice of a memoryview reads it into a list in C,
and the run's checks (the message type, flags and sequence number, the family, no interface)
compare the bytes of such a slice with the expected bytes, also in C. A writer (the streamed
listing, `netdx.sockets.stream`) then maps its name tables over the columns.

`ipv4_runs` accepts exactly the datagrams that hold only sockets a listing prints from the
fixed part of the message alone (IPv4, not bound to an interface, of the dump's sequence
number, without NLM_F_DUMP_INTR), maybe closed by a bare NLMSG_DONE; it declines any other
(None), which `diag.parse_datagram` reads. The two agree on every datagram this accepts
(tests/unit/test_sockets_stream.py). Offsets come from the declarations in `diag` and `wire`.
"""

from __future__ import annotations

import struct
import sys
from itertools import takewhile

from .diag import INET_DIAG_MSG, SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK
from .wire import NLM_F_MULTI, NLMSG_DONE, NLMSG_HDR

__all__ = ["Ipv4Run", "ipv4_runs"]

_AF_INET = 2


def _fields() -> dict[str, tuple[str, int]]:
    """name → (memoryview format, offset in the message) of each field a column can read:
    the nlmsghdr's and inet_diag_msg's as declared, an address (16s) as its first 4 bytes
    (an IPv4 address as a native u32), and `kind`, the header's type and flags as one u32."""
    codes = NLMSG_HDR.format[1:]  # "IHHII": one character a field
    header = [(name, codes[i]) for i, name in enumerate(("len", "type", "flags", "seq", "pid"))]
    declared = [*header, *((f.name, f.code) for f in INET_DIAG_MSG.fields)]
    out: dict[str, tuple[str, int]] = {}
    offset = 0
    for name, code in declared:
        if name and code in ("B", "H", "I", "16s"):
            out[name] = ("I" if code == "16s" else code, offset)
        offset += struct.calcsize("=" + code)
    out["kind"] = ("I", out["type"][1])
    return out


_FIELDS = _fields()
_LEAST = NLMSG_HDR.size + INET_DIAG_MSG.size  # a message without attributes
_DONE_SIZE = NLMSG_HDR.size + 4  # NLMSG_DONE with its errno
_DONE = struct.Struct("=IHHIIi")
_U32 = struct.Struct("=I")
# The type and flags of a plain answer: SOCK_DIAG_BY_FAMILY (TCPDIAG_GETSOCK for a dump of
# both families), NLM_F_MULTI and nothing else (NLM_F_DUMP_INTR declines the datagram: the
# parser records it).
_KINDS = {
    kind: _U32.pack(kind | NLM_F_MULTI << 16) for kind in (SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK)
}
_FAMILY = bytes([_AF_INET])
_NO_INTERFACE = _U32.pack(0)
# The strides are read as native integers and the ports swapped by the reader's tables.
_NATIVE = sys.byteorder == "little"


class Ipv4Run:
    """`count` messages of `length` bytes from byte `start` of a datagram, each an IPv4
    socket: `columns(names)` reads fields of all of them (ports as on the wire, in network
    order; addresses as native u32)."""

    __slots__ = ("_views", "count", "length", "start")

    def __init__(self, views: dict[str, memoryview], start: int, length: int,
                 count: int) -> None:  # fmt: skip
        self._views, self.start, self.length, self.count = views, start, length, count

    def columns(self, names: tuple[str, ...]) -> list[list[int]]:
        """The fields `names` of every message of the run, in order: a list per field."""
        start, length, views = self.start, self.length, self._views
        stop = start + self.count * length
        return [
            views[code][(start + offset) // size : stop // size : length // size].tolist()
            for code, offset, size in _specs(names)
        ]


_SPECS: dict[tuple[str, ...], list[tuple[str, int, int]]] = {}


def _specs(names: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """(view format, offset, item size) of each of the fields `names`, made once a tuple."""
    specs = _SPECS.get(names)
    if specs is None:
        fields = [_FIELDS[name] for name in names]
        specs = _SPECS[names] = [(c, at, struct.calcsize(c)) for c, at in fields]
    return specs


_KIND_AT, _SEQ_AT = _FIELDS["kind"][1] >> 2, _FIELDS["seq"][1] >> 2
_FAMILY_AT, _INTERFACE_AT = _FIELDS["family"][1], _FIELDS["ifindex"][1] >> 2


def ipv4_runs(
    data: bytes, seq: int | None, kind: int = SOCK_DIAG_BY_FAMILY
) -> tuple[list[Ipv4Run], bool] | None:
    """(runs, ends the dump) of a datagram of IPv4 sockets that print from the fixed part
    alone, in order, when every message of it is one (an answer of type `kind`); None for
    any other datagram (and for one with no socket: the parser reads an end or an error)."""
    end = len(data)
    if not _NATIVE or end & 3 or end < _DONE_SIZE:
        return None
    done = False
    tail = _DONE.unpack_from(data, end - _DONE_SIZE)
    if tail[0] == _DONE_SIZE and tail[1] == NLMSG_DONE:
        if tail[5] or (seq is not None and tail[3] != seq):
            return None
        end, done = end - _DONE_SIZE, True
    raw = memoryview(data)
    words = raw.cast("I")
    views = {"B": raw, "H": raw.cast("H"), "I": words}
    wanted = _U32.pack(words[_SEQ_AT] if seq is None else seq)
    answer = _KINDS[kind]
    runs: list[Ipv4Run] = []
    start, stop = 0, end >> 2
    while start < end:
        length = words[start >> 2]
        if length < _LEAST or length & 3:
            return None
        # How many messages from here have this length: the lengths at its stride, up to
        # the first other one (the start of a message of another length, or past the end).
        first, step = start >> 2, length >> 2
        count = len(list(takewhile(length.__eq__, words[first:stop:step])))
        last, after = first + count * step, start + count * length
        # Each message a plain answer of this dump, IPv4, not bound to an interface.
        if (
            words[first + _KIND_AT : last : step].tobytes() != answer * count
            or words[first + _SEQ_AT : last : step].tobytes() != wanted * count
            or raw[start + _FAMILY_AT : after : length].tobytes() != _FAMILY * count
            or words[first + _INTERFACE_AT : last : step].tobytes() != _NO_INTERFACE * count
        ):
            return None
        runs.append(Ipv4Run(views, start, length, count))
        start = after
    if start != end or not runs:
        return None
    return runs, done
