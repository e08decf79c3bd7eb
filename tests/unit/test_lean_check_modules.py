"""The modules a check imports besides its runner (netdx.check) and probes (netdx.probes)
cost it no `typing` (5-10 ms of CPU at its start), no `dataclasses` and so no `inspect`
(10-15 ms: ast, dis, tokenize, enum...).

The list is what a refused loopback check, a no-route check and an NXDOMAIN check imported
(read from `python -X importtime` and `sys.modules`, the two lab ones under their lab
scenario) less netdx.check, netdx.probes.* and netdx.dns.* (the DNS transport): they are
imported in a fresh interpreter as the `netdx` script starts (the recipes installed), which
then has imported none of the three. A refused loopback check run whole executes no
`import` of them at all, and neither do the firewall parsers a host with a ruleset brings.
"""

from __future__ import annotations

import socket
import subprocess
import sys

from no_tables import NO_TABLES

LEAN = ("typing", "dataclasses", "inspect")

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
    "netdx.firewall.sources", "netdx.firewall.unhooked", "netdx.host", "netdx.host.netns",
    "netdx.model",
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


def test_check_modules_import_no_typing_nor_dataclasses() -> None:
    """Importing every module of the check paths (besides runner, probes, DNS transport)
    loads all of them and none of typing, dataclasses, inspect, nor what only some checks
    use: concurrent.futures's logging (~12 ms: the firewall capture runs commands in
    parallel), subprocess (~5 ms: a command run), datetime (a stale DNS answer worded)."""
    loaded = _loaded(CHECK_MODULES)
    assert set(CHECK_MODULES) <= loaded
    assert sorted(loaded & {*LEAN, "logging", "concurrent.futures", "subprocess",
                            "datetime"}) == []


def test_the_firewall_parsers_import_none_of_them() -> None:
    """A host with a ruleset: the check's firewall read parses nft's JSON and the
    iptables-save texts, and those parsers bring none of typing, dataclasses, inspect."""
    parsers = ("netdx.firewall.nft_json", "netdx.firewall.iptables_save")
    loaded = _loaded(parsers)
    assert set(parsers) <= loaded
    assert sorted(loaded & set(LEAN)) == []


def test_the_probe_only_lists_what_it_is_asked() -> None:
    """The same probe sees typing and dataclasses where a module brings them (the codec)."""
    assert set(LEAN) <= _loaded(("netdx.model.codec",))


# Runs `netdx check` whole, noting the module of every `import` statement of LEAN's names,
# on a host without firewall tables (no_tables.py says why).
_CHECK = NO_TABLES + """LEAN = %r
seen = set()
_import = builtins.__import__
def noting(name, globals=None, *args, **kwargs):
    if name.partition(".")[0] in LEAN:
        seen.add((name, sys._getframe(1).f_globals.get("__name__", "?")))
    return _import(name, globals, *args, **kwargs)
builtins.__import__ = noting
from netdx.start import main
code = main(sys.argv[1:])
print(*sorted(f"{name}<-{where}" for name, where in seen))
sys.exit(code)
"""


def test_refused_check_end_to_end_imports_none_of_them() -> None:
    """`netdx check 127.0.0.1:PORT` (refused) reaches its verdict, and the whole process
    (runner, probes, rules, renderer) executes no import of typing, dataclasses or inspect."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.run([sys.executable, "-c", _CHECK % (LEAN,), "check",
                           f"127.0.0.1:{port}", "--timeout", "2"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "port.refused" in proc.stdout
    imports = proc.stdout.splitlines()[-1].split()
    assert imports == []  # by any module, netdx or the standard library
