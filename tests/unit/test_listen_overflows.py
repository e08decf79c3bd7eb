"""The server read's TcpExtListenOverflows, read from the TcpExt lines of /proc/net/netstat
alone, is the counter the whole file's parse gives."""

from __future__ import annotations

from pathlib import Path

from netdx.probes.server import listen_overflows, nstat_counters

NETSTAT = """TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops
TcpExt: 0 3 17 19
IpExt: InNoRoutes ListenOverflows InOctets
IpExt: 0 99 123456
MPTcpExt: MPCapableSYNRX ListenOverflows
MPTcpExt: 1 55
"""


def test_listen_overflows_is_the_whole_parse_counter(tmp_path: Path) -> None:
    """17 from TcpExt, not IpExt's or MPTcpExt's ListenOverflows; None without the file."""
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "netstat").write_text(NETSTAT)
    assert listen_overflows(str(tmp_path)) == 17
    assert nstat_counters(NETSTAT)["TcpExtListenOverflows"] == 17
    assert listen_overflows(str(tmp_path / "absent")) is None

