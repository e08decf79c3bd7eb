"""The SSH transport against a real OpenSSH sshd in a lab namespace: a session from the
client namespace brings back the server's before and after documents, and each fault of the
matrix (sshd stopped, port dropped, unknown host key, wrong key, no python3, no sudo, the
server's NIC down mid-session) ends within its budget with the right status and ssh's words;
for no python3, no sudo and a NIC that goes down mid-check, `netdx check --ssh` too: the
client's verdict within its budget, with the ssh.* warning beside it."""

from __future__ import annotations

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
from sshlab import (
    CLIENT,
    CLIENT_ADDR,
    CLIENT_DEV,
    NFT_TABLE,
    SERVER,
    SERVER_ADDR,
    SERVER_DEV,
    SshLab,
    run,
    session_pythons,
)

pytestmark = pytest.mark.lab

# Killing ssh at the deadline and reaping it takes a moment after the budget ran out.
SLACK_S = 0.5
BUDGET_S = 3.0


@pytest.fixture(scope="module")
def lab() -> Iterator[SshLab]:
    """The namespace pair with the main sshd (root login, port 22). Removed on any exit."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    with tempfile.TemporaryDirectory(prefix="ndx-sshA-") as state:
        # The non-root lab user reads its authorized_keys below this directory.
        Path(state).chmod(0o755)
        made = SshLab(Path(state))
        try:
            made.up()
            made.sshd("main")
            yield made
        finally:
            made.down()


@pytest.fixture
def cache() -> Iterator[Path]:
    """A user cache dir of its own for each test (shared connections live there), short
    enough for ssh's ControlPath (a unix socket name)."""
    with tempfile.TemporaryDirectory(prefix="ndx-sshA-") as path:
        yield Path(path)


def check_argv(server: Any, target: str, *extra: str) -> list[str]:
    """`netdx check TARGET --json --ssh ...` run in the client namespace."""
    return [
        "ip", "netns", "exec", CLIENT, sys.executable, "-m", "netdx", "check",
        target, "--json", "--timeout", str(BUDGET_S),
        "--ssh", server.destination(), "--ssh-key", str(server.key),
        "--known-hosts", str(server.known_hosts), "--ssh-option", f"Port={server.port}", *extra,
    ]  # fmt: skip


def report_of(stdout: str) -> dict[str, Any]:
    """The check's JSON report; its own time must stay within the budget, whatever the link
    did."""
    report: dict[str, Any] = json.loads(stdout)
    assert report["elapsed_ms"] <= (BUDGET_S + SLACK_S) * 1000, report["elapsed_ms"]
    return report


def check_beside(server: Any, cache: Path, *extra: str) -> dict[str, Any]:
    """`netdx check SERVER:PORT --ssh ...` from the client namespace (the target is the
    sshd's own port, so the client's verdict is ok): the JSON report."""
    argv = check_argv(server, f"{SERVER_ADDR}:{server.port}", *extra)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    return report_of(done.stdout)


def warnings_of(report: dict[str, Any]) -> set[str]:
    return {w["cause"] for w in report["verdict"]["warnings"]}


def within_budget(result: dict[str, Any], budget: float = BUDGET_S) -> None:
    assert result["elapsed"] <= budget + SLACK_S, result["elapsed"]


def test_session_brings_both_documents_and_reuses_the_connection(
    lab: SshLab, cache: Path
) -> None:
    """A session returns the server's before and after documents (its listener on 22, the
    route back to the client, the capture's entry), ssh's effective settings, and a second
    session rides the shared connection (warm)."""
    server = lab.servers[0]
    first = lab.drive(server, cache, budget=10.0)
    outcome = first["outcome"]
    assert outcome["status"] == "ok", outcome
    assert outcome["euid"] == 0 and outcome["python"]
    assert outcome["warm"] is False
    settings = dict((k, v) for k, v in outcome["settings"])
    assert settings["hostname"] == SERVER_ADDR and settings["user"] == "root"
    assert settings["controlpath"].startswith(str(cache / "netdx" / "ssh"))
    assert "stricthostkeychecking" in settings  # reported, as the user's config sets it
    before, after = first["before"], first["after"]
    assert before["schema"] == after["schema"] == "netdx.collect/1"
    rows = before["collectors"]["sockets"]["data"]["rows"]
    assert rows, "the sshd listener on port 22 is in the before document"
    lookup = before["collectors"]["routes"]["data"]["lookups"][0]
    assert lookup["address"] == CLIENT_ADDR
    assert "capture" in before["collectors"] and "capture" in after["collectors"]
    assert after["collectors"]["counters"]["error"] is None
    second = lab.drive(server, cache, budget=10.0)
    assert second["outcome"]["status"] == "ok" and second["outcome"]["warm"] is True


def test_collect_once_returns_one_document(lab: SshLab, cache: Path) -> None:
    """collect_once sends a plain collect request and gets the server's document."""
    request = {"collectors": ["routes"], "addresses": [CLIENT_ADDR]}
    result = lab.drive(lab.servers[0], cache, budget=10.0, mode="once", request=request)
    assert result["outcome"]["status"] == "ok"
    assert result["before"]["collectors"]["routes"]["error"] is None


def test_stopped_sshd_is_refused(lab: SshLab, cache: Path) -> None:
    """An sshd that was killed leaves the port closed: status refused, ssh's own line."""
    server = lab.sshd("stopped", port=2200)
    server.stop()
    result = lab.drive(server, cache, budget=BUDGET_S)
    assert result["outcome"]["status"] == "refused", result["outcome"]
    assert "Connection refused" in result["outcome"]["message"]
    assert result["before"] is None
    within_budget(result)


def test_dropped_ssh_port_times_out_within_budget(lab: SshLab, cache: Path) -> None:
    """nft dropping the SSH port in the server namespace: status timeout, within budget."""
    server = lab.sshd("dropped", port=2201)
    nft = ("ip", "netns", "exec", SERVER, "nft")
    run(*nft, f"add table inet {NFT_TABLE}")
    try:
        run(*nft, f"add chain inet {NFT_TABLE} input {{ type filter hook input priority 0; }}")
        run(*nft, f"add rule inet {NFT_TABLE} input tcp dport 2201 drop")
        result = lab.drive(server, cache, budget=BUDGET_S)
    finally:
        run(*nft, f"delete table inet {NFT_TABLE}")
    assert result["outcome"]["status"] == "timeout", result["outcome"]
    within_budget(result)


def test_unknown_host_key(lab: SshLab, cache: Path) -> None:
    """An empty known_hosts: ssh refuses the server's key (the user's policy, never
    weakened by netdx): status hostkey."""
    empty = cache / "known_hosts"
    empty.write_text("")
    result = lab.drive(lab.servers[0], cache, budget=BUDGET_S, known_hosts=str(empty))
    assert result["outcome"]["status"] == "hostkey", result["outcome"]
    assert "Host key verification failed" in result["outcome"]["message"]
    within_budget(result)


def test_wrong_key_is_auth(lab: SshLab, cache: Path) -> None:
    """A key the server does not accept: status auth, with ssh's 'Permission denied'."""
    server = lab.servers[0]
    wrong = server.state_dir / "host_ed25519"  # a valid key, but not an authorized one
    result = lab.drive(server, cache, budget=BUDGET_S, key=str(wrong))
    assert result["outcome"]["status"] == "auth", result["outcome"]
    assert "Permission denied (publickey)" in result["outcome"]["message"]
    within_budget(result)


def test_server_without_python3(lab: SshLab, cache: Path) -> None:
    """Every python3 of the session's PATH hidden: the fixed remote command says so (exit
    127) and the status is no_python."""
    hidden = session_pythons()
    assert hidden, "no python3 on this machine's default PATH"
    server = lab.sshd("nopython", port=2202, user="ndx-sshA-u", hide=hidden)
    result = lab.drive(server, cache, budget=BUDGET_S)
    assert result["outcome"]["status"] == "no_python", result["outcome"]
    assert result["outcome"]["message"] == "netdx: no python3 on this host"
    within_budget(result)
    report = check_beside(server, cache)
    assert report["verdict"]["cause"] == "ok" and "ssh.no_python" in warnings_of(report)


def test_non_root_without_passwordless_sudo(lab: SshLab, cache: Path) -> None:
    """A non-root login with --sudo, where sudo wants a password: status no_root; the
    same login without --sudo works and reports its uid."""
    server = lab.sshd("nosudo", port=2203, user="ndx-sshA-u")
    result = lab.drive(server, cache, budget=BUDGET_S, sudo=True)
    assert result["outcome"]["status"] == "no_root", result["outcome"]
    assert result["outcome"]["message"].startswith("sudo: ")
    within_budget(result)
    report = check_beside(server, cache, "--sudo")
    assert report["verdict"]["cause"] == "ok" and "ssh.no_root" in warnings_of(report)
    plain = lab.drive(server, cache, budget=10.0)
    assert plain["outcome"]["status"] == "ok" and plain["outcome"]["euid"] == 4242


def test_sudo_as_root_runs_the_collector(lab: SshLab, cache: Path) -> None:
    """--sudo where sudo needs no password (root's own rule): the collector runs as root
    through `sudo -n`, and the outcome says sudo was used."""
    result = lab.drive(lab.servers[0], cache, budget=10.0, sudo=True)
    outcome = result["outcome"]
    assert outcome["status"] == "ok", outcome
    assert outcome["sudo"] is True and outcome["euid"] == 0
    assert result["after"]["schema"] == "netdx.collect/1"


def test_nic_down_mid_session_times_out_within_budget(lab: SshLab, cache: Path) -> None:
    """The server's NIC goes down between before and after: the before document came, the
    after never does, and the session ends at its deadline with status timeout."""
    down = ["ip", "-n", SERVER, "link", "set", SERVER_DEV, "down"]
    try:
        result = lab.drive(lab.servers[0], cache, budget=BUDGET_S, hook=down)
    finally:
        run("ip", "-n", SERVER, "link", "set", SERVER_DEV, "up")
        # The client's neighbour entry failed while the NIC was down: forget it, so that a
        # test after this one finds the server at once.
        run("ip", "-n", CLIENT, "neigh", "flush", "dev", CLIENT_DEV)
    assert result["before"] is not None and result["after"] is None
    assert result["outcome"]["status"] == "timeout", result["outcome"]
    within_budget(result)



# A second link between the two namespaces, for the check's target: the SSH session rides
# the first, whose server end goes down mid-check, while the client's own probes (a port
# nothing listens on: the kernel's reset) go by this one and give the same answer whenever
# the first link fails.
SVC_CLIENT_DEV, SVC_SERVER_DEV = "ndx-sAc1", "ndx-sAs1"
SVC_CLIENT_ADDR, SVC_SERVER_ADDR = "10.97.2.1", "10.97.2.2"
HANG_GUARD_S = 60.0


def _packet_sockets(pid: int) -> int:
    """Packet sockets open in the network namespace of `pid` (the collector's capture)."""
    return len(Path(f"/proc/{pid}/net/packet").read_text().splitlines()) - 1


def _tcp_out_resets(pid: int) -> int:
    """The Tcp OutRsts counter of the network namespace of `pid`."""
    names, values = [
        line.split()[1:] for line in Path(f"/proc/{pid}/net/snmp").read_text().splitlines()
        if line.startswith("Tcp:")
    ]  # fmt: skip
    return int(values[names.index("OutRsts")])


def test_nic_down_mid_check_keeps_the_clients_verdict(lab: SshLab, cache: Path) -> None:
    """`netdx check` with --ssh: once the server's collector is armed (its packet socket
    open) and the client's SYN got its reset, the server's NIC of the SSH link goes down;
    the check ends within --timeout with the client's verdict and ssh.timeout beside it."""
    server = lab.servers[0]
    run("ip", "-n", CLIENT, "link", "add", SVC_CLIENT_DEV, "type", "veth",
        "peer", "name", SVC_SERVER_DEV, "netns", SERVER)  # fmt: skip
    proc: subprocess.Popen[str] | None = None
    try:
        for ns, dev, addr in ((CLIENT, SVC_CLIENT_DEV, SVC_CLIENT_ADDR),
                              (SERVER, SVC_SERVER_DEV, SVC_SERVER_ADDR)):  # fmt: skip
            run("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
        sockets, resets = _packet_sockets(server.pid), _tcp_out_resets(server.pid)
        env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
        argv = check_argv(server, f"{SVC_SERVER_ADDR}:5432")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)  # fmt: skip
        guard = time.monotonic() + HANG_GUARD_S
        while not (
            _packet_sockets(server.pid) > sockets and _tcp_out_resets(server.pid) > resets
        ):
            assert proc.poll() is None, "the check ended before the server was armed"
            assert time.monotonic() < guard, "the session never armed"
            time.sleep(0.01)
        run("ip", "-n", SERVER, "link", "set", SERVER_DEV, "down")
        out, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        run("ip", "-n", SERVER, "link", "set", SERVER_DEV, "up")
        run("ip", "-n", CLIENT, "neigh", "flush", "dev", CLIENT_DEV)
        run("ip", "-n", CLIENT, "link", "del", SVC_CLIENT_DEV)
    report = report_of(out)
    assert report["verdict"]["cause"] == "port.refused", (report["verdict"], err[-500:])
    assert "ssh.timeout" in warnings_of(report), report["verdict"]["warnings"]
    assert report["remote"]["status"] == "timeout"
