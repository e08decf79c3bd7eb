"""Thin wrappers over iproute2 and /proc for the lab: argv lists, bounded, no shell.

A failing command raises `CannotRun` with the command and the last line of its stderr: the
lab cannot be built, which is not a network outcome.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from netdx.errors import CannotRun
from netdx.lab.model import PREFIX

NETNS_ETC = Path("/etc/netns")
COMMAND_TIMEOUT = 10.0


def run(argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT, check: bool = True) -> str:
    """Run `argv`, return its stdout; `CannotRun` if it fails (when `check`) or hangs."""
    try:
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise CannotRun(f"lab: {argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise CannotRun(f"lab: `{' '.join(argv)}` did not finish in {timeout:g} s") from exc
    if check and proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        why = lines[-1] if lines else f"exit status {proc.returncode}"
        raise CannotRun(f"lab: `{' '.join(argv)}` failed: {why}")
    return proc.stdout


def exec_argv(namespace: str, argv: Sequence[str]) -> list[str]:
    """`argv` run inside `namespace` (with its /etc/netns files bind-mounted)."""
    return ["ip", "netns", "exec", namespace, *argv]


def list_namespaces(prefix: str = PREFIX) -> list[str]:
    """Names of the existing network namespaces that start with `prefix`."""
    names = [line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line]
    return sorted(name for name in names if name.startswith(prefix))


def namespace_pids(namespace: str) -> list[int]:
    """Pids of the processes living in `namespace` (empty if it is gone)."""
    out = run(["ip", "netns", "pids", namespace], check=False)
    return [int(word) for word in out.split() if word.isdigit()]


def alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def kill_pids(pids: Iterable[int], *, grace: float = 2.0) -> None:
    """SIGTERM `pids`, wait up to `grace` seconds, SIGKILL the ones still alive."""
    pending = [pid for pid in pids if _signal(pid, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while pending and time.monotonic() < deadline:
        _reap(pending)
        pending = [pid for pid in pending if alive(pid)]
        if pending:
            time.sleep(0.02)
    for pid in pending:
        _signal(pid, signal.SIGKILL)
    _reap(pending)


def _signal(pid: int, sig: signal.Signals) -> bool:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _reap(pids: Iterable[int]) -> None:
    # Our own children stay zombies until waited for; other pids are not ours to wait on.
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def delete_namespace(namespace: str) -> None:
    """Kill what lives in `namespace`, delete it and its /etc/netns directory."""
    kill_pids(namespace_pids(namespace))
    if (Path("/run/netns") / namespace).exists():
        run(["ip", "netns", "del", namespace], check=False)
    shutil.rmtree(NETNS_ETC / namespace, ignore_errors=True)


def require_root() -> None:
    """`CannotRun` unless we are root (namespaces need CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        raise CannotRun("lab: needs root (network namespaces); run it with sudo")


def require_binaries(names: Iterable[str]) -> None:
    """`CannotRun` naming the first binary missing from PATH (also /usr/sbin, /sbin)."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    for name in names:
        if shutil.which(name, path=path) is None:
            raise CannotRun(f"lab: {name} is not installed (needed by this scenario)")
