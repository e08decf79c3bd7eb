"""A Transport that replays captured kernel replies: the test double shipped with the package."""

from __future__ import annotations

from collections.abc import Sequence

from ._compat import value
from .errors import NetlinkTimeout
from .wire import Reply, collect


@value
class SentRequest:
    """One request the code under test made."""

    msg_type: int
    flags: int
    payload: bytes
    timeout: float


class ReplayTransport:
    """Answers each request with the next captured reply (a list of raw datagrams).

    An empty list stands for a kernel that never answers: the request raises NetlinkTimeout.
    `sent` records the requests, so tests can check what would have gone to the kernel.
    """

    def __init__(self, replies: Sequence[Sequence[bytes]]) -> None:
        self._replies = list(replies)
        self.sent: list[SentRequest] = []

    def request(self, msg_type: int, flags: int, payload: bytes, *, timeout: float) -> Reply:
        """Record the request and return the next captured reply."""
        self.sent.append(
            SentRequest(msg_type=msg_type, flags=flags, payload=payload, timeout=timeout)
        )
        if not self._replies:
            raise AssertionError("ReplayTransport: no captured reply left for this request")
        datagrams = self._replies.pop(0)
        if not datagrams:
            raise NetlinkTimeout()
        return collect(tuple(datagrams))
