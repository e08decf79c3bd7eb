"""The server-side readers as a stdlib-only core that runs anywhere python3 does.

It imports nothing from netdx but `netdx.netlink`, keeps to Python 3.9 syntax, and reaches
the system only through a `Host` (`system`): run a fixed argv, read a capped file, open a
socket. Modules, one reader each:

- `system`    the Host seam, `LocalHost`, `RunResult`, the deadline protocol
- `clock`     `Deadline`, the one time budget (re-exported by `netdx.budget`)
- `sockdiag`  the sock_diag socket dump (`netdx.sockets.dump` is its typed face)
- `owners`    socket inode → process through /proc/PID/fd (`netdx.sockets.owners`)
- `owners_fork` the same walk in a forked child, beside the dump (`netdx sockets -p`)
- `routes`    route and neighbour lookups for given addresses
- `route_get` the facts of one `netdx route` query (route, rules, neighbour, rp_filter)
- `selfcheck` the facts of `netdx self`'s walk (interfaces, default routes, echoes, DNS)
- `firewall`  the firewall captures as raw text (`netdx.firewall.live` parses them)
- `kernel`    /proc/net/netstat and snmp counters, the sysctls that matter
- `document`  one run of them all → one `netdx.collect/1` JSON document
- `bundle`    the zip that `python3 -I -S bundle.zip` runs on a server

Raw facts only: parsing and judging happen where netdx runs.
"""

from __future__ import annotations

from netdx.netlink._lazy import lazy_exports

SCHEMA = "netdx.collect/1"

__all__ = ["SCHEMA", "CollectRequest", "build_bundle", "collect"]

# Loaded on first use: `netdx.sockets.dump` imports one module of this package and should
# not pay for the others.
_LAZY = {
    "CollectRequest": "netdx.collect.document",
    "collect": "netdx.collect.document",
    "build_bundle": "netdx.collect.bundle",
}


__getattr__ = lazy_exports(__name__, _LAZY)
