"""The raw facts of `netdx self` on one host: its interfaces and addresses, its default
routes (both families), the echoes to loopback, the default gateways and the hosts beyond
them, the gateways' neighbour states read after those echoes, and the DNS servers' answers
to one query. Read the same way for a local run (`selfcheck.gather` uses the pure helpers
here) and on a server over SSH (`facts`); judged where netdx runs (`selfcheck.verdict`).

The query travels as data: {"named": [ADDR...], "dns_query": HEX or null}. The DNS
question is built where netdx runs (`dns.message.build_query`) and sent here as bytes, and
the answers come back as bytes (parsed there): this side encodes and parses no DNS. The
echoes are `collect.probe`'s (raw packets, matched there by `probes.icmp`).

Traffic goes only to loopback, the default gateways, the named hosts and the nameservers of
resolv.conf. Python 3.9 and the standard library only (plus `netdx.netlink`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import select
import socket
import threading
import time
from typing import Any

from netdx.netlink import NETLINK_ROUTE, NetlinkError, NetlinkSocket, Route, get_neighbour
from netdx.netlink.errors import errno_name
from netdx.netlink.links import get_addresses, get_links
from netdx.netlink.lookup import get_routes

from . import probe, routes
from .clock import Deadline
from .resolv import nameservers
from .system import Host

MAIN_TABLE = 254
RESOLV_FILE = "/etc/resolv.conf"
MAX_NAMED = 16
DNS_PORT = 53
DNS_RETRY_S = 1.0  # a silent UDP query is sent again after 1 s (as glibc)
# Kept for reading the neighbour cache after the echoes (netlink answers in microseconds).
TAIL_S = 0.2
_FIELDS = frozenset({"named", "dns_query"})


def parse_query(data: object) -> dict[str, Any]:
    """The self query of a request, validated; ValueError says what is wrong."""
    if not isinstance(data, dict) or set(data) - _FIELDS:
        raise ValueError("self must be {named, dns_query}")
    named = data.get("named", [])
    if not isinstance(named, list) or len(named) > MAX_NAMED:
        raise ValueError(f"self named must be a list of at most {MAX_NAMED} addresses")
    wire = data.get("dns_query")
    if wire is not None:
        if not isinstance(wire, str) or not 12 < len(wire) // 2 <= 512:
            raise ValueError("self dns_query must be one DNS message as hex")
        bytes.fromhex(wire)  # ValueError when it is not hex
    return {"named": [str(ipaddress.ip_address(a)) for a in named], "dns_query": wire}


def interfaces(links: Any, addrs: Any) -> list[dict[str, Any]]:
    """Each link as `ip addr` shows it: flags, operstate, carrier and its addresses."""
    out = []
    for link in links:
        mine = [f"{a.address}/{a.prefixlen} scope {a.scope}"
                for a in addrs if a.index == link.index and a.address]  # fmt: skip
        carrier = link.lower_up if link.carrier is None else link.carrier and link.lower_up
        out.append({"name": link.name or f"if{link.index}", "index": link.index,
                    "up": link.up, "carrier": bool(carrier), "operstate": link.operstate,
                    "loopback": link.loopback, "addresses": mine})  # fmt: skip
    return out


def default_route(found: Any) -> Route | None:
    """The main table's default unicast route, lowest metric first (one with a gateway
    before an on-link one of the same metric)."""
    defaults = [r for r in found if r.dst_len == 0 and r.type == "unicast"
                and r.table == MAIN_TABLE]  # fmt: skip
    return min(defaults, key=lambda r: (r.priority or 0, r.next_hop is None), default=None)


def walked(defaults: dict[int, Route | None], named: Any) -> tuple[int, int | None]:
    """(the family walked, the other family when it has a default route too). IPv4 first
    unless the user named an IPv6 host; the family with a default route when one lacks it
    (an IPv6-only host walks IPv6)."""
    first = 6 if named and ":" in named[0] else 4
    if defaults[first] is None and defaults[10 - first] is not None:
        first = 10 - first
    other = 10 - first
    both = defaults[other] is not None and defaults[first] is not None
    return first, other if both else None


def ifname(index: int | None, ifaces: Any) -> str | None:
    """The name of interface `index` among `interfaces()`'s entries."""
    return next((i["name"] for i in ifaces if i["index"] == index), None)


def echo_address(route: Route, ifaces: Any) -> str | None:
    """Where a gateway's echo goes: its address, with the interface as scope when it is
    link-local (an IPv6 gateway learnt from router advertisements is fe80::...). The scope
    is the name, as the kernel's answers carry it (`fe80::1%eth0`), so replies match."""
    hop = route.next_hop
    if not hop:
        return None
    name = ifname(route.oif, ifaces)
    if ":" in hop and ipaddress.ip_address(hop).is_link_local and name is not None:
        return f"{hop}%{name}"
    return hop


def is_here(address: str, ifaces: Any) -> bool:
    """A loopback address or one of this host's own."""
    if ipaddress.ip_address(address.partition("%")[0]).is_loopback:
        return True
    return any(a.split("/")[0] == address for i in ifaces for a in i["addresses"])


def _read_netlink(host: Host, deadline: Deadline) -> tuple[Any, Any, dict[int, Route | None]]:
    sock = host.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    with NetlinkSocket(NETLINK_ROUTE, sock=sock) as netlink:
        links: Any = get_links(netlink, timeout=deadline.remaining())
        addrs: Any = get_addresses(netlink, timeout=deadline.remaining())
        defaults = {
            4: default_route(get_routes(netlink, socket.AF_INET, timeout=deadline.remaining())),
            6: default_route(get_routes(netlink, socket.AF_INET6, timeout=deadline.remaining())),
        }
    return links, addrs, defaults


def facts(host: Host, query: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
    """The facts for `query` (as `parse_query` returns it); an unopenable netlink socket
    raises OSError, a refused dump NetlinkError."""
    links, addrs, defaults = _read_netlink(host, deadline)
    ifaces = interfaces(links, addrs)
    named = query["named"]
    try:
        resolv: str | None = host.read_text(RESOLV_FILE, limit=1 << 16)
        resolv_error = None
    except OSError as exc:
        resolv, resolv_error = None, str(exc.strerror or exc)
    servers = nameservers(resolv or "")
    local = [s for s in servers if is_here(s, ifaces)]
    picked = [(a, "named") for a in named] or [(s, "dns_server") for s in servers
                                               if s not in local]  # fmt: skip
    family, other = walked(defaults, named)
    gateways = [defaults[family]] + ([defaults[other]] if other is not None else [])
    lookups = routes.lookup(host, [a for a, _role in picked], deadline)
    probes = deadline.within(max(0.0, deadline.remaining() - TAIL_S))
    jobs: dict[str, Any] = {"loopback": lambda: probe._echo(host, "127.0.0.1", probes)}
    for i, gw in enumerate(gateways):
        target = echo_address(gw, ifaces) if gw is not None else None
        if target is not None:
            jobs[f"gw{i}"] = lambda t=target: probe._echo(host, t, probes)
    for i, found in enumerate(lookups):
        if isinstance(found.get("route"), dict) and "errno" not in found["route"]:
            jobs[f"far{i}"] = lambda a=found["address"]: probe._echo(host, a, probes)
    wire = query["dns_query"]
    if wire is not None:
        for i, server in enumerate(servers):
            jobs[f"dns{i}"] = lambda s=server: ask(host, s, bytes.fromhex(wire), probes)
    done = _run_all(jobs, probes)
    return {
        "interfaces": ifaces,
        "family": family,
        "gateways": [_gateway(host, gw, ifaces, done.get(f"gw{i}"), deadline)
                     for i, gw in enumerate(gateways)],
        "loopback_echo": done.get("loopback"),
        "resolv_conf": resolv,
        "resolv_error": resolv_error,
        "local_servers": local,
        "beyond": [{"address": a, "role": role, "lookup": found, "echo": done.get(f"far{i}"),
                    "interfaces": _names(found, ifaces)}
                   for i, ((a, role), found) in enumerate(zip(picked, lookups))],  # noqa: B905
        "dns": [dict(done.get(f"dns{i}") or {"error": "did not finish"}, server=s)
                for i, s in enumerate(servers)] if wire is not None else [],
        "hostname": os.uname().nodename,
    }


def _names(found: dict[str, Any], ifaces: Any) -> dict[str, str]:
    oif = (found.get("route") or {}).get("oif")
    name = ifname(oif, ifaces) if isinstance(oif, int) else None
    return {str(oif): name} if name is not None else {}


def _gateway(host: Host, route: Route | None, ifaces: Any, echo: Any,
             deadline: Deadline) -> dict[str, Any] | None:  # fmt: skip
    """The default route, its echo and the neighbour state of its gateway read now (after
    the echo made the kernel ask ARP / neighbour discovery)."""
    if route is None:
        return None
    neighbour = None
    if route.next_hop and route.oif is not None:
        sock = host.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        with NetlinkSocket(NETLINK_ROUTE, sock=sock) as netlink, contextlib.suppress(
                NetlinkError):
            found = get_neighbour(netlink, route.next_hop, route.oif,
                                  timeout=max(0.01, deadline.remaining()))
            neighbour = None if found is None else found.state_name
    return {"route": dataclasses.asdict(route), "interface": ifname(route.oif, ifaces),
            "neighbour": neighbour, "echo": echo}  # fmt: skip


def _run_all(jobs: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
    """Every job in a thread of its own, side by side; what each returned by the deadline
    (a job still running then is left to its daemon thread)."""
    done: dict[str, Any] = {}
    threads = []
    for name, job in jobs.items():

        def one(n: str = name, j: Any = job) -> None:
            try:
                done[n] = j()
            except Exception as exc:  # one probe's bug is its error, never a hang
                done[n] = {"error": f"{type(exc).__name__}: {exc}"}

        thread = threading.Thread(target=one, name="netdx-self", daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(deadline.remaining() + 0.5)  # each job ends itself at the deadline
    return dict(done)


def ask(host: Host, server: str, wire: bytes, deadline: Deadline, *,
        port: int = DNS_PORT) -> dict[str, Any]:
    """Send the DNS query `wire` to `server` over UDP (again after 1 s, 2 s... of silence)
    and keep the first datagram with its id: {"response": HEX or None, "error": ERRNO or
    None, "elapsed_ms"}. A connected socket: the kernel drops datagrams from others and
    reports the ICMP error for this flow (port unreachable) as the recv errno. A truncated
    answer (TC) is asked again over TCP, as netdx's own transport and glibc do: then
    "transport" is "tcp" and the answer, error or "closed_after" (bytes read before the
    server closed) are the TCP exchange's."""
    af = socket.AF_INET6 if ":" in server else socket.AF_INET
    start = time.monotonic()
    out: dict[str, Any] = {"response": None, "error": None}
    try:
        sock = host.socket(af, socket.SOCK_DGRAM)
    except OSError as exc:
        return dict(out, error=_errno_name(exc), elapsed_ms=0.0)
    with contextlib.closing(sock):
        try:
            sock.setblocking(False)
            sock.connect((server, port))
            wait, resend_at = DNS_RETRY_S, start
            while not deadline.expired:
                now = time.monotonic()
                if now >= resend_at:
                    sock.send(wire)
                    resend_at, wait = now + wait, wait * 2
                ready, _, _ = select.select([sock], [], [], min(deadline.remaining(),
                                                                max(0.0, resend_at - now)))
                if not ready:
                    continue
                data = sock.recv(65535)
                if data[:2] == wire[:2]:
                    out["response"] = data.hex()
                    break
        except OSError as exc:
            out["error"] = _errno_name(exc)
    response = out["response"]
    if response is not None and len(response) >= 6 and int(response[4:6], 16) & _TC:
        out = dict(_ask_tcp(host, af, (server, port), wire, deadline), transport="tcp")
    out["elapsed_ms"] = round((time.monotonic() - start) * 1000.0, 2)
    return out


_TC = 0x02  # the truncation bit of the header's third byte
_TCP_MESSAGES = 8  # a TCP stream may carry answers to other queries first (RFC 7766)


def _ask_tcp(host: Host, af: int, where: tuple[str, int], wire: bytes,
             deadline: Deadline) -> dict[str, Any]:
    """The query again over TCP, each message framed by its 2-byte length: the first
    answer with the query's id (else the last one read), all within the deadline."""
    out: dict[str, Any] = {"response": None, "error": None}
    try:
        sock = host.socket(af, socket.SOCK_STREAM)
    except OSError as exc:
        return dict(out, error=_errno_name(exc))
    with contextlib.closing(sock):
        try:
            sock.settimeout(max(0.001, deadline.remaining()))
            sock.connect(where)
            sock.sendall(len(wire).to_bytes(2, "big") + wire)
            for _ in range(_TCP_MESSAGES):
                size = int.from_bytes(_read(sock, 2, deadline), "big")
                message = _read(sock, size, deadline)
                out["response"] = message.hex()
                if message[:2] == wire[:2]:
                    break
        except _Closed as closed:
            out["closed_after"] = closed.partial  # of the read cut short, as asyncio says
        except socket.timeout:  # noqa: UP041 - on Python 3.9 it is not TimeoutError yet
            pass  # silent until the deadline: no answer over TCP
        except OSError as exc:
            out["error"] = _errno_name(exc)
    return out


class _Closed(Exception):
    """The server closed the stream in the middle of a message."""

    def __init__(self, partial: int) -> None:
        super().__init__(partial)
        self.partial = partial


def _read(sock: socket.socket, size: int, deadline: Deadline) -> bytes:
    data = b""
    while len(data) < size:
        if deadline.expired:
            raise socket.timeout  # noqa: UP041 - Python 3.9, as above
        sock.settimeout(max(0.001, deadline.remaining()))
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise _Closed(len(data))
        data += chunk
    return data


def _errno_name(exc: OSError) -> str:
    # The one errno table's name (netlink.errors); an error without a number (a timeout
    # on Python 3.9) in its own words.
    return errno_name(exc.errno) if exc.errno else str(exc)


__all__ = ["default_route", "facts", "interfaces", "is_here", "parse_query", "walked"]
