"""The flows expanded into the matrix of checks to run, and each check judged against its
expectation. Pure: no I/O, no clock.

A group on either side stands for every host in it: `from: web` × `to: db:5432` is one
case per web host per db host. An inventory host on the `to:` side is probed at its
`ansible_host`; a name the inventory does not know is probed as typed (DNS decides).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from netdx.errors import TargetError, UsageError
from netdx.model import Target
from netdx.model.record import record
from netdx.target import parse_target, port_number, redact
from netdx.verify.flows import LOCAL, Flow, FlowsFile
from netdx.verify.inventory import Inventory, InventoryHost

if TYPE_CHECKING:
    from netdx.model import Report

Outcome = Literal["pass", "fail", "error"]


@record
class Case:
    """One cell of the matrix: one source host, one destination, one expectation."""

    flow: Flow
    source_group: str  # the `from:` group, else the host's first group, else "local"
    source: InventoryHost | None  # None: `from: local`, the probes run here
    destination: str  # the `to:` as shown (inventory name and port, or as typed)
    destination_host: InventoryHost | None  # the inventory host of `to:`, when it is one
    target: Target

    @property
    def source_name(self) -> str:
        return LOCAL if self.source is None else self.source.name


@record
class Judgement:
    """A case's result: pass (as expected), fail (not as expected) or error (netdx could
    not run it), with the observed cause and one line that says why."""

    outcome: Outcome
    # The verdict's cause; for an error, why netdx could not run it when that has a cause
    # of its own (the source's `ssh.<status>`), else "".
    cause: str
    reason: str


def expand(flows: FlowsFile, inventory: Inventory | None) -> tuple[Case, ...]:
    """Every case of every flow, in file order; a name that is neither `local` nor in the
    inventory is a UsageError at the flow's line."""
    cases: list[Case] = []
    for flow in flows.flows:
        where = flows.where(flow)
        sources = _sources(flow, inventory, where)
        destinations = _destinations(flow, inventory, where)
        for group, source in sources:
            for shown, host, target in destinations:
                cases.append(
                    Case(
                        flow=flow,
                        source_group=group,
                        source=source,
                        destination=shown,
                        destination_host=host,
                        target=target,
                    )
                )
    return tuple(cases)


def _sources(
    flow: Flow, inventory: Inventory | None, where: str
) -> list[tuple[str, InventoryHost | None]]:
    if flow.source == LOCAL:
        return [(LOCAL, None)]
    if inventory is None:
        raise UsageError(f"{where}: from: {flow.source!r} names inventory hosts: give -i INVENTORY")
    host = inventory.host(
        flow.source
    )  # a name that is a host and a group is the host, as in Ansible
    if host is not None:
        return [(host.groups[0] if host.groups else "ungrouped", host)]
    members = inventory.members(flow.source)
    if members is None:
        raise UsageError(
            f"{where}: from: unknown group or host {flow.source!r} in {inventory.source}"
        )
    if not members:
        raise UsageError(f"{where}: from: group {flow.source!r} has no hosts")
    return [(flow.source, member) for member in members]


def _destinations(
    flow: Flow, inventory: Inventory | None, where: str
) -> list[tuple[str, InventoryHost | None, Target]]:
    to = flow.to
    if "://" not in to and not to.startswith("[") and inventory is not None:
        name, _, port_text = to.partition(":") if to.count(":") == 1 else (to, "", "")
        port = port_number(port_text) if port_text else None
        if port_text and port is None:
            raise UsageError(f"{where}: to: {to!r}: port must be a number from 1 to 65535")
        hosts = _named(inventory, name)
        if hosts is not None:
            if not hosts:
                raise UsageError(f"{where}: to: group {name!r} has no hosts")
            suffix = f":{port}" if port is not None else ""
            return [(f"{h.name}{suffix}", h, _target(h.address, port, where)) for h in hosts]
    try:
        return [(redact(to), None, parse_target(to))]  # a URL's password is never shown
    except TargetError as exc:
        raise UsageError(f"{where}: to: {exc}") from None


def _named(inventory: Inventory, name: str) -> tuple[InventoryHost, ...] | None:
    host = inventory.host(name)
    return (host,) if host is not None else inventory.members(name)


def _target(address: str, port: int | None, where: str) -> Target:
    text = f"[{address}]" if ":" in address else address
    try:
        return parse_target(f"{text}:{port}" if port is not None else text)
    except TargetError as exc:
        raise UsageError(f"{where}: to: ansible_host {exc}") from None


def judge(
    case: Case, report: Report | None, error: str | None = None, *, error_cause: str = ""
) -> Judgement:
    """Was the flow as expected? An expected deny passes only on a known cause of deny, and
    only on one of `deny_by` when the flow lists them: "blocked by the firewall" is not
    "the service is down". Without a report it is an error, with `error_cause` (an
    `ssh.*` status) as its cause when it has one."""
    if report is None:
        why = error or "netdx could not run this flow"
        return Judgement(outcome="error", cause=error_cause, reason=why)
    cause = report.verdict.cause
    if case.flow.expect == "allow":
        if report.verdict.ok:
            return Judgement(outcome="pass", cause=cause, reason="allowed, as expected")
        return Judgement(
            outcome="fail",
            cause=cause,
            reason=f"expected allow, got {cause}: {report.verdict.summary}",
        )
    if report.verdict.ok:
        return Judgement(
            outcome="fail", cause=cause, reason="expected deny, but the flow is allowed"
        )
    if cause == "unknown":
        return Judgement(
            outcome="fail",
            cause=cause,
            reason=f"expected deny, but netdx could not tell: {report.verdict.summary}",
        )
    if case.flow.deny_by and cause not in case.flow.deny_by:
        allowed = ", ".join(case.flow.deny_by)
        return Judgement(
            outcome="fail", cause=cause, reason=f"denied by {cause}, expected one of: {allowed}"
        )
    return Judgement(outcome="pass", cause=cause, reason=f"denied by {cause}, as expected")
