"""The modules a check imports besides its runner (netdx.check) and probes (netdx.probes)
cost it no `typing` (5-10 ms of CPU at its start).

The list is what a refused loopback check, a no-route check and an NXDOMAIN check imported
(read from `python -X importtime` and `sys.modules`, the two lab ones under their lab
scenario) less netdx.check, netdx.probes.* and netdx.dns.* (the DNS transport): they are
imported in a fresh interpreter, which then has imported none of `typing`. A refused
loopback check run whole proves the same once the runner and probes shed theirs.
"""

from __future__ import annotations

import subprocess
import sys

# What the three check paths import, outside the runner, the probes and the DNS transport.
CHECK_MODULES = (
    "netdx", "netdx.budget", "netdx.collect", "netdx.collect.clock", "netdx.collect.owners",
    "netdx.collect.resolv", "netdx.collect.sockdiag", "netdx.collect.system",
    "netdx.diagnose", "netdx.diagnose.dns", "netdx.diagnose.dns_compare",
    "netdx.diagnose.engine", "netdx.diagnose.facts", "netdx.diagnose.port",
    "netdx.diagnose.protocols", "netdx.diagnose.reach", "netdx.diagnose.remote",
    "netdx.diagnose.remote_link", "netdx.diagnose.remote_service",
    "netdx.diagnose.remote_text", "netdx.diagnose.remote_wire", "netdx.diagnose.route",
    "netdx.diagnose.server", "netdx.diagnose.service", "netdx.diagnose.service_tls",
    "netdx.diagnose.steps", "netdx.diagnose.udp", "netdx.errors", "netdx.firewall",
    "netdx.firewall.atoms", "netdx.firewall.evaluate", "netdx.firewall.explain",
    "netdx.firewall.live", "netdx.firewall.matching", "netdx.firewall.model",
    "netdx.firewall.nearmiss", "netdx.firewall.origin", "netdx.firewall.present",
    "netdx.firewall.sources", "netdx.host", "netdx.host.netns", "netdx.model",
    "netdx.model.dns", "netdx.model.evidence", "netdx.model.finding", "netdx.model.firewall",
    "netdx.model.literal", "netdx.model.record", "netdx.model.remote", "netdx.model.report",
    "netdx.model.route", "netdx.model.server", "netdx.model.service", "netdx.model.target",
    "netdx.model.vantage", "netdx.netlink", "netdx.netlink._compat", "netdx.netlink._lazy",
    "netdx.netlink.attrs", "netdx.netlink.diag", "netdx.netlink.errors",
    "netdx.netlink.lookup", "netdx.netlink.rtnl", "netdx.netlink.rules",
    "netdx.netlink.sock", "netdx.netlink.tables", "netdx.netlink.wire", "netdx.plan",
    "netdx.plan.address", "netdx.plan.desk", "netdx.plan.limits", "netdx.plan.machine",
    "netdx.plan.requests", "netdx.plan.server", "netdx.plan.settings", "netdx.render",
    "netdx.render.terminal", "netdx.sockets", "netdx.sockets.dump", "netdx.sockets.model",
    "netdx.sockets.owners", "netdx.start", "netdx.target", "netdx.timeout", "netdx.tty",
)

_IMPORT = """import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(*sorted(sys.modules))
"""


def _loaded(modules: tuple[str, ...]) -> set[str]:
    """The modules a fresh interpreter holds after importing `modules` (as the netdx
    script starts: the recipes installed)."""
    run = "from netdx.model import record; record.install()\n" + _IMPORT
    proc = subprocess.run([sys.executable, "-c", run, *modules], capture_output=True,
                          text=True, timeout=120, check=True)
    return set(proc.stdout.split())


def test_check_modules_import_no_typing() -> None:
    """Importing every module of the check paths (besides runner, probes, DNS transport)
    loads all of them and not `typing`."""
    loaded = _loaded(CHECK_MODULES)
    assert set(CHECK_MODULES) <= loaded
    assert "typing" not in loaded
