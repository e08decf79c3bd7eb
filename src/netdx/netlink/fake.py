"""A Transport that replays captured kernel replies: the test double shipped with the package,
for the request/reply lookups and the streamed sock_diag dump alike."""

from __future__ import annotations

from collections.abc import Sequence

from ._compat import value
from .errors import NetlinkTimeout
from .wire import encode_message


@value
class SentRequest:
    """One request the code under test made."""

    msg_type: int
    flags: int
    payload: bytes

    @property
    def wire(self) -> bytes:
        """The request as it would have gone to the kernel (sequence number 0)."""
        return encode_message(self.msg_type, self.flags, 0, self.payload)


class ReplayTransport:
    """Answers each request with the next captured reply (a list of raw datagrams), one
    datagram per `receive`.

    An empty list, or a reply whose datagrams run out, stands for a kernel that went
    silent: `receive` raises NetlinkTimeout. `sent` records the requests, so tests can check
    what would have gone to the kernel. The replies carry the sequence numbers of their
    capture, so `send` answers None: accept any.
    """

    def __init__(self, replies: Sequence[Sequence[bytes]]) -> None:
        self._replies = [list(r) for r in replies]
        self._current: list[bytes] = []
        self.sent: list[SentRequest] = []

    def send(self, msg_type: int, flags: int, payload: bytes) -> int | None:
        """Record the request and queue its captured reply."""
        self.sent.append(SentRequest(msg_type=msg_type, flags=flags, payload=payload))
        if not self._replies:
            raise AssertionError("ReplayTransport: no captured reply left for this request")
        self._current = self._replies.pop(0)
        return None

    def receive(self, timeout: float) -> bytes:
        """The next captured datagram of the current reply."""
        if not self._current:
            raise NetlinkTimeout()
        return self._current.pop(0)
