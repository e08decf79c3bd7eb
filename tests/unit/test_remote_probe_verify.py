"""verify's runner with `from: HOST` flows, end to end without a network: a stand-in `ssh`
runs the fixed remote command here (the collector then probes loopback only). Each source
host gets one ssh run for all its flows; the probes' facts come back judged (ok,
port.refused) and observed on the source; a host ssh cannot reach makes only its own flows
errors, with the `ssh.*` status and ssh's words; a URL flow gets its HTTP answer from the
source (the service's 503 is service.http_error)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from stand_in_ssh import stand_in_ssh

from netdx.budget import Deadline
from netdx.verify.flows import parse_flows
from netdx.verify.inventory import parse_inventory
from netdx.verify.matrix import expand
from netdx.verify.run import run_cases

# `-G` prints settings; otherwise log the argv and run the remote command through /bin/sh
# as sshd would, or fail as a refused connection does for the host named "down".
FAKE_SSH = """\
import json, os, sys
argv = sys.argv[1:]
if "-G" in argv:
    print("user root\\nhostname 127.0.0.1\\nport 22\\ncontrolpath none")
    sys.exit(0)
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps(argv) + "\\n")
if argv[-2] == "down":
    sys.stderr.write("ssh: connect to host down port 22: Connection refused\\r\\n")
    sys.exit(255)
os.execv("/bin/sh", ["/bin/sh", "-c", argv[-1]])
"""


@pytest.fixture
def fake_ssh(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with stand_in_ssh(monkeypatch, FAKE_SSH) as log:
        yield log


class Unavailable(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    """A loopback HTTP server that answers 503 to every GET."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


def test_each_source_runs_its_flows_in_one_ssh_and_they_are_judged_here(
    fake_ssh: Path, web: int
) -> None:
    """Two sources × (a listening port, a closed one): two ssh runs, four judged flows,
    observed on the source; the unreachable source's flows are ssh.refused errors."""
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port, shut = server.getsockname()[1], closed.getsockname()[1]
        flows = parse_flows(
            # Each source is a python3 started here by the stand-in ssh: on a busy machine its
            # start-up alone can take seconds, so the flows' budget is no bound on speed.
            "defaults: {timeout: 30}\nflows:\n"
            f"  - {{name: up, from: web, to: '127.0.0.1:{port}', expect: allow}}\n"
            f"  - {{name: shut, from: web, to: '127.0.0.1:{shut}', expect: deny, "
            "deny_by: [port.refused]}\n"
            f"  - {{name: lost, from: down, to: '127.0.0.1:{port}', expect: allow}}\n"
            f"  - {{name: http, from: w1, to: 'http://127.0.0.1:{web}/', expect: deny, "
            "deny_by: [service.http_error]}\n",
            source="flows.yaml",
        )
        inventory = parse_inventory(
            "[web]\nw1 ansible_host=w1\nw2 ansible_host=w2\n[other]\ndown\n", source="hosts.ini"
        )
        cases = expand(flows, inventory)
        results = asyncio.run(run_cases(cases, deadline=Deadline.after(120), max_concurrent=8))
    got = {(r.case.flow.name, r.case.source_name): r for r in results}
    for host in ("w1", "w2"):
        up, shut_r = got[("up", host)], got[("shut", host)]
        assert up.judgement.outcome == "pass" and up.judgement.cause == "ok", up.judgement
        assert shut_r.judgement.outcome == "pass" and shut_r.judgement.cause == "port.refused"
        assert up.report is not None and up.report.observed_on.name == f"{host}"
    lost = got[("lost", "down")].judgement
    assert lost.outcome == "error" and lost.reason.startswith("ssh.refused: "), lost
    assert lost.cause == "ssh.refused"  # the cause every output shows for it
    assert "Connection refused" in lost.reason
    http = got[("http", "w1")].judgement
    assert http.outcome == "pass" and http.cause == "service.http_error", http
    runs = [json.loads(line) for line in fake_ssh.read_text().splitlines()]
    assert sorted(argv[-2] for argv in runs) == ["down", "w1", "w2"]  # one ssh per source
