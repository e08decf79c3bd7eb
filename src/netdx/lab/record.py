"""Lab instances and their records: who built which lab, so that only its own is removed.

Every lab gets an instance, four hex digits: its namespaces are ``ndx-<instance>-<host>``,
its work dir ``/tmp/ndx-lab-<instance>``, and its record ``/run/netdx/labs/<instance>.json``
(a `LabState`). The record is written BEFORE the first namespace exists, naming every
namespace the lab will create; each process is added as it starts, with its start time
from /proc/PID/stat so that a recycled pid is never signalled. The owner is the process
that builds the lab (pid + start time): while it lives, no other process removes the lab
unless told its instance by name. A lab left up by ``netdx lab up`` is `detached`: its
builder has exited on purpose, and only ``lab down`` removes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
from pathlib import Path

from netdx.lab.model import PREFIX
from netdx.model.record import record

RECORD_DIR = Path("/run/netdx/labs")
INSTANCE = re.compile(r"^[0-9a-f]{4}$")
INSTANCE_NAMESPACE = re.compile(rf"^{PREFIX}([0-9a-f]{{4}})-")


@record
class Proc:
    """A process as the kernel knows it: pid and start time (clock ticks after boot)."""

    pid: int
    start: int

    @property
    def alive(self) -> bool:
        """True when this very process still runs (not a zombie, not a recycled pid)."""
        return start_time(self.pid) == self.start


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat, or None when `pid` is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if not fields or fields[0] == "Z":
        return None
    return int(fields[19])


def this_process() -> Proc:
    """The calling process as a `Proc`."""
    pid = os.getpid()
    start = start_time(pid)
    assert start is not None  # we are running
    return Proc(pid=pid, start=start)


def current_user() -> str:
    """Who runs the lab: the sudo caller when run through sudo, else the login of our uid."""
    sudo = os.environ.get("SUDO_USER")
    if sudo:
        return sudo
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def prefix_of(instance: str) -> str:
    """The namespace prefix of `instance`: ``ndx-<instance>-``."""
    return f"{PREFIX}{instance}-"


def workdir_of(instance: str) -> Path:
    """The temp dir of `instance` (services' files, sshd state, the run's output)."""
    return Path("/tmp") / f"{PREFIX}lab-{instance}"


def record_path(instance: str) -> Path:
    """Where the record of `instance` lives."""
    return RECORD_DIR / f"{instance}.json"


def new_instance(taken: set[str]) -> str:
    """A fresh instance not in `taken` and with no record (reserve it with `reserve`)."""
    while True:
        instance = secrets.token_hex(2)
        if instance not in taken and not record_path(instance).exists():
            return instance


def reserve(instance: str, text: str) -> bool:
    """Create the record of `instance` with `text`; False if it exists already."""
    RECORD_DIR.mkdir(parents=True, exist_ok=True)
    path = record_path(instance)
    # Written aside, then linked in: the record appears whole or not at all (a kill -9
    # must never leave an empty record that nobody can read), and link() refuses to
    # replace another lab's.
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def write(instance: str, text: str) -> None:
    """Replace the record of `instance` atomically (a kill mid-write leaves the old one)."""
    path = record_path(instance)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def remove(instance: str) -> None:
    """Forget `instance` (its lab is gone)."""
    with contextlib.suppress(OSError):
        record_path(instance).unlink()


def read_all() -> dict[str, dict[str, object]]:
    """Every readable record, by instance (unreadable or malformed ones are skipped)."""
    found: dict[str, dict[str, object]] = {}
    if not RECORD_DIR.is_dir():
        return found
    for path in sorted(RECORD_DIR.glob("*.json")):
        if not INSTANCE.match(path.stem):
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            found[path.stem] = data
    return found


@record
class LabState:
    """What a lab owns, as recorded: enough for `teardown` in another process (`lab down`).

    `namespaces` are all the namespaces the lab will have (recorded before the first is
    made); `processes` the ones started so far. `owner` built it; `detached` says it was
    left up on purpose (``lab up``)."""

    scenario: str
    client: str
    namespaces: tuple[str, ...]
    workdir: str
    processes: tuple[Proc, ...] = ()
    ssh: tuple[str, ...] = ()  # the check's options to read the `ssh` host (--ssh ...)
    instance: str = ""
    owner: Proc | None = None
    detached: bool = False
    user: str = ""

    @property
    def pids(self) -> tuple[int, ...]:
        """The pids of the lab's processes."""
        return tuple(proc.pid for proc in self.processes)

    @property
    def owner_alive(self) -> bool:
        """True while the process that built the lab runs."""
        return self.owner is not None and self.owner.alive

    def to_json(self) -> str:
        """The record's text."""
        def proc(p: Proc) -> dict[str, int]:
            return {"pid": p.pid, "start": p.start}

        return json.dumps({
            "instance": self.instance, "scenario": self.scenario, "client": self.client,
            "user": self.user, "detached": self.detached,
            "owner": proc(self.owner) if self.owner is not None else None,
            "namespaces": list(self.namespaces), "workdir": self.workdir,
            "processes": [proc(p) for p in self.processes], "ssh": list(self.ssh),
        }, indent=2) + "\n"  # fmt: skip


def parse(instance: str, data: dict[str, object]) -> LabState | None:
    """The `LabState` of a record's data, or None when it is malformed."""
    def proc(item: object) -> Proc:
        if not isinstance(item, dict):
            raise TypeError(item)
        return Proc(pid=int(item["pid"]), start=int(item["start"]))

    def strings(key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list):
            raise TypeError(key)
        return tuple(str(v) for v in value)

    try:
        processes = data.get("processes", [])
        owner = data.get("owner")
        prefix = prefix_of(instance)
        namespaces = strings("namespaces")
        if any(not name.startswith(prefix) for name in namespaces):
            return None  # never let a record name a namespace outside its instance
        return LabState(
            instance=instance,
            scenario=str(data["scenario"]),
            client=str(data.get("client", "")),
            namespaces=namespaces,
            workdir=str(data.get("workdir", "")),
            processes=tuple(proc(p) for p in processes) if isinstance(processes, list) else (),
            ssh=strings("ssh"),
            owner=proc(owner) if owner is not None else None,
            detached=bool(data.get("detached", False)),
            user=str(data.get("user", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def states() -> list[LabState]:
    """Every lab on record (malformed records are skipped)."""
    found = (parse(instance, data) for instance, data in read_all().items())
    return [state for state in found if state is not None]
