"""A real OpenSSH `sshd` inside a lab network namespace: key-only, everything in a state dir.

`start_sshd(namespace=..., addresses=..., state_dir=...)` generates a host key, a client key
pair, `authorized_keys`, a `known_hosts` line per address and an sshd_config, then runs
`ip netns exec NS python -m netdx.lab.sshd --exec ... -- /usr/sbin/sshd -D -e -f CONFIG`.
The small `--exec` step runs in the private mount namespace `ip netns exec` creates (never
the machine's): it mounts a tmpfs on /run (sshd needs /run/sshd, which the Debian package
creates only when its daemon starts, and the machine's /run stays untouched), bind-mounts
the lab's own /etc/passwd and /etc/group (root's home moved to the lab's, so no dotfile of the
machine runs in a session; plus a non-root lab user when one is wanted), hides the
given files (python3, to play a server without it) under an empty file, then execs sshd
with the same pid. Nothing of /etc/ssh, ~/.ssh or the machine's users is read or changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from netdx.budget import Deadline
from netdx.errors import CannotRun
from netdx.lab.model import PREFIX
from netdx.lab.netns import alive, kill_pids, run
from netdx.model.record import record

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "ssh-keygen"
LAB_UID = 4242
READY_MARK = "Server listening on"

# sshd processes this module started, by pid: kept so that they are reaped (a dropped
# Popen of a live process warns) while the handle itself stays a frozen value.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


@record
class SshServer:
    """A running lab sshd: where it listens, how to log in, and how to stop it."""

    namespace: str
    addresses: tuple[str, ...]
    port: int
    pid: int
    state_dir: Path
    key: Path  # the client's private key (authorized on the server)
    known_hosts: Path  # the server's host key for each address and the port
    user: str  # the login user: root, or the lab's own non-root user
    log: Path  # sshd's -e output

    def destination(self, address: str | None = None) -> str:
        """`USER@ADDRESS` for ssh (the first address unless one is given)."""
        host = address or self.addresses[0]
        return f"{self.user}@{host}"

    def running(self) -> bool:
        return alive(self.pid)

    def stop(self) -> None:
        """Kill the listening sshd by its pid (sessions it forked end with their links)."""
        kill_pids([self.pid])
        proc = _STARTED.pop(self.pid, None)
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def start_sshd(
    *,
    namespace: str,
    addresses: Sequence[str],
    state_dir: str | Path,
    prefix: str = PREFIX,
    port: int = 22,
    user: str | None = None,
    hide: Sequence[str] = (),
    deadline: Deadline | None = None,
) -> SshServer:
    """Start sshd in `namespace`, listening on `addresses` and `port`; wait until it listens.

    `user` None logs in as root; a name adds a non-root lab user (uid 4242, shell /bin/sh,
    no sudo rights) seen only by this sshd. `hide` lists files (e.g. /usr/bin/python3.11)
    this sshd and its sessions see as an empty non-executable file. Raises CannotRun when
    sshd does not listen before the deadline (default 10 s), with its last log line.
    """
    deadline = deadline or Deadline.after(10.0)
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    # The non-root user reads authorized_keys and runs in its home under the state dir.
    state.chmod(0o755)
    host_key = _keygen(state / "host_ed25519", f"{prefix}sshd-host")
    key = _keygen(state / "client_ed25519", f"{prefix}ssh-client")
    login = user or "root"
    (state / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    (state / "authorized_keys").chmod(0o644)
    host_pub = host_key.with_suffix(".pub").read_text().split()
    known = state / "known_hosts"
    known.write_text(
        "".join(f"{_known_name(a, port)} {host_pub[0]} {host_pub[1]}\n" for a in addresses)
    )
    config = state / "sshd_config"
    config.write_text(_config(state, addresses, port, host_key))
    binds: list[str] = _user_files(state, user)
    if hide:
        empty = state / "hidden"
        empty.write_text("")
        empty.chmod(0o644)
        for path in hide:
            binds += ["--bind", str(empty), path]
    log = state / "sshd.log"
    argv = [
        "ip", "netns", "exec", namespace,
        sys.executable, "-m", "netdx.lab.sshd", "--exec", *binds,
        "--", SSHD, "-D", "-e", "-f", str(config),
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    _STARTED[proc.pid] = proc
    server = SshServer(
        namespace=namespace,
        addresses=tuple(addresses),
        port=port,
        pid=proc.pid,
        state_dir=state,
        key=key,
        known_hosts=known,
        user=login,
        log=log,
    )
    _wait_listening(server, proc, deadline)
    return server


def _keygen(path: Path, comment: str) -> Path:
    if not path.exists():
        run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return path


def _known_name(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


def _config(state: Path, addresses: Sequence[str], port: int, host_key: Path) -> str:
    lines = [
        f"Port {port}",
        *(f"ListenAddress {a}" for a in addresses),
        f"HostKey {host_key}",
        f"PidFile {state / 'sshd.pid'}",
        f"AuthorizedKeysFile {state / 'authorized_keys'}",
        "AuthenticationMethods publickey",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        # The state dir lives under /tmp, whose mode StrictModes would refuse.
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        "AllowTcpForwarding no",
        "MaxStartups 64",
        "MaxSessions 64",
        "LogLevel INFO",
    ]
    return "\n".join(lines) + "\n"


def _user_files(state: Path, user: str | None) -> list[str]:
    """The machine's passwd and group, for this sshd's eyes only, with root's home moved to
    the lab's (so a session's shell never runs the machine's root dotfiles: a `pyenv init`
    there takes a lock, and a session killed with its namespace left it held, hanging every
    later login for a minute), plus the lab user when one is wanted."""
    home = state / "home"
    home.mkdir(exist_ok=True)
    home.chmod(0o755)
    passwd = state / "passwd"
    group = state / "group"
    lines = []
    for line in Path("/etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if len(fields) == 7 and fields[2] == "0":
            fields[5] = str(home)
        lines.append(":".join(fields))
    extra_user = f"{user}:*:{LAB_UID}:{LAB_UID}:netdx lab user:{home}:/bin/sh\n" if user else ""
    passwd.write_text("\n".join(lines) + "\n" + extra_user)
    group.write_text(Path("/etc/group").read_text() + (f"{user}:x:{LAB_UID}:\n" if user else ""))
    for path in (passwd, group):
        path.chmod(0o644)
    return ["--bind", str(passwd), "/etc/passwd", "--bind", str(group), "/etc/group"]


def _wait_listening(server: SshServer, proc: subprocess.Popen[bytes], deadline: Deadline) -> None:
    while not deadline.expired:
        text = server.log.read_text(errors="replace")
        if text.count(READY_MARK) >= len(server.addresses):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    lines = server.log.read_text(errors="replace").strip().splitlines()
    server.stop()
    why = lines[-1] if lines else "no output"
    raise CannotRun(f"lab: sshd in {server.namespace} did not start listening: {why}")


def _exec_main(argv: Sequence[str]) -> int:
    """`--exec [--bind SRC DST]... -- SSHD ARGS`: the mounts, then exec sshd (same pid).

    Refuses to mount anything unless this process is in another mount namespace than the
    one that started it (`ip netns exec` makes one and execs us), so the machine's mounts
    can never be changed by mistake.
    """
    from netdx.host import linux

    args = list(argv)
    split = args.index("--")
    options, command = args[:split], args[split + 1 :]
    if os.stat("/proc/self/ns/mnt").st_ino == os.stat(f"/proc/{os.getppid()}/ns/mnt").st_ino:
        print("netdx.lab.sshd: not in a private mount namespace", file=sys.stderr)
        return 3
    linux.mount("tmpfs", "/run", "tmpfs", 0)
    os.mkdir("/run/sshd", 0o755)
    i = 0
    while i < len(options):
        if options[i] != "--bind":
            print(f"netdx.lab.sshd: unknown option {options[i]}", file=sys.stderr)
            return 2
        linux.mount(options[i + 1], options[i + 2], "none", linux.MS_BIND)
        i += 3
    os.execv(command[0], command)
    return 1  # not reached


if __name__ == "__main__":
    if sys.argv[1:2] == ["--exec"]:
        sys.exit(_exec_main(sys.argv[2:]))
    print("usage: python -m netdx.lab.sshd --exec [--bind SRC DST]... -- SSHD ARGS")
    sys.exit(2)
