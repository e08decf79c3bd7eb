"""Running scenarios: one-shot (`run_scenario`), a lab left up (`up`/`down`), and `clean`.

`run_scenario` runs ``netdx <command> <check...> --json`` (command ``check``, ``inspect`` or
``trace``) on the scenario's `runner` host (`run_on`, by default the client) and reads
`verdict.cause` (a trace has no verdict: ``ok`` when the target answered, and the hops its
report calls rate-limited, against `expect_rate_limited`).
A scenario with ``ssh: HOST`` runs the check with ``--ssh`` against the lab's sshd on that
host, and its `expect_evidence` facts are read from the evidence the check wrote. The shared
SSH connection is opened first (`netdx who --ssh`, as a user's earlier command would have):
a cold connection on a loaded machine can arm the server's capture after the client's first
SYN, and then the capture rightly proves nothing, so the scenario would not show what it is
about. The connection is closed (`ssh -O exit`) before the lab is torn down.

Every lab is recorded in /run/netdx/labs/<instance>.json (`netdx.lab.record`) from before
its first namespace, so that ``lab down`` and ``lab clean`` (later processes) remove exactly
what it owns, however its builder died, and never a lab whose builder still runs.

What ``lab clean`` removes (and `leftovers` lists): the labs on record whose owner process
is gone and that were not left up on purpose (``lab up``); lab-instance namespaces
(``ndx-<4 hex>-*``) that no record names, once no process runs in them (a lab writes its
record before its first namespace, so such a namespace is debris, never a lab being
built); and the files a killed lab leaves in /tmp (``ndx-lab-*``, ``ndx-run-*``) that
no live record owns and that are older than `STALE_FILES` seconds. Namespaces of other
shapes (``ndx-dlm-c`` made by hand by a test) are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netdx.errors import UsageError
from netdx.lab import netns, record
from netdx.lab.build import WORKDIR_PREFIX, Lab, teardown
from netdx.lab.loader import load_scenario
from netdx.lab.model import PREFIX, Scenario
from netdx.lab.record import LabState

CHECK_TIMEOUT = 30.0
STALE_FILES = 600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """One ``netdx check`` (or ``inspect``) run inside a scenario: what it said and what it
    should have said."""

    scenario: str
    expected: str
    cause: str | None
    elapsed: float
    max_seconds: float
    returncode: int | None
    doc: Mapping[str, Any] | None
    stdout: str
    stderr: str
    expected_evidence: tuple[str, ...] = ()
    missing_evidence: tuple[str, ...] = ()
    expected_warnings: tuple[str, ...] = ()
    expected_rate_limited: tuple[int, ...] = ()

    @property
    def rate_limited(self) -> tuple[int, ...]:
        """The hops (TTLs) a trace's report calls that router's ICMP rate limit."""
        hops = self.doc.get("hops") if self.doc is not None else None
        if not isinstance(hops, list):
            return ()
        return tuple(int(h["ttl"]) for h in hops if isinstance(h, dict) and h.get("rate_limited"))

    @property
    def missing_rate_limited(self) -> tuple[int, ...]:
        """The expected rate-limited hops the trace's report does not call so."""
        return tuple(t for t in self.expected_rate_limited if t not in self.rate_limited)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The causes of the verdict's warnings."""
        verdict = self.doc.get("verdict") if self.doc is not None else None
        found = verdict.get("warnings") if isinstance(verdict, dict) else None
        if not isinstance(found, list):
            return ()
        return tuple(str(w["cause"]) for w in found if isinstance(w, dict) and "cause" in w)

    @property
    def missing_warnings(self) -> tuple[str, ...]:
        """The expected warnings the report does not carry."""
        return tuple(w for w in self.expected_warnings if w not in self.warnings)

    @property
    def matched(self) -> bool:
        """True when the verdict's cause is the expected one, every expected fact of the
        server's evidence holds, every expected warning is there and a trace calls every
        expected hop rate-limited."""
        return self.cause == self.expected and not self.missing_evidence and not (
            self.missing_warnings or self.missing_rate_limited
        )

    @property
    def in_time(self) -> bool:
        """True when the check finished within the scenario's max seconds."""
        return self.elapsed <= self.max_seconds


def command_argv(
    scenario: Scenario, extra: Sequence[str] = (), *, json_file: str | None = None
) -> list[str]:
    """``netdx <command> <check...>`` run in the namespace of the scenario's `runner` host:
    JSON on stdout, or with `json_file` (check only: inspect has no --json-file) the
    terminal report on stdout and the JSON in that file."""
    if json_file and scenario.command != "check":
        raise ValueError(f"netdx {scenario.command} has no --json-file")
    output = ["--json-file", json_file] if json_file else ["--json"]
    command = [sys.executable, "-m", "netdx", *scenario.argv, *extra, *output]
    return netns.exec_argv(scenario.host(scenario.runner).namespace, command)


def report_argv(scenario: Scenario, extra: Sequence[str] = ()) -> list[str]:
    """The command without any JSON option: its terminal report only."""
    command = [sys.executable, "-m", "netdx", *scenario.argv, *extra]
    return netns.exec_argv(scenario.host(scenario.runner).namespace, command)


def run_scenario(
    name: str | Scenario,
    *,
    netdx_argv_extra: Sequence[str] = (),
    timeout: float = CHECK_TIMEOUT,
    show_report: bool = False,
) -> RunResult:
    """Build the scenario, run ``netdx <command>`` on its `runner` host (killed after
    `timeout` seconds), parse the verdict, tear everything down. With `show_report` stdout
    holds the terminal report (the JSON still comes back in `doc`): check writes both in one
    run; inspect, which has no --json-file, runs once for the report, then timed for JSON."""
    scenario = load_scenario(name) if isinstance(name, str) else name
    with Lab(scenario) as lab:
        # The run's files live in the lab's dir: removed with it, or by `lab clean`.
        assert lab.workdir is not None
        tmp = str(lab.workdir / "run")
        Path(tmp).mkdir(mode=0o700)
        report = ""
        json_file = None
        extra = [*lab.ssh_argv(), *netdx_argv_extra]
        evidence_file = str(Path(tmp) / "evidence.json") if scenario.ssh else None
        if evidence_file is not None:
            extra += ["--evidence-file", evidence_file]
        if show_report and scenario.command == "check":
            json_file = str(Path(tmp) / "check.json")
        elif show_report:
            report = _run(report_argv(lab.scenario, extra), timeout,
                          env=_ssh_env(scenario, tmp))[1]
        # lab.scenario: the scenario with this instance's namespaces.
        argv = command_argv(lab.scenario, extra, json_file=json_file)
        _warm_ssh(lab, scenario, tmp, timeout)
        start = time.monotonic()
        returncode, stdout, stderr = _run(argv, timeout, env=_ssh_env(scenario, tmp))
        elapsed = time.monotonic() - start
        _close_ssh(lab, scenario, tmp)
        doc = _parse_json(_read(json_file) if json_file else stdout)
        missing = _missing_evidence(scenario, _read(evidence_file) if evidence_file else "")
    return RunResult(
        scenario=scenario.name,
        expected=scenario.expect,
        cause=_cause(doc),
        elapsed=round(elapsed, 3),
        max_seconds=scenario.max_seconds,
        returncode=returncode,
        doc=doc,
        stdout=report or stdout,
        stderr=stderr,
        expected_evidence=scenario.expect_evidence,
        missing_evidence=missing,
        expected_warnings=scenario.expect_warnings,
        expected_rate_limited=scenario.expect_rate_limited,
    )


def _missing_evidence(scenario: Scenario, text: str) -> tuple[str, ...]:
    """The scenario's expected facts that the server's evidence does not show (all of them
    when the check wrote no readable evidence)."""
    if not scenario.expect_evidence:
        return ()
    from netdx.lab.evidence import missing
    from netdx.model.codec import CodecError, from_data
    from netdx.model.evidence import CheckEvidence

    data = _parse_json(text)
    if data is None:
        return scenario.expect_evidence
    try:
        evidence = from_data(CheckEvidence, data)
    except CodecError:
        return scenario.expect_evidence
    return missing(scenario.expect_evidence, evidence.remote)


def _warm_ssh(lab: Lab, scenario: Scenario, tmp: str, timeout: float) -> None:
    """Open the run's shared SSH connection (ControlMaster) before the timed command."""
    if not scenario.ssh:
        return
    warm = [sys.executable, "-m", "netdx", "who", ":1", *lab.ssh_argv()]
    namespace = lab.scenario.host(scenario.runner).namespace  # this instance's namespace
    _run(netns.exec_argv(namespace, warm), timeout, env=_ssh_env(scenario, tmp))


def _close_ssh(lab: Lab, scenario: Scenario, tmp: str) -> None:
    """End the shared connections the run opened (they would outlive the lab by their
    ControlPersist time otherwise)."""
    options = lab.ssh_argv()
    if not scenario.ssh or not options:
        return
    namespace = lab.scenario.host(scenario.runner).namespace
    for control in (Path(tmp) / "cache" / "netdx" / "ssh").glob("*"):
        argv = ["ssh", "-o", f"ControlPath={control}", "-O", "exit", options[1]]
        _run(netns.exec_argv(namespace, argv), 10.0)


def _ssh_env(scenario: Scenario, tmp: str) -> dict[str, str] | None:
    """With `ssh:`, the check's shared SSH connections live in the run's temp dir, not in
    the user's cache: nothing of a lab outlives it, and no lab reuses another's link."""
    if not scenario.ssh:
        return None
    return {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}


def _run(
    argv: Sequence[str], timeout: float, *, env: Mapping[str, str] | None = None
) -> tuple[int | None, str, str]:
    """Run argv, killed after `timeout` seconds: (returncode or None, stdout, stderr)."""
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except subprocess.TimeoutExpired as exc:
        return None, _text(exc.stdout), _text(exc.stderr) + f"\nkilled after {timeout:g} s"
    return proc.returncode, proc.stdout, proc.stderr


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def _parse_json(stdout: str) -> Mapping[str, Any] | None:
    try:
        doc = json.loads(stdout)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _cause(doc: Mapping[str, Any] | None) -> str | None:
    """The verdict's cause in a `netdx.check/1` or `netdx.inspect/1` document; for a
    `netdx.trace/1` report, which judges no cause, ``ok`` when the target answered."""
    if doc is None:
        return None
    from netdx.trace.report import SCHEMA as TRACE_SCHEMA

    if doc.get("schema") == TRACE_SCHEMA:
        return "ok" if doc.get("reached") is True else None
    verdict = doc.get("verdict")
    cause = verdict.get("cause") if isinstance(verdict, dict) else doc.get("cause")
    return cause if isinstance(cause, str) else None


def labs() -> list[LabState]:
    """Every lab on record, oldest instance name first."""
    return record.states()


def running_lab() -> LabState | None:
    """The one lab left up by `lab up` for this user (None if none, or if several are up:
    then name one)."""
    mine = _detached_of_user()
    return mine[0] if len(mine) == 1 else None


def _detached_of_user() -> list[LabState]:
    user = record.current_user()
    return [s for s in labs() if s.detached and s.user == user and _exists(s)]


def _exists(state: LabState) -> bool:
    existing = set(netns.list_namespaces(record.prefix_of(state.instance)))
    return any(name in existing for name in state.namespaces)


def _abandoned(state: LabState) -> bool:
    """A lab nobody will remove: its builder died before it was up (or before its
    teardown finished), or a left-up lab whose namespaces are all gone."""
    if state.detached:
        return not _exists(state)
    return not state.owner_alive


def up(name: str) -> LabState:
    """Build scenario `name` as a new lab instance and leave it running."""
    netns.require_root()
    lab = Lab(load_scenario(name))
    lab.up()
    return lab.detach()


def down(instance: str | None = None) -> LabState:
    """Remove the lab `instance` (whoever built it), or without one: every abandoned lab
    (a crashed build) and this user's one lab left up; `UsageError` if there is none, or
    if this user has several up (name one)."""
    netns.require_root()
    if instance is not None:
        found = [s for s in labs() if s.instance == instance]
        if not found:
            up_now = ", ".join(s.instance for s in labs()) or "none"
            raise UsageError(f"lab: no lab {instance!r} is up (up: {up_now})"
                             if record.INSTANCE.match(instance)
                             else f"lab: {instance!r} is not a lab instance (4 hex digits)")
        teardown(found[0])
        return found[0]
    mine = _detached_of_user()
    if len(mine) > 1:
        names = ", ".join(f"{s.instance} ({s.scenario})" for s in mine)
        raise UsageError(f"lab: several labs are up: {names}; name one: netdx lab down INSTANCE")
    abandoned = [s for s in labs() if _abandoned(s)]
    for state in abandoned:
        teardown(state)
    if mine:
        teardown(mine[0])
        return mine[0]
    if abandoned:
        return abandoned[-1]
    raise UsageError("lab: no lab is up (leftovers of a crash: `netdx lab clean`)")


def _orphans() -> list[str]:
    """Lab-instance namespaces that no record names and in which nothing runs."""
    recorded = {name for s in labs() for name in s.namespaces}
    return [
        name for name in netns.list_namespaces(PREFIX)
        if record.INSTANCE_NAMESPACE.match(name) and name not in recorded
        and not netns.namespace_pids(name)
    ]


def leftovers() -> list[str]:
    """What `clean` would remove, plus the labs this very process still holds: namespaces
    and /etc/netns directories (names). Another process's live lab and labs left up on
    purpose are not leftovers."""
    from netdx.lab import fleet

    me = record.this_process()
    found: set[str] = set(_orphans()) | set(fleet.leftovers())
    for state in labs():
        if _abandoned(state) or state.owner == me:
            found.update(state.namespaces)
    existing = set(netns.list_namespaces(PREFIX))
    etc = netns.NETNS_ETC
    return sorted(n for n in found if n in existing or (etc / n).is_dir())


def clean() -> list[str]:
    """Remove every abandoned lab (namespaces, processes by pid and start time, /etc/netns
    files, work dir, record), the orphan lab-instance namespaces, an abandoned fleet lab
    and the stale files labs leave in /tmp; never a lab whose builder still runs nor one
    left up. Return the names of the namespaces removed."""
    netns.require_root()
    removed: list[str] = []
    for state in labs():
        if _abandoned(state):
            existing = set(netns.list_namespaces(record.prefix_of(state.instance)))
            removed += [n for n in state.namespaces if n in existing]
            teardown(state)
    for name in _orphans():
        netns.delete_namespace(name)
        removed.append(name)
    from netdx.lab import fleet

    removed += fleet.clean()  # the fleet lab's `ndx-fl-` hosts, when its builder is gone
    _clean_files()
    return sorted(removed)


def _clean_files() -> None:
    """/tmp/ndx-lab-* and /tmp/ndx-run-* that no recorded lab owns, after `STALE_FILES`
    seconds (a lab of an older netdx may be using a young one), and /etc/netns dirs of
    instance namespaces that are gone."""
    live = {str(record.workdir_of(s.instance)) for s in labs()}
    now = time.time()
    for pattern in (WORKDIR_PREFIX + "*", "ndx-run-*"):
        for path in Path(tempfile.gettempdir()).glob(pattern):
            try:
                young = now - path.lstat().st_mtime < STALE_FILES
            except OSError:
                continue
            if str(path) in live or young:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    if netns.NETNS_ETC.is_dir():
        existing = set(netns.list_namespaces(PREFIX))
        recorded = {name for s in labs() for name in s.namespaces}
        for folder in netns.NETNS_ETC.glob(PREFIX + "*"):
            name = folder.name
            if record.INSTANCE_NAMESPACE.match(name) and name not in existing | recorded:
                shutil.rmtree(folder, ignore_errors=True)
