"""Running the matrix: each case's check, `--max-concurrent` at once, every one inside the
one `--deadline` and its own flow's timeout. The judgement is `netdx.verify.matrix`'s.

`from: local` runs `netdx check` here. A source host of the inventory needs the client
probes run ON that host over SSH; the collector does not ship them yet, so those cases are
reported as errors (exit 3), never run from here in their place: a check from this host
says nothing about the path from theirs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netdx.budget import Deadline
from netdx.errors import NetdxError
from netdx.options import TIMEOUT_MIN_S
from netdx.verify.matrix import Case, Judgement, judge

if TYPE_CHECKING:
    from netdx.model import Report
    from netdx.plan import CheckSettings

REMOTE_NOT_AVAILABLE = "remote source probes are not available yet"
# How long past a case's own timeout the runner waits before giving it up: `run_check`
# ends inside its budget; this only keeps a bug from hanging the whole matrix.
OVERRUN_S = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseResult:
    """One case, its check report (None when it could not run) and its judgement."""

    case: Case
    report: Report | None
    judgement: Judgement


Progress = Callable[[int, int, CaseResult], None]


async def run_cases(
    cases: tuple[Case, ...],
    *,
    deadline: Deadline,
    max_concurrent: int,
    progress: Progress | None = None,
) -> tuple[CaseResult, ...]:
    """Run every case and judge it; results in the order of `cases`."""
    gate = asyncio.Semaphore(max(1, max_concurrent))
    done = 0

    async def one(case: Case) -> CaseResult:
        nonlocal done
        async with gate:
            result = await _run_case(case, deadline)
        done += 1
        if progress is not None:
            progress(done, len(cases), result)
        return result

    return tuple(await asyncio.gather(*(one(case) for case in cases)))


async def _run_case(case: Case, deadline: Deadline) -> CaseResult:
    if case.source is not None:
        error = f"{REMOTE_NOT_AVAILABLE}: the probes must run on {case.source.name}, not here"
        return _error(case, error)
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


def _error(case: Case, message: str) -> CaseResult:
    first = message.strip().splitlines()[0] if message.strip() else "error"
    return CaseResult(case=case, report=None, judgement=judge(case, None, first))
