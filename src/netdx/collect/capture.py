"""Did the SYN arrive? A packet socket that watches one TCP port while the client probes.

`open_capture` opens an AF_PACKET socket (root or CAP_NET_RAW) of type SOCK_DGRAM, so every
packet starts at its network header whatever the link, and attaches a classic BPF program
(SO_ATTACH_FILTER) that keeps only TCP segments to or from the port, IPv4 and IPv6, from or
to `peer` when given: the kernel drops everything else before it is queued, and copies only
the headers. A packet socket sees a packet before netfilter (incoming) and after it
(outgoing), so a SYN that the input hook drops is still seen "in". `drain` reads what was
queued into JSON-ready packet dicts (the fields of `model.remote.PacketSeen`).

Limits, said where they matter:
- IPv6: the filter matches only when TCP is the first next header (no extension headers);
  a SYN behind a hop-by-hop or routing header is not seen.
- IPv4 fragments other than the first carry no TCP header and are not matched.
- At most `MAX_PACKETS` packets are kept (`truncated` says more were seen); packets the
  socket's own buffer lost are counted by the kernel (PACKET_STATISTICS: `kernel_dropped`).
- The port may be the SSH port of the session that runs this: the connections that already
  exist on the port when the capture opens (the session's own among them, listed by
  sock_diag) are left out, so only connections made during the window are reported.

Stdlib only and Python 3.9: it is shipped to the server with the collector core.
"""

from __future__ import annotations

import array
import ipaddress
import select
import socket
import struct
import threading
import time
from collections.abc import Iterable
from typing import Any

from netdx.netlink import NetlinkIOError
from netdx.netlink.diag import DiagSocket
from netdx.netlink.tables import TCP_LISTEN

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
_POLL = 0.05  # how often the reader thread looks whether drain stopped it
_LIST_BUDGET = 1.0  # for listing the port's connections: sock_diag answers in milliseconds
MAX_PACKETS = 300
SNAPLEN = 128  # the longest IPv4 header (60) + the longest TCP header (60) fit
_RCVBUF = 1 << 20

# Classic BPF opcodes (linux/bpf_common.h), and the ancillary load of skb->protocol.
LD_W_ABS, LD_H_ABS, LD_B_ABS = 0x20, 0x28, 0x30
LD_H_IND, LDX_B_MSH = 0x48, 0xB1
JEQ_K, JSET_K, RET_K = 0x15, 0x45, 0x06
SKF_AD_PROTOCOL = 0xFFFFF000  # SKF_AD_OFF (-0x1000) + SKF_AD_PROTOCOL (0), as a u32

# PEP 585 generics are subscriptable at run time from Python 3.9 on.
Insn = tuple[int, int, int, int]  # (code, jt, jf, k)
Flow = tuple[str, int, str, int]  # (src, sport, dst, dport)
Parsed = tuple[str, int, str, int, int]  # (src, sport, dst, dport, tcp flags)

_TCP_FLAGS = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"),
              (0x40, "E"), (0x80, "W"))  # fmt: skip


def _words(address: str) -> list[int]:
    return list(struct.unpack("!4I", ipaddress.IPv6Address(address).packed))


def bpf_program(port: int, peer: str | None = None) -> list[Insn]:
    """The filter: TCP to or from `port` (and from or to `peer`, when given), IPv4 and
    IPv6 (TCP as the first next header). Returns SNAPLEN bytes of a match, 0 otherwise."""
    peer_v4: int | None = None
    peer_v6: list[int] | None = None
    if peer is not None:
        ip = ipaddress.ip_address(peer)
        if ip.version == 4:
            peer_v4 = int(ip)
        else:
            peer_v6 = _words(peer)
    # Each block ends by jumping to ACCEPT or DROP; labels are resolved at the end.
    prog: list[tuple[int, Any, Any, int]] = []

    def emit(code: int, k: int = 0, jt: Any = 0, jf: Any = 0) -> None:
        prog.append((code, jt, jf, k))

    emit(LD_H_ABS, SKF_AD_PROTOCOL)
    emit(JEQ_K, ETH_P_IP, 0, "v6")
    # IPv4: TCP, not a later fragment, then the ports behind a header of IHL words.
    emit(LD_B_ABS, 9)
    emit(JEQ_K, 6, 0, "drop")
    emit(LD_H_ABS, 6)
    emit(JSET_K, 0x1FFF, "drop", 0)
    if peer_v4 is not None:
        emit(LD_W_ABS, 12)
        emit(JEQ_K, peer_v4, "v4ports", 0)
        emit(LD_W_ABS, 16)
        emit(JEQ_K, peer_v4, 0, "drop")
    prog.append(("label", "v4ports", 0, 0))  # type: ignore[arg-type]
    emit(LDX_B_MSH, 0)
    emit(LD_H_IND, 0)
    emit(JEQ_K, port, "accept", 0)
    emit(LD_H_IND, 2)
    emit(JEQ_K, port, "accept", "drop")
    # IPv6: TCP as the first next header, then the ports at 40 and 42.
    prog.append(("label", "v6", 0, 0))  # type: ignore[arg-type]
    emit(JEQ_K, ETH_P_IPV6, 0, "drop")
    emit(LD_B_ABS, 6)
    emit(JEQ_K, 6, 0, "drop")
    if peer_v6 is not None:
        # The source's four words, then the destination's: all four equal → the ports.
        for base, differs in ((8, "v6dst"), (24, "drop")):
            for i, word in enumerate(peer_v6):
                emit(LD_W_ABS, base + 4 * i)
                emit(JEQ_K, word, "v6ports" if i == 3 else 0, differs)
            if base == 8:
                prog.append(("label", "v6dst", 0, 0))  # type: ignore[arg-type]
    prog.append(("label", "v6ports", 0, 0))  # type: ignore[arg-type]
    emit(LD_H_ABS, 40)
    emit(JEQ_K, port, "accept", 0)
    emit(LD_H_ABS, 42)
    emit(JEQ_K, port, "accept", "drop")
    prog.append(("label", "accept", 0, 0))  # type: ignore[arg-type]
    emit(RET_K, SNAPLEN)
    prog.append(("label", "drop", 0, 0))  # type: ignore[arg-type]
    emit(RET_K, 0)
    return _resolve(prog)


def _resolve(prog: list[tuple[Any, Any, Any, int]]) -> list[Insn]:
    """Replace label names in jumps by relative offsets (classic BPF jumps forward only)."""
    where: dict[str, int] = {}
    out: list[tuple[Any, Any, Any, int]] = []
    for item in prog:
        if item[0] == "label":
            where[item[1]] = len(out)
        else:
            out.append(item)
    done: list[Insn] = []
    for index, (code, jt, jf, k) in enumerate(out):
        done.append((code, _offset(jt, index, where), _offset(jf, index, where), k))
    return done


def _offset(target: Any, index: int, where: dict[str, int]) -> int:
    if isinstance(target, int):
        return target
    offset = where[target] - index - 1
    if not 0 <= offset <= 255:
        raise ValueError(f"BPF jump to {target} out of range")
    return offset


def run_filter(program: list[Insn], packet: bytes, protocol: int) -> int:
    """Interpret `program` on a packet (network header first) with skb->protocol
    `protocol`: what the kernel would return. For tests; covers the opcodes used here."""
    a = x = pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code == RET_K:
            return k
        if code in (LD_W_ABS, LD_H_ABS, LD_B_ABS, LD_H_IND):
            if code == LD_H_ABS and k == SKF_AD_PROTOCOL:
                a = protocol
                continue
            size = {LD_W_ABS: 4, LD_H_ABS: 2, LD_B_ABS: 1, LD_H_IND: 2}[code]
            at = k + (x if code == LD_H_IND else 0)
            if at + size > len(packet):
                return 0  # the kernel ends the program on an out-of-bounds load
            a = int.from_bytes(packet[at : at + size], "big")
        elif code == LDX_B_MSH:
            if k >= len(packet):
                return 0
            x = 4 * (packet[k] & 0x0F)
        elif code == JEQ_K:
            pc += jt if a == k else jf
        elif code == JSET_K:
            pc += jt if a & k else jf
        else:
            raise ValueError(f"opcode {code:#x} not interpreted")


def _fprog(program: list[Insn]) -> tuple[bytes, array.array]:  # type: ignore[type-arg]
    """struct sock_fprog {unsigned short len; struct sock_filter *filter;} and the array
    holding the instructions (kept alive by the caller until setsockopt returns)."""
    code = b"".join(struct.pack("HBBI", c, jt, jf, k) for c, jt, jf, k in program)
    buffer = array.array("B", code)
    address, _ = buffer.buffer_info()
    return struct.pack("HL", len(program), address), buffer


def flags_text(flags: int) -> str:
    """TCP flags in tcpdump's letters: "S", "S.", "R.", "F." ("none" for none)."""
    return "".join(letter for bit, letter in _TCP_FLAGS if flags & bit) or "none"


def parse_packet(data: bytes) -> Parsed | None:
    """(src, sport, dst, dport, flags) of an IPv4 or IPv6 TCP packet (network header
    first), or None when it is not one this capture can read."""
    if len(data) < 1:
        return None
    version = data[0] >> 4
    if version == 4 and len(data) >= 20:
        ihl = 4 * (data[0] & 0x0F)
        if data[9] != 6 or ihl < 20 or len(data) < ihl + 14:
            return None
        src, dst = (
            socket.inet_ntop(socket.AF_INET, data[12:16]),
            socket.inet_ntop(socket.AF_INET, data[16:20]),
        )
        tcp = data[ihl:]
    elif version == 6 and len(data) >= 54:
        if data[6] != 6:
            return None
        src = socket.inet_ntop(socket.AF_INET6, data[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, data[24:40])
        tcp = data[40:]
    else:
        return None
    sport, dport = struct.unpack("!HH", tcp[:4])
    return src, sport, dst, dport, tcp[13]


def existing_flows(port: int, sockets: Iterable[DiagSocket]) -> frozenset[Flow]:
    """Both directions of each TCP connection of `port` among `sockets` (LISTEN and
    request sockets aside): their packets are not the probes'."""
    flows = set()
    for s in sockets:
        if s.proto == "tcp" and s.state != TCP_LISTEN and port in (s.sport, s.dport):
            src, dst = _unmapped(s.src), _unmapped(s.dst)
            flows.add((src, s.sport, dst, s.dport))
            flows.add((dst, s.dport, src, s.sport))
    return frozenset(flows)


def _unmapped(address: str) -> str:
    """An IPv4 connection of a dual-stack socket is listed as ::ffff:a.b.c.d; on the wire
    it is a.b.c.d."""
    return address[7:] if address.startswith("::ffff:") and "." in address else address


def _connections_now(port: int) -> frozenset[Flow]:
    """The port's connections as the kernel lists them (sock_diag, filtered by port in the
    kernel: a busy server's /proc/net/tcp would take long). Nothing on failure: then a
    session on the same port may show in the capture."""
    from .clock import Deadline
    from .sockdiag import Selection, dump_host, plan
    from .system import LocalHost

    try:
        found = dump_host(plan(Selection(protocols=("tcp",), ports=(port,))), LocalHost(),
                          Deadline.after(_LIST_BUDGET))  # fmt: skip
    except (OSError, NetlinkIOError):
        return frozenset()
    return existing_flows(port, found.sockets)


class PacketCapture:
    """An armed capture. A reader thread takes each packet off the socket as it comes
    (its time is then the time it was seen, and the socket's buffer stays empty) until
    `drain` stops it and hands the packets over."""

    def __init__(self, sock: socket.socket, port: int, skip: frozenset[Flow]) -> None:
        self._sock: socket.socket | None = sock
        self.port = port
        self._skip = skip
        self._armed = time.monotonic()
        self._packets: list[dict[str, Any]] = []
        self._truncated = False
        self._stop = threading.Event()
        sock.setblocking(False)
        self._reader = threading.Thread(target=self._run, name="netdx-capture", daemon=True)
        self._reader.start()

    def _run(self) -> None:
        sock = self._sock
        try:
            while sock is not None and not self._stop.is_set() and not self._truncated:
                ready, _, _ = select.select([sock], [], [], _POLL)
                if ready:
                    self._read_queued(sock)
        except (OSError, ValueError):
            return  # the socket was closed under the reader: drain reports what was read

    def _read_queued(self, sock: socket.socket) -> None:
        """Take every queued packet off the socket (the thread's, then drain's: never both
        at once)."""
        while not self._truncated:
            try:
                data, address = sock.recvfrom(SNAPLEN)
            except BlockingIOError:
                return
            packet = self._packet(data, address)
            if packet is None:
                continue
            if len(self._packets) >= MAX_PACKETS:
                self._truncated = True
                return
            self._packets.append(packet)

    def _packet(self, data: bytes, address: Any) -> dict[str, Any] | None:
        parsed = parse_packet(data)
        if parsed is None or parsed[:4] in self._skip:
            return None
        src, sport, dst, dport, flags = parsed
        return {
            "direction": "out" if address[2] == PACKET_OUTGOING else "in",
            "src": src, "sport": sport, "dst": dst, "dport": dport,
            "flags": flags_text(flags), "ifname": address[0] or None,
            "at_ms": round((time.monotonic() - self._armed) * 1000.0, 3),
        }  # fmt: skip

    def drain(self, budget_s: float) -> dict[str, Any]:
        """Stop the reader (waiting at most `budget_s` seconds), take what is still queued
        and close the socket: {"port", "packets", "truncated", "kernel_dropped",
        "window_ms"}."""
        self._stop.set()
        self._reader.join(max(0.0, budget_s))
        dropped = 0
        sock = self._sock
        if sock is not None and not self._reader.is_alive():
            try:
                self._read_queued(sock)
                stats = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
                dropped = struct.unpack("II", stats)[1]
            except OSError:
                pass  # what was read stands; the drop count stays unknown (0)
        # The window ends at the last read: a packet still queued when drain began is read
        # (and stamped) here, so a window taken before it would end before its packets did.
        window_ms = (time.monotonic() - self._armed) * 1000.0
        self.close()
        return {
            "port": self.port,
            "packets": list(self._packets),
            "truncated": self._truncated,
            "kernel_dropped": dropped,
            "window_ms": round(window_ms, 3),
        }

    def close(self) -> None:
        """Stop the reader and close the socket (drain does it too); twice is harmless."""
        self._stop.set()
        if self._sock is not None:
            if self._reader.is_alive():
                self._reader.join(2 * _POLL)
            self._sock.close()
            self._sock = None


def open_capture(*, port: int, peer: str | None = None, proto: str = "tcp") -> PacketCapture:
    """Arm a capture of TCP `port` (from or to `peer` when given). Raises OSError
    (PermissionError without CAP_NET_RAW) and ValueError for a bad port, peer or proto."""
    if proto != "tcp":
        raise ValueError(f"only tcp can be captured, not {proto!r}")
    if not 0 < port < 65536:
        raise ValueError(f"bad port {port}")
    skip = _connections_now(port)
    program = bpf_program(port, peer)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    try:
        fprog, buffer = _fprog(program)
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        del buffer  # the kernel copied the program
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
        _flush(sock)
        sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)  # reading resets the counters
    except BaseException:
        sock.close()
        raise
    return PacketCapture(sock, port, skip)


def _flush(sock: socket.socket) -> None:
    """Drop what was queued before the filter was attached (the socket saw every packet
    between socket() and SO_ATTACH_FILTER)."""
    sock.setblocking(False)
    try:
        while True:
            sock.recv(1)
    except BlockingIOError:
        pass
