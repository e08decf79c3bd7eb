"""Starting a scenario's services inside their namespaces and waiting until they are ready.

tcp/http/https run as ``python -m netdx.lab.serve``; dns is a real ``nsd`` serving a zone
generated from the scenario's records. HTTPS certificates are made by ``openssl req -x509``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from netdx.errors import CannotRun
from netdx.lab.model import Scenario, Service
from netdx.lab.netns import exec_argv, run
from netdx.lab.serve import split_hostport

READY_TIMEOUT = 5.0
ZONE_TTL = 60


def service_label(service: Service) -> str:
    """A short name for messages: ``tcp on db-server-01 (0.0.0.0:5432)``."""
    return f"{service.kind} on {service.host} ({service.listen})"


def ready_target(service: Service) -> str:
    """The ``ADDR:PORT`` that accepts a TCP connection once the service is up."""
    if service.kind == "dns":
        addr = service.listen
        return f"[{addr}]:53" if ":" in addr else f"{addr}:53"
    return service.listen


def service_argv(service: Service, workdir: Path) -> list[str]:
    """The command that runs `service` (files it needs are written to `workdir`)."""
    if service.kind == "dns":
        return ["nsd", "-d", "-c", str(write_nsd_config(service, workdir))]
    argv = [sys.executable, "-m", "netdx.lab.serve"]
    if service.kind == "tcp":
        argv += ["tcp", "--listen", service.listen, "--mode", service.mode]
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
    _, port = split_hostport(ready_target(service))
    log = workdir / f"{service.host}-{service.kind}-{port}.log"
    with log.open("wb") as out:
        # A new session: Ctrl-C on a terminal that ran `lab up` must not kill the services.
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(
    scenario: Scenario, started: Sequence[tuple[Service, subprocess.Popen[bytes]]], workdir: Path
) -> None:
    """Block until every service accepts connections; `CannotRun` after `READY_TIMEOUT`."""
    for service, proc in started:
        namespace = scenario.host(service.host).namespace
        argv = [
            sys.executable,
            "-m",
            "netdx.lab.serve",
            "wait",
            "--timeout",
            str(READY_TIMEOUT),
            ready_target(service),
        ]
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


def _exit_note(proc: subprocess.Popen[bytes]) -> str:
    code = proc.poll()
    return "" if code is None else f" (exited with status {code})"


def _log_tail(service: Service, workdir: Path) -> str:
    _, port = split_hostport(ready_target(service))
    log = workdir / f"{service.host}-{service.kind}-{port}.log"
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f": {lines[-1]}" if lines else ""


def make_certificate(service: Service, workdir: Path) -> tuple[Path, Path]:
    """A fresh self-signed certificate and key for the service's server name."""
    name = service.server_name or service.host
    cert, key = workdir / f"{service.host}-cert.pem", workdir / f"{service.host}-key.pem"
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


def write_nsd_config(service: Service, workdir: Path) -> Path:
    """Write nsd.conf and the zone file to a directory of their own; return the config."""
    folder = workdir / f"nsd-{service.host}"
    folder.mkdir(mode=0o755, exist_ok=True)
    zonefile = folder / "zone"
    zonefile.write_text(zone_text(service))
    rootfile = folder / "root.zone"
    rootfile.write_text(root_zone_text(service))
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
        f'  zonesdir: "{folder}"\n'
        f'  zonelistfile: "{folder}/zone.list"\n'
        f'  pidfile: "{folder}/nsd.pid"\n'
        f'  xfrdfile: "{folder}/xfrd.state"\n'
        f'  xfrdir: "{folder}"\n'
        f'  logfile: "{folder}/nsd.log"\n'
        "remote-control:\n"
        "  control-enable: no\n"
        "zone:\n"
        f"  name: {service.zone}\n"
        f'  zonefile: "{zonefile}"\n'
        + ("" if service.zone == "." else f'zone:\n  name: .\n  zonefile: "{rootfile}"\n')
    )
    return conf
