"""The check paths that need a lab network import only what their work needs (root).

`check` of an NXDOMAIN name, of an address with no route and of a healthy LAN port run as
whole processes under `python -X importtime` inside their lab scenario (the NXDOMAIN and
healthy ones ask the lab's resolver, which a unit test may not). The modules a process
imported are read from that record and from `sys.modules` at exit (importtime does not see
a module loaded through importlib). The test asserts which modules appear, never how long
they took. tests/unit/test_import_paths.py pins the refused loopback check the same way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from netdx.lab import Lab, load_scenario

pytestmark = pytest.mark.lab

_RUN = """import atexit, sys
atexit.register(lambda: print("loaded:", *sorted(sys.modules), file=sys.stderr))
from netdx.start import main
sys.exit(main(sys.argv[1:]))
"""

# No check path needs these: the lab's and the exporter's libraries, dnspython, aiohttp,
# rich (a pipe gets plain text), click (netdx.start reads `check TARGET` itself), the ssh
# side, ctypes (for entering a namespace only), urllib.parse (URL targets only), and the
# JSON codec and Markdown renderer for terminal text.
NEVER = ("pydantic", "yaml", "prometheus_client", "dns", "aiohttp", "h11", "rich", "click",
         "ctypes", "urllib", "netdx.cli", "netdx.host.ssh", "netdx.host.linux",
         "netdx.check_ssh", "netdx.remote", "netdx.model.codec", "netdx.render.markdown")
# The follow-ups of a failed connect: this host's ruleset, its server side, the raw probes.
FOLLOW_UPS = ("netdx.firewall", "netdx.probes.firewall", "netdx.probes.server",
              "netdx.sockets", "netdx.probes.egress", "netdx.probes.tcptrace")
# What a zone's authoritative servers would say: asked only when their answer could change
# the verdict (a resolver-given address failed, a SERVFAIL), never for NXDOMAIN nor a
# connected port.
AUTHORITATIVE = ("netdx.dns.classify", "netdx.dns.verify", "netdx.dns.trace",
                 "netdx.model.dns_trace")

# The CLI's check runs its probes on threads (netdx.drive): DNS (getaddrinfo in a thread, the
# servers on dns.flights), route, connect and echo need no event loop, nor the ssl that
# asyncio brings, nor the asyncio DNS transport.
EVENT_LOOP = ("asyncio", "ssl")

# scenario, target, modules it must import, modules it must not.
PATHS = (
    ("dns-nxdomain", "db-server-02:5432", ("netdx.probes.dns", "netdx.dns.flights"),
     (*NEVER, *FOLLOW_UPS, *AUTHORITATIVE, *EVENT_LOOP, "netdx.dns.query", "netdx.probes.tcp",
      "netdx.probes.icmp", "netdx.probes.route")),
    ("route-no-route", "10.0.2.20:5432",
     ("netdx.probes.route", "netdx.probes.tcp", "netdx.drive"),
     (*NEVER, *FOLLOW_UPS, *EVENT_LOOP, "netdx.dns", "netdx.probes.dns")),
    ("healthy-flat", "db-server-01:5432",
     ("netdx.probes.dns", "netdx.probes.route", "netdx.probes.tcp", "netdx.probes.icmp"),
     (*NEVER, *FOLLOW_UPS, *AUTHORITATIVE, *EVENT_LOOP)),
)


def imported(lab: Lab, host: str, argv: list[str]) -> set[str]:
    """The modules `netdx ARGV` imported on `host`, as the installed script runs it."""
    proc = subprocess.run(lab.exec_argv(host, [sys.executable, "-X", "importtime", "-c", _RUN,
                                               *argv]),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    loaded = [line for line in proc.stderr.splitlines() if line.startswith("loaded: ")]
    assert len(loaded) == 1, proc.stderr[-2000:]
    record = {line.rpartition("|")[2].strip() for line in proc.stderr.splitlines()
              if line.startswith("import time:")}
    return record | set(loaded[0].split()[1:])


def banned(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules for n in names if m == n or m.startswith(n + "."))


@pytest.mark.parametrize(("name", "target", "needs", "never"), PATHS,
                         ids=[p[0] for p in PATHS])
def test_check_path_imports_only_its_work(name: str, target: str, needs: tuple[str, ...],
                                          never: tuple[str, ...], lab_env: Path) -> None:
    """NXDOMAIN loads the DNS probe and nothing of an address; no route loads the route
    and connect probes and nothing of DNS; a healthy port loads its probes but none of a
    failed connect's follow-ups nor the authoritative walk; none loads asyncio, the ssh
    side, ctypes, urllib, click, rich or a third-party library."""
    scenario = load_scenario(name)
    with Lab(scenario) as lab:
        modules = imported(lab, scenario.runner, ["check", target, "--timeout", "5"])
    assert set(needs) <= modules
    assert banned(modules, never) == []
