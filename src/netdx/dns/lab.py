"""Build the lab DNS hierarchy (`netdx.dns.labzones`) in network namespaces.

One namespace per nsd, one for unbound, one for a client and one holding the dead
addresses (an nftables rule drops everything sent to them: a silent server). All of them
hang off a bridge in a hub namespace; nothing is linked to the root namespace. Processes
are killed by pid and the namespaces deleted in `close()`, which is safe to call twice.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from netdx.dns import labzones as z
from netdx.errors import CannotRun

PREFIX = "ndx-dns-"
_NETNS_ETC = Path("/etc/netns")
_CMD_TIMEOUT = 10.0
# The dead servers' namespace drops every packet: a silent server, not a refusing one.
_DROP_ALL = (
    "table inet ndx {\n chain input {\n  type filter hook input priority 0; policy drop;\n }\n}\n"
)


def _run(argv: Sequence[str], *, stdin: str | None = None, check: bool = True) -> str:
    try:
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True,
                              timeout=_CMD_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CannotRun(f"dns lab: `{' '.join(argv)}`: {exc}") from exc
    if check and proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        last = why[-1] if why else f"exit status {proc.returncode}"
        raise CannotRun(f"dns lab: `{' '.join(argv)}` failed: {last}")
    return proc.stdout


class DnsLab:
    """The hierarchy, built on `start()` (or `with DnsLab() as lab:`), torn down on `close()`."""

    def __init__(self, *, prefix: str = PREFIX, dead_per_level: bool = False,
                 resolver: bool = True) -> None:
        self.prefix = prefix
        self.dead_per_level = dead_per_level
        self.with_resolver = resolver
        self.workdir = Path(tempfile.mkdtemp(prefix="netdx-dnslab-"))
        self.hints_path = self.workdir / "root.hints"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._namespaces: list[str] = []

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> DnsLab:
        self.start()
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

    def ns(self, tag: str) -> str:
        """The namespace name of `tag` (root1, ex1, resolver, client, dead, hub)."""
        return self.prefix + tag

    @property
    def client(self) -> str:
        return self.ns("client")

    def start(self) -> None:
        """Create the namespaces and links, write the zones, start nsd (and unbound)."""
        if os.geteuid() != 0:
            raise CannotRun("dns lab: needs root (network namespaces)")
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        self._namespace("hub")
        _run(self._in("hub", ["ip", "link", "add", "br0", "type", "bridge"]))
        _run(self._in("hub", ["ip", "link", "set", "br0", "up"]))
        self.hints_path.write_text(z.root_hints(dead_per_level=self.dead_per_level))
        for server in z.servers():
            self._host(server.tag, (server.address,))
            self._write_zones(server)
        self._host("dead", z.DEAD)
        _run(self._in("dead", ["nft", "-f", "-"]), stdin=_DROP_ALL)
        self._host("client", (z.CLIENT,))
        self._client_files()
        for server in z.servers():
            self._start_nsd(server)
        if self.with_resolver:
            self._host("resolver", (z.RESOLVER,))
            self.start_resolver()

    def close(self) -> None:
        """Kill every process started here (by pid), delete the namespaces and files."""
        for tag in list(self._procs):
            self._stop(tag)
        for name in reversed(self._namespaces):
            _run(["ip", "netns", "del", name], check=False)
            shutil.rmtree(_NETNS_ETC / name, ignore_errors=True)
        self._namespaces.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- what scenarios change -------------------------------------------------------------

    def change_moved(self, address: str) -> None:
        """Change moved.example.lab's address on its servers (the stale-cache scenario)."""
        for server in z.servers():
            if "example.lab." in server.zones:
                self._write_zones(server, moved=address)
                self._stop(server.tag)
                self._start_nsd(server)

    def start_resolver(self) -> None:
        """Start (or restart, with an empty cache) unbound in the resolver namespace."""
        self._stop("resolver")
        work = self._dir("resolver")
        conf = work / "unbound.conf"
        conf.write_text(z.unbound_conf(workdir=str(work), hints=str(self.hints_path)))
        self._start("resolver", ["unbound", "-d", "-c", str(conf)], z.RESOLVER)

    def exec_argv(self, tag: str, argv: Sequence[str]) -> list[str]:
        """`argv` run inside the namespace of `tag`."""
        return self._in(tag, argv)

    # --- plumbing --------------------------------------------------------------------------

    def _in(self, tag: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(tag), *argv]

    def _dir(self, tag: str) -> Path:
        path = self.workdir / tag
        path.mkdir(exist_ok=True)
        return path

    def _namespace(self, tag: str) -> None:
        name = self.ns(tag)
        if (Path("/run/netns") / name).exists():
            raise CannotRun(f"dns lab: namespace {name} exists already (a lab is running?)")
        _run(["ip", "netns", "add", name])
        self._namespaces.append(name)
        _run(self._in(tag, ["ip", "link", "set", "lo", "up"]))

    def _host(self, tag: str, addresses: Sequence[str]) -> None:
        """A namespace with eth0 on the hub bridge carrying `addresses`."""
        self._namespace(tag)
        port = f"p{len(self._namespaces)}"
        _run(["ip", "-n", self.ns("hub"), "link", "add", port, "type", "veth", "peer", "name",
              "eth0", "netns", self.ns(tag)])
        _run(["ip", "-n", self.ns("hub"), "link", "set", port, "master", "br0", "up"])
        for address in addresses:
            _run(self._in(tag, ["ip", "addr", "add", f"{address}/24", "dev", "eth0"]))
        _run(self._in(tag, ["ip", "link", "set", "eth0", "up"]))

    def _start_nsd(self, server: z.LabServer) -> None:
        conf = self._dir(server.tag) / "nsd.conf"
        self._start(server.tag, ["nsd", "-d", "-c", str(conf)], server.address)

    def _write_zones(self, server: z.LabServer, *, moved: str = z.MOVED_OLD) -> None:
        work = self._dir(server.tag)
        for zone in server.zones:
            text = z.zone_text(zone, dead_per_level=self.dead_per_level, moved=moved)
            (work / z.zone_file(zone)).write_text(text)
        conf = z.nsd_conf(address=server.address, workdir=str(work), zones=server.zones)
        (work / "nsd.conf").write_text(conf)

    def _client_files(self) -> None:
        etc = _NETNS_ETC / self.client
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(
            f"nameserver {z.RESOLVER}\nsearch example.lab\noptions timeout:1 attempts:1\n"
        )
        (etc / "hosts").write_text(
            f"127.0.0.1 localhost\n{z.PINNED_HOSTS} pinned.example.lab\n"
        )

    def _start(self, tag: str, argv: Sequence[str], address: str) -> None:
        log = (self._dir(tag) / "log").open("ab")
        # `ip netns exec` execs the server, so this pid is the server's own.
        self._procs[tag] = subprocess.Popen(self._in(tag, argv), stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)
        log.close()
        self._wait_listening(tag, address)

    def _wait_listening(self, tag: str, address: str) -> None:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            out = _run(self._in(tag, ["ss", "-Hlun", f"src {address}:53"]), check=False)
            if out.strip():
                return
            proc = self._procs[tag]
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        log = (self._dir(tag) / "log").read_text(errors="replace").strip().splitlines()
        raise CannotRun(f"dns lab: the server in {self.ns(tag)} did not start: "
                        f"{log[-1] if log else 'no log'}")

    def _stop(self, tag: str) -> None:
        proc = self._procs.pop(tag, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=3.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3.0)
