"""The server over SSH: the system OpenSSH client, one fixed remote command, the collector
shipped on stdin, and ssh's failures turned into an `SshOutcome` status.

    opts = SshOptions(destination="admin@db-server-01", sudo=True)
    outcome, document = collect_once(opts, {"collectors": ["sockets"]}, deadline)

    session = await SshSession.open(opts, session_request, deadline)
    before = await session.before()     # the server is read and the capture armed
    ...                                  # the client's probes
    after = await session.after()       # `go`: read again, the capture drained
    await session.close()               # session.outcome says how the link went

The user's ~/.ssh/config, agent, ProxyJump and known_hosts policy apply as in their shell:
netdx only adds BatchMode=yes (never a prompt), a ConnectTimeout and keepalives from the
budget, and connection sharing under the user's cache dir. StrictHostKeyChecking is never
set. Nothing the user types reaches a shell: DEST and every option are validated, travel
as argv elements after `--`, and the remote command is a constant.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

from netdx.budget import Deadline
from netdx.collect.bundle import session_input
from netdx.collect.system import OUTPUT_LIMIT, run_argv
from netdx.errors import UsageError
from netdx.host import ssh_pipes
from netdx.host.ssh_pipes import LineTooLong, SshPipes
from netdx.host.ssh_status import classify, last_line, lines_of
from netdx.model.record import record
from netdx.model.remote import SshOutcome, SshStatus

SSH = "ssh"
SESSION_SCHEMA = "netdx.session/1"
CONTROL_PERSIST = "60s"
STDERR_WAIT_S = 0.25
OPTION_CHECK_S = 1.0  # `ssh -G` answers in milliseconds; a bound, not a wait
NO_PYTHON = "netdx: no python3 on this host"
NO_SUDO = "netdx: no sudo on this host"
_PYTHONS = (
    "python3 python3.13 python3.12 python3.11 python3.10 python3.9 /usr/libexec/platform-python"
)
# The program python runs: refuse (exit 125) before reading anything when older than 3.9,
# else run the line of Python that comes first on stdin (`collect.bundle.BOOTSTRAP`).
PYTHON_PROGRAM = (
    "import sys;sys.version_info>=(3,9) or sys.exit(125);exec(sys.stdin.buffer.readline())"
)
# Too old; found but not executable; not runnable (a pyenv shim of a version not installed).
_SKIP = (125, 126, 127)


def _remote_command(sudo: bool) -> str:
    # Each candidate found runs as a child of sh, not exec'd: one that is too old or does
    # not run has read nothing of stdin, so the next one can still read all of it; any
    # other exit status is the collector's and ends the loop. One python start in the
    # common case. One single-quoted argument of /bin/sh, whatever the login shell is; no
    # user text in it, ever.
    python = 'sudo -n "$(command -v "$p")"' if sudo else '"$p"'
    need_sudo = f'command -v sudo >/dev/null 2>&1 || {{ echo "{NO_SUDO}" >&2; exit 126; }}; '
    skip = " || ".join(f"[ $s -eq {code} ]" for code in _SKIP)
    script = (
        (need_sudo if sudo else "")
        + f'for p in {_PYTHONS}; do command -v "$p" >/dev/null 2>&1 || continue; '
        + f'{python} -I -S -B -c "{PYTHON_PROGRAM}"; s=$?; {skip} || exit $s; done; '
        + f'echo "{NO_PYTHON}" >&2; exit 127'
    )
    assert "'" not in script
    return f"exec /bin/sh -c '{script}'"


REMOTE_COMMAND = _remote_command(sudo=False)
REMOTE_COMMAND_SUDO = _remote_command(sudo=True)

# Options netdx refuses in --ssh-option, with the reason the error gives.
_RUNS_COMMAND = "it runs a local command"
REFUSED_OPTIONS = {
    "proxycommand": _RUNS_COMMAND + " through a shell (use ProxyJump)",
    "localcommand": _RUNS_COMMAND + " through a shell",
    "permitlocalcommand": "it enables LocalCommand, which runs a local shell command",
    "knownhostscommand": _RUNS_COMMAND + " to list host keys",
    "match": "Match exec runs a local command",
    "include": "it reads more configuration from files",
    "remotecommand": "netdx sends its own fixed remote command",
    "batchmode": "netdx always uses BatchMode=yes: a prompt would hang the check",
    "sessiontype": "netdx needs a session that runs its command",
    "stdinnull": "netdx sends the collector on stdin",
    "forkafterauthentication": "netdx reads the session's output",
    "requesttty": "a terminal would mangle the collector's binary stdin",
    "connecttimeout": "netdx sets it from --timeout",
    "controlmaster": "netdx shares connections itself (ControlPath under the cache dir)",
    "controlpath": "netdx shares connections itself (ControlPath under the cache dir)",
    "controlpersist": "netdx shares connections itself (ControlPath under the cache dir)",
}
# What `ssh -G` prints that explains a failure, kept for the evidence.
SETTINGS = (
    "user", "hostname", "port", "identityfile", "userknownhostsfile", "stricthostkeychecking",
    "proxyjump", "proxycommand", "controlpath", "connecttimeout", "batchmode",
)  # fmt: skip

_DEST = re.compile(r"[A-Za-z0-9._@:%\[\]+-]+")
_OPTION_KEY = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse(flag: str, value: str, why: str) -> UsageError:
    return UsageError(f"{flag} {value!r}: {why}")


@record
class SshOptions:
    """What the user typed for --ssh, validated on creation (UsageError: exit 2).

    `destination` is `[USER@]HOST` (or a Host alias of ~/.ssh/config): no leading `-`, and
    only the characters of user names, host names and addresses, because ssh expands
    %h/%r of a user's ProxyCommand or Match exec into a shell. `key` goes to `-i`,
    `known_hosts` to `-o UserKnownHostsFile=`, `options` each to `-o K=V`; `sudo` runs the
    collector with `sudo -n`.
    """

    destination: str
    key: str | None = None
    known_hosts: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    sudo: bool = False

    def __post_init__(self) -> None:
        dest = self.destination
        if not dest:
            raise _refuse("--ssh", dest, "empty destination")
        if dest.startswith("-"):
            raise _refuse("--ssh", dest, "a destination cannot start with '-'")
        bad = next((c for c in dest if not _DEST.fullmatch(c)), None)
        if bad is not None or len(dest) > 255:
            raise _refuse(
                "--ssh", dest, f"not a [USER@]HOST ({bad!r} is not allowed)" if bad else "too long"
            )
        why = _host_problem(dest.rpartition("@")[2])
        if why is not None:
            raise _refuse("--ssh", dest, why)
        if self.key is not None:
            _check_path("--ssh-key", self.key, config_line=False)
        if self.known_hosts is not None:
            _check_path("--known-hosts", self.known_hosts, config_line=True)
        for key, value in self.options:
            check_option(key, value)


def _host_problem(host: str) -> str | None:
    """Why the HOST of [USER@]HOST is none ssh could ever reach, or None: a name or Host
    alias (labels of letters, digits, `_`, `+`, `-`), an IPv4 address, or an IPv6 address
    (a `%zone` allowed). ssh takes no `[addr]:port` here and no empty label, so those are
    refused as typed, not reported as an unreachable server."""
    if not host:
        return "no host after '@'"
    if "]:" in host or (host.startswith("[") and host.endswith("]")):
        return "ssh takes no [address] or :port here; give the port as --ssh-option Port=N"
    if ":" in host or "%" in host:
        address, _, zone = host.partition("%")
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return "neither a host name nor an IPv6 address (':' and '%' are for IPv6 only)"
        if "%" in host and not re.fullmatch(r"[A-Za-z0-9_.-]+", zone):
            return "an IPv6 zone is an interface name"
        return None
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if any(not label for label in labels):
        return "a host name has no empty label ('..', or a leading '.')"
    return None


def _check_path(flag: str, path: str, *, config_line: bool) -> None:
    if not path or _CONTROL.search(path):
        raise _refuse(flag, path, "not a file name (empty, or a control character in it)")
    # `-o UserKnownHostsFile=PATH` is read as a line of ssh_config: blanks split it into
    # several files and quotes are taken away.
    if config_line and re.search(r"[\s\"']", path):
        raise _refuse(flag, path, "blanks and quotes are not allowed in this file name")


def check_option(key: str, value: str) -> None:
    """UsageError unless `-o KEY=VALUE` is an option netdx lets through, saying why."""
    shown = f"{key}={value}"
    if not _OPTION_KEY.fullmatch(key):
        raise _refuse("--ssh-option", shown, "not an ssh option name (K=V expected)")
    why = REFUSED_OPTIONS.get(key.lower())
    if why is not None:
        raise _refuse("--ssh-option", shown, f"refused: {why}")
    if _CONTROL.search(value):
        raise _refuse("--ssh-option", shown, "control characters are not allowed")


@functools.lru_cache(maxsize=64)
def refused_by_ssh(
    options: tuple[tuple[str, str], ...], *, given_as: str = "--ssh-option"
) -> str | None:
    """Why ssh itself refuses `-o K=V` options (typed on the command line, or written in a
    serve config or an inventory: `given_as` names where), an unknown option or a value it
    cannot read, in its own words; None when it takes them, or when it cannot be asked (not
    installed, too slow: the session then says what ssh says). `ssh -F /dev/null -G` only
    prints the configuration: it reads no user file, resolves and connects to nothing. An
    inventory's hosts mostly share their options: each set is asked once."""
    if not options:
        return None
    argv = [SSH, "-F", "/dev/null", "-G"]
    for key, value in options:
        argv += ["-o", f"{key}={value}"]
    done = run_argv([*argv, "netdx-option-check"], timeout=OPTION_CHECK_S)
    said = [line for line in lines_of(done.stderr) if line.startswith("command-line")]
    if done.returncode in (0, None) or not said:
        return None
    shown = " ".join(f"{key}={value}" for key, value in options)
    return f"{given_as} {shown!r}: ssh refuses it: {said[0]}"


def parse_option(text: str) -> tuple[str, str]:
    """`K=V` (or `K V`, as ssh -o accepts) → (K, V), validated."""
    key, sep, value = text.partition("=")
    if not sep:
        key, sep, value = text.partition(" ")
    if not sep or not key:
        raise _refuse("--ssh-option", text, "expected K=V (an ssh_config option)")
    check_option(key.strip(), value.strip())
    return key.strip(), value.strip()


def control_dir() -> Path | None:
    """<user cache dir>/netdx/ssh (created 0700), where shared connections live; None
    when it cannot be made, or its name would not fit ssh_config or a unix socket (then
    each session makes its own connection)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "netdx" / "ssh"
    # %C is 40 hex digits, and ssh adds a 17-character suffix while it creates the socket:
    # the whole must fit a unix socket's 108 bytes, or ssh fails outright.
    too_long = len(str(path)) + 1 + 40 + 17 >= 108
    if too_long or not path.is_absolute() or re.search(r"[\s\"'%]", str(path)):
        return None
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)
    except OSError:
        return None
    return path


def _seconds(value: float) -> int:
    return max(1, int(value))


def ssh_argv(
    opts: SshOptions,
    deadline: Deadline,
    *,
    control: Path | None,
    command: str | None = None,
    mode: tuple[str, ...] = (),
) -> list[str]:
    """The ssh command line. netdx's options come first, as ssh keeps the first value it
    gets for an option; then the user's -i, known_hosts and -o; `--`, DEST, the command.
    `mode` goes right after `ssh` (`-G` to print the settings)."""
    budget = deadline.remaining()
    argv = [SSH, *mode, "-T", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={_seconds(budget)}"]
    if control is not None:
        argv += ["-o", "ControlMaster=auto", "-o", f"ControlPersist={CONTROL_PERSIST}"]
        argv += ["-o", f"ControlPath={control}/%C"]
    else:
        argv += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
    # A peer that stops answering is noticed after interval × (count + 1), within budget.
    argv += ["-o", f"ServerAliveInterval={_seconds(min(15.0, budget / 4))}"]
    argv += ["-o", "ServerAliveCountMax=2"]
    if opts.key is not None:
        argv += ["-i", opts.key]
    if opts.known_hosts is not None:
        argv += ["-o", f"UserKnownHostsFile={opts.known_hosts}"]
    for key, value in opts.options:
        argv += ["-o", f"{key}={value}"]
    argv += ["--", opts.destination]
    if command is not None:
        argv.append(command)
    return argv


def remote_command(opts: SshOptions) -> str:
    return REMOTE_COMMAND_SUDO if opts.sudo else REMOTE_COMMAND


def parse_settings(text: str) -> tuple[tuple[str, str], ...]:
    """The settings of `ssh -G` output that explain a failure, in ssh's order."""
    found: list[tuple[str, str]] = []
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key in SETTINGS:
            found.append((key, value.strip()))
    return tuple(found)


def master_alive(settings: tuple[tuple[str, str], ...]) -> bool:
    """Is a shared connection listening on the settings' ControlPath? (A unix-socket
    connect: as `ssh -O check` would say, without starting a process.)"""
    path = dict(settings).get("controlpath", "none")
    if path in ("", "none") or not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def session_request(request: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
    """`request` as a session request whose timeout ends before the deadline: a session
    request is taken as it is, a collect request becomes a one-shot session."""
    if request.get("schema") != SESSION_SCHEMA:
        request = {"schema": SESSION_SCHEMA, "before": request, "after": None, "capture": None}
    # The server must answer after `go` before netdx gives up on it: a little earlier.
    budget = max(0.1, deadline.remaining() - 0.2)
    timeout = float(request.get("timeout") or budget)
    return {**request, "timeout": round(min(timeout, budget), 3)}


class SshSession:
    """One ssh process running the collector's session (spec: before → go → after).

    Never raises for ssh trouble: `outcome` says what happened. Every read waits at most
    until the deadline, after which ssh is killed by its pid.
    """

    def __init__(self, opts: SshOptions, deadline: Deadline) -> None:
        self.opts = opts
        self.deadline = deadline
        self._started = time.monotonic()
        self._pipes: SshPipes | None = None
        self._settings: tuple[tuple[str, str], ...] = ()
        self._warm: bool | None = None
        self._status: SshStatus | None = None  # None: no verdict yet
        self._message = ""
        self._elapsed: float | None = None
        self._before: dict[str, Any] | None = None
        self._after_read = False

    @property
    def outcome(self) -> SshOutcome:
        """How the link went so far (status "timeout" until the first answer came)."""
        doc = self._before or {}
        python, euid = doc.get("python"), doc.get("euid")
        return SshOutcome(
            destination=self.opts.destination,
            status=self._status or "timeout",
            message=self._message,
            settings=self._settings,
            warm=self._warm,
            sudo=self.opts.sudo,
            elapsed_ms=self._elapsed,
            python=python if isinstance(python, str) else None,
            euid=euid if isinstance(euid, int) and not isinstance(euid, bool) else None,
        )

    @classmethod
    async def open(
        cls, opts: SshOptions, request: dict[str, Any], deadline: Deadline
    ) -> SshSession:
        """Start ssh with the collector and `request` on its stdin; returns at once."""
        self = cls(opts, deadline)
        control = control_dir()
        code, out, err = await _run(ssh_argv(opts, deadline, control=control, mode=("-G",)),
                                    deadline.within(2.0))  # fmt: skip
        if code != 0:
            self._fail("error", last_line(err) or f"ssh -G failed (exit status {code})")
            return self
        self._settings = parse_settings(out)
        self._warm = master_alive(self._settings)
        argv = ssh_argv(opts, deadline, control=control, command=remote_command(opts))
        try:
            self._pipes = await ssh_pipes.start(argv, OUTPUT_LIMIT)
        except OSError as exc:
            self._fail("error", f"{SSH}: {exc.strerror or exc}")
            return self
        self._pipes.write(session_input(session_request(request, deadline)))
        return self

    async def before(self) -> dict[str, Any] | None:
        """The server's first document, once it is read and its capture armed."""
        if self._before is None and self._status is None:
            message = await self._read("before")
            if message is not None:
                document = message.get("document")
                self._before = document if isinstance(document, dict) else None
                self._status = "ok"
                self._elapsed = round((time.monotonic() - self._started) * 1000.0, 2)
        return self._before

    async def after(self) -> dict[str, Any] | None:
        """Send `go` and wait for the server's second document (None: none came)."""
        if self._before is None or self._after_read or self._pipes is None:
            return None
        self._after_read = True
        self._pipes.write(b"go\n")
        message = await self._read("after")
        document = None if message is None else message.get("document")
        return document if isinstance(document, dict) else None

    def end_input(self) -> None:
        """Close ssh's stdin: the server's session wakes on EOF (one-shot mode)."""
        if self._pipes is not None:
            self._pipes.end_input()

    async def close(self) -> None:
        """Kill ssh (by its pid) if it still runs and close its pipes."""
        if self._pipes is not None:
            await self._pipes.close()

    async def _read(self, phase: str) -> dict[str, Any] | None:
        pipes = self._pipes
        if pipes is None or self._status not in (None, "ok"):
            return None
        try:
            line = await pipes.readline(self.deadline)
        except TimeoutError:
            await self._ended(timed_out=True)
            return None
        except asyncio.CancelledError:
            # The caller gave up first (its own timeout on the same budget): no answer came.
            self._fail("timeout", f"no answer from {self.opts.destination} within the time budget")
            raise
        except LineTooLong:
            self._fail("error", "the server's answer was too long")
            return None
        if not line:
            await self._ended(timed_out=False)
            return None
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict) or message.get("phase") != phase:
            self._fail("error", f"unexpected answer from the server: {line[:80]!r}")
            return None
        return message

    async def _ended(self, *, timed_out: bool) -> None:
        """ssh closed its output or the deadline came: classify, then make sure it ends."""
        pipes = self._pipes
        assert pipes is not None
        answered = self._status == "ok"
        # The caller's own timer on the same budget may cancel the waits below: the link must
        # not stay "ok" then (a second read that never came is no answer).
        self._fail("timeout", f"no answer from {self.opts.destination} within the time budget")
        if not timed_out:
            # Its output ended: the exit status comes at once (a short wait, from budget).
            timed_out = not await pipes.wait_exit(self.deadline.within(1.0))
        if timed_out:
            await pipes.close()
        else:
            # A shared master may hold stderr a while longer: wait only briefly for it.
            await pipes.wait_stderr(self.deadline.within(STDERR_WAIT_S))
        stderr = pipes.stderr.decode("utf-8", errors="replace")
        status, message = classify(None if timed_out else pipes.returncode, stderr,
                                   sudo=self.opts.sudo)  # fmt: skip
        if status == "timeout" and not message:
            message = f"no answer from {self.opts.destination} within the time budget"
        elif answered and pipes.returncode == 255 and not lines_of(stderr):
            # A mux client whose master lost the server (keepalives unanswered) exits 255
            # without a word: the master, detached, said why to /dev/null.
            status = "timeout"
            message = f"the connection to {self.opts.destination} stopped answering"
        elif status == "ok":  # ssh and the collector ended well, but without the answer
            status, message = "error", "the server's session ended without an answer"
        self._fail(status, message)

    def _fail(self, status: SshStatus, message: str) -> None:
        self._status = status
        self._message = message


async def _run(argv: list[str], deadline: Deadline) -> tuple[int | None, str, str]:
    """Run a short command (ssh -G) with a deadline; (exit status or None, stdout, stderr)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        return None, "", f"{argv[0]}: {exc.strerror or exc}"
    try:
        out, err = await asyncio.wait_for(proc.communicate(), deadline.remaining())
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()  # ssh -G shares no connection: its pipes close as it dies
        if isinstance(exc, asyncio.CancelledError):
            raise
        return None, "", f"{' '.join(argv[:2])} did not finish in time"
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def collect_once_async(
    opts: SshOptions, request: dict[str, Any], deadline: Deadline
) -> tuple[SshOutcome, dict[str, Any] | None]:
    """`collect_once` on the running event loop (not a loop of its own): one session, its
    first document, then EOF and the end of ssh, so many hosts can be asked at once. The
    session never raises for ssh trouble: the outcome says what happened."""
    session = await SshSession.open(opts, request, deadline)
    try:
        document = await session.before()
        session.end_input()
    finally:
        await session.close()
    return session.outcome, document


def collect_once(
    opts: SshOptions, request: dict[str, Any], deadline: Deadline
) -> tuple[SshOutcome, dict[str, Any] | None]:
    """One document from the server: `request` is a collect request (or a session
    request). The document is None when the link failed; the outcome says why."""
    return asyncio.run(collect_once_async(opts, request, deadline))
