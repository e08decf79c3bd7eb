"""Who owns the fleet lab, so that `netdx lab clean` removes a fleet whose builder died and
never one that runs or was left up on purpose.

The fleet has one fixed set of `ndx-fl-` namespaces (one fleet at a time), so its record
is one file, `/run/netdx/fleet.json` (beside the labs' records, not among them): the
owner's pid and start time (`record.Proc`, a recycled pid is never taken for it), and
`detached` once `netdx lab fleet up` left it running. It is written before the first
namespace exists and removed once the last one is gone, as a lab's record is.

A fleet is abandoned when its namespaces (or /etc/netns dirs) exist and: it has no record
(its builder died before writing one, or a netdx without records built it), or its
builder is gone and it was not left up. What runs in its namespaces (sshds, the listener)
ends with them (`netns.delete_namespace`).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from netdx.lab import record
from netdx.lab.netns import NETNS_ETC, list_namespaces

RECORD = record.RECORD_DIR.parent / "fleet.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetOwner:
    """The fleet's record: who built it, and whether it was left up on purpose."""

    owner: record.Proc
    detached: bool = False


def claim(*, path: Path = RECORD) -> None:
    """Record this process as the fleet's builder (before its first namespace)."""
    _write(FleetOwner(owner=record.this_process()), path)


def detach(*, path: Path = RECORD) -> None:
    """The fleet stays up after its builder exits (`netdx lab fleet up`)."""
    found = read(path=path)
    owner = found.owner if found is not None else record.this_process()
    _write(FleetOwner(owner=owner, detached=True), path)


def forget(*, path: Path = RECORD) -> None:
    """The fleet is gone: its record goes too."""
    with contextlib.suppress(OSError):
        path.unlink()


def read(*, path: Path = RECORD) -> FleetOwner | None:
    """The record, or None when there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text())
        owner = data["owner"]
        proc = record.Proc(pid=int(owner["pid"]), start=int(owner["start"]))
        return FleetOwner(owner=proc, detached=bool(data.get("detached", False)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def present(prefix: str) -> list[str]:
    """The fleet's namespaces and /etc/netns dirs that exist (names)."""
    names = set(list_namespaces(prefix))
    if NETNS_ETC.is_dir():
        names.update(p.name for p in NETNS_ETC.glob(prefix + "*") if p.is_dir())
    return sorted(names)


def abandoned(prefix: str, *, path: Path = RECORD) -> bool:
    """True when a fleet exists that nobody will remove (see the module docstring)."""
    if not present(prefix):
        return False
    found = read(path=path)
    if found is None:
        return True
    return not found.detached and not found.owner.alive


def held_here(*, path: Path = RECORD) -> bool:
    """True when this very process built the fleet and has not left it up."""
    found = read(path=path)
    return found is not None and not found.detached and found.owner == record.this_process()


def _write(owner: FleetOwner, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"owner": {"pid": owner.owner.pid, "start": owner.owner.start},
                       "detached": owner.detached}) + "\n"  # fmt: skip
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)  # whole or not at all: a kill mid-write leaves the old one
