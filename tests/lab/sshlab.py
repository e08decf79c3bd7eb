"""The SSH lab of test_ssh_transport: a client and a server namespace linked by one veth
pair (no link to the root namespace), a real sshd in the server namespace, and a driver
that runs netdx's side of a session from inside the client namespace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netdx.budget import Deadline
from netdx.lab.netns import delete_namespace
from netdx.lab.sshd import SshServer, start_sshd

CLIENT, SERVER = "ndx-sshA-c", "ndx-sshA-s"
CLIENT_DEV, SERVER_DEV = "ndx-sAc0", "ndx-sAs0"
CLIENT_ADDR, SERVER_ADDR = "10.97.1.1", "10.97.1.2"
NFT_TABLE = "ndxssha"
DRIVER = Path(__file__).with_name("ssh_driver.py")
# The PATH sshd gives a session (Debian's default), where the remote command looks.
SESSION_PATH = ("/usr/local/bin", "/usr/bin", "/bin", "/usr/games")
PYTHON_NAMES = ("python3", *(f"python3.{m}" for m in range(9, 14)))
SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", CLIENT),
    ("ip", "netns", "add", SERVER),
    ("ip", "-n", CLIENT, "link", "add", CLIENT_DEV, "type", "veth",
     "peer", "name", SERVER_DEV, "netns", SERVER),
    ("ip", "-n", CLIENT, "link", "set", "lo", "up"),
    ("ip", "-n", SERVER, "link", "set", "lo", "up"),
    ("ip", "-n", CLIENT, "link", "set", CLIENT_DEV, "up"),
    ("ip", "-n", SERVER, "link", "set", SERVER_DEV, "up"),
    ("ip", "-n", CLIENT, "addr", "add", f"{CLIENT_ADDR}/24", "dev", CLIENT_DEV),
    ("ip", "-n", SERVER, "addr", "add", f"{SERVER_ADDR}/24", "dev", SERVER_DEV),
)  # fmt: skip


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, (argv, done.stderr)
    return done.stdout


@dataclass
class SshLab:
    """The namespace pair and the sshds started in it (stopped by `down`)."""

    state: Path
    servers: list[SshServer] = field(default_factory=list)

    def up(self) -> None:
        for argv in SETUP:
            run(*argv)

    def down(self) -> None:
        for server in self.servers:
            server.stop()
        for namespace in (CLIENT, SERVER):
            delete_namespace(namespace)  # kills what is left there (ssh masters included)

    def sshd(self, name: str, *, port: int = 22, **kwargs: Any) -> SshServer:
        """A new sshd in the server namespace with its own state dir."""
        server = start_sshd(
            namespace=SERVER,
            addresses=[SERVER_ADDR],
            state_dir=self.state / name,
            port=port,
            deadline=Deadline.after(15.0),
            **kwargs,
        )
        self.servers.append(server)
        return server

    def drive(
        self, server: SshServer, cache: Path, *, budget: float, **spec: Any
    ) -> dict[str, Any]:
        """Run the driver in the client namespace against `server`; its JSON result.

        `cache` is the user cache dir of that run (its shared connections live there)."""
        full = {
            "destination": server.destination(),
            "key": str(server.key),
            "known_hosts": str(server.known_hosts),
            "budget": budget,
            "request": session_request(budget),
            **spec,
        }
        if server.port != 22:
            full.setdefault("options", [["Port", str(server.port)]])
        env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
        argv = ["ip", "netns", "exec", CLIENT, sys.executable, str(DRIVER), json.dumps(full)]
        # Only a guard against a hang: the budget itself is checked inside the driver.
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result


def session_request(budget: float) -> dict[str, Any]:
    return {
        "schema": "netdx.session/1",
        "timeout": budget,
        "before": {"collectors": ["sockets", "routes"], "addresses": [CLIENT_ADDR],
                   "sockets": {"listen": True, "ports": [22]}},
        "after": {"collectors": ["sockets", "counters"], "sockets": {"ports": [22]}},
        "capture": {"port": 22, "peer": CLIENT_ADDR, "proto": "tcp"},
    }  # fmt: skip


def session_pythons(path: Sequence[str] = SESSION_PATH) -> list[str]:
    """The real files behind every python3 a session would find on its PATH."""
    found = {
        os.path.realpath(os.path.join(d, name))
        for d in path
        for name in PYTHON_NAMES
        if os.path.exists(os.path.join(d, name))
    }
    return sorted(found)
