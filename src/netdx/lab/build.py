"""Building a scenario's world in network namespaces, and tearing it down again.

Order: namespaces → veths created directly inside them (nothing ever sits in, or links to, the
root namespace) → addresses, routes, sysctls, /etc/netns files → servers, waited for (a
zone with `previous` records served as it was, cached by its resolvers, then changed) → clients
(churn, fill), waited for until their state exists on the server → the `ssh` host's sshd
(`netdx.lab.sshd`: keys and known_hosts in the lab's temp dir, removed with it) → the
nftables rules last, so a rule that drops the service cannot hide a service that never
started.

Before the first change the lab reserves its instance and writes its record
(`netdx.lab.record`): the namespaces it will make, then each process as it starts (pid and
start time). SIGTERM and SIGHUP become exceptions before that, so an interrupted build
removes itself; a kill -9 leaves a record that ``lab down`` / ``lab clean`` finish.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import threading
import types
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from netdx.errors import CannotRun
from netdx.lab import netns, record
from netdx.lab.model import PREFIX, Host, Scenario, Service
from netdx.lab.record import LabState, Proc
from netdx.lab.services import (
    before_change,
    changed_names,
    prime_cache,
    start_service,
    wait_ready,
)

if TYPE_CHECKING:
    from netdx.lab.sshd import SshServer

ROUTER_SYSCTLS = (
    ("net.ipv4.ip_forward", "1"),
    ("net.ipv6.conf.all.forwarding", "1"),
)
# ICMP errors are evidence in the lab: never let the kernel's rate limit swallow one.
QUIET_SYSCTLS = (("net.ipv4.icmp_ratelimit", "0"), ("net.ipv6.icmp.ratelimit", "0"))
SWITCH_SYSCTLS = (
    ("net.ipv6.conf.all.disable_ipv6", "1"),
    ("net.ipv6.conf.default.disable_ipv6", "1"),
)
WORKDIR_PREFIX = "ndx-lab-"
TRAPPED = (signal.SIGTERM, signal.SIGHUP)
RESERVE_TRIES = 64
__all__ = ["Lab", "LabState", "preflight", "teardown"]


class Lab:
    """A scenario built in network namespaces; a context manager that always tears down.

    ``with Lab(scenario) as lab:`` builds everything; leaving the block, an exception,
    Ctrl-C, SIGTERM or SIGHUP removes it all (processes, namespaces, /etc/netns files, temp
    dir, record). Each Lab is an instance of its own (`instance`, namespaces
    ``ndx-<instance>-<host>``): labs of one scenario or of several live side by side.
    """

    def __init__(self, scenario: Scenario, *, instance: str | None = None) -> None:
        self.base = scenario
        self.instance = instance or record.new_instance(set())
        self.scenario = scenario.with_prefix(record.prefix_of(self.instance))
        self.namespaces: list[str] = []
        self.started: list[tuple[Service, subprocess.Popen[bytes]]] = []
        self.processes: list[Proc] = []
        self.workdir: Path | None = None
        self.sshd: SshServer | None = None
        self.owner = record.this_process()
        self.detached = False
        self._recorded = False
        self._old_handlers: dict[signal.Signals, object] = {}

    def namespace(self, host: str) -> str:
        """The namespace of `host`."""
        return self.scenario.host(host).namespace

    def exec_argv(self, host: str, argv: Sequence[str]) -> list[str]:
        """`argv` run inside `host`'s namespace."""
        return netns.exec_argv(self.namespace(host), argv)

    @property
    def state(self) -> LabState:
        """What this lab owns right now."""
        return LabState(
            instance=self.instance,
            scenario=self.scenario.name,
            client=self.scenario.client,
            namespaces=tuple(self.namespaces),
            processes=tuple(self.processes),
            workdir=str(self.workdir or ""),
            ssh=tuple(self.ssh_argv()),
            owner=self.owner,
            detached=self.detached,
            user=record.current_user(),
        )

    def ssh_argv(self) -> list[str]:
        """The check's options to read the `ssh` host: ``--ssh root@ADDR --ssh-key KEY
        --known-hosts FILE`` (empty when the scenario reads no server)."""
        address = self.scenario.ssh_address
        if self.sshd is None or address is None:
            return []
        return [
            "--ssh", self.sshd.destination(address),
            "--ssh-key", str(self.sshd.key),
            "--known-hosts", str(self.sshd.known_hosts),
        ]  # fmt: skip

    def up(self) -> LabState:
        """Build everything; on any failure (or interrupt) remove what was built, re-raise."""
        preflight(self.scenario)
        trapped = self._trap_signals()  # before the first change
        try:
            self._reserve()
            self._build()
        except BaseException:
            self.down()
            raise
        finally:
            if trapped:
                self._restore_signals()
        return self.state

    def detach(self) -> LabState:
        """Leave the lab running without this object (for `lab up`); return what it owns.
        Its record now says `detached`: only ``lab down`` removes it, not ``lab clean``."""
        self.detached = True
        self._record()
        state = self.state
        with warnings.catch_warnings():
            # Popen warns when dropped while its process runs: here that is the point.
            warnings.simplefilter("ignore", ResourceWarning)
            self.started.clear()
        self.processes.clear()
        self.namespaces.clear()
        self.workdir = None
        self.sshd = None
        self._recorded = False
        return state

    def down(self) -> None:
        """Stop the services and remove everything this lab created. Safe to call twice."""
        with _signals_ignored():
            if self.sshd is not None:
                self.sshd.stop()
            for _, proc in self.started:
                if proc.poll() is None:
                    proc.terminate()
            for _, proc in self.started:
                try:
                    proc.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=2.0)
            if self._recorded:
                teardown(self.state)
            self._recorded = False
            self.started.clear()
            self.processes.clear()
            self.namespaces.clear()
            self.workdir = None
            self.sshd = None

    def replace_service(self, old: Service, new: Service) -> None:
        """Stop the running `old` server and start `new` in its place, waited for (the
        dns-tree family changes a zone this way)."""
        if self.workdir is None:
            raise CannotRun("lab: replace_service on a lab that is not up")
        index = next(i for i, (service, _) in enumerate(self.started) if service == old)
        _, proc = self.started[index]
        proc.terminate()
        try:
            proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=2.0)
        process = start_service(new, self.namespace(new.host), self.workdir)
        self.started[index] = (new, process)
        self._add_process(process.pid)
        wait_ready(self.scenario, [(new, process)], self.workdir)

    def __enter__(self) -> Lab:
        # SIGTERM/SIGHUP become exceptions so that __exit__ (and down) still runs.
        self._trap_signals()
        try:
            self.up()
        except BaseException:
            self._restore_signals()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        try:
            self.down()
        finally:
            self._restore_signals()

    def _trap_signals(self) -> bool:
        """Turn SIGTERM and SIGHUP into exceptions (main thread only); True if done here."""
        if self._old_handlers or threading.current_thread() is not threading.main_thread():
            return False
        self._old_handlers = {sig: signal.signal(sig, _raise_interrupt) for sig in TRAPPED}
        return True

    def _restore_signals(self) -> None:
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._old_handlers = {}

    def _reserve(self) -> None:
        """Pick a free instance and write its record, naming every namespace to come and
        the work dir, before any of them exists."""
        taken: set[str] = set()
        for _ in range(RESERVE_TRIES):
            prefix = record.prefix_of(self.instance)
            if not netns.list_namespaces(prefix):
                self.namespaces = list(self.scenario.namespaces)
                self.workdir = record.workdir_of(self.instance)
                if record.reserve(self.instance, self.state.to_json()):
                    self._recorded = True
                    return
            self.namespaces, self.workdir = [], None
            taken.add(self.instance)
            self.instance = record.new_instance(taken)
            self.scenario = self.base.with_prefix(record.prefix_of(self.instance))
        raise CannotRun("lab: found no free lab instance in /run/netdx/labs")

    def _record(self) -> None:
        if self._recorded:
            record.write(self.instance, self.state.to_json())

    def _add_process(self, pid: int) -> None:
        start = record.start_time(pid)
        if start is not None:
            self.processes.append(Proc(pid=pid, start=start))
            self._record()

    def _build(self) -> None:
        assert self.workdir is not None
        try:
            self.workdir.mkdir(mode=0o755)
        except FileExistsError:
            # Not ours (the record names it): never let teardown remove it.
            workdir, self.workdir = self.workdir, None
            self._record()
            raise CannotRun(f"lab: {workdir} exists already") from None
        self.workdir.chmod(0o755)
        for namespace in self.scenario.namespaces:
            netns.run(["ip", "netns", "add", namespace])
        _configure_switches(self.scenario, self.workdir)
        _create_links(self.scenario, self.workdir)
        for host in self.scenario.hosts:
            _configure_host(host, self.workdir)
        # Servers first, then the clients (churn, fill) that need them up.
        for clients in (False, True):
            begin = len(self.started)
            for service in self.scenario.services:
                if service.is_client == clients:
                    namespace = self.namespace(service.host)
                    first = before_change(service)  # a zone with `previous`: as it was
                    process = start_service(first, namespace, self.workdir)
                    self.started.append((first, process))
                    self._add_process(process.pid)
            wait_ready(self.scenario, self.started[begin:], self.workdir)
            if not clients:
                self._change_zones()
        if self.scenario.ssh:
            self._start_sshd(self.scenario.host(self.scenario.ssh), self.workdir)
        for host in self.scenario.hosts:
            _load_nftables(host, self.workdir)

    def _change_zones(self) -> None:
        """For each dns zone with `previous` records: its resolvers cache the names that
        change, then the zone changes under them (the stale cache of a record change)."""
        for service in self.scenario.services:
            if service.kind != "dns" or not service.previous:
                continue
            for resolver in self.scenario.services:
                if resolver.kind == "resolver" and resolver.zone == service.zone:
                    prime_cache(resolver, self.namespace(resolver.host),
                                changed_names(service))
            self.replace_service(before_change(service), service)

    def _start_sshd(self, host: Host, workdir: Path) -> None:
        """A real sshd on every address of `host` (key-only; its state in the lab's dir)."""
        from netdx.lab.sshd import start_sshd

        addresses = [cidr.split("/", 1)[0] for i in host.interfaces for cidr in i.addresses]
        self.sshd = start_sshd(
            namespace=host.namespace, addresses=addresses, state_dir=workdir / "sshd"
        )
        self._add_process(self.sshd.pid)


def _raise_interrupt(signum: int, frame: types.FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Teardown is bounded; a second Ctrl-C must not leave half a lab behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def preflight(scenario: Scenario) -> None:
    """Root and the binaries the scenario needs (each lab has its own namespaces)."""
    netns.require_root()
    needed = ["ip"]
    if any(host.nftables for host in scenario.hosts):
        needed.append("nft")
    kinds = {service.kind for service in scenario.services}
    needed += [binary for kind, binary in (("dns", "nsd"), ("resolver", "unbound"),
                                           ("https", "openssl")) if kind in kinds]
    if any(service.previous for service in scenario.services):
        needed.append("dig")  # primes the resolvers' caches before the zone changes
    if scenario.ssh:
        needed += ["sshd", "ssh", "ssh-keygen"]
    netns.require_binaries(needed)


def teardown(state: LabState) -> None:
    """Kill the lab's processes (each only if its start time still matches: a recycled pid
    is someone else's), delete its namespaces (and whatever still runs in them),
    /etc/netns files and temp dir; forget its record last, so an interrupted teardown can
    be finished by the next ``lab down`` / ``lab clean``."""
    netns.kill_pids([proc.pid for proc in state.processes if proc.alive])
    for namespace in state.namespaces:
        netns.delete_namespace(namespace)
    if state.instance:
        # Derived from the instance, not read from the record: a half-written record
        # (kill -9 right after the dir was made) still names its dir this way.
        shutil.rmtree(record.workdir_of(state.instance), ignore_errors=True)
    elif state.workdir and Path(state.workdir).name.startswith(WORKDIR_PREFIX):
        shutil.rmtree(state.workdir, ignore_errors=True)
    if state.instance:
        record.remove(state.instance)


def _batch(namespace: str | None, lines: Sequence[str], workdir: Path) -> None:
    """Run iproute2 commands in one `ip -batch`, inside `namespace` if given (the script
    lives in the lab's work dir, so that no kill leaves it behind)."""
    if not lines:
        return
    argv = ["ip", "-n", namespace] if namespace else ["ip"]
    with tempfile.NamedTemporaryFile("w", dir=workdir, suffix=".ip") as script:
        script.write("\n".join(lines) + "\n")
        script.flush()
        netns.run([*argv, "-batch", script.name])


def _sysctl(namespace: str, pairs: Sequence[tuple[str, str]]) -> None:
    if pairs:
        netns.run(
            netns.exec_argv(
                namespace, ["sysctl", "-q", "-w", *(f"{key}={value}" for key, value in pairs)]
            )
        )


def _configure_switches(scenario: Scenario, workdir: Path) -> None:
    for link in scenario.links:
        if link.switched:
            _sysctl(link.switch_namespace, SWITCH_SYSCTLS)
            _batch(
                link.switch_namespace,
                [
                    "link set lo up",
                    f"link add {PREFIX}br type bridge stp_state 0 mcast_snooping 0",
                    f"link set {PREFIX}br up",
                ],
                workdir,
            )


def _create_links(scenario: Scenario, workdir: Path) -> None:
    """Every veth is born with both ends inside lab namespaces: none in the root one."""
    lines: list[str] = []
    bridge_lines: dict[str, list[str]] = {}
    for link in scenario.links:
        ifname = PREFIX + link.name
        if not link.switched:
            first, second = (scenario.host(host).namespace for host in link.hosts)
            lines.append(
                f"link add {ifname} netns {first} type veth peer name {ifname} netns {second}"
            )
            continue
        switch = link.switch_namespace
        for index, host in enumerate(link.hosts):
            port = f"{PREFIX}p{index}"
            lines.append(
                f"link add {ifname} netns {scenario.host(host).namespace} "
                f"type veth peer name {port} netns {switch}"
            )
            bridge_lines.setdefault(switch, []).extend(
                [f"link set {port} master {PREFIX}br", f"link set {port} up"]
            )
    _batch(None, lines, workdir)
    for switch, commands in bridge_lines.items():
        _batch(switch, commands, workdir)


def _configure_host(host: Host, workdir: Path) -> None:
    sysctls = list(QUIET_SYSCTLS)
    if host.forwarding:
        sysctls += ROUTER_SYSCTLS
    _sysctl(host.namespace, [*sysctls, *host.sysctls])
    lines = ["link set lo up"]
    for interface in host.interfaces:
        lines.append(f"link set {interface.ifname} up")
        for cidr in interface.addresses:
            # nodad: a tentative IPv6 address cannot be used for ~2 s; the lab must be instant.
            nodad = " nodad" if ":" in cidr else ""
            lines.append(f"addr add {cidr} dev {interface.ifname}{nodad}")
    lines += [f"route add {route}" for route in host.routes]
    _batch(host.namespace, lines, workdir)
    _write_etc(host)


def _write_etc(host: Host) -> None:
    """Files `ip netns exec` bind-mounts over /etc: always hosts and resolv.conf, for isolation."""
    folder = netns.NETNS_ETC / host.namespace
    folder.mkdir(parents=True, exist_ok=True)
    hosts = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback", *host.hosts]
    (folder / "hosts").write_text("\n".join(hosts) + "\n")
    (folder / "resolv.conf").write_text("".join(line + "\n" for line in host.resolv))
    if host.gai:
        (folder / "gai.conf").write_text("\n".join(host.gai) + "\n")


def _load_nftables(host: Host, workdir: Path) -> None:
    if not host.nftables.strip():
        return
    rules = workdir / f"{host.name}.nft"
    rules.write_text(host.nftables)
    netns.run(netns.exec_argv(host.namespace, ["nft", "-f", str(rules)]))
