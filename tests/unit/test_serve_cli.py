"""`netdx serve` as a command: bad --listen and --config are one line and exit 2, `--help`
stays light, and the real server on loopback probes, refuses and stops cleanly."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdx.cli import main
from netdx.errors import UsageError
from netdx.serve import Exporter, default_config, make_server, parse_config
from netdx.serve.cli import parse_listen

HEAVY = ("prometheus_client", "pydantic", "yaml", "rich")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9799", ("127.0.0.1", 9799)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("[::1]:9799", ("::1", 9799)),
        ("[::]:0", ("::", 0)),
    ],
)
def test_listen_forms(text: str, expected: tuple[str, int]) -> None:
    """ADDR:PORT and [V6ADDR]:PORT parse into an address and a port (0: any free one)."""
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("127.0.0.1", "expected ADDR:PORT"),
        ("localhost:9799", "is not an IP address"),
        ("999.1.1.1:9799", "is not an IP address"),
        ("127.0.0.1:70000", "from 0 to 65535"),
        ("127.0.0.1:-1", "from 0 to 65535"),
        ("127.0.0.1:", "from 0 to 65535"),
        ("::1:9799", "brackets"),
        ("[127.0.0.1]:9799", "brackets"),
        ("[::1]", "expected ADDR:PORT"),
    ],
)
def test_bad_listen_is_one_line_exit_2(
    text: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --listen that is not an IP literal and a port is refused before anything binds."""
    assert main(["serve", "--listen", text]) == 2
    err = capsys.readouterr().err
    assert err.startswith("netdx: error: --listen") and words in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "serve config"),
        ("allow_targets: [10.0.0.1/8]\n", "allow_targets"),
        ("[]\n", "must be a mapping"),
    ],
)
def test_bad_config_is_one_line_exit_2(
    tmp_path: Path, content: str | None, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing or invalid --config file is one line naming it, exit 2."""
    path = tmp_path / "serve.yaml"
    if content is not None:
        path.write_text(content)
    assert main(["serve", "--listen", "127.0.0.1:0", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and str(path) in err and err.count("\n") == 1


def test_address_in_use_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A --listen address that is taken is a usage error, not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--listen", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert "cannot listen" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"]])
def test_help_imports_no_heavy_library(argv: list[str]) -> None:
    """`netdx --help` and `netdx serve --help` load neither prometheus_client nor pydantic."""
    code = (
        "import sys, json\n"
        "from netdx.cli import main\n"
        f"main({argv!r})\n"
        f"print(json.dumps([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


# --- the real server on loopback --------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: a reset answers it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def served() -> Iterator[int]:
    """The stdlib server of the default (loopback-only) config, in a thread: its port."""
    server = make_server(Exporter(default_config()), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read().decode()
    finally:
        conn.close()


def test_concurrent_probes_each_get_their_own_verdict(served: int, closed_port: int) -> None:
    """Four scrapes at once of a refused loopback port each answer port.refused (one thread
    and one event loop per request), under the scrape budget."""
    results: list[tuple[int, str, str]] = []

    def scrape() -> None:
        results.append(
            _get(
                served,
                f"/probe?target=127.0.0.1:{closed_port}",
                {"X-Prometheus-Scrape-Timeout-Seconds": "4"},
            )
        )

    threads = [threading.Thread(target=scrape) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 4
    for status, content_type, body in results:
        assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
        assert 'netdx_probe_cause{cause="port.refused"} 1.0' in body
        assert "netdx_probe_timeout_seconds 3.5" in body
    status, _, body = _get(served, "/metrics")
    assert 'netdx_serve_probes_total{module="default",result="failure"} 4.0' in body


def test_serve_command_probes_refuses_and_stops_on_sigterm(closed_port: int) -> None:
    """`netdx serve` says where it listens and what it allows, answers a real probe, refuses
    a target outside loopback with 403, and exits 0 on SIGTERM."""
    with subprocess.Popen(
        [sys.executable, "-m", "netdx", "serve", "--listen", "127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert "no --config: loopback only" in line and "127.0.0.0/8" in line
            found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            assert found is not None, line
            port = int(found.group(1))
            status, _, body = _get(port, f"/probe?target=127.0.0.1:{closed_port}&debug=true")
            assert status == 200 and "port.refused" in body and "budget 5 s" in body
            assert _get(port, "/probe?target=10.0.0.1:22")[0] == 403
            proc.send_signal(signal.SIGTERM)
            # A hang guard only: on a loaded 2-core machine 10 s once ran out (the stop is
            # serve_forever's next poll, 0.5 s, then the interpreter's exit).
            assert proc.wait(timeout=60) == 0
            assert "stopped" in proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def test_package_exports_and_stays_light() -> None:
    """Every name in netdx.serve.__all__ exists, and importing the package loads neither
    prometheus_client, pydantic nor yaml (they come with the first config or probe)."""
    code = (
        "import sys, json\n"
        "import netdx.serve as serve\n"
        "missing = [n for n in serve.__all__ if not hasattr(serve, n)]\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]\n"
        "print(json.dumps([missing, heavy]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[], []]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_listen_text_parses_or_is_a_usage_error(text: str) -> None:
    """Whatever --listen holds, the answer is an address and port or a UsageError."""
    try:
        host, port = parse_listen(text)
    except UsageError:
        return
    assert 0 <= port <= 65535 and host


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_config_text_loads_or_is_one_usage_line(text: str) -> None:
    """Whatever the config file holds, it loads or is one UsageError line, never a crash."""
    try:
        parse_config(text, source="serve.yaml")
    except UsageError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("serve.yaml: ")


_VALUES = st.one_of(
    st.text(max_size=30), st.integers(), st.floats(), st.booleans(), st.none(),
    st.lists(st.text(max_size=20), max_size=3),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(max_size=30), max_size=4),
    st.dictionaries(
        st.text(max_size=12),
        st.dictionaries(
            st.sampled_from(["timeout", "family", "dns_servers", "ssh", "ssh_options", "sudo"]),
            _VALUES,
            max_size=3,
        ),
        max_size=3,
    ),
)
def test_any_config_shape_loads_or_is_one_usage_line(
    allow: list[str], modules: dict[str, dict[str, object]]
) -> None:
    """Well-formed YAML with hostile values: it loads or is one UsageError line."""
    import yaml

    text = yaml.safe_dump({"allow_targets": allow, "modules": modules})
    try:
        parse_config(text, source="serve.yaml")
    except UsageError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("serve.yaml: ")
