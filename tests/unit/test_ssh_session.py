"""The session protocol end to end without ssh: the exact fixed remote command run by
/bin/sh here, fed the bootstrap, the bundle and the request, answers before and after;
the collector only reads (an audit hook lists what it opens and runs); and SshSession,
driven against a stand-in `ssh` that runs the remote command locally, ends within its
budget whatever the other end does."""

from __future__ import annotations

import asyncio
import glob
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stand_in_ssh import stand_in_ssh
from test_collect_core import interpreters

from netdx.budget import Deadline
from netdx.collect import firewall, session
from netdx.collect.bundle import BOOTSTRAP, bootstrap_line, session_input
from netdx.host.ssh import (
    NO_PYTHON,
    NO_SUDO,
    PYTHON_PROGRAM,
    REMOTE_COMMAND,
    REMOTE_COMMAND_SUDO,
    SshOptions,
    SshSession,
    collect_once,
)
from netdx.host.ssh_status import classify

SYSTEM_PATH = "/usr/bin:/bin"
BEFORE = {"collectors": ["routes"], "addresses": ["127.0.0.1"]}
ALL = {"collectors": ["sockets", "owners", "routes", "firewall", "counters", "sysctls", "probe"],
       "addresses": ["127.0.0.1"], "interfaces": ["lo"],
       "probes": [{"host": "127.0.0.1", "port": 1, "family": None, "timeout": 2}]}  # fmt: skip


def request(
    timeout: float = 10.0, after: dict[str, Any] | None = None, **more: Any
) -> dict[str, Any]:
    return {"schema": "netdx.session/1", "timeout": timeout, "before": BEFORE,
            "after": after, "capture": None, **more}  # fmt: skip


def remote(
    command: str, stdin: bytes, path: str = SYSTEM_PATH
) -> subprocess.CompletedProcess[bytes]:
    """Run the remote command as sshd would, through a shell, with `stdin`."""
    env = {"PATH": path, "HOME": "/nonexistent", "LC_ALL": "C"}
    return subprocess.run(["/bin/sh", "-c", command], input=stdin, capture_output=True,
                          env=env, timeout=60, check=False)  # fmt: skip


def answers(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_remote_command_runs_bootstrap_bundle_and_session() -> None:
    """The fixed remote command finds python3, which imports the bundle from stdin and
    answers the before document, then the after one on `go`."""
    done = remote(REMOTE_COMMAND, session_input(request(after=BEFORE)) + b"go\n")
    assert done.returncode == 0, done.stderr
    before, after = answers(done.stdout)
    assert before["phase"] == "before" and after["phase"] == "after"
    assert after["woke"] == "go"
    for document in (before["document"], after["document"]):
        assert document["schema"] == "netdx.collect/1"
        assert document["collectors"]["routes"]["error"] is None


def test_bootstrap_runs_on_every_python_from_39() -> None:
    """The same stdin works on each python3 ≥ 3.9 found here, as the remote command starts
    it (`-I -S -B`, the program read from stdin's first line)."""
    ran = []
    for python in interpreters():
        done = subprocess.run([python, "-I", "-S", "-B", "-c", PYTHON_PROGRAM], capture_output=True,
                              input=session_input(request()), timeout=60)  # fmt: skip
        if b"pyenv: " in done.stderr:  # a pyenv shim without its version installed
            continue
        assert done.returncode == 0, (python, done.stderr)
        document = answers(done.stdout)[0]["document"]
        assert document["collectors"]["routes"]["error"] is None
        ran.append(document["python"])
    assert any(version.startswith("3.9.") for version in ran), ran


def test_no_python_is_said_with_exit_127(tmp_path: Path) -> None:
    """No python3 on the PATH: the remote command says so on stderr and exits 127, which
    the classifier calls no_python."""
    done = remote(REMOTE_COMMAND, b"", path=str(tmp_path))
    assert done.returncode == 127 and done.stderr.decode().strip() == NO_PYTHON
    assert classify(127, done.stderr.decode())[0] == "no_python"


def test_a_python_too_old_or_not_runnable_is_skipped(tmp_path: Path) -> None:
    """A `python3` older than 3.9 (a real 3.8 where pyenv has one) and a `python3.13` that
    cannot run are passed over, having read nothing of stdin, for the next candidate."""
    old = sorted(glob.glob("/root/.pyenv/versions/3.[678].*/bin/python3.[678]"))
    if old:
        (tmp_path / "python3").symlink_to(old[-1])
    else:  # what such a python does with the program: exit 125 before reading stdin
        (tmp_path / "python3").write_text("#!/bin/sh\nexit 125\n")
        (tmp_path / "python3").chmod(0o755)
    (tmp_path / "python3.13").write_text("")  # found, not executable
    real = Path("/usr/bin/python3").resolve()
    (tmp_path / real.name).symlink_to(real)
    done = remote(REMOTE_COMMAND, session_input(request()), path=str(tmp_path))
    assert done.returncode == 0, done.stderr
    version = real.name.removeprefix("python")  # /usr/bin/python3 → python3.11 here
    assert answers(done.stdout)[0]["document"]["python"].startswith(version + ".")


def test_sudo_command_without_sudo_is_no_root(tmp_path: Path) -> None:
    """The --sudo command on a host without sudo says so (no_root), never runs as the user."""
    done = remote(REMOTE_COMMAND_SUDO, b"", path=str(tmp_path))
    assert done.returncode == 126 and done.stderr.decode().strip() == NO_SUDO
    assert classify(126, done.stderr.decode(), sudo=True)[0] == "no_root"


# An audit hook installed before the bootstrap: every event that opens, runs or changes
# something is written to stderr (os.write raises no event of its own).
AUDIT = """\
import sys, os, json
def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, (str, int, float)):
        return value
    return repr(value)
def _netdx_audit(event, args):
    if event == "open" or event.startswith(("os.", "shutil.", "subprocess.", "socket.")):
        os.write(2, ("AUDIT " + json.dumps([event, _plain(args)]) + "\\n").encode())
sys.addaudithook(_netdx_audit)
"""
WRITING_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
READ_ONLY_EVENTS = {"os.listdir", "os.scandir", "open", "subprocess.Popen"}
# Sockets: netlink and packet sockets of the readers, the probe's connect and echoes.
SOCKET_EVENTS = {"socket.__new__", "socket.bind", "socket.connect", "socket.sendto"}


def test_the_collector_changes_nothing() -> None:
    """Every collector (the probe's connect and echo too) and the capture asked, the session
    only opens files for reading and sockets, runs nothing but the firewall's fixed
    commands, and creates, removes or changes no file (no bytecode either)."""
    stdin = session_input(
        request(after=ALL, before=ALL, capture={"port": 22, "peer": None, "proto": "tcp"}),
        bootstrap=bootstrap_line(AUDIT + BOOTSTRAP),
    )
    done = remote(REMOTE_COMMAND, stdin + b"go\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert [a["phase"] for a in answers(done.stdout)] == ["before", "after"]
    events = [json.loads(line[6:]) for line in done.stderr.decode().splitlines()
              if line.startswith("AUDIT ")]  # fmt: skip
    opened = [args for event, args in events if event == "open"]
    ran = [tuple(args[1]) for event, args in events if event == "subprocess.Popen"]
    assert opened and ran, "the hook saw the session's reads and commands"
    for path, mode, flags in opened:
        if path == os.devnull:  # subprocess's stdin=DEVNULL: opened O_RDWR, writes nowhere
            continue
        assert mode is None or not set(str(mode)) & set("wax+"), (path, mode)
        assert not (flags or 0) & WRITING_FLAGS, (path, flags)
    assert set(ran) <= set(firewall.COMMANDS), ran
    assert {event for event, _ in events} <= READ_ONLY_EVENTS | SOCKET_EVENTS
    connects = [args for event, args in events if event == "socket.connect"]
    assert any("127.0.0.1" in json.dumps(args) for args in connects), "the probe connected"


def run_session(stdin: io.BufferedIOBase, capsys: pytest.CaptureFixture[str]) -> tuple[
    int, list[dict[str, Any]], str
]:
    out = io.BytesIO()
    code = session.run(stdin, out)  # type: ignore[arg-type]
    return code, answers(out.getvalue()), capsys.readouterr().err


def line(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode() + b"\n"


@pytest.mark.parametrize(
    "bad",
    [b"not json\n", line({"schema": "netdx.session/0", "timeout": 1, "before": {}}),
     line(request(timeout=-1)), line(request(capture={"port": 0, "peer": None})),
     line({**request(), "extra": 1}), line(request(before={"collectors": ["disk"]}))],
)  # fmt: skip
def test_bad_request_is_one_line_and_exit_2(
    bad: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    """A request that is not a valid netdx.session/1: one stderr line, exit 2, no answer."""
    code, out, err = run_session(io.BytesIO(bad), capsys)
    assert code == 2 and out == []
    assert err.startswith("netdx-collect: bad request: ") and err.count("\n") == 1


def test_eof_wakes_the_session_and_null_after_skips_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One-shot mode: EOF instead of `go`, no after collection (its document is null)."""
    code, out, _ = run_session(io.BytesIO(line(request())), capsys)
    assert code == 0
    assert out[1] == {"phase": "after", "document": None, "woke": "eof"}


def test_session_wakes_at_its_own_deadline(capsys: pytest.CaptureFixture[str]) -> None:
    """No `go` and no EOF: the session answers after by itself before its timeout."""
    read_end, write_end = os.pipe()
    stdin = os.fdopen(read_end, "rb")
    try:
        os.write(write_end, line(request(timeout=0.5, after=BEFORE)))
        start = time.monotonic()
        code, out, _ = run_session(stdin, capsys)  # type: ignore[arg-type]
        took = time.monotonic() - start
    finally:
        # EOF first: the session's reader thread still waits in stdin's read, holding its
        # lock, and close() would wait for it.
        os.close(write_end)
        time.sleep(0.1)
        stdin.close()
    assert code == 0 and out[1]["woke"] == "deadline"
    assert out[1]["document"]["collectors"]["routes"]["error"] is None
    assert took < 0.5 + 0.5  # its own 0.5 s timeout (a loose guard only)


class FakeCapture:
    def __init__(self) -> None:
        self.drained: list[float] = []

    def drain(self, budget_s: float) -> dict[str, Any]:
        self.drained.append(budget_s)
        return {"packets": [], "truncated": False, "kernel_dropped": 0, "window_ms": 1.0}


class FakeCaptureModule:
    def __init__(self, failure: OSError | None = None) -> None:
        self.failure = failure
        self.opened: list[dict[str, Any]] = []
        self.handle = FakeCapture()

    def open_capture(self, **kwargs: Any) -> FakeCapture:
        self.opened.append(kwargs)
        if self.failure is not None:
            raise self.failure
        return self.handle


CAPTURE = {"port": 5432, "peer": "10.0.0.10", "proto": "tcp"}


def test_capture_is_armed_before_and_drained_after(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a capture asked, it is opened for the port and peer before the before answer,
    and what it drained lands in the after document's `capture` entry."""
    fake = FakeCaptureModule()
    monkeypatch.setitem(sys.modules, "netdx.collect.capture", fake)
    stdin = io.BytesIO(line(request(after=BEFORE, capture=CAPTURE)) + b"go\n")
    _, out, _ = run_session(stdin, capsys)
    assert fake.opened == [CAPTURE]
    assert out[0]["document"]["collectors"]["capture"]["data"] == {"armed": True}
    drained = out[1]["document"]["collectors"]["capture"]
    assert drained["error"] is None and drained["data"]["window_ms"] == 1.0
    assert fake.handle.drained and 0 < fake.handle.drained[0] <= session.DRAIN_S


@pytest.mark.parametrize(
    ("module", "error", "needs_root"),
    [(FakeCaptureModule(PermissionError(1, "Operation not permitted")),
      "Operation not permitted", True),
     (None, "capture not available", False)],
)  # fmt: skip
def test_capture_that_cannot_open_says_why_in_both_documents(
    module: object,
    error: str,
    needs_root: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A capture without CAP_NET_RAW (needs root) or absent from the bundle: the entry
    says why, in the before and the after document, and the rest is collected."""
    monkeypatch.setitem(sys.modules, "netdx.collect.capture", module)
    stdin = io.BytesIO(line(request(after=BEFORE, capture=CAPTURE)) + b"go\n")
    code, out, _ = run_session(stdin, capsys)
    assert code == 0
    for answer in out:
        entry = answer["document"]["collectors"]["capture"]
        assert entry == {"error": error, "needs_root": needs_root, "data": {}}
        assert answer["document"]["collectors"]["routes"]["error"] is None


# A stand-in for ssh: `-G` prints settings; otherwise it records its argv and runs the
# remote command through /bin/sh as sshd would (or plays a failure, by FAKE_SSH_MODE).
FAKE_SSH = """\
import json, os, sys, time
argv = sys.argv[1:]
if "-G" in argv:
    print("user root\\nhostname 10.0.0.2\\nport 22\\nstricthostkeychecking ask\\ncontrolpath none")
    sys.exit(0)
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps(argv) + "\\n")
mode = os.environ.get("FAKE_SSH_MODE", "run")
if mode == "refused":
    sys.stderr.write("ssh: connect to host 10.0.0.2 port 22: Connection refused\\r\\n")
    sys.exit(255)
if mode == "hang":
    time.sleep(60)
if mode in ("hang-after-before", "silent-255-after-before"):
    document = {"schema": "netdx.collect/1", "python": "3.11", "euid": 0, "collectors": {}}
    print(json.dumps({"phase": "before", "document": document}), flush=True)
    if mode == "silent-255-after-before":  # a mux client whose master lost the server
        sys.stdin.readline()
        sys.exit(255)
    time.sleep(60)
os.execv("/bin/sh", ["/bin/sh", "-c", argv[-1]])
"""


@pytest.fixture
def fake_ssh(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory first on PATH with the stand-in `ssh`; its argv log."""
    with stand_in_ssh(monkeypatch, FAKE_SSH) as log:
        yield log


async def full_session(opts: SshOptions, budget: float) -> tuple[Any, Any, Any, float]:
    deadline = Deadline.after(budget)
    start = time.monotonic()
    ssh = await SshSession.open(opts, request(timeout=budget, after=BEFORE), deadline)
    try:
        before = await ssh.before()
        after = await ssh.after()
    finally:
        await ssh.close()
    return ssh.outcome, before, after, time.monotonic() - start


def test_ssh_session_protocol_and_argv(fake_ssh: Path) -> None:
    """SshSession sends the bundle and the request through ssh's stdin, gets before and
    after, and reports ok with the server's python and euid; shell characters in the key
    path reached ssh as one argv element, and the remote command is the constant."""
    key = "/k/$(touch pwned);`id`"
    opts = SshOptions(destination="root@10.0.0.2", key=key)
    outcome, before, after, _ = asyncio.run(full_session(opts, 20.0))
    assert outcome.status == "ok" and outcome.euid == os.geteuid() and outcome.python
    assert outcome.settings[1] == ("hostname", "10.0.0.2") and outcome.warm is False
    assert before["schema"] == after["schema"] == "netdx.collect/1"
    argv = json.loads(fake_ssh.read_text().splitlines()[0])
    assert argv[argv.index("-i") + 1] == key and argv[-1] == REMOTE_COMMAND
    assert not Path("pwned").exists()


def test_collect_once_gives_the_document(fake_ssh: Path) -> None:
    """collect_once: a plain collect request in, the server's document out."""
    outcome, document = collect_once(SshOptions(destination="h"), BEFORE, Deadline.after(20.0))
    assert outcome.ok and document is not None
    assert document["collectors"]["routes"]["error"] is None


def test_ssh_failure_is_classified_from_its_stderr(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ssh exiting 255 with its refusal: status refused, message ssh's own line."""
    monkeypatch.setenv("FAKE_SSH_MODE", "refused")
    outcome, before, after, _ = asyncio.run(full_session(SshOptions(destination="h"), 5.0))
    assert (outcome.status, before, after) == ("refused", None, None)
    assert outcome.message == "ssh: connect to host 10.0.0.2 port 22: Connection refused"


@pytest.mark.parametrize("mode", ["hang", "hang-after-before"])
def test_a_silent_server_ends_at_the_deadline(
    mode: str, fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ssh that never answers, or answers before and then nothing (a server gone silent
    mid-session): status timeout when the budget is spent, not later."""
    monkeypatch.setenv("FAKE_SSH_MODE", mode)
    budget = 2.0
    outcome, _, after, took = asyncio.run(full_session(SshOptions(destination="h"), budget))
    assert outcome.status == "timeout" and after is None
    assert took < budget + 0.3  # the kill after the deadline is all that may follow it


def test_bundle_file_runs_a_session_too(tmp_path: Path) -> None:
    """The same bundle as a file: `python3 -I -S bundle.zip --session` runs the session
    on stdin (the one-document mode is tested in test_collect_core)."""
    from netdx.collect.bundle import build_bundle

    bundle = build_bundle(tmp_path / "collect.zip")
    done = subprocess.run(["/usr/bin/python3", "-I", "-S", str(bundle), "--session"],
                          input=line(request()), capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [a["phase"] for a in answers(done.stdout)] == ["before", "after"]


def test_an_option_ssh_does_not_know_is_an_error_before_any_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real `ssh -G` (which connects nowhere) rejects an unknown -o: status error with
    ssh's own line, and no session is started."""
    with tempfile.TemporaryDirectory(prefix="ndx-") as cache:
        monkeypatch.setenv("XDG_CACHE_HOME", cache)
        opts = SshOptions(destination="root@10.0.0.2", options=(("NoSuchOption", "1"),))
        outcome, _, _, took = asyncio.run(full_session(opts, 5.0))
    assert outcome.status == "error" and "Bad configuration option" in outcome.message
    assert took < 5.0


def test_a_caller_giving_up_first_leaves_a_timeout_not_ok(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check cancels after() on its own timer: the outcome says timeout (the second
    document never came), and close() still ends ssh."""
    monkeypatch.setenv("FAKE_SSH_MODE", "hang-after-before")

    async def cut() -> Any:
        ssh = await SshSession.open(SshOptions(destination="h"), request(), Deadline.after(20))
        try:
            assert await ssh.before() is not None and ssh.outcome.ok
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ssh.after(), 0.3)
        finally:
            await ssh.close()
        return ssh.outcome

    assert asyncio.run(cut()).status == "timeout"


def test_a_shared_connection_that_dies_silently_is_a_timeout(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ssh exiting 255 without a word after the server answered (a mux client whose master
    gave up on keepalives): timeout, with a message saying the connection stopped."""
    monkeypatch.setenv("FAKE_SSH_MODE", "silent-255-after-before")
    outcome, before, after, _ = asyncio.run(full_session(SshOptions(destination="h"), 10.0))
    assert before is not None and after is None
    assert outcome.status == "timeout" and "stopped answering" in outcome.message
