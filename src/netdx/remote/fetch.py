"""Reading a server over SSH for the server-side commands (`sockets`, `who`, `inspect`,
`firewall`): one request, one checked document, or one line saying why not.

The link itself is `netdx.host.ssh` (the system ssh client); an SSH failure or a document
that is not one becomes `CannotRun` (exit 3, "unknown") naming the `ssh.*` status and ssh's
own words, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from netdx.errors import CannotRun
from netdx.model.vantage import Vantage
from netdx.remote.checks import DocumentError
from netdx.remote.document import CollectDocument

if TYPE_CHECKING:
    from netdx.budget import Deadline
    from netdx.host.ssh import SshOptions
    from netdx.model.remote import SshOutcome

__all__ = [
    "collector_read",
    "fetch_document",
    "fetch_twice",
    "ssh_vantage",
    "unusable_as_cannot_run",
]

SESSION_SCHEMA = "netdx.session/1"


def ssh_vantage(ssh: SshOptions) -> Vantage:
    """Where evidence read over SSH was observed: the destination as the user gave it."""
    return Vantage(kind="ssh", name=ssh.destination)


@contextlib.contextmanager
def unusable_as_cannot_run(destination: str) -> Iterator[None]:
    """Inside: a DocumentError met while reading the server's document (a value of the
    wrong shape deep inside it) becomes CannotRun, one line, exit 3."""
    try:
        yield
    except DocumentError as exc:
        raise CannotRun(f"{destination}: the server's answer is unusable: {exc}") from exc


def collector_read(doc: CollectDocument, collector: str, destination: str) -> None:
    """CannotRun (exit 3) when the server's `collector` failed, with its words and, when
    only root could have read it, the way to be root there."""
    why = doc.error_of(collector)
    if why is not None:
        hint = " (run as root there: --sudo)" if doc.needs_root(collector) else ""
        raise CannotRun(f"{destination}: {collector} not read: {why}{hint}")


def _failed(outcome: SshOutcome) -> CannotRun:
    message = outcome.message or "no answer from the server"
    return CannotRun(f"{outcome.code}: {outcome.destination}: {message}")


def _checked(outcome: SshOutcome, document: dict[str, Any] | None) -> CollectDocument:
    if not outcome.ok or document is None:
        raise _failed(outcome)
    try:
        return CollectDocument.from_json(document)
    except DocumentError as exc:
        raise CannotRun(f"{outcome.destination}: the server's answer is unusable: {exc}") from exc


def fetch_document(ssh: SshOptions, request: dict[str, Any], deadline: Deadline) -> CollectDocument:
    """The server's document for one collect `request`; CannotRun when it cannot be had."""
    from netdx.host.ssh import collect_once

    return _checked(*collect_once(ssh, request, deadline))


def fetch_twice(
    ssh: SshOptions,
    request: dict[str, Any],
    deadline: Deadline,
    *,
    again: Callable[[CollectDocument], bool],
    gap: float,
) -> tuple[CollectDocument, CollectDocument | None]:
    """(first, second): the server's document for `request`, and when `again(first)` says
    so a second one read `gap` seconds later in the same session (else None)."""
    from netdx.host.ssh import SshSession

    session_request = {"schema": SESSION_SCHEMA, "before": request, "after": request,
                       "capture": None}  # fmt: skip

    async def both() -> tuple[CollectDocument, CollectDocument | None]:
        session = await SshSession.open(ssh, session_request, deadline)
        try:
            # The outcome is read after the answer: it says how the link went so far.
            document = await session.before()
            first = _checked(session.outcome, document)
            if not again(first):
                return first, None
            await asyncio.sleep(min(gap, deadline.remaining() / 2))
            later = await session.after()
            return first, (None if later is None else _checked(session.outcome, later))
        finally:
            await session.close()

    return asyncio.run(both())
