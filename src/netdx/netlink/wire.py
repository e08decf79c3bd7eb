"""Netlink framing: nlmsghdr, NLMSG_ERROR / NLMSG_DONE, and collecting a (multipart) reply.

Protocol-agnostic: rtnetlink and sock_diag both frame their messages this way. Nothing here
does I/O; `ReplyCollector` is fed the datagrams a socket received and says when the reply
is complete, so the whole exchange logic is testable on captured bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from ._compat import value
from .attrs import Attrs, AttrSpec, StructFormat, asciiz, parse_attrs, u32
from .errors import NetlinkParseError, errno_name

# struct nlmsghdr { __u32 len; __u16 type; __u16 flags; __u32 seq; __u32 pid; }
NLMSG_HDR = struct.Struct("=IHHII")
_ERRNO = struct.Struct("=i")

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4

NLM_F_REQUEST = 0x01
NLM_F_MULTI = 0x02
NLM_F_ACK = 0x04
NLM_F_DUMP_INTR = 0x10
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
# Flags of an NLMSG_ERROR message (set when NETLINK_CAP_ACK / NETLINK_EXT_ACK are on).
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200

# Extended ack attributes that follow the echoed request (linux/netlink.h).
NLMSGERR_ATTRS: dict[int, AttrSpec] = {
    1: AttrSpec("NLMSGERR_ATTR_MSG", asciiz),
    2: AttrSpec("NLMSGERR_ATTR_OFFS", u32),
}


def align4(length: int) -> int:
    """NLMSG_ALIGN / RTA_ALIGN: round up to a multiple of 4."""
    return (length + 3) & ~3


@value
class NlMsg:
    """One netlink message: the header fields and the payload after the header."""

    type: int
    flags: int
    seq: int
    pid: int
    payload: bytes


TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    H = TypeVar("H")


def unpack_message(
    msg: NlMsg, kind: int, name: str, head: StructFormat[H], table: Mapping[int, AttrSpec]
) -> tuple[H, Attrs]:
    """The fixed header and the attributes of `msg`, the layout rtnetlink and sock_diag
    messages share; `msg` must be of type `kind` (called `name` in the error)."""
    if msg.type != kind:
        raise NetlinkParseError(f"message type {msg.type} is not {name}")
    return head.unpack(msg.payload), parse_attrs(msg.payload[head.size :], table)


@value
class ErrorAck:
    """An NLMSG_ERROR reply. `errno` is positive (0 is a plain ACK); `message` is the
    kernel's extended-ack text ("Neighbour entry not found.") when it sent one."""

    errno: int
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.errno == 0

    @property
    def name(self) -> str:
        """The errno name: ENETUNREACH, EACCES, ..."""
        return errno_name(self.errno)

    @property
    def text(self) -> str:
        """The errno name, and the kernel's message when it sent one."""
        return f"{self.name}: {self.message}" if self.message else self.name


@value
class Reply:
    """A complete reply to one request: the data messages, the error if any, and the raw
    datagrams (kept so that a capture can be saved and replayed)."""

    messages: tuple[NlMsg, ...]
    error: ErrorAck | None = None
    interrupted: bool = False  # NLM_F_DUMP_INTR: the dump may be inconsistent
    datagrams: tuple[bytes, ...] = ()


def encode_message(msg_type: int, flags: int, seq: int, payload: bytes, pid: int = 0) -> bytes:
    """One nlmsghdr plus payload, padded to 4 bytes."""
    length = NLMSG_HDR.size + len(payload)
    head = NLMSG_HDR.pack(length, msg_type, flags, seq, pid)
    return head + payload + b"\0" * (align4(length) - length)


def parse_messages(data: bytes) -> tuple[NlMsg, ...]:
    """Split one datagram into messages; raise NetlinkParseError on any framing fault."""
    messages: list[NlMsg] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < NLMSG_HDR.size:
            raise NetlinkParseError(f"{len(data) - offset} trailing bytes at offset {offset}")
        length, msg_type, flags, seq, pid = NLMSG_HDR.unpack_from(data, offset)
        if length < NLMSG_HDR.size or offset + length > len(data):
            raise NetlinkParseError(f"bad nlmsg_len {length} at offset {offset}")
        payload = bytes(data[offset + NLMSG_HDR.size : offset + length])
        messages.append(NlMsg(type=msg_type, flags=flags, seq=seq, pid=pid, payload=payload))
        offset = min(offset + align4(length), len(data))
    return tuple(messages)


def parse_error(msg: NlMsg) -> ErrorAck:
    """Decode an NLMSG_ERROR (or a non-empty NLMSG_DONE) payload into an ErrorAck."""
    if len(msg.payload) < _ERRNO.size:
        raise NetlinkParseError(f"error message of {len(msg.payload)} bytes")
    (code,) = _ERRNO.unpack_from(msg.payload)
    if code > 0:
        raise NetlinkParseError(f"positive errno {code} in an error message")
    return ErrorAck(errno=-code, message=_ext_ack_message(msg))


def _ext_ack_message(msg: NlMsg) -> str | None:
    if msg.type == NLMSG_DONE or not msg.flags & NLM_F_ACK_TLVS:
        return None
    # The errno is followed by the echoed request: its header only when capped, else all of it.
    start = _ERRNO.size
    if len(msg.payload) < start + NLMSG_HDR.size:
        raise NetlinkParseError("error message too short for the echoed header")
    echoed_len = NLMSG_HDR.unpack_from(msg.payload, start)[0]
    start += NLMSG_HDR.size if msg.flags & NLM_F_CAPPED else align4(echoed_len)
    if start > len(msg.payload):
        raise NetlinkParseError("echoed request overruns the error message")
    return parse_attrs(msg.payload[start:], NLMSGERR_ATTRS).get_str("NLMSGERR_ATTR_MSG")


class ReplyCollector:
    """Collects the reply to one request from received datagrams (no I/O).

    A reply ends with NLMSG_ERROR (an ACK or an error), NLMSG_DONE (end of a dump), or a
    single data message without NLM_F_MULTI (the answer to a plain get). Messages with
    another sequence number or port id are stale answers to an earlier request: skipped.
    `seq`/`pid` None accept any (for replaying captures).
    """

    def __init__(self, *, seq: int | None = None, pid: int | None = None) -> None:
        self._seq = seq
        self._pid = pid
        self._messages: list[NlMsg] = []
        self._datagrams: list[bytes] = []
        self._error: ErrorAck | None = None
        self._interrupted = False
        self.done = False

    def feed(self, datagram: bytes) -> None:
        """Take one received datagram; sets `done` when the reply is complete."""
        self._datagrams.append(bytes(datagram))
        for msg in parse_messages(datagram):
            if self.done or not self._ours(msg):
                continue
            self._interrupted |= bool(msg.flags & NLM_F_DUMP_INTR)
            self._take(msg)

    def _ours(self, msg: NlMsg) -> bool:
        seq_ok = self._seq is None or msg.seq == self._seq
        return seq_ok and (self._pid is None or msg.pid == self._pid)

    def _take(self, msg: NlMsg) -> None:
        if msg.type == NLMSG_NOOP:
            return
        if msg.type == NLMSG_ERROR:
            ack = parse_error(msg)
            self._error = None if ack.ok else ack
            self.done = True
        elif msg.type == NLMSG_DONE:
            # A dump that failed part way reports the errno in the DONE payload.
            ack = parse_error(msg) if msg.payload else ErrorAck(errno=0)
            self._error = None if ack.ok else ack
            self.done = True
        elif msg.type == NLMSG_OVERRUN:
            raise NetlinkParseError("NLMSG_OVERRUN: the kernel dropped part of the reply")
        else:
            self._messages.append(msg)
            self.done = not msg.flags & NLM_F_MULTI

    def reply(self) -> Reply:
        """The reply collected so far (complete once `done` is true)."""
        return Reply(
            messages=tuple(self._messages),
            error=self._error,
            interrupted=self._interrupted,
            datagrams=tuple(self._datagrams),
        )


def collect(datagrams: list[bytes] | tuple[bytes, ...]) -> Reply:
    """Replay captured datagrams through a collector that accepts any seq/pid."""
    collector = ReplyCollector()
    for datagram in datagrams:
        collector.feed(datagram)
    if not collector.done:
        raise NetlinkParseError("the datagrams end before the reply is complete")
    return collector.reply()
