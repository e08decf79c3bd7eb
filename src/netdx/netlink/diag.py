"""sock_diag (NETLINK_SOCK_DIAG) for TCP and UDP sockets, declared as data.

`INET_DIAG_REQ_V2` is the request header and `INET_DIAG_MSG` the fixed part of each answer
(numbers and layouts from linux/inet_diag.h and linux/sock_diag.h); `INET_DIAG` is the
attribute table. `dump_request` builds a dump with the kernel-side filters: the state
bitmask and a bytecode port filter (`port_filter`). `parse_socket` turns one
SOCK_DIAG_BY_FAMILY message into a frozen `DiagSocket`. No I/O here.

A busy host holds 100k sockets, so `parse_datagram` is the fast path used by real dumps:
it walks the messages of one received datagram with the same declared layout compiled into
one `struct`, without building an NlMsg per socket. `parse_socket` is the same decoder for
one message and the two are tested to agree.
"""

from __future__ import annotations

import struct
import sys

from . import csocket as socket  # socket.py without its enums (csocket says why)
from ._compat import value
from .attrs import (
    Attrs,
    AttrSpec,
    Field,
    StructFormat,
    encode_attr,
    raw,
    u8,
    u32,
    u64,
)
from .errors import NetlinkParseError
from .tables import STATE_NUMBERS
from .tables import DiagSocket as DiagSocket  # the one socket record, named here by its users
from .wire import (
    NLM_F_DUMP,
    NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_HDR,
    NLMSG_NOOP,
    NLMSG_OVERRUN,
    ErrorAck,
    NlMsg,
    align4,
    parse_error,
    unpack_message,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SOCK_DIAG_BY_FAMILY = 20
# inet_diag's first request (struct inet_diag_req): its dump is of both IP families at once
# (the kernel's inet_diag_dump_compat asks for AF_UNSPEC), one walk of the TCP hash tables
# where a dump by family walks them once per family; each answer is of this type.
TCPDIAG_GETSOCK = 18
_ANSWERS = (SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK)

IPPROTO_TCP = 6
IPPROTO_UDP = 17
PROTOCOLS: dict[str, int] = {"tcp": IPPROTO_TCP, "udp": IPPROTO_UDP}
ALL_STATES = 0xFFFFFFFF


def state_mask(names: tuple[str, ...] | list[str]) -> int:
    """The idiag_states bitmask for ss state names (SYN-RECV includes NEW_SYN_RECV)."""
    mask = 0
    for name in names:
        number = STATE_NUMBERS.get(name.upper())
        if number is None:
            raise ValueError(f"unknown socket state {name!r}")
        mask |= 1 << number
        if number == 3:
            mask |= 1 << 12
    return mask


# --- the request ----------------------------------------------------------------------------


def _be16_encode(value: int) -> int:
    return socket.htons(value)


def _be16_decode(value: int) -> int:
    return socket.ntohs(value)


@value
class InetDiagReqV2:
    """struct inet_diag_req_v2 with its inet_diag_sockid flattened (all zero for a dump)."""

    family: int
    protocol: int
    ext: int = 0
    states: int = ALL_STATES
    sport: int = 0
    dport: int = 0
    src: bytes = b"\0" * 16
    dst: bytes = b"\0" * 16
    ifindex: int = 0
    cookie: int = 0xFFFFFFFFFFFFFFFF  # INET_DIAG_NOCOOKIE


_SOCKID_FIELDS = (
    Field("sport", "H", decode=_be16_decode, encode=_be16_encode),
    Field("dport", "H", decode=_be16_decode, encode=_be16_encode),
    Field("src", "16s"),
    Field("dst", "16s"),
    Field("ifindex", "I"),
    Field("cookie", "Q"),
)

INET_DIAG_REQ_V2 = StructFormat(
    "inet_diag_req_v2",
    InetDiagReqV2,
    (
        Field("family", "B"),
        Field("protocol", "B"),
        Field("ext", "B"),
        Field("", "x"),  # pad
        Field("states", "I"),
        *_SOCKID_FIELDS,
    ),
)

# Request attributes (enum inet_diag_req_attrs).
INET_DIAG_REQ_BYTECODE = 1

# Bytecode ops (linux/inet_diag.h): struct inet_diag_bc_op { u8 code; u8 yes; u16 no; }.
# The kernel runs the program from the start: a true test advances by `yes`, a false one by
# `no`; landing exactly on the end accepts the socket, jumping past it rejects.
BC_OP = struct.Struct("=BBH")
INET_DIAG_BC_JMP = 1
INET_DIAG_BC_S_EQ = 11
INET_DIAG_BC_D_EQ = 12


def port_filter(ports: tuple[int, ...], *, local: bool = True, remote: bool = True) -> bytes:
    """Bytecode accepting sockets whose local and/or remote port is one of `ports`.

    Built like ss's `sport = :A or dport = :A or ...`: each test is followed by a JMP to the
    end (accept); a failed test skips its JMP to the next test; the last one rejects. The
    kernel's audit wants every `no` target reachable through the `yes` chain, which this
    layout satisfies.
    """
    tests: list[tuple[int, int]] = []
    for port in ports:
        if not 0 <= port <= 0xFFFF:
            raise ValueError(f"port {port} out of range")
        if local:
            tests.append((INET_DIAG_BC_S_EQ, port))
        if remote:
            tests.append((INET_DIAG_BC_D_EQ, port))
    if not tests:
        raise ValueError("a port filter needs at least one port and one side")
    test_len, jmp_len = 2 * BC_OP.size, BC_OP.size
    code = bytearray()
    for index, (op, port) in enumerate(tests):
        last = index == len(tests) - 1
        # false: skip this test and its JMP (or, for the last test, jump 4 past the end)
        code += BC_OP.pack(op, test_len, test_len + (jmp_len if not last else BC_OP.size))
        code += BC_OP.pack(0, 0, port)  # the operand: op[1].no holds the port
        if not last:
            rest = (len(tests) - index - 1) * (test_len + jmp_len) - jmp_len
            code += BC_OP.pack(INET_DIAG_BC_JMP, jmp_len, jmp_len + rest)
    return bytes(code)


def dump_request(
    family: int,
    protocol: int,
    *,
    states: int = ALL_STATES,
    bytecode: bytes | None = None,
) -> tuple[int, int, bytes]:
    """(type, flags, payload) of a socket dump of one family and protocol (`ss -tan`);
    AF_UNSPEC (TCP only): both families in one walk, as inet_diag's first request."""
    both = family == socket.AF_UNSPEC and protocol == IPPROTO_TCP
    if family not in (socket.AF_INET, socket.AF_INET6) and not both:
        raise ValueError(f"family {family} is not AF_INET or AF_INET6 (nor AF_UNSPEC for TCP)")
    head = INET_DIAG_REQ_V2.pack(InetDiagReqV2(family=family, protocol=protocol, states=states))
    kind = SOCK_DIAG_BY_FAMILY
    if both:
        # struct inet_diag_req: family, src_len, dst_len, ext, the same sockid, states, dbs.
        head = _INET_DIAG_REQ.pack(socket.AF_UNSPEC, 0, 0, 0, head[8:], states, 0)
        kind = TCPDIAG_GETSOCK
    body = head + (encode_attr(INET_DIAG_REQ_BYTECODE, bytecode) if bytecode else b"")
    return kind, NLM_F_REQUEST | NLM_F_DUMP, body


_INET_DIAG_REQ = struct.Struct("=BBBB48sII")


# --- the answer ------------------------------------------------------------------------------


@value
class InetDiagMsg:
    """struct inet_diag_msg with its inet_diag_sockid flattened."""

    family: int
    state: int
    timer: int
    retrans: int
    sport: int
    dport: int
    src: bytes
    dst: bytes
    ifindex: int
    cookie: int
    expires: int
    rqueue: int
    wqueue: int
    uid: int
    inode: int


INET_DIAG_MSG = StructFormat(
    "inet_diag_msg",
    InetDiagMsg,
    (
        Field("family", "B"),
        Field("state", "B"),
        Field("timer", "B"),
        Field("retrans", "B"),
        *_SOCKID_FIELDS,
        Field("expires", "I"),
        Field("rqueue", "I"),
        Field("wqueue", "I"),
        Field("uid", "I"),
        Field("inode", "I"),
    ),
)

# Answer attributes (enum in linux/inet_diag.h); only a few are decoded, the rest kept raw.
INET_DIAG: dict[int, AttrSpec] = {
    1: AttrSpec("INET_DIAG_MEMINFO", raw),
    2: AttrSpec("INET_DIAG_INFO", raw),
    4: AttrSpec("INET_DIAG_CONG", raw),
    5: AttrSpec("INET_DIAG_TOS", u8),
    6: AttrSpec("INET_DIAG_TCLASS", u8),
    7: AttrSpec("INET_DIAG_SKMEMINFO", raw),
    8: AttrSpec("INET_DIAG_SHUTDOWN", u8),
    10: AttrSpec("INET_DIAG_PROTOCOL", u8),
    11: AttrSpec("INET_DIAG_SKV6ONLY", u8),
    15: AttrSpec("INET_DIAG_MARK", u32),
    21: AttrSpec("INET_DIAG_CGROUP_ID", u64),
}
_SKV6ONLY = 11


def _address(family: int, packed: bytes) -> str:
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, packed[:4])
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, packed)
    raise NetlinkParseError(f"inet_diag_msg of family {family}")


def parse_socket(msg: NlMsg, proto: str) -> DiagSocket:
    """Decode one SOCK_DIAG_BY_FAMILY answer of a `proto` ("tcp"/"udp") dump."""
    head, attrs = unpack_message(
        msg, SOCK_DIAG_BY_FAMILY, "SOCK_DIAG_BY_FAMILY", INET_DIAG_MSG, INET_DIAG
    )
    return DiagSocket(
        proto=proto,
        family=head.family,
        state=head.state,
        src=_address(head.family, head.src),
        sport=head.sport,
        dst=_address(head.family, head.dst),
        dport=head.dport,
        ifindex=head.ifindex,
        rqueue=head.rqueue,
        wqueue=head.wqueue,
        uid=head.uid,
        inode=head.inode,
        v6only=_v6only(attrs),
    )


def _v6only(attrs: Attrs) -> bool | None:
    value = attrs.get_int("INET_DIAG_SKV6ONLY")
    return None if value is None else bool(value)


# --- the fast path over whole datagrams ------------------------------------------------------

# nlmsghdr followed by inet_diag_msg, compiled from the declarations above. The two ports are
# read as native u16 and swapped below, because one struct cannot mix byte orders.
_FAST = struct.Struct(NLMSG_HDR.format + "".join(f.code for f in INET_DIAG_MSG.fields))
_SWAP = sys.byteorder == "little"
_ATTR = struct.Struct("=HH")


@value
class DumpChunk:
    """What one received datagram of a dump held: its sockets, whether it ended the dump,
    the kernel's error if the dump failed, and whether the kernel flagged it interrupted
    (NLM_F_DUMP_INTR: sockets changed while it was read)."""

    sockets: tuple[DiagSocket, ...]
    done: bool = False
    error: ErrorAck | None = None
    interrupted: bool = False


def parse_datagram(data: bytes, proto: str, *, seq: int | None = None) -> DumpChunk:
    """Decode one datagram of a sock_diag dump (messages of another `seq` are skipped)."""
    run = _uniform_run(data, proto, seq)
    if run is not None:
        sockets, offset = run
        if offset == len(data):
            return DumpChunk(sockets=sockets)
        rest = _parse_loop(data[offset:], proto, seq)
        return DumpChunk(sockets=sockets + rest.sockets, done=rest.done, error=rest.error,
                         interrupted=rest.interrupted)  # fmt: skip
    return _parse_loop(data, proto, seq)


def _uniform_run(
    data: bytes, proto: str, seq: int | None
) -> tuple[tuple[DiagSocket, ...], int] | None:
    """The common datagram in one comprehension: k equal-length messages, none of which needs
    an attribute (IPv4, or IPv6 not listening/unconnected), all of `seq`, no DUMP_INTR.
    Returns (sockets, bytes used) or None when the datagram is not of that shape; the
    guard in the comprehension drops any message that is not, and the count tells. A dump
    of both families (TCPDIAG_GETSOCK answers) takes the loop: its tables are per family."""
    if len(data) < _FAST.size or not _SWAP:
        return None
    length = NLMSG_HDR.unpack_from(data)[0]
    if length < _FAST.size or length & 3:
        return None
    count = len(data) // length
    if len(data) - count * length not in (0, _DONE_SIZE):
        return None
    layout = _uniform_struct(length)
    names: dict[bytes, str] = {}
    get, ntop = names.get, _named
    sockets = tuple(
        _new(DiagSocket, (
            proto, fam, st, get(src) or ntop(names, fam, src), ((sp & 255) << 8) | (sp >> 8),
            get(dst) or ntop(names, fam, dst), ((dp & 255) << 8) | (dp >> 8),
            ifx, rq, wq, uid, ino, None,
        ))
        for (ln, kind, flags, sq, _, fam, st, _, _, sp, dp, src, dst, ifx, _, _, rq, wq, uid, ino)
        in layout.iter_unpack(memoryview(data)[: count * length])
        if ln == length and kind == SOCK_DIAG_BY_FAMILY and not flags & NLM_F_DUMP_INTR
        and (seq is None or sq == seq)
        and (fam == _AF_INET or (fam == _AF_INET6 and st not in (7, 10)))
    )  # fmt: skip
    if len(sockets) != count:
        return None
    return sockets, count * length


_DONE_SIZE = NLMSG_HDR.size + 4


def ends_dump(data: bytes, seq: int | None) -> bool:
    """Whether this datagram ends the dump, without decoding it: it starts with an
    NLMSG_ERROR/NLMSG_DONE, or ends with a plain NLMSG_DONE (errno only: the dump socket
    does not ask for extended acks), of `seq`. Used by a reader thread that must stop
    receiving at the end of the reply; `parse_datagram` stays the judge of the content."""
    if len(data) < NLMSG_HDR.size:
        return False
    first = NLMSG_HDR.unpack_from(data)
    if first[1] in (NLMSG_DONE, NLMSG_ERROR) and (seq is None or first[3] == seq):
        return True
    if len(data) < _DONE_SIZE:
        return False
    last = NLMSG_HDR.unpack_from(data, len(data) - _DONE_SIZE)
    return last[:2] == (_DONE_SIZE, NLMSG_DONE) and (seq is None or last[3] == seq)


_UNIFORM: dict[int, struct.Struct] = {}


def _uniform_struct(length: int) -> struct.Struct:
    layout = _UNIFORM.get(length)
    if layout is None:
        layout = _UNIFORM[length] = struct.Struct(f"{_FAST.format}{length - _FAST.size}x")
    return layout


def _named(names: dict[bytes, str], family: int, packed: bytes) -> str:
    text = _ntop(family, packed[:4] if family == _AF_INET else packed)
    names[packed] = text
    return text


def _parse_loop(data: bytes, proto: str, seq: int | None) -> DumpChunk:
    out: list[DiagSocket] = []
    offset, end, interrupted = 0, len(data), False
    unpack, size, hdr = _FAST.unpack_from, _FAST.size, NLMSG_HDR.size
    hdr_unpack = NLMSG_HDR.unpack_from
    # Addresses repeat a lot: format each one once, in a table per family (a dump of both
    # families holds the 16 bytes of 0.0.0.0 and of :: alike).
    names: dict[bytes, str] = {}
    names6: dict[bytes, str] = {}
    while offset < end:
        if end - offset < hdr:
            raise NetlinkParseError(f"{end - offset} trailing bytes at offset {offset}")
        # The header and the inet_diag_msg in one unpack when there is room for both.
        head = unpack(data, offset) if end - offset >= size else hdr_unpack(data, offset)
        length, kind, flags, msg_seq = head[0], head[1], head[2], head[3]
        if length < hdr or offset + length > end:
            raise NetlinkParseError(f"bad nlmsg_len {length} at offset {offset}")
        if seq is not None and msg_seq != seq:
            offset += (length + 3) & ~3
            continue
        if flags & NLM_F_DUMP_INTR:
            interrupted = True
        if kind in _ANSWERS:
            if length < size:
                raise NetlinkParseError(f"inet_diag_msg of {length - hdr} bytes")
            out.append(_fast_socket(head, data, offset + size, offset + length, proto, names,
                                    names6))
        elif kind in (NLMSG_DONE, NLMSG_ERROR):
            return _last(data[offset : offset + length], out, interrupted)
        elif kind == NLMSG_OVERRUN:
            raise NetlinkParseError("NLMSG_OVERRUN: the kernel dropped part of the reply")
        elif kind != NLMSG_NOOP:
            raise NetlinkParseError(f"message type {kind} in a sock_diag dump")
        offset += (length + 3) & ~3
    return DumpChunk(sockets=tuple(out), interrupted=interrupted)


def _last(raw_msg: bytes, out: list[DiagSocket], interrupted: bool) -> DumpChunk:
    _, kind, flags, msg_seq, pid = NLMSG_HDR.unpack_from(raw_msg)
    payload = bytes(raw_msg[NLMSG_HDR.size :])
    msg = NlMsg(type=kind, flags=flags, seq=msg_seq, pid=pid, payload=payload)
    ack = parse_error(msg) if payload else ErrorAck(errno=0)
    error = None if ack.ok else ack
    return DumpChunk(sockets=tuple(out), done=True, error=error, interrupted=interrupted)


_new = tuple.__new__
_ntop = socket.inet_ntop
_AF_INET, _AF_INET6 = socket.AF_INET, socket.AF_INET6


def _fast_socket(
    head: tuple[Any, ...], data: bytes, attrs_at: int, end: int, proto: str,
    names: dict[bytes, str], names6: dict[bytes, str],
) -> DiagSocket:
    (_, _, _, _, _, family, state, _, _, sport, dport, src, dst, ifindex, _, _,
     rqueue, wqueue, uid, inode) = head  # fmt: skip
    if _SWAP:
        sport, dport = ((sport & 0xFF) << 8) | (sport >> 8), ((dport & 0xFF) << 8) | (dport >> 8)
    v6only = None
    if family == _AF_INET:
        src_text = names.get(src) or names.setdefault(src, _ntop(_AF_INET, src[:4]))
        dst_text = names.get(dst) or names.setdefault(dst, _ntop(_AF_INET, dst[:4]))
    elif family == _AF_INET6:
        v6only = _find_v6only(data, attrs_at, end)
        src_text = names6.get(src) or names6.setdefault(src, _ntop(_AF_INET6, src))
        dst_text = names6.get(dst) or names6.setdefault(dst, _ntop(_AF_INET6, dst))
    else:
        raise NetlinkParseError(f"inet_diag_msg of family {family}")
    # tuple.__new__ directly: the NamedTuple's generated __new__ is one Python frame more.
    fields = (proto, family, state, src_text, sport, dst_text, dport, ifindex, rqueue, wqueue,
              uid, inode, v6only)  # fmt: skip
    sock: DiagSocket = _new(DiagSocket, fields)
    return sock


def _find_v6only(data: bytes, offset: int, end: int) -> bool | None:
    # Only this one attribute is needed on the fast path: skip the others without decoding.
    while end - offset >= _ATTR.size:
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size or offset + length > end:
            raise NetlinkParseError(f"bad attribute length {length} at offset {offset}")
        if kind == _SKV6ONLY:
            return bool(u8(data[offset + _ATTR.size : offset + length]))
        offset += align4(length)
    return None
