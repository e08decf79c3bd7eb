"""The server's side of `netdx check --ssh`, as the check's driver runs it.

The plan (`plan.server`) sees the session as two probes: `OpenServer` (start the session
and wait, at most a small cap, for the server to be armed) and `CollectServer` (send "go",
take the second read, join both). Between them the session lives here, in `ServerLink`.
Every wait is bounded by the command's one deadline; an SSH failure is a value
(`RemoteEvidence(ssh=<failed outcome>)`), never an exception, and the client's verdict
still comes within the budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from netdx.budget import Deadline
from netdx.model.remote import RemoteEvidence, SshOutcome
from netdx.model.vantage import Vantage
from netdx.plan import CollectServer, NotRun, OpenServer, ServerArmed

if TYPE_CHECKING:
    from netdx.host.ssh import SshOptions

__all__ = ["LATE_CAPTURE", "ServerLink", "Session", "SessionFactory", "session_request"]

SCHEMA = "netdx.session/1"
# Killing ssh by its pid and reaping it is immediate; this only bounds a transport bug.
CLOSE_S = 0.5
NO_ANSWER = "no answer from the server within the budget"
NO_ADDRESS = "the client had no address to connect to: nothing to join on the server"
LATE_CAPTURE = (
    "the server's capture was armed after the client's first SYN left: "
    "an absence of SYNs proves nothing"
)


class Session(Protocol):
    """What the check needs of an SSH session (`netdx.host.ssh.SshSession`, or a fake)."""

    @property
    def outcome(self) -> SshOutcome: ...

    async def before(self) -> dict[str, Any] | None: ...

    async def after(self) -> dict[str, Any] | None: ...

    async def close(self) -> None: ...


SessionFactory = Callable[["SshOptions", dict[str, Any], Deadline], Awaitable[Session]]


def session_request(port: int, client: str | None, *, wake_s: float) -> dict[str, Any]:
    """The session request (`netdx.session/1`): the same read before and after the client's
    probes (every TCP listener and the port's sockets, the ruleset with its counters, the
    kernel counters, the route back to `client`), and a capture of the port. The capture
    keeps every source of the port (`peer` None): behind NAT the server sees another address
    than ours. `wake_s` is when the server reads again by itself if "go" never comes: when
    the client's probes must have ended."""
    from netdx.remote.document import server_request

    read = server_request(port, client=client, timeout=wake_s)
    return {
        "schema": SCHEMA,
        "timeout": round(wake_s, 3),
        "before": read,
        "after": read,
        "capture": {"port": port, "peer": None, "proto": "tcp"},
    }


async def _open_session(
    options: SshOptions, request: dict[str, Any], deadline: Deadline
) -> Session:
    from netdx.host.ssh import SshSession

    return await SshSession.open(options, request, deadline)


class ServerLink:
    """One check's SSH session: opened by `open`, read and closed by `collect`.

    `deadline` is the command's; `wake` the earlier one the client's probes end by (the
    difference is kept for the server's second read and its way back).
    """

    def __init__(
        self,
        options: SshOptions,
        deadline: Deadline,
        wake: Deadline,
        *,
        factory: SessionFactory | None = None,
    ) -> None:
        self._options = options
        self._deadline = deadline
        self._wake = wake
        self._factory = factory or _open_session
        self._session: Session | None = None
        self._first: asyncio.Task[dict[str, Any] | None] | None = None
        self._vantage = Vantage(kind="ssh", name=options.destination)

    async def open(self, probe: OpenServer, limit: Deadline | None) -> ServerArmed | NotRun:
        """Start the session and wait until the server is armed, at most until `limit` (the
        probe's small cap): after that the session goes on, but the client probes."""
        if self._first is None:
            request = session_request(probe.port, probe.client, wake_s=self._wake.remaining())
            self._first = asyncio.create_task(self._start(request))
        if limit is None:
            return NotRun(reason="the budget ran out before the session could start")
        done, _ = await asyncio.wait({self._first}, timeout=limit.remaining())
        if not done:
            return NotRun(reason="the server was not armed within the wait")
        return ServerArmed(armed=_result(self._first) is not None)

    async def _start(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Open the session and wait for the server's first read (until the deadline)."""
        async with asyncio.timeout(self._deadline.remaining()):
            self._session = await self._factory(self._options, request, self._deadline)
            return await self._session.before()

    async def collect(self, probe: CollectServer) -> RemoteEvidence:
        """"go", the second read, the join; the session is closed after it."""
        before = None
        if self._first is not None:
            done, _ = await asyncio.wait({self._first}, timeout=self._deadline.remaining())
            before = _result(self._first) if done else None
        after = None
        session = self._session
        if session is not None and before is not None:
            with contextlib.suppress(TimeoutError):
                after = await asyncio.wait_for(session.after(), self._deadline.remaining())
        outcome = self._outcome(before)
        await self.aclose()
        if not outcome.ok or before is None:
            return RemoteEvidence(ssh=outcome, client=probe.client, observed_on=self._vantage)
        if probe.address is None:
            return RemoteEvidence(
                ssh=outcome, client=probe.client, notes=(NO_ADDRESS,), observed_on=self._vantage
            )
        remote = _join(outcome, before, after, probe.address, probe)
        return remote if probe.armed else _late(remote)

    def _outcome(self, before: dict[str, Any] | None) -> SshOutcome:
        """How the link went; a session that never answered is a timeout."""
        if self._session is None:
            return SshOutcome(
                destination=self._options.destination, status="timeout", message=NO_ANSWER
            )
        outcome = self._session.outcome
        if outcome.ok and before is None:
            return dataclasses.replace(outcome, status="timeout", message=NO_ANSWER)
        return outcome

    async def aclose(self) -> None:
        """End the session (kill ssh by its pid) and the wait for its first read."""
        first, self._first = self._first, None
        if first is not None and not first.done():
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.close(), CLOSE_S)


def _join(
    outcome: SshOutcome,
    before: dict[str, Any],
    after: dict[str, Any] | None,
    address: str,
    probe: CollectServer,
) -> RemoteEvidence:
    """Both reads of the server joined into its evidence (`netdx.remote.join`)."""
    from netdx.remote.join import remote_evidence

    return remote_evidence(
        outcome, before, after, client=probe.client, address=address, port=probe.port
    )


def _result(task: asyncio.Task[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The first read, or None when the session failed or was cut by the deadline. Any
    other exception is a bug and ends the check."""
    if task.cancelled():
        return None
    exc = task.exception()
    if isinstance(exc, TimeoutError):
        return None
    if exc is not None:
        raise exc
    return task.result()


def _late(remote: RemoteEvidence) -> RemoteEvidence:
    """A capture armed after the client's SYN left: the SYNs it saw are real, but their
    absence proves nothing, so it is no longer a complete watch of the probe window."""
    capture = remote.capture
    if capture is None or capture.status != "ok" or capture.syns_in():
        return remote
    late = dataclasses.replace(capture, status="error", reason=LATE_CAPTURE)
    return dataclasses.replace(remote, capture=late, notes=(*remote.notes, LATE_CAPTURE))
