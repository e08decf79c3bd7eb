"""The streamed listing (`sockets.stream`) prints byte for byte what the renderer prints for
the same dump: table and JSON, with and without owners, on captured kernel replies and on a
built dump with every awkward case (TIME-WAIT messages between full ones, huge queues, a
listener's peer port 0, an interface-bound socket and IPv6 ends wider than IPv4's, a
DUMP_INTR datagram, a socket shared by two processes, a command that JSON must escape)."""

from __future__ import annotations

import io
import socket
import struct
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from netlink_capture import load_case
from test_sockdiag import CASES, FIXTURES

from netdx.budget import Deadline
from netdx.netlink import encode_message
from netdx.netlink.attrs import encode_attr
from netdx.netlink.diag import (
    INET_DIAG_MSG,
    SOCK_DIAG_BY_FAMILY,
    TCPDIAG_GETSOCK,
    InetDiagMsg,
    parse_datagram,
)
from netdx.netlink.diag_columns import ipv4_runs
from netdx.netlink.fake import ReplayTransport
from netdx.netlink.wire import NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR
from netdx.sockets import render
from netdx.sockets.dump import list_sockets
from netdx.sockets.model import OwnerScan, Process, SocketListing, SocketQuery
from netdx.sockets.stream import spare_cpu, stream_listing

IFNAMES = {1: "lo", 2: "vrf-blue-long0"}
SEQ = 77
# What the kernel appends to a full socket (SHUTDOWN, MARK, CGROUP_ID, SOCKOPT) and to a
# TIME-WAIT one (MARK): the two message lengths of a real dump, 124 and 96 bytes.
FULL_ATTRS = encode_attr(8, b"\0") + encode_attr(15, b"\0" * 4) + encode_attr(21, b"\0" * 8) \
    + encode_attr(22, b"\0\0")  # fmt: skip
TW_ATTRS = encode_attr(15, b"\0" * 4)


def message(
    family: int, state: int, src: str, sport: int, dst: str, dport: int, *,
    ifindex: int = 0, rq: int = 0, wq: int = 0, uid: int = 0, inode: int = 0,
    attrs: bytes = FULL_ATTRS, flags: int = NLM_F_MULTI,
) -> bytes:  # fmt: skip
    """One SOCK_DIAG_BY_FAMILY message as the kernel writes it."""
    packed = [socket.inet_pton(family, a).ljust(16, b"\0") for a in (src, dst)]
    head = INET_DIAG_MSG.pack(InetDiagMsg(
        family=family, state=state, timer=0, retrans=0, sport=sport, dport=dport,
        src=packed[0], dst=packed[1], ifindex=ifindex, cookie=0, expires=0,
        rqueue=rq, wqueue=wq, uid=uid, inode=inode,
    ))  # fmt: skip
    return encode_message(SOCK_DIAG_BY_FAMILY, flags, SEQ, head + attrs)


DONE = encode_message(NLMSG_DONE, NLM_F_MULTI, SEQ, struct.pack("=i", 0))
V4, V6 = socket.AF_INET, socket.AF_INET6


def busy_ipv4() -> list[bytes]:
    """Three datagrams of a busy IPv4 dump, the last closed by NLMSG_DONE."""
    first = [
        message(V4, 10, "0.0.0.0", 22, "0.0.0.0", 0, wq=128, inode=100),
        message(V4, 10, "127.0.0.1", 5432, "0.0.0.0", 0, rq=3, wq=4096, inode=101),
    ]
    many = []
    for n in range(300):
        if n % 7 == 3:  # TIME-WAIT: shorter, no inode
            many.append(message(V4, 6, "10.1.2.3", 40000 + n, "10.9.8.7", 443, attrs=TW_ATTRS))
        else:
            state = (1, 8, 5, 2, 9, 11, 4)[n % 7]
            many.append(message(V4, state, "192.168.100.200", 32768 + n, "10.0.0.1", 80 + n % 3,
                                rq=n * 1_234_567 % 99_999_999, wq=n % 5, uid=1000 + n % 2,
                                inode=1000 + n))  # fmt: skip
    return [b"".join(first + many[:150]), b"".join(many[150:]), b"".join([
        message(V4, 10, "198.51.100.201", 65535, "0.0.0.0", 0, ifindex=2, inode=102),
        message(V4, 1, "10.0.0.2", 1, "10.0.0.3", 2, inode=103,
                flags=NLM_F_MULTI | NLM_F_DUMP_INTR),
        DONE,
    ])]  # fmt: skip


def busy_ipv6() -> list[bytes]:
    """An IPv6 dump: a dual-stack and a v6-only listener (SKV6ONLY), a wide connection."""
    v6only = [encode_attr(8, b"\0") + encode_attr(11, bytes([flag])) for flag in (0, 1)]
    return [b"".join([
        message(V6, 10, "::", 8080, "::", 0, inode=200, attrs=v6only[0]),
        message(V6, 10, "::", 8443, "::", 0, inode=201, attrs=v6only[1]),
        message(V6, 1, "2001:db8:1234:5678::abcd", 8443, "2001:db8:ffff::1", 51515,
                inode=202, attrs=v6only[0]),
        DONE,
    ])]  # fmt: skip


def owners_of(listing: SocketListing) -> OwnerScan:
    """Owners for most inodes: one shared by two processes, one process JSON must escape."""
    web = Process(pid=10, command="nginx", user="www-data", uid=33)
    odd = Process(pid=11, command='we"ird\\ \u00e9', user="root", uid=0)
    owners: dict[int, tuple[tuple[Process, int], ...]] = {}
    for n, sock in enumerate(s for s in listing.sockets if s.inode):
        if n % 5 == 4:
            continue  # no owner found: a note, and a line without a Process cell
        owners[sock.inode] = ((web if n % 2 else odd, 3 + n),)
    owners[1000 + 1] = ((web, 7), (odd, 8))  # shared after fork()
    return OwnerScan.of(owners, wanted=len(owners))


def both(
    replies: Sequence[Sequence[bytes]], *, as_json: bool, process: bool,
    merged: Sequence[Sequence[bytes]] = (),
) -> tuple[str, str, list[str], list[str]]:
    """(streamed, rendered) output and notes of one dump (by family; streamed from the
    `merged` replies instead when given: a dump of both families)."""
    query = SocketQuery(protocols=("tcp",), families=(4, 6)[: len(replies)])
    listing = list_sockets(query, deadline=Deadline.after(5), source=ReplayTransport(replies))
    scan = owners_of(listing) if process else None
    if scan is not None:
        listing = SocketListing(sockets=listing.sockets, owners=scan, notes=listing.notes,
                                interrupted=listing.interrupted)  # fmt: skip
    if as_json:
        text = render.json_text(listing, with_process=process, ifnames=IFNAMES)
    else:
        text = render.table(listing, with_process=process, ifnames=IFNAMES)
    out = io.StringIO()
    notes = stream_listing(
        query, deadline=Deadline.after(5), out=out, as_json=as_json, process=process,
        ifnames=IFNAMES, source=ReplayTransport(merged or replies),
        owners=None if scan is None else (lambda inodes: scan), both_families=bool(merged),
    )  # fmt: skip
    return out.getvalue(), text + "\n", notes, render.notes_text(listing)


@pytest.mark.parametrize("process", [False, True])
@pytest.mark.parametrize("as_json", [False, True])
def test_built_dump_prints_the_same(as_json: bool, process: bool) -> None:
    """Every awkward case of a big dump prints as the renderer prints it, notes included."""
    streamed, rendered, notes, expected_notes = both(
        [busy_ipv4(), busy_ipv6()], as_json=as_json, process=process
    )
    assert streamed == rendered
    assert notes == expected_notes
    assert "%vrf-blue-long0" in streamed and "12345" in streamed


@pytest.mark.parametrize("process", [False, True])
@pytest.mark.parametrize("as_json", [False, True])
def test_ipv4_only_dump_keeps_the_ipv4_width(as_json: bool, process: bool) -> None:
    """Without wider sockets the table keeps its IPv4 columns (no widening pass)."""
    replies = [[*busy_ipv4()[:2], DONE]]
    streamed, rendered, _, _ = both(replies, as_json=as_json, process=process)
    assert streamed == rendered


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("as_json", [False, True])
def test_captured_dumps_print_the_same(case: str, as_json: bool) -> None:
    """A captured kernel reply prints the same through both paths."""
    replies = [load_case(FIXTURES, case)[1]]
    query = SocketQuery(protocols=(CASES[case]["proto"],),
                        families=(CASES[case]["family"],))  # fmt: skip
    listing = list_sockets(query, deadline=Deadline.after(5), source=ReplayTransport(replies))
    out = io.StringIO()
    stream_listing(query, deadline=Deadline.after(5), out=out, as_json=as_json,
                   process=False, ifnames=IFNAMES, source=ReplayTransport(replies))  # fmt: skip
    if as_json:
        assert out.getvalue() == render.json_text(listing, with_process=False,
                                                  ifnames=IFNAMES) + "\n"  # fmt: skip
    else:
        assert out.getvalue() == render.table(listing, with_process=False, ifnames=IFNAMES) + "\n"


def _columns(datagram: bytes, seq: int | None) -> list[tuple[object, ...]] | None:
    """The sockets `ipv4_runs` reads from `datagram`, as the parser's fields (None: declined)."""
    got = ipv4_runs(datagram, seq)
    if got is None:
        return None
    out: list[tuple[object, ...]] = []
    for run in got[0]:
        names = ("state", "src", "sport", "dst", "dport", "rqueue", "wqueue", "uid", "inode")
        state, src, sport, dst, dport, rqueue, wqueue, uid, inode = run.columns(names)
        # Ports come as on the wire (network order), addresses as native u32.
        sport, dport = ([socket.ntohs(p) for p in ports] for ports in (sport, dport))
        src_text, dst_text = ([socket.inet_ntop(V4, struct.pack("=I", a)) for a in addresses]
                              for addresses in (src, dst))  # fmt: skip
        out += zip(state, src_text, sport, dst_text, dport, rqueue, wqueue, uid, inode,
                   strict=True)
    return out


def _parsed(datagram: bytes, seq: int | None) -> list[tuple[object, ...]]:
    return [(s.state, s.src, s.sport, s.dst, s.dport, s.rqueue, s.wqueue, s.uid, s.inode)
            for s in parse_datagram(datagram, "tcp", seq=seq).sockets]  # fmt: skip


def test_runs_agree_with_the_parser_or_decline() -> None:
    """ipv4_runs reads every field of every socket as parse_datagram reads it, across runs
    of messages of different lengths (full and TIME-WAIT ones, a run of one), with or
    without a closing NLMSG_DONE, or declines the datagram (interface-bound socket,
    DUMP_INTR, IPv6, another request's reply, a truncated message, no socket at all) for
    the parser to read."""
    first, second, odd = busy_ipv4()
    for datagram in (first, second, second + DONE, first[:124]):
        columns = _columns(datagram, SEQ)
        assert columns is not None and columns == _parsed(datagram, SEQ)
        assert _columns(datagram, None) == columns  # the replay's "any sequence number"
    got = ipv4_runs(second + DONE, SEQ)
    assert got is not None and got[1] and len(got[0]) > 40  # many runs, and the end
    assert ipv4_runs(odd, SEQ) is None
    assert ipv4_runs(busy_ipv6()[0], SEQ) is None
    assert ipv4_runs(first, SEQ + 1) is None  # another request's reply
    assert ipv4_runs(first[:-4], SEQ) is None  # the last message cut short
    assert ipv4_runs(DONE, SEQ) is None  # nothing to read: the parser ends the dump


def _messages(datagram: bytes) -> list[bytes]:
    out, offset = [], 0
    while offset < len(datagram):
        length = struct.unpack_from("=I", datagram, offset)[0]
        out.append(datagram[offset : offset + length])
        offset += length
    return out


def _both_families(message_bytes: bytes) -> bytes:
    """A SOCK_DIAG_BY_FAMILY message as a dump of both families answers it (TCPDIAG_GETSOCK)."""
    kind = struct.unpack_from("=H", message_bytes, 4)[0]
    if kind != SOCK_DIAG_BY_FAMILY:
        return message_bytes
    return message_bytes[:4] + struct.pack("=H", TCPDIAG_GETSOCK) + message_bytes[6:]


def merged_reply() -> list[bytes]:
    """busy_ipv4 and busy_ipv6 as one dump of both families returns them: the listeners of
    both first, the connections of both interleaved, the IPv4 and the IPv6 sockets each in
    their own dump's order."""
    v4 = [_messages(d) for d in busy_ipv4()]
    v6 = _messages(busy_ipv6()[0])[:-1]  # without its NLMSG_DONE
    datagrams = [v4[0][:2] + v6[:2] + v4[0][2:], v4[1][:40] + v6[2:] + v4[1][40:], v4[2]]
    return [b"".join(_both_families(m) for m in d) for d in datagrams]


@pytest.mark.parametrize("process", [False, True])
@pytest.mark.parametrize("as_json", [False, True])
def test_dump_of_both_families_prints_as_the_dumps_by_family(as_json: bool, process: bool) -> None:
    """One dump of both families (TCPDIAG_GETSOCK answers, IPv4 and IPv6 interleaved) prints
    byte for byte what the two dumps by family print: every IPv6 socket after the IPv4 ones."""
    streamed, rendered, notes, expected_notes = both(
        [busy_ipv4(), busy_ipv6()], as_json=as_json, process=process, merged=[merged_reply()]
    )
    assert streamed == rendered
    assert notes == expected_notes
    assert streamed.index("2001:db8:1234:5678::abcd") > streamed.index("198.51.100.201")


def test_kernel_refusing_both_families_gets_the_dumps_by_family() -> None:
    """A kernel that refuses the dump of both families (an error before any socket) is asked
    a family at a time, and the listing is the same, without a note about the refusal."""
    error = encode_message(NLMSG_ERROR, 0, SEQ, struct.pack("=i", -22) + b"\0" * 16)
    replies = [busy_ipv4(), busy_ipv6()]
    streamed, rendered, notes, expected_notes = both(
        replies, as_json=True, process=False, merged=[[error], *replies]
    )
    assert streamed == rendered and notes == expected_notes


@pytest.mark.parametrize("ahead", [False, True])
@pytest.mark.parametrize("as_json", [False, True])
def test_same_listing_with_or_without_the_reader_thread(
    as_json: bool, ahead: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a CPU is spare (the reader thread) or not (each datagram received in turn),
    the listing is the renderer's, byte for byte."""
    monkeypatch.setattr("netdx.sockets.stream.spare_cpu", lambda: ahead)
    streamed, rendered, _, _ = both([busy_ipv4(), busy_ipv6()], as_json=as_json,
                                    process=False, merged=[merged_reply()])  # fmt: skip
    assert streamed == rendered


@pytest.mark.parametrize(("running", "cpus", "spare"), [(1, 2, True), (2, 2, False),
                                                        (3, 2, False), (1, 1, False),
                                                        (3, 4, True)])  # fmt: skip
def test_spare_cpu_reads_the_tasks_running_now(
    running: int, cpus: int, spare: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CPU is spare when fewer tasks run or wait to run (this one included) than there
    are CPUs this process may use; an unreadable /proc/stat keeps the reader thread."""
    stat = tmp_path / "stat"
    stat.write_text(f"cpu  1 2 3 4\nctxt 99\nprocs_running {running}\nprocs_blocked 0\n")
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cpus)))
    assert spare_cpu(str(stat)) is spare
    assert spare_cpu(str(tmp_path / "missing")) is True


class _Watched(ReplayTransport):
    """Hands out its last datagram only once something was written (or after 5 s, a guard
    against a hang), and records how much had been written then."""

    def __init__(self, replies: Sequence[Sequence[bytes]], out: io.StringIO) -> None:
        super().__init__(replies)
        self.out, self.written = out, []

    def receive(self, timeout: float) -> bytes:
        if len(self._current) == 1:
            guard = Deadline.after(5)
            while not self.out.getvalue() and guard.remaining() > 0:
                time.sleep(0.001)
        self.written.append(len(self.out.getvalue()))
        return super().receive(timeout)


def test_json_is_written_as_the_dump_is_read() -> None:
    """JSON without owners is written datagram by datagram: the first datagram's sockets are
    out before the dump's last datagram is read."""
    out = io.StringIO()
    source = _Watched([[*busy_ipv4()[:2], DONE]], out)
    stream_listing(SocketQuery(protocols=("tcp",), families=(4,)), deadline=Deadline.after(5),
                   out=out, as_json=True, process=False, ifnames={}, source=source)  # fmt: skip
    assert source.written[0] == 0
    assert 0 < source.written[-1] < len(out.getvalue())
