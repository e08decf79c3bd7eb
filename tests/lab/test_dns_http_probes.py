"""Lab tests of the DNS and HTTP probes against a real nsd and real HTTP(S) servers.

Topology (all inside namespaces, none linked to the root namespace):

    ndxh-dh-c (client)  10.77.0.2 ── veth ── 10.77.0.1 (+ fd77::1)  ndxh-dh-s (servers)
    ndxh-dh-q (client)  10.78.0.2 ── veth ── 10.78.0.1              ndxh-dh-s

nsd serves `netdx.internal.` on 10.77.0.1 / fd77::1. In ndxh-dh-s an nftables rule drops
DNS to 10.78.0.1: the client ndxh-dh-q, whose resolv.conf names only that address, has a
black-holed resolver. The probes run inside the client namespaces through
`ip netns exec NS python -W error`, so any warning (an unclosed session or
transport) fails the probe's process and the test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.lab

NS_SERVER = "ndxh-dh-s"
NS_CLIENT = "ndxh-dh-c"
NS_QUIET = "ndxh-dh-q"
SERVER_V4 = "10.77.0.1"
SERVER_V6 = "fd77::1"
SILENT_DNS = "10.78.0.1"
PYTHON = sys.executable
# How long after its deadline a probe may return, by the clock of the child process: event-loop
# wake-ups on a busy machine cost tens of milliseconds; a probe that ignores its deadline (a
# joined getaddrinfo thread, a trickling peer) is late by seconds.
LATE_S = 0.5

ZONE = """\
$TTL 300
@        IN SOA ns1 hostmaster 1 3600 600 86400 60
@        IN NS  ns1
ns1      IN A   10.77.0.1
web  120 IN A   10.77.0.1
web  120 IN AAAA fd77::1
alias 60 IN CNAME web
v4only   IN A   10.77.0.10
mxonly   IN MX  10 mail
mail     IN A   10.77.0.20
pinned   IN A   10.77.0.30
"""
# Enough A records that the answer exceeds 512 bytes: the UDP reply comes back truncated.
ZONE_BIG = "".join(f"big      IN A   10.77.1.{i}\n" for i in range(1, 61))

NSD_CONF = """\
server:
    ip-address: {v4}
    ip-address: {v6}
    port: 53
    zonesdir: "{dir}"
    pidfile: "{dir}/nsd.pid"
    xfrdfile: "{dir}/xfrd.state"
    zonelistfile: "{dir}/zone.list"
    logfile: "{dir}/nsd.log"
    username: ""
    database: ""
    chroot: ""
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: netdx.internal
    zonefile: netdx.internal.zone
"""

HTTP_SERVERS = r"""
import socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    server_version = "ndx-lab/1"
    sys_version = ""
    def do_GET(self):
        code = 500 if self.path.startswith("/fail") else 200
        body = f"{code} {self.headers.get('Host')}\n".encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()

def raw(port, talk):
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ADDR, port)); ls.listen(16)
    def loop():
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=talk, args=(conn,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()

def trickle_headers(conn):
    conn.recv(4096)
    try:
        for b in b"HTTP/1.1 200 OK\r\nServer: trickle\r\n\r\n":
            conn.sendall(bytes([b])); time.sleep(0.5)
    except OSError:
        pass

def trickle_body(conn):
    conn.recv(4096)
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        while True:
            conn.sendall(b"x"); time.sleep(0.5)
    except OSError:
        pass

def slow_tls(conn):
    # Accept TCP at once, start TLS only 0.3 s later: the handshake time is known.
    time.sleep(0.3)
    try:
        tls_conn = ctx.wrap_socket(conn, server_side=True)
        tls_conn.recv(4096)
        tls_conn.sendall(b"HTTP/1.1 204 No Content\r\nServer: slow-tls\r\n\r\n")
        tls_conn.close()
    except OSError:
        pass

def garbage(conn):
    conn.recv(4096)
    conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x01\x02 not http at all\r\n\r\n")
    time.sleep(0.2); conn.close()

ADDR, CERT, KEY = sys.argv[1], sys.argv[2], sys.argv[3]
serve(ThreadingHTTPServer((ADDR, 8080), Handler))
tls = ThreadingHTTPServer((ADDR, 8443), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(CERT, KEY)
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
serve(tls)
raw(8081, trickle_headers)
raw(8083, trickle_body)
raw(8082, garbage)
raw(8444, slow_tls)
print("ready", flush=True)
threading.Event().wait()
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Lab:
    """The running lab: where its files are and the processes it started."""

    workdir: Path
    processes: tuple[subprocess.Popen[str], ...]


def _run(*argv: str, timeout: float = 15.0) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv}: {done.returncode} {done.stderr.strip()}")
    return done.stdout


def _ns(ns: str, *argv: str) -> str:
    return _run("ip", "netns", "exec", ns, *argv)


def _link(ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
    """A veth pair created straight into two namespaces (never in the root namespace)."""
    _run("ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", if_b, "netns", ns_b)
    for ns, dev in ((ns_a, if_a), (ns_b, if_b)):
        _run("ip", "-n", ns, "link", "set", dev, "up")


def _build_network() -> None:
    for ns in (NS_SERVER, NS_CLIENT, NS_QUIET):
        _run("ip", "netns", "add", ns)
        _run("ip", "-n", ns, "link", "set", "lo", "up")
    _link(NS_SERVER, "ndxh-dh-s0", NS_CLIENT, "ndxh-dh-c0")
    _link(NS_SERVER, "ndxh-dh-s1", NS_QUIET, "ndxh-dh-q0")
    _run("ip", "-n", NS_SERVER, "addr", "add", f"{SERVER_V4}/24", "dev", "ndxh-dh-s0")
    _run("ip", "-n", NS_SERVER, "addr", "add", f"{SERVER_V6}/64", "dev", "ndxh-dh-s0", "nodad")
    _run("ip", "-n", NS_SERVER, "addr", "add", f"{SILENT_DNS}/24", "dev", "ndxh-dh-s1")
    _run("ip", "-n", NS_CLIENT, "addr", "add", "10.77.0.2/24", "dev", "ndxh-dh-c0")
    _run("ip", "-n", NS_CLIENT, "addr", "add", "fd77::2/64", "dev", "ndxh-dh-c0", "nodad")
    _run("ip", "-n", NS_CLIENT, "route", "add", "10.78.0.0/24", "via", SERVER_V4)
    _run("ip", "-n", NS_QUIET, "addr", "add", "10.78.0.2/24", "dev", "ndxh-dh-q0")
    _ns(
        NS_SERVER,
        "nft",
        "add table inet ndxh_dh; "
        "add chain inet ndxh_dh input { type filter hook input priority 0; }; "
        f"add rule inet ndxh_dh input ip daddr {SILENT_DNS} meta l4proto {{ udp, tcp }} "
        "th dport 53 drop",
    )


def _write_netns_etc(ns: str, resolv: str, hosts: str) -> None:
    etc = Path("/etc/netns") / ns
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "resolv.conf").write_text(resolv)
    (etc / "hosts").write_text(hosts)


def _start(ns: str, argv: list[str], workdir: Path, name: str) -> subprocess.Popen[str]:
    with (workdir / f"{name}.out").open("w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv], stdout=subprocess.PIPE, stderr=log, text=True
        )


def _wait_for(check: Any, what: str, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"lab: {what} did not come up")


def _dns_ready() -> bool:
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            NS_CLIENT,
            "dig",
            "+short",
            "+time=1",
            "+tries=1",
            f"@{SERVER_V4}",
            "web.netdx.internal",
            "A",
        ],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return done.stdout.strip() == SERVER_V4


def _start_servers(workdir: Path) -> tuple[subprocess.Popen[str], ...]:
    (workdir / "netdx.internal.zone").write_text(ZONE + ZONE_BIG)
    conf = workdir / "nsd.conf"
    conf.write_text(NSD_CONF.format(v4=SERVER_V4, v6=SERVER_V6, dir=workdir))
    nsd = _start(NS_SERVER, ["nsd", "-d", "-c", str(conf)], workdir, "nsd")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=web.netdx.internal",
        "-days",
        "1",
        "-keyout",
        str(key),
        "-out",
        str(cert),
    )
    script = workdir / "http_servers.py"
    script.write_text(HTTP_SERVERS)
    http = _start(NS_SERVER, [PYTHON, str(script), SERVER_V4, str(cert), str(key)], workdir, "http")
    assert http.stdout is not None
    if http.stdout.readline().strip() != "ready":
        raise RuntimeError("lab: http servers did not start")
    _wait_for(_dns_ready, "nsd")
    return (nsd, http)


def _teardown(processes: tuple[subprocess.Popen[str], ...]) -> None:
    for proc in processes:
        proc.terminate()
    for proc in processes:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
    for ns in (NS_SERVER, NS_CLIENT, NS_QUIET):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The namespaces, nsd and the HTTP servers; everything removed afterwards."""
    workdir = tmp_path_factory.mktemp("ndxh-dh")
    processes: tuple[subprocess.Popen[str], ...] = ()
    try:
        _build_network()
        _write_netns_etc(
            NS_CLIENT,
            "nameserver 10.77.0.1\nsearch netdx.internal\noptions ndots:1\n",
            "127.0.0.1 localhost\n::1 localhost\n10.77.0.99 pinned.netdx.internal pinned\n",
        )
        _write_netns_etc(
            NS_QUIET,
            f"nameserver {SILENT_DNS}\nsearch netdx.internal\n",  # glibc: 5 s x 2 tries
            "127.0.0.1 localhost\n",
        )
        processes = _start_servers(workdir)
        yield Lab(workdir=workdir, processes=processes)
    finally:
        _teardown(processes)


def probe(ns: str, code: str, *, timeout: float = 30.0) -> Any:
    """Run `code` (an async body that returns a dataclass) in namespace `ns` under
    `-W error`; returns its result as JSON data and fails on any stderr output."""
    program = textwrap.dedent(
        """
        import asyncio, dataclasses, json, sys, time
        from netdx.budget import Deadline
        from netdx.probes import dns, http

        deadlines = []

        def D(seconds):
            deadlines.append(Deadline.after(seconds))
            return deadlines[-1]

        async def main():
        {body}

        started = time.monotonic()
        result = asyncio.run(main())
        out = dataclasses.asdict(result)
        out["_wall_s"] = time.monotonic() - started
        # How long after the (last) deadline asyncio.run() returned; negative = before it.
        out["_late_s"] = time.monotonic() - deadlines[-1].at
        print(json.dumps(out))
        """
    ).format(body=textwrap.indent(textwrap.dedent(code).strip(), "    "))
    done = subprocess.run(
        ["ip", "netns", "exec", ns, PYTHON, "-W", "error", "-c", program],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    return json.loads(done.stdout)


def _servers(evidence: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The server answers of a DnsEvidence / DnsQueryResult keyed by record type."""
    answers: list[dict[str, Any]] = evidence["servers" if "servers" in evidence else "answers"]
    return {a["rtype"]: a for a in answers}


def _records(answer: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    return [(r["name"], r["rtype"], r["ttl"], r["value"]) for r in answer["records"]]


# --- DNS ----------------------------------------------------------------------------------------


def test_name_resolves_from_dns_with_ttls(lab: Lab) -> None:
    """A name in the zone resolves through getaddrinfo and at the server, with its TTLs."""
    got = probe(
        NS_CLIENT,
        'return await dns.resolve("web.netdx.internal", family=None, deadline=D(3))',
    )
    assert got["source"] == "dns"
    assert got["nss"]["status"] == "ok"
    assert set(got["nss"]["addresses"]) == {SERVER_V4, SERVER_V6}
    assert got["configured_servers"] == [SERVER_V4]
    by_type = _servers(got)
    assert by_type["A"]["status"] == by_type["AAAA"]["status"] == "ok"
    assert _records(by_type["A"]) == [("web.netdx.internal", "A", 120, SERVER_V4)]
    assert _records(by_type["AAAA"]) == [("web.netdx.internal", "AAAA", 120, SERVER_V6)]


def test_cname_chain_is_recorded(lab: Lab) -> None:
    """An alias answer keeps the CNAME and its TTL before the address."""
    got = probe(
        NS_CLIENT,
        'return dns.query_servers("alias.netdx.internal", family=4, deadline=D(3))',
    )
    assert _records(_servers(got)["A"]) == [
        ("alias.netdx.internal", "CNAME", 60, "web.netdx.internal"),
        ("web.netdx.internal", "A", 120, SERVER_V4),
    ]


def test_missing_name_is_nxdomain_everywhere(lab: Lab) -> None:
    """A name not in the zone: getaddrinfo says EAI_NONAME and the server NXDOMAIN."""
    got = probe(
        NS_CLIENT,
        'return await dns.resolve("nope.netdx.internal", family=None, deadline=D(3))',
    )
    assert (got["nss"]["status"], got["nss"]["gai_error"]) == ("nxdomain", "EAI_NONAME")
    by_type = _servers(got)
    assert sorted(by_type) == ["A", "AAAA"]
    for answer in by_type.values():
        assert (answer["status"], answer["qname"]) == ("nxdomain", "nope.netdx.internal")


def test_name_without_address_records_is_nodata(lab: Lab) -> None:
    """An MX-only name: glibc 2.36 says EAI_NODATA and the server NOERROR with no record."""
    got = probe(
        NS_CLIENT,
        'return await dns.resolve("mxonly.netdx.internal", family=None, deadline=D(3))',
    )
    assert (got["nss"]["status"], got["nss"]["gai_error"]) == ("no_address", "EAI_NODATA")
    assert {a["status"] for a in _servers(got).values()} == {"nodata"}


def test_search_list_expands_a_short_name(lab: Lab) -> None:
    """`web` is asked as web.netdx.internal, from resolv.conf's search line."""
    got = probe(NS_CLIENT, 'return await dns.resolve("web", family=4, deadline=D(3))')
    assert got["search"] == ["netdx.internal"]
    answer = _servers(got)["A"]
    assert (answer["status"], answer["qname"]) == ("ok", "web.netdx.internal")
    assert got["nss"]["addresses"] == [SERVER_V4]


def test_truncated_answer_is_retried_over_tcp(lab: Lab) -> None:
    """60 A records do not fit in 512 bytes of UDP: all of them arrive over TCP."""
    got = probe(
        NS_CLIENT,
        'return dns.query_servers("big.netdx.internal", family=4, deadline=D(3))',
    )
    answer = _servers(got)["A"]
    assert answer["status"] == "ok"
    assert len(answer["records"]) == 60


def test_explicit_servers_over_ipv6_and_a_closed_port(lab: Lab) -> None:
    """--dns-server overrides resolv.conf: an IPv6 server answers; a port with no server
    is an error naming the ICMP port unreachable, at once."""
    got = probe(
        NS_CLIENT,
        'return dns.query_servers("web", family=4, '
        f'deadline=D(3), servers=("{SERVER_V6}", "{SERVER_V4}#5353"))',
    )
    assert got["configured_servers"] == [SERVER_V6, f"{SERVER_V4}#5353"]
    v6, closed = got["answers"]
    assert (v6["status"], v6["qname"]) == ("ok", "web.netdx.internal")
    assert (closed["status"], closed["error"]) == (
        "error",
        "connection refused (ICMP port unreachable)",
    )
    assert closed["elapsed_ms"] < 500


def test_silent_resolver_ends_at_the_deadline(lab: Lab) -> None:
    """With a black-holed resolver (glibc would wait 5 s x 2 tries), getaddrinfo and the
    server query both stop at the 1.5 s deadline and the process exits right after."""
    got = probe(NS_QUIET, 'return await dns.resolve("web", family=None, deadline=D(1.5))')
    assert got["nss"]["status"] == "timeout"
    assert {a["status"] for a in _servers(got).values()} == {"timeout"}
    assert got["configured_servers"] == [SILENT_DNS]
    # asyncio.run() returned right at the deadline: it did not join the getaddrinfo thread.
    assert 0.0 <= got["_late_s"] < LATE_S


def test_hosts_file_pin_is_the_source(lab: Lab) -> None:
    """A name pinned in /etc/hosts resolves to the pin (source hosts) while the server
    still says what DNS holds."""
    got = probe(NS_CLIENT, 'return await dns.resolve("pinned", family=4, deadline=D(3))')
    assert got["source"] == "hosts"
    assert got["nss"]["addresses"] == got["nss"]["hosts_addresses"] == ["10.77.0.99"]
    assert _servers(got)["A"]["records"][0]["value"] == "10.77.0.30"


# --- HTTP ---------------------------------------------------------------------------------------


def _get(
    url: str, port: int, *, seconds: float = 3.0, address: str = SERVER_V4, verify: bool = True
) -> str:
    return (
        f'return await http.http_get("{url}", host="web.netdx.internal", address="{address}", '
        f"port={port}, deadline=D({seconds}), verify_tls={verify})"
    )


def test_http_status_200_and_500_with_timings(lab: Lab) -> None:
    """Any HTTP status is outcome ok; status, reason, Server and timings are recorded, and
    the Host header carries the name although the address was given."""
    ok = probe(NS_CLIENT, _get("http://web.netdx.internal:8080/health", 8080))
    assert (ok["outcome"], ok["status"], ok["server"]) == ("ok", 200, "ndx-lab/1")
    assert ok["tls_ms"] is None
    assert 0 < ok["connect_ms"] <= ok["first_byte_ms"] <= ok["total_ms"] < 1000
    fail = probe(NS_CLIENT, _get("http://web.netdx.internal:8080/fail", 8080))
    assert (fail["outcome"], fail["status"], fail["reason"]) == ("ok", 500, "Internal Server Error")


def test_https_self_signed_is_a_tls_error(lab: Lab) -> None:
    """A self-signed certificate fails verification and says so; without verification the
    same server answers over TLS 1.3."""
    bad = probe(NS_CLIENT, _get("https://web.netdx.internal:8443/", 8443))
    assert (bad["outcome"], bad["error"]) == (
        "tls_error",
        "certificate verify failed: self-signed certificate",
    )
    assert bad["status"] is None
    unchecked = probe(NS_CLIENT, _get("https://web.netdx.internal:8443/", 8443, verify=False))
    assert (unchecked["outcome"], unchecked["status"]) == ("ok", 200)
    assert unchecked["tls_version"] == "TLSv1.3"
    assert unchecked["tls_ms"] is not None and unchecked["tls_ms"] > 0


def test_tls_time_is_measured_apart_from_tcp_connect(lab: Lab) -> None:
    """A server that starts TLS 0.3 s after accepting shows a fast connect and a slow
    handshake: tls_ms is the handshake alone."""
    got = probe(NS_CLIENT, _get("https://web.netdx.internal:8444/", 8444, verify=False))
    assert (got["outcome"], got["status"], got["server"]) == ("ok", 204, "slow-tls")
    assert got["connect_ms"] < 100
    assert 290 <= got["tls_ms"] < 300 + LATE_S * 1000


def test_trickling_server_ends_at_the_deadline(lab: Lab) -> None:
    """A server sending one byte per 0.5 s is cut at the 1.5 s deadline, in the headers or
    in the body (then the status is kept)."""
    headers = probe(NS_CLIENT, _get("http://web.netdx.internal:8081/", 8081, seconds=1.5))
    assert (headers["outcome"], headers["status"]) == ("timeout", None)
    assert 0.0 <= headers["_late_s"] < LATE_S
    body = probe(NS_CLIENT, _get("http://web.netdx.internal:8083/", 8083, seconds=1.5))
    assert (body["outcome"], body["status"]) == ("timeout", 200)
    assert body["error"].startswith("body not complete at the deadline")
    assert 0.0 <= body["_late_s"] < LATE_S


def test_garbage_is_a_protocol_error(lab: Lab) -> None:
    """A peer that answers with an SSH banner is a protocol error, not a crash."""
    got = probe(NS_CLIENT, _get("http://web.netdx.internal:8082/", 8082))
    assert got["outcome"] == "protocol_error"
    assert "SSH-2.0" in got["error"]


def test_closed_and_silent_ports(lab: Lab) -> None:
    """A reset is connect_error; a dropped SYN is a timeout at the deadline."""
    closed = probe(NS_CLIENT, _get("http://web.netdx.internal:9/", 9))
    assert (closed["outcome"], closed["error"]) == (
        "connect_error",
        "connection refused (ECONNREFUSED)",
    )
    silent = probe(
        NS_CLIENT, _get("http://web.netdx.internal:53/", 53, seconds=1.0, address=SILENT_DNS)
    )
    assert (silent["outcome"], silent["error"]) == ("timeout", "no connection before the deadline")
    assert 0.0 <= silent["_late_s"] < LATE_S
