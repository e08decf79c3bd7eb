"""Running the matrix: each case's check, `--max-concurrent` at once, every one inside the
one `--deadline` and its own flow's timeout. The judgement is `netdx.verify.matrix`'s.

`from: local` runs `netdx check` here. A source host of the inventory runs the client
probes itself: its cases go, in one collect request, over one SSH connection
(`netdx.host.ssh.collect_once`, the `probe` collector), and the raw facts come back to be
judged here (`netdx.remote.probe`). `--max-concurrent` counts hosts (a local case is one).
A source that SSH cannot reach makes its flows errors whose cause is the `ssh.*` status
(`ssh.auth`, `ssh.unreachable`...) and whose reason is ssh's words (exit 3), never a check
from here in their place: a check from this host says nothing about the path from theirs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from netdx.budget import Deadline
from netdx.errors import NetdxError
from netdx.model.record import record
from netdx.options import TIMEOUT_MIN_S
from netdx.verify.matrix import Case, Judgement, judge

if TYPE_CHECKING:
    from netdx.model import Report
    from netdx.plan import CheckSettings

# How long past a case's own timeout the runner waits before giving it up: `run_check`
# ends inside its budget; this only keeps a bug from hanging the whole matrix.
OVERRUN_S = 2.0
# What a source host's SSH connection and python start may take beside the probes' time
# (the ConnectTimeout comes from the same budget, so a dead host ends inside it too).
SSH_ALLOWANCE_S = 10.0


@record
class CaseResult:
    """One case, its check report (None when it could not run) and its judgement."""

    case: Case
    report: Report | None
    judgement: Judgement


Progress = Callable[[int, int, CaseResult], None]


@record
class Unrun:
    """Why a case has no report: one line, and its cause when it has one (`ssh.auth`)."""

    reason: str
    cause: str = ""


async def run_cases(
    cases: tuple[Case, ...],
    *,
    deadline: Deadline,
    max_concurrent: int,
    progress: Progress | None = None,
) -> tuple[CaseResult, ...]:
    """Run every case and judge it; results in the order of `cases`. A source host's
    cases run together, over one SSH connection."""
    gate = asyncio.Semaphore(max(1, max_concurrent))
    done = 0
    results: dict[int, CaseResult] = {}

    def finished(index: int, result: CaseResult) -> None:
        nonlocal done
        results[index] = result
        done += 1
        if progress is not None:
            progress(done, len(cases), result)

    async def local(index: int, case: Case) -> None:
        async with gate:
            result = await _run_case(case, deadline)
        finished(index, result)

    async def remote(batch: list[tuple[int, Case]]) -> None:
        async with gate:
            found = await _run_source(tuple(case for _, case in batch), deadline)
        for (index, _), result in zip(batch, found, strict=True):
            finished(index, result)

    by_source: dict[str, list[tuple[int, Case]]] = {}
    units = []
    for index, case in enumerate(cases):
        if case.source is None:
            units.append(local(index, case))
        else:
            by_source.setdefault(case.source.name, []).append((index, case))
    units += [remote(batch) for batch in by_source.values()]
    await asyncio.gather(*units)
    return tuple(results[index] for index in range(len(cases)))


async def _run_case(case: Case, deadline: Deadline) -> CaseResult:
    budget = min(case.flow.timeout, deadline.remaining())
    if budget < TIMEOUT_MIN_S:
        return _error(case, "the --deadline ran out before this flow could run")
    try:
        settings = _settings(case, budget)
        report = await asyncio.wait_for(_check(case, settings), budget + OVERRUN_S)
    except NetdxError as exc:
        return _error(case, str(exc))
    except TimeoutError:
        return _error(case, f"the check did not end within its {budget:g} s budget")
    return CaseResult(case=case, report=report, judgement=judge(case, report))


# What a flow's check imports on first use (check keeps its imports lazy for its own start):
# loaded before verify's deadline starts, as a command's start-up, not inside the flows'
# budget, where on a loaded machine the first flows paid for it (0.8 s at a 0.3 s deadline).
_CHECK_MODULES = (
    "netdx.check", "netdx.plan", "netdx.diagnose.engine", "netdx.probes.tcp",
    "netdx.probes.icmp", "netdx.probes.route", "netdx.probes.recverr", "netdx.probes.egress",
    "netdx.probes.firewall", "netdx.probes.server", "netdx.probes.tcptrace", "netdx.probes.dns",
    "netdx.probes.http", "netdx.probes.tls", "netdx.probes.protocols", "netdx.probes.udp",
)  # fmt: skip


def load_check_modules() -> None:
    """Import what the flows' checks will need, before the clock starts."""
    import importlib

    for name in _CHECK_MODULES:
        importlib.import_module(name)


async def _check(case: Case, settings: CheckSettings) -> Report:
    from netdx.check import run_check

    return await run_check(case.target, settings)


def _settings(case: Case, budget: float) -> CheckSettings:
    from netdx.errors import CannotRun
    from netdx.plan import CheckSettings

    settings = CheckSettings(timeout=budget)
    if not case.flow.read_destination:
        return settings
    # `netdx check --ssh` (CheckSettings.ssh) arrives with issue 9's branches; until this
    # build has it, a flow that asks to read its destination says so instead of skipping it.
    if "ssh" not in {f.name for f in dataclasses.fields(CheckSettings)}:
        raise CannotRun("read_destination needs `netdx check --ssh`, which this build lacks")
    from netdx.host.ssh import SshOptions

    host = case.destination_host
    ssh = host.ssh_options() if host is not None else SshOptions(destination=case.target.host)
    extra: dict[str, Any] = {"ssh": ssh}  # Any: the field exists only with issue 9 merged
    return dataclasses.replace(settings, **extra)


async def _run_source(cases: tuple[Case, ...], deadline: Deadline) -> tuple[CaseResult, ...]:
    """One source host's cases: probed there in one collect request over one SSH
    connection, judged here. Every case gets its result, an error when it could not run."""
    from netdx.remote.probe import FlowProbe, unsupported

    out: dict[int, CaseResult] = {}
    wanted: list[tuple[int, FlowProbe]] = []
    for index, case in enumerate(cases):
        why = unsupported(case.target)
        if why is None and case.flow.read_destination:
            why = "read_destination from a remote source is not available yet"
        if why is not None:
            out[index] = _error(case, why)
        else:
            wanted.append((index, FlowProbe(target=case.target, timeout=case.flow.timeout)))
    if wanted:
        probes = tuple(probe for _, probe in wanted)
        found = await _probe_source(cases[0], probes, deadline)
        for (index, _), got in zip(wanted, found, strict=True):
            case = cases[index]
            out[index] = (
                _error(case, got.reason, got.cause) if isinstance(got, Unrun)
                else CaseResult(case=case, report=got, judgement=judge(case, got))
            )  # fmt: skip
    return tuple(out[index] for index in range(len(cases)))


async def _probe_source(
    case: Case, probes: tuple[Any, ...], deadline: Deadline
) -> list[Report | Unrun]:
    """Each probe's report, or why there is none (the same for all on an SSH failure: cause
    `ssh.<status>`, reason `ssh.<status>: <ssh's message>`)."""
    from netdx.host.ssh import collect_once_async
    from netdx.model.vantage import Vantage
    from netdx.remote.probe import DocumentError, probe_request, read_flows, report_of

    assert case.source is not None
    longest = max(p.timeout for p in probes)
    budget = min(longest, deadline.remaining() - 0.5)
    if budget < TIMEOUT_MIN_S:
        return [Unrun(reason="the --deadline ran out before this flow could run")] * len(probes)
    try:
        opts = case.source.ssh_options()
    except NetdxError as exc:
        return [Unrun(reason=str(exc))] * len(probes)
    request = probe_request(probes, budget)
    link = deadline.within(budget + SSH_ALLOWANCE_S)
    try:
        # On this event loop, not a thread each: `--max-concurrent` hosts really run at once.
        outcome, document = await asyncio.wait_for(
            collect_once_async(opts, request, link), link.remaining() + OVERRUN_S
        )
    except TimeoutError:
        why = f"ssh.timeout: no answer from {opts.destination} within the time budget"
        return [Unrun(reason=why, cause="ssh.timeout")] * len(probes)
    if outcome.status != "ok" or document is None:
        why = outcome.message or "the source's session ended without an answer"
        status = outcome.status if outcome.status != "ok" else "error"
        unrun = Unrun(reason=f"ssh.{status}: {why}", cause=f"ssh.{status}")
        return [unrun] * len(probes)
    where = Vantage(kind="ssh", name=opts.destination)
    try:
        data, hosts = read_flows(document)
    except DocumentError as exc:
        return [Unrun(reason=f"{case.source.name}: {exc}")] * len(probes)
    results: list[Report | Unrun] = []
    for index, probe in enumerate(probes):
        try:
            results.append(report_of(data, index, probe, hosts_text=hosts, observed_on=where))
        except DocumentError as exc:
            results.append(Unrun(reason=f"{case.source.name}: {exc}"))
    return results


def _error(case: Case, message: str, cause: str = "") -> CaseResult:
    first = message.strip().splitlines()[0] if message.strip() else "error"
    judgement = judge(case, None, first, error_cause=cause)
    return CaseResult(case=case, report=None, judgement=judgement)
