"""The server read's kernel counters go through the Host seam: captured real /proc/net/snmp,
snmp6 and netstat (a loopback UDP socket of 1 KiB buffer fed 50 datagrams, an IPv6 one 30,
and a listen(0) socket 6 connects), fed through a FakeHost, give the counters the files hold,
and nothing is read from this machine's /proc."""

from __future__ import annotations

from pathlib import Path

from netdx.host.fake import FakeHost
from netdx.probes.server import listen_overflows, nstat_counters
from netdx.sockets.udp import rcvbuf_errors

PROC_NET = Path(__file__).parent / "fixtures" / "proc_net"
SNMP, SNMP6, NETSTAT = ((PROC_NET / n).read_text() for n in ("snmp", "snmp6", "netstat"))


def test_rcvbuf_errors_adds_the_captured_ipv4_and_ipv6_counters() -> None:
    """UdpRcvbufErrors 49 of snmp plus Udp6RcvbufErrors 29 of snmp6, both asked of the host
    (UdpLite's RcvbufErrors is another counter and is not added)."""
    host = FakeHost(files={"/proc/net/snmp": SNMP, "/proc/net/snmp6": SNMP6})
    assert rcvbuf_errors(host) == 78
    assert host.calls == [("read_text", "/proc/net/snmp"), ("read_text", "/proc/net/snmp6")]
    assert nstat_counters(SNMP)["UdpLiteRcvbufErrors"] == 0


def test_rcvbuf_errors_without_snmp6_or_snmp() -> None:
    """No snmp6 (IPv6 disabled): the IPv4 counter alone; no snmp: unknown (None)."""
    assert rcvbuf_errors(FakeHost(files={"/proc/net/snmp": SNMP})) == 49
    assert rcvbuf_errors(FakeHost(files={"/proc/net/snmp6": SNMP6})) is None
    assert rcvbuf_errors(FakeHost(files={"/proc/net/snmp": "Ip: Forwarding\nIp: 1\n"})) is None


def test_listen_overflows_of_the_captured_netstat() -> None:
    """TcpExtListenOverflows 10 of the captured netstat, read through the host; the same
    number the whole file's parse gives (one parser for every reader)."""
    host = FakeHost(files={"/proc/net/netstat": NETSTAT})
    assert listen_overflows(host) == 10 == nstat_counters(NETSTAT)["TcpExtListenOverflows"]
    assert host.calls == [("read_text", "/proc/net/netstat")]
