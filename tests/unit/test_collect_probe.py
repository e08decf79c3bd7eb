"""The `probe` collector (the source side of `netdx verify`): requests are validated; run by
a bare python3 from the bundle against loopback it connects, is refused, and says so as raw
facts; getaddrinfo runs through the resolver given, is waited on only until the deadline,
and its failure keeps the EAI name; a host that refuses sockets gives reasons, not a crash."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_collect_core import SYSTEM_PYTHON, interpreters

from netdx.collect.bundle import build_bundle
from netdx.collect.clock import Deadline
from netdx.collect.document import CollectRequest
from netdx.collect.probe import Probe, parse_probes, probe_flow, run
from netdx.host import FakeHost
from netdx.model.vantage import Vantage
from netdx.remote.probe import FlowProbe, read_flows, report_of
from netdx.target import parse_target

HANG_GUARD_S = 60.0


def probe(host: str = "127.0.0.1", port: int = 1, **more: Any) -> dict[str, Any]:
    return {"host": host, "port": port, "family": None, "timeout": 2.0, **more}


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (probe(port=0), "port"),
        (probe(port=True), "port"),
        (probe(host=""), "host"),
        (probe(host="a b"), "blanks"),
        (probe(family=5), "family"),
        (probe(family=True), "family"),
        (probe(timeout=0), "timeout"),
        (probe(timeout="3"), "timeout"),
        ({**probe(), "path": "/"}, "a probe is"),
    ],
)
def test_a_bad_probe_is_refused_saying_what(bad: dict[str, Any], words: str) -> None:
    """Each field of a probe is checked; the ValueError names what is wrong."""
    with pytest.raises(ValueError, match=words):
        CollectRequest.from_json({"collectors": ["probe"], "probes": [bad]})


def test_the_request_carries_its_probes() -> None:
    """`probes` is a field of the collect request; too many is refused."""
    request = CollectRequest.from_json({"collectors": ["probe"], "probes": [probe(family=6)]})
    assert request.probes == (Probe(host="127.0.0.1", port=1, family=6, timeout=2.0),)
    with pytest.raises(ValueError, match="at most"):
        parse_probes([probe()] * 257)


@pytest.fixture
def listener() -> Any:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def test_bundle_probes_loopback_under_every_python(tmp_path: Path, listener: int) -> None:
    """`python3 -I -S bundle.zip` (each python3 ≥ 3.9 here) connects to a loopback listener
    and is refused by a closed port; read back here, the verdicts are ok and port.refused."""
    bundle = str(build_bundle(tmp_path / "collect.zip"))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: the port is refused
    request = {"collectors": ["probe"], "timeout": 5,
               "probes": [probe(port=listener), probe(port=closed.getsockname()[1])]}  # fmt: skip
    ran = []
    with closed:
        for python in [SYSTEM_PYTHON, *interpreters()]:
            done = subprocess.run([python, "-I", "-S", bundle, json.dumps(request)],
                                  capture_output=True, text=True, timeout=HANG_GUARD_S)  # fmt: skip
            if "pyenv: " in done.stderr:
                continue
            assert done.returncode == 0, done.stderr
            data, hosts = read_flows(json.loads(done.stdout))
            causes = []
            for index, port in enumerate((listener, closed.getsockname()[1])):
                flow = FlowProbe(target=parse_target(f"127.0.0.1:{port}"), timeout=2.0)
                report = report_of(data, index, flow, hosts_text=hosts,
                                   observed_on=Vantage(kind="ssh", name="x"))  # fmt: skip
                causes.append(report.verdict.cause)
            assert causes == ["ok", "port.refused"], (python, causes)
            ran.append(json.loads(done.stdout)["python"])
    assert any(v.startswith("3.9.") for v in ran), ran


def test_a_failed_lookup_keeps_its_eai_name_and_opens_nothing() -> None:
    """getaddrinfo through the given resolver: EAI_NONAME is kept by name, and with no
    address no socket is opened."""

    def resolver(*args: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    host = FakeHost()
    one = Probe(host="db.example", port=5432, family=None, timeout=2.0)
    out = probe_flow(host, one, Deadline.after(2.0), resolver)
    assert out["resolve"]["status"] == "error" and out["resolve"]["gai_error"] == "EAI_NONAME"
    assert out["address"] is None and out["tcp"] is None
    assert not [call for call in host.calls if call[0] == "socket"]


def test_a_hung_lookup_ends_at_the_deadline() -> None:
    """A resolver that never answers is waited on only until the flow's deadline: status
    timeout, measured against the budget inside the process."""
    release = threading.Event()

    def resolver(*args: Any) -> list[Any]:
        release.wait(HANG_GUARD_S)
        return []

    one = Probe(host="db.example", port=5432, family=None, timeout=0.3)
    start = time.monotonic()
    try:
        out = probe_flow(FakeHost(), one, Deadline.after(0.3), resolver)
    finally:
        release.set()
    assert out["resolve"]["status"] == "timeout"
    assert time.monotonic() - start < 0.3 + 5.0  # a guard against a hang, not a speed test


def test_a_host_that_refuses_sockets_gives_reasons() -> None:
    """Sockets refused (as for an unprivileged user on a locked-down host): the route and
    the connect say why, the echo names what it needs; the hosts file unread is noted."""
    data = run(FakeHost(), (Probe(host="10.0.0.1", port=22, family=None, timeout=1.0),),
               Deadline.after(1.0))  # fmt: skip
    (flow,) = data["flows"]
    assert flow["route"]["error"] and flow["tcp"]["open_error"] == "EPERM"
    assert flow["echo"]["method"] is None and "ping_group_range" in flow["echo"]["reason"]
    assert data["hosts_file"] is None and data["hosts_error"]
