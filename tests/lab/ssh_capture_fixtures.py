"""Capture what the real ssh prints for each failure into tests/unit/fixtures/ssh/ (the
classifier's unit tests replay them). Run as root, under the lab lock:

    flock /tmp/netdx-lab.lock .venv/bin/python tests/lab/ssh_capture_fixtures.py

Each case runs netdx's own ssh command line (no connection sharing, so ssh itself reports)
from the client namespace of the SSH lab and stores its exit status and stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sshlab import CLIENT, NFT_TABLE, SERVER, SERVER_DEV, SshLab, run, session_pythons

from netdx.budget import Deadline
from netdx.host.ssh import SshOptions, remote_command, ssh_argv
from netdx.lab.sshd import SshServer

OUT = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "ssh"


def capture(
    name: str,
    status: str,
    server: SshServer,
    *,
    dest: str | None = None,
    nic_down_after: float | None = None,
    **changes: Any,
) -> None:
    opts = SshOptions(
        destination=dest or server.destination(),
        key=changes.pop("key", str(server.key)),
        known_hosts=changes.pop("known_hosts", str(server.known_hosts)),
        options=(("Port", str(server.port)),) if server.port != 22 else (),
        sudo=changes.pop("sudo", False),
    )
    command = changes.pop("command", remote_command(opts))
    argv = ssh_argv(opts, Deadline.after(3.0), control=None, command=command)
    proc = subprocess.Popen(
        ["ip", "netns", "exec", CLIENT, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if nic_down_after is not None:
        time.sleep(nic_down_after)
        run("ip", "-n", SERVER, "link", "set", SERVER_DEV, "down")
    try:
        _, stderr = proc.communicate("", timeout=30)
    finally:
        if nic_down_after is not None:
            run("ip", "-n", SERVER, "link", "set", SERVER_DEV, "up")
    record = {"status": status, "sudo": opts.sudo, "returncode": proc.returncode,
              "stderr": stderr}  # fmt: skip
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(name, proc.returncode, stderr.strip().splitlines()[-1:], file=sys.stderr)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ndx-sshA-") as state:
        Path(state).chmod(0o755)
        lab = SshLab(Path(state))
        try:
            lab.up()
            main = lab.sshd("main")
            stopped = lab.sshd("stopped", port=2200)
            stopped.stop()
            capture("refused", "refused", stopped)
            dropped = lab.sshd("dropped", port=2201)
            nft = ("ip", "netns", "exec", SERVER, "nft")
            run(*nft, f"add table inet {NFT_TABLE}")
            run(*nft, f"add chain inet {NFT_TABLE} input {{ type filter hook input priority 0; }}")
            run(*nft, f"add rule inet {NFT_TABLE} input tcp dport 2201 drop")
            capture("timeout-connect", "timeout", dropped)
            run(*nft, f"delete table inet {NFT_TABLE}")
            capture("unreachable", "unreachable", main, dest="root@10.97.9.9")
            empty = Path(state) / "empty_known_hosts"
            empty.write_text("")
            capture("hostkey-unknown", "hostkey", main, known_hosts=str(empty))
            # Another key recorded for the address: the client's own public key will do.
            changed = Path(state) / "changed_known_hosts"
            kind, blob = main.key.with_suffix(".pub").read_text().split()[:2]
            changed.write_text(f"{main.addresses[0]} {kind} {blob}\n")
            capture("hostkey-changed", "hostkey", main, known_hosts=str(changed))
            capture("auth", "auth", main, key=str(main.state_dir / "host_ed25519"))
            user = "ndx-sshA-u"
            nopython = lab.sshd("nopython", port=2202, user=user, hide=session_pythons())
            capture("no-python", "no_python", nopython)
            nosudo = lab.sshd("nosudo", port=2203, user=user)
            capture("no-root", "no_root", nosudo, sudo=True)
            capture("collector-crash", "error", main, command="echo boom >&2; exit 3")
            capture("ok-empty-command", "ok", main, command="true")
            # Last: the neighbour entry stays failed for a while once the NIC is back.
            capture("timeout-alive", "timeout", main, command="sleep 20", nic_down_after=1.0)
        finally:
            lab.down()


if __name__ == "__main__":
    main()
