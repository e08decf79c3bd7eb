"""The lean start path: each hot command imports only what its work needs.

Each command runs as a whole process under `python -X importtime` (what a user starts). The
modules it imported are read from that record and from `sys.modules` at exit: importtime
does not see a module loaded through `importlib.import_module` (netdx's lazy exports and
lazy subcommands), only what that module imports in turn. The test asserts which modules
appear, never how long they took (the machine is shared). The paths that need the network beyond
loopback (`check` of an NXDOMAIN name) are timed in bench/floor.py instead: from the root
namespace they would ask the machine's resolver. `dns --trace` walks from root hints naming a
loopback server, which a trace never asks: it imports the very modules a healthy walk of the
lab's hierarchy imports (the same 139, compared in the lab), without sending a packet.
"""

from __future__ import annotations

import fnmatch
import os
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

# Libraries no hot path needs: the lab's and the exporter's, the test tools, dnspython and
# aiohttp (netdx has its own DNS codec and HTTP probe).
NEVER = ("pydantic", "yaml", "prometheus_client", "hypothesis", "xmlschema", "dns", "aiohttp",
         "httpx", "asyncssh", "paramiko")
# What a command that sends nothing and renders nothing needs none of.
NO_WORK = ("asyncio", "ssl", "h11", "rich", "netdx.model", "netdx.host.ssh", "netdx.plan",
           "netdx.diagnose", "netdx.check")


# The netdx modules a refused loopback check (`check 127.0.0.1:PORT`, terminal or --json) may
# import: its plan, probes (route, connect, echo, this host's server read), rules and one
# renderer. A module outside this list on that path is a cost every check pays: import it
# where it is used, or add it here knowing that.
REFUSED_CHECK_MAY_IMPORT = (
    "netdx", "netdx.budget", "netdx.errors", "netdx.start", "netdx.target", "netdx.timeout",
    "netdx.tty", "netdx.check", "netdx.collect", "netdx.collect.*", "netdx.diagnose",
    "netdx.diagnose.*", "netdx.drive", "netdx.probes.sync",
    "netdx.host", "netdx.host.linux", "netdx.host.netns", "netdx.model", "netdx.model.*",
    "netdx.netlink", "netdx.netlink.*", "netdx.plan", "netdx.plan.*", "netdx.probes",
    "netdx.probes.icmp", "netdx.probes.recverr", "netdx.probes.route", "netdx.probes.server",
    "netdx.probes.tcp", "netdx.probes.bind", "netdx.render", "netdx.render.terminal",
    "netdx.render.json",
    "netdx.sockets", "netdx.sockets.dump", "netdx.sockets.model", "netdx.sockets.owners",
    # A refused port of this host may be a tcp-reset REJECT in its input hook (issue 10): the
    # check reads and evaluates that hook, never the diff or the flows of `firewall`.
    "netdx.probes.firewall", "netdx.firewall", "netdx.firewall.atoms",
    "netdx.firewall.evaluate", "netdx.firewall.explain", "netdx.firewall.iptables_save",
    "netdx.firewall.live", "netdx.firewall.matching", "netdx.firewall.model",
    "netdx.firewall.nearmiss", "netdx.firewall.nft_json", "netdx.firewall.origin",
    "netdx.firewall.sources", "netdx.firewall.present", "netdx.firewall.unhooked",
)
# ... and never these: click (`netdx.start` reads a plain `check TARGET` itself), the JSON
# codec for the terminal text, the Markdown renderer, the DNS-trace vocabulary (no zone to
# ask for an IP literal), the ssh side.
REFUSED_CHECK_NEVER = ("click", "netdx.cli", "netdx.options", "netdx.render.markdown",
                       "netdx.dns", "netdx.model.dns_trace", "netdx.check_ssh",
                       "netdx.remote", "netdx.host.ssh", "ctypes", "netdx.host.linux",
                       "urllib", *(f"netdx.diagnose.remote{m}" for m in
                                   ("", "_link", "_service", "_text", "_wire")))
# The server-side rules (diagnose.remote*) judge --ssh's remote evidence only. ctypes
# (host.linux) is for entering a namespace, not for naming the one the check runs in;
# urllib.parse splits URL targets only. The check paths that need a lab (NXDOMAIN, no route,
# a healthy LAN port) are pinned by tests/lab/test_check_import_paths_lab.py.

# `netdx ARGV` as the installed script runs it (netdx.start), printing sys.modules at exit.
_RUN = """import atexit, sys
atexit.register(lambda: print("loaded:", *sorted(sys.modules), file=sys.stderr))
from netdx.start import main
sys.exit(main(sys.argv[1:]))
"""


def imported(argv: Iterable[str]) -> set[str]:
    """The modules `netdx ARGV` imported, under `python -X importtime` (stdout discarded)."""
    env = {**os.environ, "NETDX_DEBUG": "", "COLUMNS": "100"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", _RUN, *argv],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=120, check=False, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    loaded = [line for line in proc.stderr.splitlines() if line.startswith("loaded: ")]
    assert len(loaded) == 1, proc.stderr[-2000:]
    return modules_of(proc.stderr) | set(loaded[0].split()[1:])


def modules_of(record: str) -> set[str]:
    """Module names from an importtime record (`import time: self | cumulative | name`)."""
    names = set()
    for line in record.splitlines():
        if line.startswith("import time:"):
            name = line.rpartition("|")[2].strip()
            if name != "imported package":
                names.add(name)
    return names


def heavy(modules: set[str], banned: Iterable[str]) -> list[str]:
    """The modules of `modules` that are, or are under, a name of `banned`."""
    return sorted(m for m in modules for b in banned if m == b or m.startswith(b + "."))


@pytest.fixture(scope="module")
def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["check", "--help"],
                                  ["dns", "--help"]])
def test_version_and_help_import_no_work(argv: list[str]) -> None:
    """Help texts import click and netdx's command table (--version not even those),
    nothing that runs a probe, defines the model or renders a report."""
    modules = imported(argv)
    assert ("click" in modules) == (argv != ["--version"])  # netdx.start prints the version
    assert heavy(modules, (*NEVER, *NO_WORK)) == []
    if argv[0] != "dns":  # dns's command module defines its options' dataclasses
        assert heavy(modules, ("dataclasses",)) == []  # netdx.start defines none


@pytest.mark.parametrize("argv", [["sockets"], ["sockets", "-t", "--json"], ["who", ":22"]])
def test_socket_listing_imports_no_event_loop_nor_check(argv: list[str]) -> None:
    """sockets and who read sock_diag synchronously: no asyncio, ssl, h11 or rich, and none
    of check's plan, rules or evidence model (nor --ssh's module without --ssh)."""
    modules = imported(argv)
    assert "netdx.sockets.dump" in modules
    banned = (*NEVER, "asyncio", "ssl", "h11", "rich", "netdx.host.ssh", "netdx.plan",
              "netdx.diagnose", "netdx.check", "netdx.model.evidence", "netdx.model.remote")
    assert heavy(modules, banned) == []


def test_check_of_a_refused_loopback_port_imports_only_its_probes(refused_port: int) -> None:
    """`check 127.0.0.1:PORT` (a TCP target, no URL, no --ssh) runs its probes on threads
    (netdx.drive): it imports no asyncio (nor the ssl that comes with it), nor the HTTP
    parser, nor the ssh transport, nor the YAML/pydantic of the lab, nor rich: the JSON, and
    the terminal text into a pipe, are written without it."""
    target = f"127.0.0.1:{refused_port}"
    event_loop = ("asyncio", "ssl")
    modules = imported(["check", target, "--timeout", "2", "--json"])
    assert {"netdx.check", "netdx.drive", "netdx.probes.tcp", "netdx.diagnose"} <= modules
    assert heavy(modules, (*NEVER, *event_loop, "h11", "rich", "netdx.host.ssh")) == []
    terminal = imported(["check", target, "--timeout", "2"])
    assert heavy(terminal, (*NEVER, *event_loop, "h11", "rich", "netdx.host.ssh")) == []


def test_refused_check_imports_only_its_own_modules(refused_port: int) -> None:
    """A refused loopback check, as text and as JSON, imports no netdx module beyond its
    plan, probes, rules and renderer, and none of click, the codec (for text), Markdown,
    the DNS trace or the ssh side."""
    target = f"127.0.0.1:{refused_port}"
    terminal = imported(["check", target])
    as_json = imported(["check", target, "--json", "--timeout", "2"])
    for modules, extra in ((terminal, ("netdx.model.codec", "netdx.render.json")),
                           (as_json, ())):
        assert {"netdx.start", "netdx.plan", "netdx.probes.tcp"} <= modules
        ours = {m for m in modules if m == "netdx" or m.startswith("netdx.")}
        stray = sorted(m for m in ours
                       if not any(fnmatch.fnmatchcase(m, p) for p in REFUSED_CHECK_MAY_IMPORT))
        assert stray == []
        assert heavy(modules, (*REFUSED_CHECK_NEVER, *extra)) == []
    assert "netdx.render.json" in as_json


def test_the_record_names_every_module_and_a_banned_one_is_found() -> None:
    """The reader sees nested imports in a real importtime record, and `heavy` flags a banned
    package and its submodules but not a module that only shares a prefix."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import json.decoder"],
                          capture_output=True, text=True, timeout=60, check=True)
    modules = modules_of(proc.stderr)
    assert {"json", "json.decoder", "json.scanner"} <= modules
    assert heavy({"rich", "rich.console", "richer", "yaml"}, ("rich",)) == ["rich",
                                                                           "rich.console"]


# What `python3 -c pass` has loaded too (the interpreter's own start, and site's).
_BASELINE = """import atexit, sys
atexit.register(lambda: print("loaded:", *sorted(sys.modules), file=sys.stderr))
"""


def test_version_imports_only_what_printing_it_needs() -> None:
    """`netdx --version` imports netdx's package, its entry module, the error tree and the
    budget's range check (math) beyond the interpreter's own start: no typing, no
    collections, no dataclasses (each costs more than the version's whole work)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", _BASELINE],
                          stderr=subprocess.PIPE, text=True, timeout=60, check=True)
    loaded = [line for line in proc.stderr.splitlines() if line.startswith("loaded: ")]
    baseline = modules_of(proc.stderr) | set(loaded[0].split()[1:])
    extra = imported(["--version"]) - baseline
    assert extra <= {"netdx", "netdx.start", "netdx.errors", "netdx.timeout", "math",
                     "__future__"}, sorted(extra)


def test_dns_trace_imports_no_event_loop_nor_click(tmp_path: Path) -> None:
    """`dns --trace` asks on a selectors loop, read without click, judged by its own two rule
    modules and written as text: no asyncio (with ssl, concurrent.futures and logging), no
    click or command table, no direct-query or --compare transport, no verdict engine, no
    JSON, no pathlib, no IDNA codec for an ASCII name, and none of the model's non-DNS
    evidence (check's, the firewall's, the server's, the remote side's, the report)."""
    hints = tmp_path / "root.hints"
    hints.write_text(". 3600 NS a.root.lab.\na.root.lab. 3600 A 127.0.0.1\n")
    modules = imported(["dns", "--trace", "--root-hints", str(hints), "www.example.lab"])
    assert {"netdx.dns.flights", "netdx.dns.trace", "netdx.diagnose.dns_trace",
            "netdx.dns.render"} <= modules
    banned = (*NEVER, "asyncio", "ssl", "concurrent", "logging", "click", "rich", "h11",
              "json", "pathlib", "netdx.cli", "netdx.options", "netdx.dns.query",
              "netdx.dns.compare", "netdx.dns.verify", "netdx.probes", "netdx.diagnose.engine",
              "netdx.render", "netdx.model.codec", "netdx.plan", "netdx.check",
              "netdx.host.ssh", "encodings.idna", "unicodedata", "stringprep",
              "netdx.model.evidence", "netdx.model.firewall", "netdx.model.remote",
              "netdx.model.server", "netdx.model.service", "netdx.model.report")
    assert heavy(modules, banned) == []

