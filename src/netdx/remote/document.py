"""A server's `netdx.collect/1` document, read back where netdx runs.

The collector core (`netdx.collect`) writes raw facts on the server; this module turns them
into netdx's own values through the same code the local commands use: a listing through
`sockets.dump.listing_of`, owners through `sockets.owners.scan_of`, the port's evidence
through `probes.server.server_evidence`, the firewall through `firewall.live.capture_of`,
routes through `probes.route.route_evidence`, kernel counters through
`probes.server.nstat_counters`. So a server read over SSH and a read here cannot drift.

The document came over the network from a host that may be broken or hostile: every value
is checked for its type and range before it is used, and anything wrong raises
`DocumentError` (one line saying where), never another exception. A collector that ran and
failed is not malformed: its `error` is kept, and the methods give what is known (an empty
listing with a note, `None`, `{}`), so callers turn it into "unknown" where it matters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import field
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from netdx.collect import SCHEMA
from netdx.collect.document import COLLECTORS, ON_REQUEST
from netdx.model.record import record
from netdx.remote import checks as c
from netdx.remote.checks import DocumentError

if TYPE_CHECKING:
    from netdx.firewall.sources import Capture
    from netdx.model.remote import WireCapture
    from netdx.model.route import RouteLookup
    from netdx.model.server import ServerEvidence
    from netdx.model.vantage import Vantage
    from netdx.netlink.diag import DiagSocket
    from netdx.sockets.model import OwnerScan, SocketListing

__all__ = ["CollectDocument", "DocumentError", "server_request"]

# The session adds the wire capture beside the collectors of `collect()`.
KNOWN_COLLECTORS = (*COLLECTORS, *ON_REQUEST, "capture")
_MAX_PACKETS = 10_000

P = ParamSpec("P")
R = TypeVar("R")


def _checked(method: Callable[P, R]) -> Callable[P, R]:
    """The one boundary of this module: a value of the wrong shape that a check missed
    still leaves as DocumentError, chained to what Python raised."""

    @wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except DocumentError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError,
                RecursionError, OverflowError) as exc:  # fmt: skip
            raise DocumentError(f"malformed document: {type(exc).__name__}: {exc}") from exc

    return run


def server_request(
    port: int,
    *,
    client: str | None = None,
    collectors: tuple[str, ...] = COLLECTORS,
    timeout: float | None = None,
) -> dict[str, Any]:
    """The collect request whose document `server_evidence` reads for `port` (every TCP
    listener, and the TCP sockets of the port), routing `client` when given."""
    request: dict[str, Any] = {
        "collectors": list(collectors),
        "sockets": [
            {"protocols": ["tcp"], "listen": True},
            {"protocols": ["tcp"], "ports": [port]},
        ],
        "addresses": [] if client is None else [client],
    }
    if timeout is not None:
        request["timeout"] = timeout
    return request


@record
class Entry:
    """One collector's entry: why it collected nothing (`error`), whether root would have
    read more, and its raw data (checked when read)."""

    error: str | None
    needs_root: bool
    data: Mapping[str, Any]


@record
class CollectDocument:
    """A checked `netdx.collect/1` document: `euid` and `python` of the collector that
    wrote it, `collected_at` its wall-clock time, and one `Entry` per collector that ran."""

    euid: int
    python: str
    collected_at: float
    entries: Mapping[str, Entry]
    _rows: list[tuple[DiagSocket, ...]] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object) -> CollectDocument:
        """Check the top of a document (schema, types, each entry's shape); DocumentError
        when it is not one. Collector data is checked when a method reads it."""
        doc = c.mapping(data, "document")
        if doc.get("schema") != SCHEMA:
            raise DocumentError(f"not a {SCHEMA} document (schema {c.short(doc.get('schema'))})")
        collected_at = c.number(doc.get("collected_at"), "collected_at")
        entries: dict[str, Entry] = {}
        collectors = c.mapping(doc.get("collectors"), "collectors", limit=64)
        for name, raw in collectors.items():
            if name not in KNOWN_COLLECTORS:
                continue  # a newer collector's entry: not read by this netdx
            entry = c.mapping(raw, f"collectors.{name}")
            entries[name] = Entry(
                error=c.opt_text(entry.get("error"), f"{name}.error", limit=4096),
                needs_root=c.boolean(entry.get("needs_root"), f"{name}.needs_root"),
                data=c.mapping(entry.get("data"), f"{name}.data"),
            )
        return cls(
            euid=c.integer(doc.get("euid"), "euid", hi=(1 << 32) - 1),
            python=c.text(doc.get("python"), "python", limit=64),
            collected_at=collected_at,
            entries=entries,
        )

    def error_of(self, collector: str) -> str | None:
        """Why `collector` gave nothing: its error, "not collected" when it did not run,
        None when it read its facts."""
        entry = self.entries.get(collector)
        return "not collected" if entry is None else entry.error

    def needs_root(self, collector: str) -> bool:
        """Running the collector as root would have read more."""
        entry = self.entries.get(collector)
        return entry is not None and entry.needs_root

    def _data(self, collector: str) -> Mapping[str, Any] | None:
        entry = self.entries.get(collector)
        return None if entry is None or entry.error is not None else entry.data

    @_checked
    def rows(self) -> tuple[DiagSocket, ...]:
        """The dumped sockets (checked once, then kept)."""
        if not self._rows:
            data = self._data("sockets")
            self._rows.append(() if data is None else c.socket_rows(data))
        return self._rows[0]

    @_checked
    def listing(self) -> SocketListing:
        """The sockets the server dumped, as `netdx sockets` lists them (without owners);
        an empty listing with a note when the dump did not run."""
        from netdx.collect.sockdiag import Dump
        from netdx.sockets.dump import listing_of

        data = self._data("sockets")
        if data is None:
            why = self.error_of("sockets")
            return listing_of(Dump(notes=[f"sockets not read on the server: {why}"]))
        notes = c.text_list(data.get("notes", []), "sockets.notes")
        interrupted = c.boolean(data.get("interrupted", False), "sockets.interrupted")
        return listing_of(Dump(sockets=list(self.rows()), notes=notes, interrupted=interrupted))

    @_checked
    def owner_scan(self) -> OwnerScan:
        """The owners of the dumped sockets, as `sockets.owners.find_owners` gives them."""
        from netdx.sockets.owners import scan_of

        data = self._data("owners")
        if data is None:
            from netdx.sockets.model import OwnerScan

            why = self.error_of("owners")
            return OwnerScan(complete=False, notes=(f"owners not read on the server: {why}",))
        return scan_of(c.walk(data, {s.inode for s in self.rows() if s.inode}))

    @_checked
    def server_evidence(
        self,
        *,
        address: str | None,
        port: int,
        earlier: CollectDocument | None,
        observed_on: Vantage,
    ) -> ServerEvidence:
        """The evidence of `port` as `probes.server.read_server_now` reads it on the host;
        `earlier` is a document read before this one (its CLOSE-WAIT count is the first
        sample). The document must come from `server_request(port)` for every listener."""
        from netdx.model.server import TCP_CLOSE_WAIT, ServerEvidence
        from netdx.probes.server import port_sockets, server_evidence

        why = self.error_of("sockets")
        if why is not None:
            return ServerEvidence(
                port=port, address=address, error=f"server side not read: {why}",
                observed_on=observed_on,
            )  # fmt: skip
        rows = self.rows()
        found = port_sockets(port, rows, rows)
        before = None
        if earlier is not None and earlier.error_of("sockets") is None:
            old = earlier.rows()
            before = sum(
                1 for s in port_sockets(port, old, old).connections if s.state == TCP_CLOSE_WAIT
            )
        return server_evidence(
            port=port,
            address=address,
            sockets=found,
            owners=self.owner_scan(),
            earlier_close_wait=before,
            listen_overflows=self.netstat().get("TcpExtListenOverflows"),
            notes=self.listing().notes,
            observed_on=observed_on,
        )

    @_checked
    def firewall_capture(self) -> Capture:
        """The firewall as `firewall.live.capture` reads it on the host."""
        from netdx.firewall.live import capture_of
        from netdx.firewall.sources import Capture

        entry = self.entries.get("firewall")
        if entry is None or "commands" not in entry.data:
            why = entry.error if entry is not None else "not collected"
            return Capture(errors=(f"firewall not read on the server: {why}",))
        return capture_of(c.command_results(entry.data))

    @_checked
    def rule_counters(self) -> dict[tuple[str, str, str, int], int]:
        """Packets counted by each nft rule with a `counter` statement, keyed by (family,
        table, chain, handle); rules without one are absent. {} when nft was not read."""
        text = self.firewall_capture().nft_json
        if not text:
            return {}
        try:
            ruleset = json.loads(text)
        except (ValueError, RecursionError):
            return {}  # the ruleset's own reader notes it; no counter is known
        return c.nft_counters(ruleset)

    @_checked
    def netstat(self) -> dict[str, int]:
        """The kernel's counters under nstat's names (`TcpExtListenOverflows`,
        `TcpExtTCPBacklogDrop`, `IpExtInOctets`, `TcpActiveOpens`, `Ip6InReceives`...)."""
        from netdx.collect.kernel import COUNTER_FILES
        from netdx.probes.server import nstat_counters

        data = self._data("counters")
        if data is None:
            return {}
        files = c.text_map(data.get("files", {}), "counters.files")
        return nstat_counters(*(files[path] for path in COUNTER_FILES if path in files))

    @_checked
    def sysctls(self) -> dict[str, str]:
        """The sysctls read, by dotted name (`net.ipv4.conf.eth0.rp_filter`: "1")."""
        data = self._data("sysctls")
        if data is None:
            return {}
        return c.text_map(data.get("values", {}), "sysctls.values", limit=256)

    def _ip_addr_json(self) -> str | None:
        data = self._data("addresses")
        if data is not None:
            return c.text(data.get("stdout", ""), "addresses.stdout") or None
        return self.firewall_capture().addresses_json

    @_checked
    def addresses(self) -> tuple[str, ...]:
        """The host's own addresses (every interface), sorted; () when not read."""
        from netdx.firewall.sources import local_addresses

        local = local_addresses(self._ip_addr_json())
        return tuple(sorted(a for a in local if c.is_ip(a)))

    @_checked
    def route(self, address: str) -> RouteLookup | None:
        """The server's route to `address` (asked in the request's `addresses`), as
        `probes.route` reads it on the host; None when it was not looked up."""
        return next((r for r in self.route_lookups() if r.address == address), None)

    @_checked
    def route_lookups(self) -> tuple[RouteLookup, ...]:
        """Every route the server looked up, in the request's order."""
        data = self._data("routes")
        if data is None:
            return ()
        names = self.interface_names()
        out = []
        for lookup in c.item_list(data.get("lookups", []), "routes.lookups", limit=256):
            entry = c.mapping(lookup, "routes.lookups[]")
            address = c.address(entry.get("address"), "routes.lookups[].address")
            out.append(c.route_lookup(address, entry, names))
        return tuple(out)

    @_checked
    def interface_names(self) -> dict[int, str]:
        """The server's interfaces, {ifindex: name} ({} when its addresses were not read):
        a socket's ifindex names the server's interface, not one of this host."""
        text = self._ip_addr_json()
        if not text:
            return {}
        try:
            links = json.loads(text)
        except (ValueError, RecursionError):
            return {}
        return c.link_names(links)

    @_checked
    def capture(self, port: int | None = None) -> WireCapture | None:
        """What the packet socket saw (None: no capture was asked). A capture that could
        not open is status "not_root" (CAP_NET_RAW needed) or "error"; `port` names the
        port when the entry does not."""
        from netdx.model.remote import WireCapture

        entry = self.entries.get("capture")
        if entry is None:
            return None
        raw_port = entry.data.get("port", port if port is not None else 0)
        at_port = c.integer(raw_port, "capture.port", hi=65535)
        if entry.error is not None:
            return WireCapture(
                status="not_root" if entry.needs_root else "error", port=at_port, reason=entry.error
            )
        data = entry.data
        window = data.get("window_ms")
        return WireCapture(
            status="ok",
            port=at_port,
            packets=c.packets(data.get("packets", []), limit=_MAX_PACKETS),
            truncated=c.boolean(data.get("truncated", False), "capture.truncated"),
            kernel_dropped=c.integer(data.get("kernel_dropped", 0), "capture.kernel_dropped"),
            window_ms=None if window is None else c.number(window, "capture.window_ms"),
        )
