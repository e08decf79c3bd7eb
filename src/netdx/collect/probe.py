"""The client probes of one TCP flow, run on the flow's source host (`netdx verify`).

For each requested flow (host, port, family, timeout): getaddrinfo of the name (NSS, in a
daemon thread waited on with the deadline), the kernel's route to the first address, a
non-blocking TCP connect with IP_RECVERR (and, when it gets no answer, the raw-SYN egress
test of `probes.egress`: root only), and ICMP echoes beside it (a ping socket when
net.ipv4.ping_group_range allows it, else a raw socket as root, else a reason); for a URL
flow whose port answered, the HTTP(S) GET (`collect.probe_http`). Each flow runs in a
thread of its own, bounded by its own timeout and the request's.

Raw facts only: the connect's SO_ERROR and the error queue's control messages (as hex),
the echo socket's packets (as hex), /etc/hosts and /etc/resolv.conf as text:
`netdx.remote.probe` reads them with the very parsers the local probes use
(`probes.recverr`, `probes.tcp`, `probes.icmp`, `dns.resolvconf`). Nothing is written,
nothing changed: only sockets are opened, and /etc/hosts and /etc/resolv.conf read.

Python 3.9 and the standard library only (plus `netdx.netlink`): this runs on the source.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import random
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from netdx.netlink._compat import value
from netdx.netlink.errors import os_error_name

from . import probe_http, routes
from .clock import Deadline
from .system import Host

MAX_PROBES = 256
MAX_TIMEOUT_S = 300.0
HOSTS_FILE = "/etc/hosts"
RESOLV_FILE = "/etc/resolv.conf"  # read as text: netdx parses it (`dns.resolvconf`)
HOSTS_LIMIT = 1 << 20
# Linux's IP_RECVERR family of options, absent from Python's socket module.
SOL_IP, SOL_IPV6 = 0, 41
IP_RECVERR, IPV6_RECVERR, IP_RECVTTL = 11, 25, 12
MSG_ERRQUEUE = 0x2000
# The connect waits as `probes.tcp.connect_timeout` without an RTT: a share of the budget.
CONNECT_SHARE, CONNECT_CAP_S = 0.6, 3.0
ECHO_COUNT, ECHO_INTERVAL_S = 3, 0.05
_MAX_PACKETS = 16
_ECHO_REQUEST = {4: 8, 6: 128}
_PAYLOAD = b"netdx-echo-probe"

_FIELDS = frozenset({"host", "port", "family", "timeout", "url"})

Resolver = Callable[..., list[tuple[Any, ...]]]
CmsgList = list[list[Any]]


@value
class Probe:
    """One flow to probe: connect to `host`:`port` (`family` 4, 6 or None: any); with a
    `url`, GET it once connected (`collect.probe_http`)."""

    host: str
    port: int
    family: int | None
    timeout: float
    url: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Probe:
        """A validated probe request; ValueError says what is wrong."""
        if not isinstance(data, dict) or set(data) - _FIELDS:
            raise ValueError("a probe is {host, port, family, timeout, url}")
        host, port = data.get("host"), data.get("port")
        if not isinstance(host, str) or not 0 < len(host) <= 255:
            raise ValueError("probe host must be a name or an address")
        if any(ord(ch) < 33 or ord(ch) == 127 for ch in host):
            raise ValueError("probe host must not hold blanks or control characters")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError("probe port must be an integer in 1..65535")
        family = data.get("family")
        if family not in (None, 4, 6) or isinstance(family, bool):
            raise ValueError("probe family must be 4, 6 or null")
        timeout = data.get("timeout", 5.0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise ValueError("probe timeout must be a number of seconds")
        if not 0 < timeout <= MAX_TIMEOUT_S:
            raise ValueError(f"probe timeout must be in (0, {MAX_TIMEOUT_S:g}] seconds")
        url = data.get("url")
        if url is not None and not _is_url(url):
            raise ValueError("probe url must be an http:// or https:// URL without blanks")
        return cls(host=host, port=port, family=family, timeout=float(timeout), url=url)


def _is_url(url: object) -> bool:
    if not isinstance(url, str) or not 0 < len(url) <= 2048:
        return False
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        return False
    return url.lower().startswith(("http://", "https://"))


def parse_probes(data: object) -> tuple[Probe, ...]:
    """The request's `probes` list, validated."""
    if not isinstance(data, list) or len(data) > MAX_PROBES:
        raise ValueError(f"probes must be a list of at most {MAX_PROBES} probes")
    return tuple(Probe.from_json(p) for p in data)


def run(
    host: Host,
    probes: tuple[Probe, ...],
    deadline: Deadline,
    resolve: Resolver = socket.getaddrinfo,
) -> dict[str, Any]:
    """Probe every flow side by side; the entry's data. A flow still running at its
    deadline is left to its daemon thread and reported unfinished."""
    results: list[dict[str, Any] | None] = [None] * len(probes)
    threads = []
    ends = []
    for index, probe in enumerate(probes):
        end = deadline.within(probe.timeout)

        def one(i: int = index, p: Probe = probe, d: Deadline = end) -> None:
            try:
                results[i] = probe_flow(host, p, d, resolve)
            except Exception as exc:  # one flow's bug is its error, never a false "hang"
                results[i] = dict(_request_of(p), error=f"{type(exc).__name__}: {exc}")

        thread = threading.Thread(target=one, name="netdx-probe", daemon=True)
        thread.start()
        threads.append(thread)
        ends.append(end)
    for thread, end in zip(threads, ends):  # noqa: B905 (strict= is 3.10+)
        thread.join(end.remaining() + 0.5)  # the flow ends itself at `end`: a margin only
    flows = []
    for probe, result in zip(probes, results):  # noqa: B905 (strict= is 3.10+)
        if result is None:
            result = dict(_request_of(probe), error="the probe did not finish within its timeout")
        flows.append(result)
    if not probes:
        return {"flows": [], "hosts_file": None, "hosts_error": None}  # nothing asked, nothing read
    hosts_text, hosts_error = _read(host, HOSTS_FILE)
    resolv_text, resolv_error = _read(host, RESOLV_FILE)
    return {"flows": flows, "hosts_file": hosts_text, "hosts_error": hosts_error,
            "resolv_conf": resolv_text, "resolv_error": resolv_error,
            "hostname": os.uname().nodename}  # fmt: skip


def _read(host: Host, path: str) -> tuple[str | None, str | None]:
    """A small text file of the source, or why it could not be read."""
    try:
        return host.read_text(path, limit=HOSTS_LIMIT), None
    except OSError as exc:
        return None, str(exc.strerror or exc)


def _request_of(probe: Probe) -> dict[str, Any]:
    return {"host": probe.host, "port": probe.port, "family": probe.family,
            "timeout": probe.timeout, "url": probe.url}  # fmt: skip


def probe_flow(host: Host, probe: Probe, deadline: Deadline, resolve: Resolver) -> dict[str, Any]:
    """The raw facts of one flow (see the module docstring)."""
    out = dict(_request_of(probe), error=None, resolve=None, address=None, route=None,
               interfaces={}, tcp=None, egress=None, echo=None, http=None)  # fmt: skip
    try:
        literal = str(ipaddress.ip_address(probe.host))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        out["resolve"] = _resolve(probe, deadline, resolve)
        addresses = out["resolve"]["addresses"]
    if not addresses:
        return out
    address = addresses[0]
    out["address"] = address
    try:
        found = routes.lookup(host, [address], deadline)[0]
    except OSError as exc:
        found = {"address": address, "route": None, "neighbour": None,
                 "error": str(exc.strerror or exc)}  # fmt: skip
    out["route"] = found
    oif = (found.get("route") or {}).get("oif")
    if isinstance(oif, int):
        with contextlib.suppress(OSError):
            out["interfaces"] = {str(oif): socket.if_indextoname(oif)}
    echo: dict[str, Any] = {}
    # The echoes run beside the connect, and no longer: their answer only explains it.
    beside = deadline.within(min(deadline.remaining() * CONNECT_SHARE, CONNECT_CAP_S))
    pinger = threading.Thread(target=lambda: echo.update(_echo(host, address, beside)),
                              name="netdx-echo", daemon=True)  # fmt: skip
    pinger.start()
    out["tcp"] = _connect(host, address, probe.port, deadline)
    if not out["tcp"].get("ended", True):
        # No answer to the SYN: does this host's own output filter drop it? (As check does.)
        out["egress"] = _egress(host, address, probe.port)
    if probe.url is not None and _connected(out["tcp"]):
        # As check does: once the port answers, what does the service say?
        out["http"] = probe_http.exchange(host, probe.url, probe.host, address, probe.port,
                                          deadline)  # fmt: skip
    pinger.join(deadline.remaining() + 0.2)
    out["echo"] = dict(echo) if echo else None
    return out


def _connected(tcp: dict[str, Any]) -> bool:
    return bool(tcp.get("ended")) and tcp.get("so_error") == 0 and "open_error" not in tcp


def _family_of(address: str) -> int:
    return 6 if ":" in address else 4


def _resolve(probe: Probe, deadline: Deadline, resolve: Resolver) -> dict[str, Any]:
    """getaddrinfo(name, None, family, SOCK_STREAM) in a daemon thread: it cannot be
    cancelled, so at the deadline we stop waiting and leave it to finish alone."""
    af = {None: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[probe.family]
    answer: dict[str, Any] = {}
    done = threading.Event()

    def call() -> None:
        try:
            infos = resolve(probe.host, None, af, socket.SOCK_STREAM)
            answer["addresses"] = list(dict.fromkeys(str(info[4][0]) for info in infos))
        except socket.gaierror as exc:
            answer["gai_error"] = _gai_name(exc.errno or 0)
        except UnicodeError as exc:
            answer["unicode_error"] = str(exc)
        except OSError as exc:  # EAI_SYSTEM arrives as a plain OSError with the errno
            answer["errno"] = os_error_name(exc)
        done.set()

    start = time.monotonic()
    threading.Thread(target=call, name="netdx-getaddrinfo", daemon=True).start()
    finished = done.wait(deadline.remaining())
    elapsed = round((time.monotonic() - start) * 1000.0, 2)
    if not finished:
        return {"status": "timeout", "addresses": [], "elapsed_ms": elapsed}
    status = "ok" if "addresses" in answer else "error"
    return dict({"status": status, "addresses": []}, **answer, elapsed_ms=elapsed)


def _gai_name(code: int) -> str:
    for attr in sorted(dir(socket)):
        if attr.startswith("EAI_") and getattr(socket, attr) == code:
            return attr
    return str(code)


def _cmsgs(ancdata: list[tuple[int, int, bytes]]) -> CmsgList:
    return [[level, kind, data.hex()] for level, kind, data in ancdata]


def _errqueue(sock: socket.socket) -> list[dict[str, Any]]:
    """The error queue, drained without blocking: each entry's packet and control data."""
    entries = []
    for _ in range(_MAX_PACKETS):
        try:
            data, anc, _flags, _addr = sock.recvmsg(64, 512, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break
        entries.append({"payload": data.hex(), "cmsgs": _cmsgs(anc)})
    return entries


def _connect(host: Host, address: str, port: int, deadline: Deadline) -> dict[str, Any]:
    family = _family_of(address)
    limit = min(deadline.remaining() * CONNECT_SHARE, CONNECT_CAP_S)
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    out: dict[str, Any] = {"address": address, "port": port, "timeout_ms": round(limit * 1000, 2)}
    start = time.monotonic()
    try:
        sock = host.socket(af, socket.SOCK_STREAM)
    except OSError as exc:
        return dict(out, open_error=os_error_name(exc))
    try:
        sock.setblocking(False)
        # Before connect: the ICMP errors for the SYN must be queued with their sender.
        if family == 6:
            sock.setsockopt(SOL_IPV6, IPV6_RECVERR, 1)
        else:
            sock.setsockopt(SOL_IP, IP_RECVERR, 1)
        try:
            rc = sock.connect_ex((address, port))
        except OSError as exc:
            rc = exc.errno or errno.EIO
        try:
            name = sock.getsockname()
            local: list[Any] | None = [str(name[0]), int(name[1])]
        except OSError:
            local = None
        ended = True
        if rc == errno.EINPROGRESS:
            _, ready, _ = select.select([], [sock], [], max(0.0, start + limit - time.monotonic()))
            ended = bool(ready)
        so_error = None
        if ended:
            so_error = rc if rc not in (0, errno.EINPROGRESS) else sock.getsockopt(
                socket.SOL_SOCKET, socket.SO_ERROR)  # fmt: skip
        out.update(rc=rc, ended=ended, so_error=so_error, local=local,
                   errqueue=_errqueue(sock) if ended else [])  # fmt: skip
    finally:
        sock.close()
    out["elapsed_ms"] = round((time.monotonic() - start) * 1000.0, 2)
    return out


def _egress(host: Host, address: str, port: int) -> dict[str, Any]:
    """One hand-built SYN for the flow on a raw socket (root): sendto() fails with EPERM at
    once when this host's netfilter OUTPUT rules drop it (`probes.egress`, here)."""
    family = _family_of(address)
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    try:
        udp = host.socket(af, socket.SOCK_DGRAM)
        with contextlib.closing(udp):
            udp.connect((address, port))  # a route lookup only: a UDP connect sends nothing
            source = str(udp.getsockname()[0])
        raw = host.socket(af, socket.SOCK_RAW, socket.IPPROTO_TCP)
    except OSError as exc:
        return {"sent": False, "stage": "open", "errno": os_error_name(exc)}
    with contextlib.closing(raw):
        raw.setblocking(False)
        if family == 6:
            raw.setsockopt(SOL_IPV6, socket.IPV6_CHECKSUM, 16)  # the kernel sums TCP over v6
        try:
            raw.bind((source, 0))  # the checksum covers this source: make the kernel use it
            raw.sendto(_syn(family, source, address, port), (address, 0))
        except OSError as exc:
            return {"sent": False, "stage": "send",
                    "errno": os_error_name(exc)}  # fmt: skip
    return {"sent": True, "stage": "send", "errno": None}


def _checksum(data: bytes) -> int:
    data += b"\0" * (len(data) % 2)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def _syn(family: int, source: str, destination: str, port: int) -> bytes:
    sport, seq = random.randint(32768, 60999), random.getrandbits(32)
    header = struct.pack("!HHIIHHHH", sport, port, seq, 0, (5 << 12) | 0x02, 64240, 0, 0)
    src, dst = ipaddress.ip_address(source).packed, ipaddress.ip_address(destination).packed
    if family == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header))
    else:
        pseudo = src + dst + struct.pack("!I3xB", len(header), socket.IPPROTO_TCP)
    return header[:16] + struct.pack("!H", _checksum(pseudo + header)) + header[18:]


def _open_echo(host: Host, family: int) -> tuple[socket.socket | None, str, str]:
    """A datagram ICMP socket, else a raw one: (socket, method, why none could be opened)."""
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if family == 6 else socket.IPPROTO_ICMP
    try:
        sock = host.socket(af, socket.SOCK_DGRAM, proto)
        method = "dgram"
        sock.setsockopt(SOL_IPV6 if family == 6 else SOL_IP,
                        IPV6_RECVERR if family == 6 else IP_RECVERR, 1)  # fmt: skip
    except OSError:
        try:
            sock = host.socket(af, socket.SOCK_RAW, proto)
            method = "raw"
        except OSError:
            why = ("ICMP echo needs root/CAP_NET_RAW, or sysctl net.ipv4.ping_group_range "
                   f"to include gid {os.getgid()}")  # fmt: skip
            return None, "", why
    sock.setblocking(False)
    if family == 6:
        sock.setsockopt(SOL_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    else:
        sock.setsockopt(SOL_IP, IP_RECVTTL, 1)
    return sock, method, ""


def _sockaddr(address: str) -> tuple[Any, ...]:
    """sendto()'s address: a scoped IPv6 one (fe80::1%eth0, a gateway) keeps its interface
    as the scope id, which Python's 2-tuple drops (the kernel then refuses: EINVAL)."""
    host, scoped, scope = address.partition("%")
    if not scoped:
        return (address, 0)
    return (host, 0, 0, int(scope) if scope.isdigit() else socket.if_nametoindex(scope))


def _echo_packet(family: int, ident: int, seq: int) -> bytes:
    body = struct.pack("!HH", ident, seq) + _PAYLOAD
    if family == 6:
        return struct.pack("!BBH", _ECHO_REQUEST[6], 0, 0) + body  # the kernel sums ICMPv6
    csum = _checksum(struct.pack("!BBH", _ECHO_REQUEST[4], 0, 0) + body)
    return struct.pack("!BBH", _ECHO_REQUEST[4], 0, csum) + body


def _echo(host: Host, address: str, deadline: Deadline) -> dict[str, Any]:
    """Send the echoes and keep what comes back (replies, errors) for netdx to match."""
    family = _family_of(address)
    sock, method, why = _open_echo(host, family)
    if sock is None:
        return {"address": address, "method": None, "reason": why}
    ident = random.getrandbits(16)
    sent: list[list[Any]] = []
    packets: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    start = time.monotonic()
    send_error = None
    try:
        next_send = start
        while not deadline.expired and len(packets) < _MAX_PACKETS:
            now = time.monotonic()
            if len(sent) < ECHO_COUNT and now >= next_send:
                seq = len(sent) + 1
                try:
                    sock.sendto(_echo_packet(family, ident, seq), _sockaddr(address))
                    sent.append([seq, round((now - start) * 1000.0, 3)])
                except BlockingIOError:
                    sent.append([seq, None])
                except OSError as exc:
                    send_error = os_error_name(exc)
                    break
                next_send = now + ECHO_INTERVAL_S
            if len(packets) >= ECHO_COUNT or (errors and not packets):
                break  # every echo answered, or an ICMP error and no reply: decisive
            wait = deadline.remaining()
            if len(sent) < ECHO_COUNT:
                wait = min(wait, max(0.0, next_send - time.monotonic()))
            ready, _, _ = select.select([sock], [], [], wait)
            if ready:
                _drain(sock, method, start, ident, packets, errors)
    finally:
        sock.close()
    return {"address": address, "method": method, "ident": ident, "sent": sent,
            "packets": packets, "errqueue": errors, "send_error": send_error}  # fmt: skip


def _drain(sock: socket.socket, method: str, start: float, ident: int,
           packets: list[dict[str, Any]], errors: list[dict[str, Any]]) -> None:  # fmt: skip
    while len(packets) < _MAX_PACKETS:
        try:
            data, anc, _flags, addr = sock.recvmsg(1500, 256)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break  # a datagram socket's queued ICMP error: its details are on the error queue
        if method == "raw" and not _maybe_ours(data, str(addr[0]), ident):
            continue  # a raw socket sees every ICMP packet of the namespace
        at = round((time.monotonic() - start) * 1000.0, 3)
        packets.append({"at_ms": at, "sender": str(addr[0]), "data": data[:576].hex(),
                        "cmsgs": _cmsgs(anc)})  # fmt: skip
    if method == "dgram":
        for entry in _errqueue(sock):
            entry["at_ms"] = round((time.monotonic() - start) * 1000.0, 3)
            errors.append(entry)


def _maybe_ours(data: bytes, sender: str, ident: int) -> bool:
    """A reply with our identifier, or an ICMP error quoting an echo with it (netdx matches
    the quoted echo fully). Another flow's error (a DNS query's port unreachable in the same
    namespace) is not kept: it would count as an answer and end the echoes early."""
    v4 = ":" not in sender
    icmp = data
    if v4:
        if len(data) < 20:
            return False
        icmp = data[(data[0] & 0x0F) * 4 :]
    if len(icmp) < 8:
        return False
    if icmp[0] in (0, 129):
        return int(struct.unpack_from("!H", icmp, 4)[0]) == ident
    if icmp[0] not in ((3, 11) if v4 else (1, 2, 3)):
        return False
    quoted = icmp[8:]
    # The quoted packet's own header: IPv4's by its length, IPv6's fixed 40 bytes (extension
    # headers are not followed, as netdx does not either).
    skip = (quoted[0] & 0x0F) * 4 if v4 and len(quoted) >= 20 else 40 if not v4 else len(quoted)
    inner = quoted[skip:]
    return len(inner) >= 8 and int(struct.unpack_from("!H", inner, 4)[0]) == ident
