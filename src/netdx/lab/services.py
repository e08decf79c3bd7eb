"""Starting a scenario's services inside their namespaces and waiting until they are ready.

tcp/http/https run as ``python -m netdx.lab.serve``; dns is a real ``nsd`` serving a zone
generated from the scenario's records (or whole zones, for the dns-tree family); resolver is
a real ``unbound`` iterating from the given root hints. HTTPS certificates are made by
``openssl req -x509``.

Clients (churn, fill) start once every server is ready; the lab then polls the server they
connect to (``serve wait-state`` in its namespace) until the state they exist for is there:
CLOSE-WAIT sockets of a ``leak`` server, the full accept queue of a ``noaccept`` one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from netdx.errors import CannotRun
from netdx.lab.model import Scenario, Service
from netdx.lab.netns import exec_argv, run
from netdx.lab.serve import split_hostport

READY_TIMEOUT = 5.0
ZONE_TTL = 60


def service_label(service: Service) -> str:
    """A short name for messages: ``tcp on db-server-01 (0.0.0.0:5432)``, or for a client
    ``churn on payment (to 10.0.0.20:8080)``."""
    if service.is_client:
        return f"{service.kind} on {service.host} (to {service.target})"
    return f"{service.kind} on {service.host} ({service.listen})"


def ready_target(service: Service) -> str:
    """The ``ADDR:PORT`` that accepts a TCP connection once the service is up (for a client:
    the one it connects to)."""
    if service.is_client:
        return service.target
    if service.kind in ("dns", "resolver"):
        addr = service.listen
        return f"[{addr}]:53" if ":" in addr else f"{addr}:53"
    return service.listen


def service_argv(service: Service, workdir: Path) -> list[str]:
    """The command that runs `service` (files it needs are written to `workdir`)."""
    if service.kind == "dns":
        return ["nsd", "-d", "-c", str(write_nsd_config(service, workdir))]
    if service.kind == "resolver":
        return ["unbound", "-d", "-c", str(write_unbound_config(service, workdir))]
    if service.kind in ("postgres", "redis", "mysql"):
        auth = ["--auth"] if service.auth else []
        return [sys.executable, "-m", "netdx.lab.protocols", service.kind,
                "--listen", service.listen, *auth]  # fmt: skip
    argv = [sys.executable, "-m", "netdx.lab.serve"]
    if service.is_client:
        return [*argv, service.kind, "--target", service.target, "--count", str(service.count),
                "--interval", str(service.interval)]  # fmt: skip
    if service.kind == "tcp":
        argv += ["tcp", "--listen", service.listen, "--mode", service.mode]
        argv += ["--backlog", str(service.backlog)]
    else:
        argv += ["http", "--listen", service.listen, "--status", str(service.status)]
    if service.v6only:
        argv.append("--v6only")
    if service.kind == "https":
        cert, key = make_certificate(service, workdir)
        argv += ["--cert", str(cert), "--key", str(key)]
    return argv


def start_service(service: Service, namespace: str, workdir: Path) -> subprocess.Popen[bytes]:
    """Start `service` inside `namespace`; its output goes to a log file in `workdir`."""
    argv = exec_argv(namespace, service_argv(service, workdir))
    with _log_path(service, workdir).open("wb") as out:
        # A new session: Ctrl-C on a terminal that ran `lab up` must not kill the services.
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _log_path(service: Service, workdir: Path) -> Path:
    _, port = split_hostport(ready_target(service))
    return workdir / f"{service.host}-{service.kind}-{port}.log"


def wait_ready(
    scenario: Scenario, started: Sequence[tuple[Service, subprocess.Popen[bytes]]], workdir: Path
) -> None:
    """Block until every server accepts connections and every client's state exists on its
    server; `CannotRun` after `READY_TIMEOUT` (more for a long churn)."""
    for service, proc in started:
        if service.is_client:
            wait_client_state(scenario, service, proc, workdir)
            continue
        namespace = scenario.host(service.host).namespace
        argv = [sys.executable, "-m", "netdx.lab.serve", *_ready_check(service)]
        probe = subprocess.run(
            exec_argv(namespace, argv),
            capture_output=True,
            text=True,
            timeout=READY_TIMEOUT + 5.0,
            check=False,
        )
        if probe.returncode != 0:
            raise CannotRun(
                f"lab: {service_label(service)} not ready in {READY_TIMEOUT:g} s"
                f"{_exit_note(proc)}{_log_tail(service, workdir)}"
            )


def _ready_check(service: Service) -> list[str]:
    """The ``serve`` arguments that see `service` ready: a connect, except for the servers
    that would keep that connect (noaccept queues it, leak never closes it) and so spoil the
    state the scenario builds: for those, a LISTEN socket on the port."""
    if service.kind == "tcp" and service.mode in ("noaccept", "leak"):
        _, port = split_hostport(service.listen)
        return ["wait-state", "--port", str(port), "--listening", "1",
                "--timeout", str(READY_TIMEOUT)]  # fmt: skip
    return ["wait", "--timeout", str(READY_TIMEOUT), ready_target(service)]


def client_wait_argv(scenario: Scenario, client: Service) -> tuple[str, list[str], float]:
    """The host to poll, the ``serve wait-state`` command and its timeout for a client: a
    churn against a ``leak`` server waits for `count` CLOSE-WAIT sockets, a fill against a
    ``noaccept`` one for a full accept queue (backlog + 1: the kernel's limit), a fill
    against another for `count` established connections. Empty argv: wait for the exit."""
    server = scenario.target_of(client)
    if server is None:  # the schema refuses such a file; a hand-built scenario may not
        raise CannotRun(f"lab: {service_label(client)}: no service listens on {client.target}")
    _, port = split_hostport(client.target)
    timeout = READY_TIMEOUT + client.count * client.interval
    argv = [sys.executable, "-m", "netdx.lab.serve", "wait-state", "--port", str(port),
            "--timeout", f"{timeout:g}"]  # fmt: skip
    if client.kind == "churn" and server.mode == "leak":
        return server.host, [*argv, "--close-wait", str(client.count)], timeout
    if client.kind == "fill" and server.mode == "noaccept":
        # The kernel queues backlog + 1 connections before it drops SYNs.
        queue = min(client.count, server.backlog + 1)
        return server.host, [*argv, "--queue", str(queue)], timeout
    if client.kind == "fill":
        return server.host, [*argv, "--established", str(client.count)], timeout
    return client.host, [], timeout


def wait_client_state(
    scenario: Scenario, client: Service, proc: subprocess.Popen[bytes], workdir: Path
) -> None:
    """Block until the state `client` is there for exists; `CannotRun` saying what was seen."""
    host, argv, timeout = client_wait_argv(scenario, client)
    if not argv:
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        if code != 0:
            raise CannotRun(f"lab: {service_label(client)} did not succeed within {timeout:g} s"
                            f"{_exit_note(proc)}{_log_tail(client, workdir)}")  # fmt: skip
        return
    probe = subprocess.run(
        exec_argv(scenario.host(host).namespace, argv),
        capture_output=True,
        text=True,
        timeout=timeout + 5.0,
        check=False,
    )
    if probe.returncode != 0:
        seen = probe.stderr.strip().splitlines()[-1:] or ["no answer"]
        raise CannotRun(f"lab: {service_label(client)}: the state is not there: {seen[0]}"
                        f"{_exit_note(proc)}{_log_tail(client, workdir)}")  # fmt: skip


def _exit_note(proc: subprocess.Popen[bytes]) -> str:
    code = proc.poll()
    return "" if code is None else f" (exited with status {code})"


def _log_tail(service: Service, workdir: Path) -> str:
    try:
        lines = _log_path(service, workdir).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f": {lines[-1]}" if lines else ""


def make_certificate(service: Service, workdir: Path) -> tuple[Path, Path]:
    """A fresh self-signed certificate and key for the service's server name (`cert`:
    expired, or made out to another name, for the scenarios of those failures)."""
    name = service.server_name or service.host
    if service.cert == "wrong_name":
        name = f"other-{name}"
    cert, key = workdir / f"{service.host}-cert.pem", workdir / f"{service.host}-key.pem"
    if service.cert == "expired":
        return _expired_certificate(name, cert, key, workdir), key
    run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
        ]
    )
    return cert, key


def _expired_certificate(name: str, cert: Path, key: Path, workdir: Path) -> Path:
    """A self-signed certificate whose notAfter is a day before now: `req -x509` takes no
    negative -days, `x509 -req` does (its notBefore is now: valid at no moment)."""
    csr = workdir / f"{name}.csr"
    run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}"])  # fmt: skip
    run(["openssl", "x509", "-req", "-in", str(csr), "-signkey", str(key), "-days", "-1",
         "-copy_extensions", "copy", "-out", str(cert)])  # fmt: skip
    return cert


def zone_text(service: Service) -> str:
    """The zone file for a dns service: SOA, NS ns1 (at the listen address), the records."""
    family = "AAAA" if ":" in service.listen else "A"
    lines = [
        f"$ORIGIN {service.zone}",
        f"$TTL {ZONE_TTL}",
        f"@ IN SOA ns1.{service.zone} hostmaster.{service.zone} 1 3600 600 86400 {ZONE_TTL}",
        f"@ IN NS ns1.{service.zone}",
        f"ns1 IN {family} {service.listen}",
        *service.records,
    ]
    return "\n".join(lines) + "\n"


def root_zone_text(service: Service) -> str:
    """An empty root zone: nsd then answers NXDOMAIN for names outside the lab's zone.

    The lab's nameserver stands in for a recursive resolver; without this, nsd would answer
    REFUSED for the absolute name glibc tries after the search list (``db-server-02.``), which
    glibc reports as EAI_AGAIN ("try again") where a real resolver's NXDOMAIN means "no name".
    """
    return (
        f"$ORIGIN .\n$TTL {ZONE_TTL}\n"
        f"@ IN SOA ns1.{service.zone} hostmaster.{service.zone} 1 3600 600 86400 {ZONE_TTL}\n"
        f"@ IN NS ns1.{service.zone}\n"
    )


def _zones(service: Service, folder: Path) -> str:
    """Write the zone files of `service`; return their nsd.conf `zone:` clauses."""
    zones = service.zone_files
    if not zones:
        zones = ((service.zone, zone_text(service)),)
        if service.zone != "." and service.stands_in:
            zones += ((".", root_zone_text(service)),)
    clauses = []
    for index, (name, text) in enumerate(zones):
        path = folder / f"zone{index}"
        path.write_text(text)
        clauses.append(f'zone:\n  name: "{name}"\n  zonefile: "{path}"\n')
    return "".join(clauses)


def write_nsd_config(service: Service, workdir: Path) -> Path:
    """Write nsd.conf and the zone files to a directory of their own; return the config."""
    folder = workdir / f"nsd-{service.host}"
    folder.mkdir(mode=0o755, exist_ok=True)
    v6 = ":" in service.listen
    conf = folder / "nsd.conf"
    conf.write_text(
        "server:\n"
        f"  ip-address: {service.listen}\n"
        "  port: 53\n"
        f"  do-ip4: {'no' if v6 else 'yes'}\n"
        f"  do-ip6: {'yes' if v6 else 'no'}\n"
        '  username: ""\n'
        '  chroot: ""\n'
        '  database: ""\n'
        "  server-count: 1\n"
        "  verbosity: 1\n"
        # Response rate limiting would drop answers to a test's or benchmark's burst.
        "  rrl-ratelimit: 0\n"
        "  rrl-whitelist-ratelimit: 0\n"
        f'  zonesdir: "{folder}"\n'
        f'  zonelistfile: "{folder}/zone.list"\n'
        f'  pidfile: "{folder}/nsd.pid"\n'
        f'  xfrdfile: "{folder}/xfrd.state"\n'
        f'  xfrdir: "{folder}"\n'
        f'  logfile: "{folder}/nsd.log"\n'
        "remote-control:\n"
        "  control-enable: no\n"
        + _zones(service, folder)
    )
    return conf


def write_unbound_config(service: Service, workdir: Path) -> Path:
    """unbound.conf and root hints for a resolver: iterator only (no DNSSEC), lab-private
    reverse zones answered from the lab, every client of the isolated lab allowed."""
    folder = workdir / f"unbound-{service.host}"
    folder.mkdir(mode=0o755, exist_ok=True)
    hints = folder / "root.hints"
    hints.write_text(service.hints)
    # No hints: unbound's own (the public roots, out of the lab's reach, as on many hosts).
    root_hints = f'  root-hints: "{hints}"\n' if service.hints else ""
    stub = (f'stub-zone:\n  name: "{service.zone}"\n  stub-addr: {service.stub}\n'
            if service.stub else "")
    conf = folder / "unbound.conf"
    conf.write_text(
        "server:\n"
        f"  interface: {service.listen}\n  port: 53\n  access-control: 0.0.0.0/0 allow\n"
        f'  chroot: ""\n  username: ""\n  directory: "{folder}"\n'
        f'  pidfile: "{folder}/unbound.pid"\n{root_hints}'
        '  module-config: "iterator"\n  do-not-query-localhost: no\n'
        '  do-ip6: no\n  num-threads: 1\n  verbosity: 1\n  use-syslog: no\n  logfile: ""\n'
        # 10/8 is a private range: unbound answers its reverse zone itself unless told not to.
        "  unblock-lan-zones: yes\n  insecure-lan-zones: yes\n"
        "  qname-minimisation: no\n  infra-cache-max-rtt: 1000\n  outbound-msg-retry: 2\n"
        "remote-control:\n  control-enable: no\n"
        + stub
    )
    return conf


def before_change(service: Service) -> Service:
    """The dns service as it was before its zone changed (its `previous` records)."""
    if service.kind != "dns" or not service.previous:
        return service
    return replace(service, records=service.previous, previous=())


def changed_names(service: Service) -> list[tuple[str, str]]:
    """(absolute name, type) of each record of `previous` that the change removes or
    alters: what a resolver of the zone must have cached for its cache to go stale."""
    gone = set(service.previous) - set(service.records)
    found = []
    for line in service.previous:
        words = line.split()
        if line not in gone or "IN" not in words[1:]:
            continue
        owner, rtype = words[0], words[words.index("IN", 1) + 1]
        name = service.zone if owner == "@" else owner
        found.append((name if name.endswith(".") else f"{name}.{service.zone}", rtype))
    return found


def prime_cache(resolver: Service, namespace: str, names: Sequence[tuple[str, str]]) -> None:
    """Ask `resolver` for each name so that it caches the answer; `CannotRun` if one gives
    nothing (a stale-cache scenario without a cached record proves nothing)."""
    for name, rtype in names:
        argv = ["dig", "+short", "+tries=1", "+time=2", f"@{resolver.listen}", name, rtype]
        answer = subprocess.run(exec_argv(namespace, argv), capture_output=True, text=True,
                                timeout=READY_TIMEOUT + 5.0, check=False).stdout.strip()
        if not answer:
            raise CannotRun(f"lab: {service_label(resolver)} did not answer {name} {rtype} "
                            "(nothing to cache before the zone changes)")
