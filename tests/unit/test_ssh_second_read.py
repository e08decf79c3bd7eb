"""A server whose second read never comes (its NIC went down mid-check): the link is not
left "ok" when the caller's timer cuts the session's own wind-down, and the capture the
server armed but never drained proves nothing."""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import evidence_cases as c
import pytest

from netdx.budget import Deadline
from netdx.diagnose import diagnose
from netdx.diagnose.remote_wire import never_arrived
from netdx.host.ssh import SshOptions, SshSession
from netdx.host.ssh_pipes import SshPipes
from netdx.model.remote import SshOutcome
from netdx.remote.join import UNDRAINED, remote_evidence

FIXTURES = Path(__file__).parent / "fixtures" / "remote"
SERVER, CLIENT = "10.0.0.2", "10.0.0.10"


class SilentPipes:
    """ssh whose server stopped answering: no line comes before the deadline, and killing
    it takes longer than the caller waits."""

    def write(self, data: bytes) -> bool:
        return True

    async def readline(self, deadline: Deadline) -> bytes:
        raise TimeoutError

    async def close(self) -> None:
        await asyncio.sleep(30)


def test_cut_wind_down_leaves_a_timeout_not_ok() -> None:
    """The first read came ("ok"), the second never does, and the caller's own timeout
    cancels the session while it kills ssh: the outcome is a timeout."""
    session = SshSession(SshOptions(destination="admin@srv"), Deadline.after(5.0))
    session._pipes = cast(SshPipes, SilentPipes())
    session._before = {"python": "3.11.2", "euid": 0}
    session._status = "ok"

    async def second() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(session.after(), 0.1)

    asyncio.run(second())
    assert session.outcome.status == "timeout"
    assert session.outcome.python == "3.11.2"  # the first read did come


def _armed(document: dict[str, Any]) -> dict[str, Any]:
    """A before-document as the session sends it: the capture armed, nothing drained yet."""
    out = copy.deepcopy(document)
    out["collectors"]["capture"] = {
        "error": None,
        "needs_root": False,
        "data": {"port": 5432, "packets": [], "truncated": False, "kernel_dropped": 0},
    }
    return out


def test_undrained_capture_is_no_proof_that_no_syn_arrived() -> None:
    """Only the before-document came: its armed capture is unknown, not "no SYN", so a
    timeout is never called a drop on the path."""
    before = _armed(json.loads((FIXTURES / "drop-before.json").read_text()))
    link = SshOutcome(destination="admin@srv", status="ok", elapsed_ms=380.0)
    remote = remote_evidence(link, before, None, client=CLIENT, address=SERVER, port=5432)
    assert remote.capture is not None
    assert (remote.capture.status, remote.capture.reason) == ("error", UNDRAINED)
    assert not never_arrived(remote)
    head = c.PORT_FILTERED.addresses[0]
    timeout = replace(
        c.PORT_FILTERED,
        addresses=(replace(head, address=SERVER, tcp=c.tcp(SERVER, 5432, "timeout")),),
    )
    _, verdict = diagnose(replace(timeout, remote=remote))
    assert verdict.cause != "path.filtered_midway"
    assert not any("no SYN" in e for e in verdict.evidence)
