"""Named network namespaces (`ip netns add NAME`): a Host inside one, and entering one for the
whole process the way `ip netns exec` does.

`NetnsHost` does each call in a short-lived thread that has done setns(CLONE_NEWNET) on
/run/netns/NAME: a process started from that thread, a socket opened there and
/proc/thread-self/net all belong to the namespace, and the rest of the process stays where
it was. No shell and no `ip netns exec` child are involved.

`enter_netns` moves the whole process instead, before any thread exists, so that every
probe and collector of a command runs there and the output equals `ip netns exec NAME
netdx ...`: setns, a private mount namespace, /sys remounted for the namespace, and the
files of /etc/netns/NAME bound over /etc (resolv.conf, hosts), as iproute2's netns_switch.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Sequence

from netdx.collect.system import DEFAULT_LIMIT, RunResult, read_capped, run_argv
from netdx.errors import CannotRun, UsageError
from netdx.model.vantage import THIS_HOST, Vantage, in_netns
from netdx.netlink import csocket as socket  # socket.py without its enums (csocket says why)

NETNS_RUN_DIR = "/run/netns"
NETNS_ETC_DIR = "/etc/netns"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")


def netns_path(name: str) -> str:
    """/run/netns/NAME of an existing namespace; UsageError for a bad or missing name."""
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        raise UsageError(f"--netns {name!r}: not a network namespace name")
    path = os.path.join(NETNS_RUN_DIR, name)
    if not os.path.exists(path):
        raise UsageError(f"network namespace {name!r} does not exist (no {path})")
    return path


def _open_netns(name: str, path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except PermissionError as exc:
        raise CannotRun(f"cannot open network namespace {name!r}: permission denied") from exc
    except OSError as exc:
        raise UsageError(f"network namespace {name!r}: {exc.strerror}") from exc


def _setns(name: str, fd: int) -> None:
    # host.linux (ctypes, ~3 ms) only to enter a namespace: naming the one this process is
    # in (`here`, every check) needs none of it.
    from netdx.host import linux

    try:
        linux.setns(fd, linux.CLONE_NEWNET)
    except PermissionError as exc:
        raise CannotRun(f"cannot enter network namespace {name!r}: needs root") from exc
    except OSError as exc:
        # EINVAL: the file is not a network namespace (a stale /run/netns entry).
        raise UsageError(f"{os.path.join(NETNS_RUN_DIR, name)}: not a network namespace") from exc


class NetnsHost:
    """This machine as seen from inside the named network namespace `name`.

    Raises UsageError at construction when the namespace does not exist, so a typo gives
    one line and exit 2 instead of a page of "unknown".
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.netns_file = netns_path(name)

    def __repr__(self) -> str:
        return f"NetnsHost({self.name!r})"

    def run(self, argv: Sequence[str], *, timeout: float) -> RunResult:
        """Run `argv` inside the namespace (the child inherits the thread's namespace)."""
        return self._inside(lambda: run_argv(argv, timeout=timeout))

    def read_text(self, path: str, *, limit: int = DEFAULT_LIMIT) -> str:
        """Read a /proc or /sys file as the namespace sees it: /proc/net is the thread's
        (/proc/thread-self/net), /proc/sys/net follows the reading thread, and /sys is
        mounted afresh in a private mount namespace of that thread."""
        if path.startswith("/sys/"):
            return self._inside(lambda: read_capped(path, limit), own_sysfs=True)
        for prefix in ("/proc/self/net/", "/proc/net/"):
            if path.startswith(prefix):
                path = "/proc/thread-self/net/" + path[len(prefix) :]
        return self._inside(lambda: read_capped(path, limit))

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A socket created inside the namespace; it stays bound to it wherever it is used."""
        return self._inside(lambda: socket.socket(family, kind | socket.SOCK_CLOEXEC, proto))

    def _inside(self, call: Callable[[], T], *, own_sysfs: bool = False) -> T:
        fd = _open_netns(self.name, self.netns_file)
        box: list[T] = []
        failure: list[BaseException] = []

        def work() -> None:
            try:
                _setns(self.name, fd)
                if own_sysfs:
                    from netdx.host import linux

                    # CLONE_FS too: a thread may unshare its mount namespace only with its
                    # own fs_struct. The thread (and its mounts) end with this call.
                    linux.unshare(linux.CLONE_NEWNS | linux.CLONE_FS)
                    linux.mount("", "/", "none", linux.MS_SLAVE | linux.MS_REC)
                    _remount_sys(self.name)
                box.append(call())
            except BaseException as exc:  # handed to the caller's thread, raised there
                failure.append(exc)

        try:
            thread = threading.Thread(target=work, name=f"netdx-netns-{self.name}")
            thread.start()
            thread.join()
        finally:
            os.close(fd)
        if failure:
            raise failure[0]
        return box[0]


def _remount_sys(name: str) -> None:
    """/sys shows the namespace of whoever mounted it: mount a fresh one (read-only if the
    old one was), as iproute2 does."""
    from netdx.host import linux

    flags = linux.MS_RDONLY if os.statvfs("/sys").f_flag & os.ST_RDONLY else 0
    with contextlib.suppress(OSError):  # no sysfs was mounted there: nothing to hide
        linux.umount2("/sys", linux.MNT_DETACH)
    linux.mount(name, "/sys", "sysfs", flags)


def enter_netns(name: str) -> None:
    """Move this whole process into network namespace `name` as `ip netns exec` would.

    Must run before any thread exists: setns and unshare act on the calling thread only,
    and only threads started afterwards inherit the result.
    """
    path = netns_path(name)
    if threading.active_count() != 1:
        raise CannotRun("--netns must be entered before any thread starts (a netdx bug)")
    fd = _open_netns(name, path)
    try:
        _setns(name, fd)
    finally:
        os.close(fd)
    from netdx.host import linux

    try:
        linux.unshare(linux.CLONE_NEWNS)
        # Mounts made below must not propagate back to the machine's mount namespace.
        linux.mount("", "/", "none", linux.MS_SLAVE | linux.MS_REC)
        _remount_sys(name)
    except OSError as exc:
        raise CannotRun(f"cannot set up the mounts of network namespace {name!r}: {exc}") from exc
    _bind_etc(name)


def _bind_etc(name: str) -> None:
    """Bind each file of /etc/netns/NAME over its /etc twin (resolv.conf, hosts...)."""
    base = os.path.join(NETNS_ETC_DIR, name)
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return  # no per-namespace configuration: /etc is used as it is
    from netdx.host import linux

    for entry in entries:
        source, target = os.path.join(base, entry), os.path.join("/etc", entry)
        try:
            linux.mount(source, target, "none", linux.MS_BIND)
        except OSError as exc:
            # iproute2 warns and goes on; so do we (stderr, the output stays the same).
            print(f"Bind {source} -> {target} failed: {exc.strerror}", file=sys.stderr)


def identify_netns(run_dir: str = NETNS_RUN_DIR) -> str | None:
    """The name of the named network namespace this process is in, as `ip netns identify`
    tells it (the /run/netns entry with the same device and inode as /proc/self/ns/net);
    None in a namespace without a name, the host's own as a rule. So `--netns X` and
    `ip netns exec X netdx` report the same vantage point."""
    try:
        own = os.stat("/proc/self/ns/net")
        names = sorted(os.listdir(run_dir))
    except OSError:
        return None
    for name in names:
        try:
            st = os.stat(os.path.join(run_dir, name))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
            return name
    return None


def here() -> Vantage:
    """The vantage point of this process: the named network namespace it is in (entered by
    --netns or `ip netns exec`), else this host."""
    name = identify_netns()
    return in_netns(name) if name else THIS_HOST
