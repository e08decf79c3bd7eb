"""The server read's TcpExtListenOverflows, read from the TcpExt lines of /proc/net/netstat
alone, is the counter the whole file's parse gives."""

from __future__ import annotations

from netdx.host.fake import FakeHost
from netdx.probes.server import listen_overflows, nstat_counters

NETSTAT = """TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops
TcpExt: 0 3 17 19
IpExt: InNoRoutes ListenOverflows InOctets
IpExt: 0 99 123456
MPTcpExt: MPCapableSYNRX ListenOverflows
MPTcpExt: 1 55
"""


def test_listen_overflows_is_the_whole_parse_counter() -> None:
    """17 from TcpExt, not IpExt's or MPTcpExt's ListenOverflows; None without the file."""
    assert listen_overflows(FakeHost(files={"/proc/net/netstat": NETSTAT})) == 17
    assert nstat_counters(NETSTAT)["TcpExtListenOverflows"] == 17
    assert listen_overflows(FakeHost()) is None

