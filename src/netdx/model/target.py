"""What the user asked to reach: a host, maybe a port, maybe a URL."""

from __future__ import annotations

from netdx.model.record import record

# Default ports of the URL schemes `netdx check` accepts.
SCHEME_PORTS: dict[str, int] = {
    "http": 80,
    "https": 443,
    "postgres": 5432,
    "postgresql": 5432,
    "redis": 6379,
    "mysql": 3306,
    "tcp": 0,  # tcp:// has no default: a port is required
    "udp": 0,  # udp:// neither
    "dns": 53,  # dns://SERVER[:PORT]/NAME?type=A: a DNS query as the service check
    "rediss": 6379,  # redis over TLS (redis-cli --tls): the handshake, then PING inside it
}

# The schemes whose port is a UDP port: a datagram exchange instead of a TCP connect.
DATAGRAM_SCHEMES = ("udp", "dns")


@record
class Target:
    """A parsed target.

    `host` is a DNS name or an IP literal (IPv6 without brackets); `port` is None for a
    reachability-only check; `scheme` is set for URL targets; `path` is the HTTP path.
    """

    raw: str
    host: str
    port: int | None
    scheme: str | None = None
    path: str = "/"
    ip_literal: bool = False
    # dns:// targets: the question to ask the server (`query_name` None otherwise).
    query_name: str | None = None
    query_type: str = "A"

    @property
    def is_datagram(self) -> bool:
        """A UDP target (udp://, dns://): the port is probed with a datagram, not a SYN."""
        return self.scheme in DATAGRAM_SCHEMES

    @property
    def is_http(self) -> bool:
        return self.scheme in ("http", "https")

    @property
    def url(self) -> str | None:
        """The URL an HTTP probe fetches, or None for a non-HTTP target."""
        if not self.is_http:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"
