"""The server's side of a check over SSH (--ssh): open, arm, let the probes run, read again.

    start ─ OpenServer (beside DNS; for an IP target once its route names our source address)
            └─ armed, failed, or SSH_ARM_MAX_S passed ─ the connects may start (`when_armed`)
    every address done ─ CollectServer: "go", the second read, the join → RemoteEvidence

The session is one long piece of I/O in the driver; the plan sees it as two probes and a
gate. Nothing here waits: the gate is a list of steps to run once the arm result came.
"""

from __future__ import annotations

from collections.abc import Callable

from netdx.model import RouteLookup
from netdx.plan import limits
from netdx.plan.desk import Desk
from netdx.plan.requests import WHOLE, Budget, CollectServer, OpenServer, ServerArmed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.model.remote import RemoteEvidence
    from netdx.plan.requests import Result

# The wait for the arm: a small cap, so that a slow link never holds the client's probes.
ARM = Budget(cap_s=limits.SSH_ARM_MAX_S, share=limits.SSH_ARM_SHARE)


class ServerPlan:
    """The --ssh step of one check: when to open, when the client may probe, when to read."""

    def __init__(self, desk: Desk, port: int) -> None:
        self._desk = desk
        self._port = port
        self._opened = False
        self._armed: bool | None = None  # None: the arm result has not come yet
        self._waiting: list[Callable[[], None]] = []
        self._collecting = False
        self.evidence: RemoteEvidence | None = None

    def open(self, client: str | None) -> None:
        """Open the session (once): `client` is our source address when already known."""
        if self._opened:
            return
        self._opened = True
        self._desk.ask(
            lambda i: OpenServer(id=i, budget=ARM, port=self._port, client=client),
            self._on_armed,
        )

    def route_known(self, route: RouteLookup | None) -> None:
        """The first address's route came: open now, with the source address it names."""
        ok = route is not None and route.status == "ok"
        self.open(route.source if ok and route is not None else None)

    def when_armed(self, step: Callable[[], None]) -> None:
        """Run `step` once the server is armed, failed, or the arm wait ran out (at once when
        no session was opened: nothing to wait for)."""
        if self._opened and self._armed is None:
            self._waiting.append(step)
        else:
            step()

    def _on_armed(self, result: Result) -> None:
        # A NotRun (the cap passed first) opens the gate as surely as an answer does.
        self._armed = isinstance(result, ServerArmed) and result.armed
        waiting, self._waiting = self._waiting, []
        for step in waiting:
            step()

    def collect(self, address: str | None, client: str | None) -> None:
        """The client's probes are done: ask for the server's second read and the join (only
        when a session was opened, once)."""
        if not self._opened or self._collecting:
            return
        self._collecting = True
        armed = bool(self._armed)
        self._desk.ask(
            lambda i: CollectServer(
                id=i, budget=WHOLE, port=self._port, address=address, client=client, armed=armed
            ),
            self._on_collected,
        )

    def _on_collected(self, result: Result) -> None:
        from netdx.model.remote import RemoteEvidence  # --ssh's: loaded by the join already

        if isinstance(result, RemoteEvidence):
            self.evidence = result
