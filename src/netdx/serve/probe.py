"""One `/probe`: the budget the scrape leaves, one `netdx check` within it, its outcome.

The budget is the module's timeout, capped by the scrape's own deadline: Prometheus sends
`X-Prometheus-Scrape-Timeout-Seconds` and drops an answer that comes later, so a probe that
ran its full module timeout would lose its result exactly when it matters (a filtered port
times out). `probe_budget` is pure; `run_probe` runs the check in a thread of its own on an
event loop of its own (a check's timings are measured on a loop that no other check can
hold up), and waits for it no longer than the budget allows.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING

from netdx.errors import CannotRun
from netdx.model.record import record
from netdx.model.report import Report
from netdx.model.target import Target
from netdx.options import TIMEOUT_MIN_S
from netdx.serve.config import ModuleConfig

if TYPE_CHECKING:
    from netdx.plan import CheckSettings

# Taken from the scrape timeout: Prometheus counts it from sending the request, and the
# answer still has to be built, rendered and sent back after the check's deadline (the
# check also takes a few ms past it to cancel its probes and judge). blackbox_exporter's
# timeout_offset has the same default.
SCRAPE_MARGIN_S = 0.5
# How long past its budget the check may run before the exporter answers without it (the
# check's own loop gives a probe that overruns its deadline 2 s more: a bug, not a result).
# It covers the check's own end (cancelling its probes, judging) on a busy machine, and stays
# below SCRAPE_MARGIN_S so that the answer still leaves inside the scrape deadline.
OVERRUN_GRACE_S = 0.35

PROBE_CAUSE_UNKNOWN = "unknown"


@record
class ProbeBudget:
    """The seconds a check gets, and where they came from."""

    seconds: float
    module_timeout: float
    scrape_timeout: float | None = None

    @property
    def cut_short(self) -> bool:
        """True when the scrape deadline left less than the module's timeout."""
        return self.seconds < self.module_timeout

    def describe(self) -> str:
        """One line for the debug text."""
        if self.scrape_timeout is None:
            return f"budget {self.seconds:g} s: the module's timeout (no scrape timeout sent)"
        if not self.cut_short:
            return (
                f"budget {self.seconds:g} s: the module's timeout (scrape timeout "
                f"{self.scrape_timeout:g} s)"
            )
        return (
            f"budget {self.seconds:g} s, CUT SHORT: the scrape timeout {self.scrape_timeout:g} s"
            f" minus a {SCRAPE_MARGIN_S:g} s margin is below the module's timeout "
            f"{self.module_timeout:g} s"
        )


def probe_budget(module_timeout: float, scrape_header: str | None) -> ProbeBudget:
    """The budget for a module's check under the scrape timeout header (None: not sent).
    ValueError when the header is not a positive number of seconds."""
    if scrape_header is None:
        return ProbeBudget(seconds=module_timeout, module_timeout=module_timeout)
    shown = f"X-Prometheus-Scrape-Timeout-Seconds {scrape_header[:40]!r}"
    try:
        scrape = float(scrape_header)
    except ValueError:
        raise ValueError(f"{shown}: not a number") from None
    if not math.isfinite(scrape) or scrape <= 0:
        raise ValueError(f"{shown}: not a positive number of seconds")
    usable = scrape - SCRAPE_MARGIN_S
    if usable < TIMEOUT_MIN_S:
        usable = scrape / 2  # a scrape timeout under the margin: answer inside it anyway
    seconds = round(min(module_timeout, usable), 3)
    return ProbeBudget(seconds=seconds, module_timeout=module_timeout, scrape_timeout=scrape)


@record
class ProbeOutcome:
    """What one probe gave: the check's report, or why there is none."""

    target: Target
    module: str
    budget: ProbeBudget
    duration_s: float
    report: Report | None = None
    error: str | None = None
    overran: bool = False  # the check ran past its budget and was abandoned

    @property
    def success(self) -> bool:
        return self.report is not None and self.report.verdict.ok

    @property
    def cause(self) -> str:
        """The verdict's cause; `unknown` when the check gave no report."""
        return self.report.verdict.cause if self.report is not None else PROBE_CAUSE_UNKNOWN


def run_probe(target: Target, module: ModuleConfig, budget: ProbeBudget) -> ProbeOutcome:
    """Run one check of `target` with `module`'s settings within `budget`; the calling
    thread waits at most the budget plus OVERRUN_GRACE_S. A check that cannot run
    (CannotRun) or overruns is an outcome with an error; bad input (UsageError: a module's
    family against a literal of the other) and bugs propagate."""
    settings = module.settings(budget.seconds)
    start = time.monotonic()
    report: Report | None = None
    error: str | None = None
    overran = False
    try:
        report = _in_own_thread(target, settings).result(
            timeout=budget.seconds + OVERRUN_GRACE_S
        )
    except TimeoutError:
        overran = True
        error = f"the check ran past its {budget.seconds:g} s budget and was abandoned"
    except CannotRun as exc:
        error = f"the check could not run: {exc}"
    return ProbeOutcome(
        target=target,
        module=module.name,
        budget=budget,
        duration_s=time.monotonic() - start,
        report=report,
        error=error,
        overran=overran,
    )


def _in_own_thread(target: Target, settings: CheckSettings) -> Future[Report]:
    """The check on an event loop of its own, in a daemon thread. The caller's wait is
    bounded even if the check is not: an abandoned check still ends on its own budget (the
    check's loop stops 2 s past its deadline at the latest), in the background."""
    from netdx.check import run_check

    future: Future[Report] = Future()

    def work() -> None:
        try:
            future.set_result(asyncio.run(run_check(target, settings)))
        except BaseException as exc:  # handed to the waiting request thread
            future.set_exception(exc)

    threading.Thread(target=work, name="netdx-serve-check", daemon=True).start()
    return future
