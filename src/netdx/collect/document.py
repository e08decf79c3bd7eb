"""One run of the collectors → one versioned JSON document (`netdx.collect/1`).

Every collector gets an entry, whatever happens: `error` (None, or one line saying why it
collected nothing), `needs_root` (True when running as root would have read more), and
`data` (raw facts: command output, file text, kernel answers). Nothing is judged here.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from netdx.collect import SCHEMA
from netdx.netlink import NetlinkIOError
from netdx.netlink.diag import DiagSocket

from . import firewall, kernel, owners, probe, route_get, routes, selfcheck, sockdiag
from .system import Budget, Host, RunResult

# `addresses` comes after `firewall`: it reuses the `ip -j addr show` that one ran.
# `probe` runs the client probes of the request's `probes` (none: an empty entry).
COLLECTORS = (
    "sockets", "owners", "routes", "firewall", "counters", "sysctls", "addresses", "probe",
)  # fmt: skip
# Run only when asked for by name: `route` answers one `netdx route` query (the request's
# `route`), which no default document has; `self` the walk of `netdx self` (the request's
# `self`).
ON_REQUEST = ("route", "self")


@dataclass(frozen=True)
class CollectRequest:
    """What to collect. `sockets` selects the sock_diag dump (a tuple of selections: one
    dump each, the rows of all of them, each socket once); `owners` looks up the owners of
    the dumped sockets; `addresses` are routed; `interfaces` get their rp_filter read
    (None: every interface of the namespace); `probes` are the flows the `probe`
    collector connects to from this host; `route` is the query of the `route` collector."""

    collectors: tuple[str, ...] = COLLECTORS
    sockets: sockdiag.Selection | tuple[sockdiag.Selection, ...] = field(
        default_factory=sockdiag.Selection
    )
    addresses: tuple[str, ...] = ()
    interfaces: tuple[str, ...] | None = None
    timeout: float = 5.0
    probes: tuple[probe.Probe, ...] = ()
    route: dict[str, Any] | None = None
    selfcheck: dict[str, Any] | None = None  # the request's `self`

    @property
    def selections(self) -> tuple[sockdiag.Selection, ...]:
        """The socket selections, one dump each."""
        return self.sockets if isinstance(self.sockets, tuple) else (self.sockets,)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CollectRequest:
        """The request of a JSON object (the fields above; `sockets` as Selection's, or a
        list of them)."""
        fields = {"collectors", "sockets", "addresses", "interfaces", "timeout", "probes",
                  "route", "self"}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"unknown request fields: {sorted(unknown)}")
        wanted = tuple(data.get("collectors", COLLECTORS))
        bad = [c for c in wanted if c not in COLLECTORS + ON_REQUEST]
        if bad:
            raise ValueError(f"unknown collectors: {bad}")
        sel = data.get("sockets") or {}
        selections = tuple(_selection(s) for s in (sel if isinstance(sel, list) else [sel]))
        ifaces = data.get("interfaces")
        query = data.get("route")
        return cls(
            collectors=wanted,
            sockets=selections[0] if len(selections) == 1 else selections,
            addresses=tuple(str(a) for a in data.get("addresses", ())),
            interfaces=None if ifaces is None else tuple(str(i) for i in ifaces),
            timeout=float(data.get("timeout", 5.0)),
            probes=probe.parse_probes(data.get("probes", [])),
            route=None if query is None else route_get.parse_query(query),
            selfcheck=None if data.get("self") is None else selfcheck.parse_query(data["self"]),
        )


def _selection(sel: dict[str, Any]) -> sockdiag.Selection:
    return sockdiag.Selection(
        protocols=tuple(sel.get("protocols", ("tcp", "udp"))),
        families=tuple(sel.get("families", (4, 6))),
        states=tuple(sel.get("states", ())),
        listen=bool(sel.get("listen", False)),
        ports=tuple(int(p) for p in sel.get("ports", ())),
        local_port_only=bool(sel.get("local_port_only", False)),
    )


class _Entry:
    """One collector's entry as it is filled in."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.needs_root = False
        self.data: dict[str, Any] = {}

    def as_json(self) -> dict[str, Any]:
        return {"error": self.error, "needs_root": self.needs_root, "data": self.data}


def collect(host: Host, request: CollectRequest, deadline: Budget) -> dict[str, Any]:
    """Run the requested collectors on `host`; the JSON-ready document."""
    dumped: list[DiagSocket] = []
    ran: dict[tuple[str, ...], RunResult] = {}
    steps: dict[str, Callable[[_Entry], None]] = {
        "sockets": lambda e: _sockets(host, request, deadline, e, dumped),
        "owners": lambda e: _owners(host, request, deadline, e, dumped),
        "routes": lambda e: _routes(host, request, deadline, e),
        "firewall": lambda e: _firewall(host, deadline, e, ran),
        "counters": lambda e: _counters(host, e),
        "sysctls": lambda e: _sysctls(host, request, e),
        "addresses": lambda e: _addresses(host, deadline, e, ran),
        "probe": lambda e: _probe(host, request, deadline, e),
        "route": lambda e: _route(host, request, deadline, e),
        "self": lambda e: _self(host, request, deadline, e),
    }
    entries: dict[str, Any] = {}
    for name in COLLECTORS + ON_REQUEST:
        if name not in request.collectors:
            continue
        entry = _Entry()
        try:
            steps[name](entry)
        except OSError as exc:
            entry.error = f"{exc.strerror or exc}"
            entry.needs_root = isinstance(exc, PermissionError)
        except NetlinkIOError as exc:
            entry.error = str(exc)
            entry.needs_root = exc.errno_name in ("EPERM", "EACCES")
        entries[name] = entry.as_json()
    return {
        "schema": SCHEMA,
        "python": platform.python_version(),
        "euid": os.geteuid(),
        "collected_at": time.time(),
        "collectors": entries,
    }


def _sockets(
    host: Host, request: CollectRequest, deadline: Budget, entry: _Entry, out: list[DiagSocket]
) -> None:
    plans = [r for selection in request.selections for r in sockdiag.plan(selection)]
    result = sockdiag.dump_host(plans, host, deadline)
    # A socket two selections both match (a listener of the port) is listed once.
    out.extend(dict.fromkeys(result.sockets))
    entry.data = {
        "fields": list(DiagSocket._fields),
        "rows": [list(s) for s in out],
        "notes": result.notes,
        "interrupted": result.interrupted,
    }


def _owners(
    host: Host,
    request: CollectRequest,
    deadline: Budget,
    entry: _Entry,
    dumped: Sequence[DiagSocket],
) -> None:
    if "sockets" not in request.collectors:
        entry.error = "owners are looked up for the dumped sockets: ask for sockets too"
        return
    walk = owners.walk_owners(
        [s.inode for s in dumped], deadline=deadline, ns_file=host.netns_file
    )
    # As root, a process still unreadable (another user namespace, a hardened kernel) is
    # not one that root would read: the flag says whether running as root would help.
    entry.needs_root = os.geteuid() != 0 and any("needs root" in i.reason for i in walk.issues)
    entry.data = {
        "holders": {str(ino): list(h) for ino, h in walk.holders.items()},
        "processes": {
            str(pid): {"command": p.command, "user": p.user, "uid": p.uid}
            for pid, p in walk.processes.items()
        },
        "shared": {str(ino): [list(h) for h in more] for ino, more in walk.shared.items()},
        "unreadable": [
            {"pid": i.pid, "command": i.command, "reason": i.reason} for i in walk.issues
        ],
        "wanted": len(walk.wanted),
        "complete": walk.complete,
        "vanished": walk.vanished,
        "other_namespace": walk.other_ns,
        "notes": walk.notes,
    }


def _routes(host: Host, request: CollectRequest, deadline: Budget, entry: _Entry) -> None:
    entry.data = {"lookups": routes.lookup(host, request.addresses, deadline)}


def _route(host: Host, request: CollectRequest, deadline: Budget, entry: _Entry) -> None:
    if request.route is None:
        entry.error = "no route query in the request"
        return
    entry.data = route_get.facts(host, request.route, deadline)


def _self(host: Host, request: CollectRequest, deadline: Budget, entry: _Entry) -> None:
    from .clock import Deadline

    if request.selfcheck is None:
        entry.error = "no self query in the request"
        return
    entry.data = selfcheck.facts(host, request.selfcheck, Deadline.after(deadline.remaining()))


def _firewall(
    host: Host, deadline: Budget, entry: _Entry, ran: dict[tuple[str, ...], RunResult]
) -> None:
    results = firewall.run_commands(host, firewall.COMMANDS, deadline)
    ran.update(zip(firewall.COMMANDS, results))  # noqa: B905 (strict= is 3.10+)
    entry.needs_root = any(firewall.refused_for_privilege(r) for r in results)
    entry.data = {
        "commands": [
            {
                "argv": list(r.argv),
                "returncode": r.returncode,
                "stdout": r.stdout,
                "stderr": r.stderr,
                "error": r.error,
                "missing": r.missing,
            }
            for r in results
        ]
    }
    if all(not r.ok for r in results):
        entry.error = "no firewall command could be read: " + results[0].why()


def _addresses(
    host: Host, deadline: Budget, entry: _Entry, ran: dict[tuple[str, ...], RunResult]
) -> None:
    """The host's own addresses (`ip -j addr show`, as text): the firewall collector's run
    when it ran in this document, else a run of its own."""
    result = ran.get(firewall.ADDRESSES)
    if result is None:
        result = firewall.run_commands(host, (firewall.ADDRESSES,), deadline)[0]
    entry.data = {"argv": list(firewall.ADDRESSES), "stdout": result.stdout if result.ok else ""}
    if not result.ok:
        entry.error = result.why()


def _probe(host: Host, request: CollectRequest, deadline: Budget, entry: _Entry) -> None:
    from .clock import Deadline

    entry.data = probe.run(host, request.probes, Deadline.after(deadline.remaining()))


def _counters(host: Host, entry: _Entry) -> None:
    texts, errors = kernel.read_files(host, kernel.COUNTER_FILES)
    entry.data = {"files": texts, "errors": errors}
    if not texts:
        entry.error = "no counter file could be read"


def _sysctls(host: Host, request: CollectRequest, entry: _Entry) -> None:
    names = request.interfaces if request.interfaces is not None else kernel.interfaces(host)
    values, errors = kernel.read_sysctls(
        host, (*kernel.rp_filter_names(names), *kernel.GLOBAL_SYSCTLS)
    )
    entry.needs_root = any(e == "Permission denied" for e in errors.values())
    entry.data = {"values": values, "errors": errors}


def main(argv: Sequence[str] | None = None) -> int:
    """`python3 -I -S bundle.zip [REQUEST_JSON | -]`: print the document of one run."""
    import json

    from .clock import Deadline
    from .system import LocalHost

    args = list(sys.argv[1:] if argv is None else argv)
    text = sys.stdin.read() if args[:1] == ["-"] else (args[0] if args else "{}")
    try:
        request = CollectRequest.from_json(json.loads(text))
    except (ValueError, TypeError, AttributeError) as exc:
        print(f"netdx-collect: bad request: {exc}", file=sys.stderr)
        return 2
    document = collect(LocalHost(), request, Deadline.after(request.timeout))
    sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
    return 0
