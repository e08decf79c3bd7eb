"""Where commands run and sockets open: one small seam with three transports.

`Host` (run a fixed argv, read a /proc or /sys file, open a socket) is the Protocol every
collector is written against. `LocalHost` is this machine; `NetnsHost(name)` is the same
inside a named network namespace, entered with setns in a short-lived thread, never through
a shell; `FakeHost` answers from tables for tests. `enter_netns` moves the whole process
into a namespace the way `ip netns exec` does (what `--netns` on every command uses), and
`netns_option` is that option for click commands.

`Host`, `LocalHost` and `RunResult` are defined in `netdx.collect.system` because the
collector core is shipped alone to servers; they are the same objects here.
"""

from __future__ import annotations

from netdx.netlink._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.collect.system import Host, LocalHost, RunResult
    from netdx.host.fake import FakeHost
    from netdx.host.netns import NetnsHost, enter_netns, netns_path

__all__ = [
    "FakeHost",
    "Host",
    "LocalHost",
    "NetnsHost",
    "RunResult",
    "enter_netns",
    "netns_path",
]

# Loaded on first use: every command imports `netdx.host.option` for --netns, and
# `netdx --help` should not pay for subprocess and ctypes.
_LAZY = {
    "Host": "netdx.collect.system",
    "LocalHost": "netdx.collect.system",
    "RunResult": "netdx.collect.system",
    "FakeHost": "netdx.host.fake",
    "NetnsHost": "netdx.host.netns",
    "enter_netns": "netdx.host.netns",
    "netns_path": "netdx.host.netns",
}


__getattr__ = lazy_exports(__name__, _LAZY)
