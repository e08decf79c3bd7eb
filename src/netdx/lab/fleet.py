"""The fleet lab: twelve hosts in network namespaces behind one router, each with a real
sshd, an Ansible inventory and a flows file whose expected causes the lab's own faults set.

    fleet = build(state_dir)                 # namespaces, sshds, listeners, faults, files
    argv = verify_argv(fleet, "--json")      # `netdx verify` run in the lab's control host
    fleet.expected                           # every case's expected outcome and cause
    teardown()                               # every `ndx-fl-` namespace and what ran there

Its builder is on record (`lab.fleet_record`), so `netdx lab clean` removes a fleet whose
builder died (`clean`), never one that runs or was left up by `netdx lab fleet up`.

Topology (no link to the root namespace): the router `ndx-fl-rt` has one bridge per subnet:
the control host `ctl` (10.99.0.1, where `netdx verify` runs), `web01`..`web06`
(10.99.1.N) and `db01`..`db06` (10.99.2.N). Every web host listens on 80, every db host on
6379 and, healthy, on 5432. The faults, each the cause of some flows:

- a server rule: db02's nftables input chain drops tcp 5432          -> port.filtered
- a router ACL: the router rejects web -> db tcp 6379 (admin-prohibited) -> firewall.reject_admin
- a loopback bind: db03's 5432 listens on 127.0.0.1 only            -> service.loopback_only
  (read from the server, `read_destination`), port.refused from a host
- a stopped service: nothing listens on db04's 5432                 -> port.refused
- a host down: db05's link is gone after its start                  -> reach.host_unreachable
  (as a destination), ssh.unreachable (as a source: netdx cannot reach it)
- a host whose sshd refuses netdx: web06 accepts no key             -> ssh.auth (as a source)

A flow from a source netdx cannot log into is an error, never a check from elsewhere (the
issue's JUnit `<error>`); the lab expects exactly that for web06 and db05.
"""

from __future__ import annotations

import concurrent.futures
import select
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from netdx.budget import Deadline
from netdx.errors import CannotRun
from netdx.lab import fleet_record
from netdx.lab.model import PREFIX
from netdx.lab.netns import NETNS_ETC, delete_namespace, list_namespaces, run
from netdx.lab.sshd import SshServer, start_sshd
from netdx.model.record import record

FLEET_PREFIX = PREFIX + "fl-"
ROUTER, CTL = FLEET_PREFIX + "rt", FLEET_PREFIX + "ctl"
CTL_ADDRESS = "10.99.0.1"
SUBNETS = {"ctl": "10.99.0", "web": "10.99.1", "db": "10.99.2"}
GATEWAY = 254  # the router's address in each subnet
APP, PG, REDIS = 80, 5432, 6379
SERVER_RULE, LOOPBACK, STOPPED, DOWN, REFUSING = "db02", "db03", "db04", "db05", "web06"
HOST_COUNT = 6  # per group
NFT_TABLE = "ndxfleet"
# The namespaces' resolver is the router, where no DNS server runs: a query fails at once
# (port unreachable) and none ever leaves the lab. Every name in the files is numeric.
RESOLV = f"nameserver {SUBNETS['ctl']}.{GATEWAY}\noptions timeout:1 attempts:1\n"

Outcome = Literal["pass", "fail", "error"]


@record
class FleetHost:
    """One host of the fleet: its name (also its namespace's suffix), group and address."""

    name: str
    group: str
    address: str

    @property
    def namespace(self) -> str:
        return FLEET_PREFIX + self.name


@record
class FleetFlow:
    """A flow of the lab's flows file and the cause its faults give it."""

    name: str
    source: str  # a group, a host or "local"
    to: str  # HOST:PORT or GROUP:PORT
    expect: Literal["allow", "deny"]
    cause: str  # the cause expected from a source that netdx can reach
    read_destination: bool = False
    timeout: float | None = None  # its own budget, else the file's default


@record
class ExpectedCase:
    """One cell of the matrix as the lab expects `netdx verify` to report it: the outcome
    and the cause (for an error, the source's `ssh.<status>`)."""

    flow: str
    source: str
    destination: str
    outcome: Outcome
    cause: str


@record
class Fleet:
    """A built fleet: its files, its sshds and the listener process, what it expects."""

    state_dir: Path
    inventory: Path
    flows: Path
    servers: tuple[SshServer, ...]
    listener_pid: int
    expected: tuple[ExpectedCase, ...]


HOSTS: tuple[FleetHost, ...] = tuple(
    FleetHost(name=f"{group}{n:02d}", group=group, address=f"{SUBNETS[group]}.{n}")
    for group in ("web", "db")
    for n in range(1, HOST_COUNT + 1)
)

FLOWS: tuple[FleetFlow, ...] = (
    FleetFlow(name="web-to-db", source="web", to=f"db01:{PG}", expect="allow", cause="ok"),
    FleetFlow(name="ctl-to-web", source="local", to=f"web:{APP}", expect="allow", cause="ok"),
    FleetFlow(name="db-to-cache", source="db", to=f"db06:{REDIS}", expect="allow", cause="ok"),
    FleetFlow(name="server-rule", source="web01", to=f"{SERVER_RULE}:{PG}", expect="deny",
              cause="port.filtered"),
    FleetFlow(name="router-acl", source="web02", to=f"db01:{REDIS}", expect="deny",
              cause="firewall.reject_admin"),
    # Read from the server over SSH: a cold login on a busy machine can take seconds, and a
    # server not read in time leaves the client's port.refused (with an ssh.timeout warning).
    FleetFlow(name="loopback-bind", source="local", to=f"{LOOPBACK}:{PG}", expect="deny",
              cause="service.loopback_only", read_destination=True, timeout=15.0),
    FleetFlow(name="loopback-bind-from-web", source="web03", to=f"{LOOPBACK}:{PG}",
              expect="deny", cause="port.refused"),
    FleetFlow(name="stopped-service", source="web04", to=f"{STOPPED}:{PG}", expect="deny",
              cause="port.refused"),
    # The router's ARP for a dead host gives up after about 3 s, and only then says
    # host-unreachable: the TCP connect must wait longer than that (8 s leaves it ~5 s).
    FleetFlow(name="host-down", source="web05", to=f"{DOWN}:{PG}", expect="deny",
              cause="reach.host_unreachable", timeout=8.0),
)  # fmt: skip

# What a flow from a source netdx cannot log into reports instead of a check.
SOURCE_ERRORS = {REFUSING: "ssh.auth", DOWN: "ssh.unreachable"}


def host(name: str) -> FleetHost:
    return next(h for h in HOSTS if h.name == name)


def members(name: str) -> tuple[FleetHost, ...]:
    """The hosts a flow's side names: a group's, or the one host."""
    found = tuple(h for h in HOSTS if h.group == name)
    return found or (host(name),)


def expected_cases(flows: Iterable[FleetFlow] = FLOWS) -> tuple[ExpectedCase, ...]:
    """Every case of `flows` in `netdx verify`'s order, with its expected outcome."""
    cases = []
    for flow in flows:
        sources = ["local"] if flow.source == "local" else [h.name for h in members(flow.source)]
        name, _, port = flow.to.partition(":")
        for source in sources:
            for target in members(name):
                error = SOURCE_ERRORS.get(source)
                cases.append(
                    ExpectedCase(
                        flow=flow.name,
                        source=source,
                        destination=f"{target.name}:{port}",
                        outcome="error" if error else "pass",
                        cause=error or flow.cause,
                    )
                )
    return tuple(cases)


def flows_yaml(flows: Iterable[FleetFlow] = FLOWS, *, timeout: float = 5.0) -> str:
    """The flows file of `flows`: allowed ones plain, denied ones with their `deny_by`."""
    lines = [f"defaults: {{timeout: {timeout:g}}}", "flows:"]
    for flow in flows:
        lines += [
            f"  - name: {flow.name}",
            f"    from: {flow.source}",
            f'    to: "{flow.to}"',
            f"    expect: {flow.expect}",
        ]
        if flow.expect == "deny":
            lines.append(f"    deny_by: [{flow.cause}]")
        if flow.read_destination:
            lines.append("    read_destination: true")
        if flow.timeout is not None:
            lines.append(f"    timeout: {flow.timeout:g}")
    return "\n".join(lines) + "\n"


def inventory_ini(key: Path, known_hosts: Path) -> str:
    """The fleet as an Ansible INI inventory: groups web and db, both children of fleet."""
    lines: list[str] = []
    for group in ("web", "db"):
        lines.append(f"[{group}]")
        lines += [f"{h.name} ansible_host={h.address}" for h in HOSTS if h.group == group]
        lines.append("")
    lines += [
        "[fleet:children]", "web", "db", "",
        "[all:vars]",
        "ansible_user=root",
        f"ansible_ssh_private_key_file={key}",
        f"ansible_ssh_common_args='-o UserKnownHostsFile={known_hosts}'",
        "ansible_python_interpreter=/usr/bin/python3",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _topology() -> list[list[str]]:
    """The ip commands that make the router, the bridges and every host's link."""
    argvs = [["ip", "netns", "add", ROUTER], ["ip", "netns", "add", CTL]]
    argvs += [["ip", "netns", "add", h.namespace] for h in HOSTS]
    argvs.append(["ip", "-n", ROUTER, "link", "set", "lo", "up"])
    for group, net in SUBNETS.items():
        bridge = f"{FLEET_PREFIX}br{group[0]}"
        argvs += [
            ["ip", "-n", ROUTER, "link", "add", bridge, "type", "bridge"],
            ["ip", "-n", ROUTER, "addr", "add", f"{net}.{GATEWAY}/24", "dev", bridge],
            ["ip", "-n", ROUTER, "link", "set", bridge, "up"],
        ]
    ends = [(CTL, "ctl", CTL_ADDRESS), *((h.namespace, h.group, h.address) for h in HOSTS)]
    for namespace, group, address in ends:
        outer = namespace  # the host's end in the router is named after it (<= 15 chars)
        net = SUBNETS[group]
        argvs += [
            ["ip", "-n", ROUTER, "link", "add", outer, "type", "veth",
             "peer", "name", "ndx-eth0", "netns", namespace],
            ["ip", "-n", ROUTER, "link", "set", outer, "master", f"{FLEET_PREFIX}br{group[0]}",
             "up"],
            ["ip", "-n", namespace, "link", "set", "lo", "up"],
            ["ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", "ndx-eth0"],
            ["ip", "-n", namespace, "link", "set", "ndx-eth0", "up"],
            ["ip", "-n", namespace, "route", "add", "default", "via", f"{net}.{GATEWAY}"],
        ]  # fmt: skip
    argvs.append(["ip", "netns", "exec", ROUTER, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
    return argvs


def _router_acl() -> str:
    web, db = SUBNETS["web"], SUBNETS["db"]
    return (
        f"table inet {NFT_TABLE} {{\n  chain forward {{\n"
        "    type filter hook forward priority 0; policy accept;\n"
        f"    ip saddr {web}.0/24 ip daddr {db}.0/24 tcp dport {REDIS} "
        "reject with icmpx type admin-prohibited\n  }\n}\n"
    )


def _server_rule() -> str:
    return (
        f"table inet {NFT_TABLE} {{\n  chain input {{\n"
        "    type filter hook input priority 0; policy accept;\n"
        f"    tcp dport {PG} drop\n  }}\n}}\n"
    )


def _listen_specs() -> list[str]:
    specs = []
    for h in HOSTS:
        ports = [APP] if h.group == "web" else [REDIS] + ([] if h.name == STOPPED else [PG])
        for port in ports:
            address = "127.0.0.1" if (h.name, port) == (LOOPBACK, PG) else "0.0.0.0"
            specs.append(f"{h.namespace}={address}:{port}")
    return specs


def _nft(namespace: str, ruleset: str) -> None:
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, "nft", "-f", "-"],
        input=ruleset, capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise CannotRun(f"lab: nft in {namespace} failed: {done.stderr.strip()[-200:]}")


def _start_listener(deadline: Deadline) -> subprocess.Popen[bytes]:
    argv = ["ip", "netns", "exec", ROUTER, sys.executable, "-m", "netdx.lab.fleet_listen"]
    proc = subprocess.Popen(
        [*argv, *_listen_specs()],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline.remaining()))
    line = proc.stdout.readline().decode(errors="replace").strip() if ready else ""
    if line != "ready":
        proc.kill()
        err = proc.communicate(timeout=5)[1].decode(errors="replace").strip()
        raise CannotRun(f"lab: the fleet's listeners did not start: {err[-300:] or 'no answer'}")
    return proc


_LISTENERS: dict[int, subprocess.Popen[bytes]] = {}


def build(state_dir: str | Path, *, deadline: Deadline | None = None) -> Fleet:
    """Build the fleet under `state_dir` (keys, sshd configs, inventory, flows). A build
    that fails (or is interrupted) removes what it made; a built fleet is the caller's to
    remove with `teardown()`. CannotRun when a fleet is already up (it is left alone)."""
    deadline = deadline or Deadline.after(60.0)
    if list_namespaces(FLEET_PREFIX):
        raise CannotRun("lab: a fleet is already up: `netdx lab fleet down` removes it")
    fleet_record.claim()  # before the first namespace: a builder killed now is on record
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)
    try:
        return _build(state, deadline)
    except BaseException:
        teardown()
        raise


def _build(state: Path, deadline: Deadline) -> Fleet:
    for argv in _topology():
        run(argv)
    for namespace in (CTL, *(h.namespace for h in HOSTS)):
        etc = NETNS_ETC / namespace  # bind-mounted by `ip netns exec`: sshd's sessions too
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(RESOLV)
        (etc / "hosts").write_text("127.0.0.1 localhost\n")
    _nft(ROUTER, _router_acl())
    _nft(host(SERVER_RULE).namespace, _server_rule())
    listener = _start_listener(deadline)
    _LISTENERS[listener.pid] = listener
    # One client key for the whole fleet, as an operator has: copied in before each sshd
    # starts (start_sshd keeps a key it finds).
    key = state / "id_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ndx-fleet", "-f", str(key)])
    for h in HOSTS:
        (state / h.name).mkdir(mode=0o755)
        for suffix in ("", ".pub"):
            target = state / h.name / f"client_ed25519{suffix}"
            target.write_bytes(Path(f"{key}{suffix}").read_bytes())
            target.chmod(0o600 if not suffix else 0o644)
    servers = _start_sshds(state, deadline)
    known = state / "known_hosts"
    known.write_text("".join(s.known_hosts.read_text() for s in servers))
    _apply_late_faults(servers)
    inventory, flows = state / "hosts.ini", state / "flows.yaml"
    inventory.write_text(inventory_ini(key, known))
    flows.write_text(flows_yaml())
    return Fleet(
        state_dir=state,
        inventory=inventory,
        flows=flows,
        servers=servers,
        listener_pid=listener.pid,
        expected=expected_cases(),
    )


def _start_sshds(state: Path, deadline: Deadline) -> tuple[SshServer, ...]:
    """One sshd per host, started side by side (each waits for its own `listening`)."""

    def start(h: FleetHost) -> SshServer:
        return start_sshd(
            namespace=h.namespace, addresses=[h.address], state_dir=state / h.name,
            deadline=deadline,
        )  # fmt: skip

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(start, h) for h in HOSTS]
        servers = []
        for future in futures:
            servers.append(future.result())  # CannotRun of the first that failed
    return tuple(servers)


def _apply_late_faults(servers: Sequence[SshServer]) -> None:
    """The faults that need a started host: web06's sshd accepts no key any more, and
    db05 loses its link (its processes live on, unreachable, as a crashed VM's would)."""
    refusing = next(s for s in servers if s.namespace == host(REFUSING).namespace)
    (refusing.state_dir / "authorized_keys").write_text("")
    run(["ip", "-n", ROUTER, "link", "del", host(DOWN).namespace])


def verify_argv(fleet: Fleet, *options: str, flows: Path | None = None) -> list[str]:
    """`netdx verify` on the fleet's files, run in the control host's namespace."""
    return [
        "ip", "netns", "exec", CTL, sys.executable, "-m", "netdx", "verify",
        str(flows or fleet.flows), "-i", str(fleet.inventory), *options,
    ]  # fmt: skip


def teardown(fleet: Fleet | None = None) -> list[str]:
    """Stop the fleet's processes and remove every `ndx-fl-` namespace (and its /etc/netns
    files); the names removed. Safe to call twice, or with no fleet built by this process."""
    if fleet is not None:
        for server in fleet.servers:
            server.stop()
    for pid, proc in list(_LISTENERS.items()):
        proc.kill()
        proc.communicate(timeout=5)  # reaps it and closes its pipes
        del _LISTENERS[pid]
    names = fleet_record.present(FLEET_PREFIX)  # a namespace, or only its /etc/netns dir
    for namespace in sorted(names, key=lambda n: n == ROUTER):  # the router last
        delete_namespace(namespace)
    fleet_record.forget()
    return names


def leftovers() -> list[str]:
    """The fleet's namespaces (and /etc/netns dirs) when `clean` would remove them, or
    when this very process built it and still holds it; else none."""
    if fleet_record.abandoned(FLEET_PREFIX) or fleet_record.held_here():
        return fleet_record.present(FLEET_PREFIX)
    return []


def clean() -> list[str]:
    """Remove the fleet if its builder is gone and it was not left up (`netdx lab clean`):
    its namespaces, what runs there, its /etc/netns dirs and its record; the names."""
    if not fleet_record.abandoned(FLEET_PREFIX):
        return []
    return teardown()
