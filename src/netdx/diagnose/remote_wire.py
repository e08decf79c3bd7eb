"""What the server's packet capture proves about the client's SYNs (`RemoteEvidence.capture`).

A capture proves an absence only when it ran for the whole probe window and lost nothing;
every rule that says "never arrived" or "arrived unanswered" asks here.
"""

from __future__ import annotations

from netdx.model.remote import PacketSeen, RemoteEvidence

__all__ = ["never_arrived", "syns_unanswered"]


def syns_unanswered(remote: RemoteEvidence) -> tuple[PacketSeen, ...]:
    """The client's SYNs the capture saw arrive while the server sent nothing back to it
    (empty when the capture did not run, or the server answered)."""
    cap = remote.capture
    if cap is None or cap.status != "ok":
        return ()
    syns = cap.syns_in(remote.client)
    return syns if syns and not cap.answers_out(remote.client) else ()


def never_arrived(remote: RemoteEvidence) -> bool:
    """The capture ran for the whole window, lost nothing, and saw no SYN from the client
    (from anyone, when the client's address as the server sees it is unknown)."""
    cap = remote.capture
    if cap is None or cap.status != "ok" or cap.truncated or cap.kernel_dropped > 0:
        return False
    return not cap.syns_in(remote.client)
