"""Running scenarios: one-shot (`run_scenario`), a lab left up (`up`/`down`), and `clean`.

`run_scenario` runs ``netdx <command> <check...> --json`` (command ``check`` or ``inspect``)
on the scenario's `runner` host (`run_on`, by default the client) and reads `verdict.cause`.
A scenario with ``ssh: HOST`` runs the check with ``--ssh`` against the lab's sshd on that
host, and its `expect_evidence` facts are read from the evidence the check wrote. The shared
SSH connection is opened first (`netdx who --ssh`, as a user's earlier command would have):
a cold connection on a loaded machine can arm the server's capture after the client's first
SYN, and then the capture rightly proves nothing, so the scenario would not show what it is
about. The connection is closed (`ssh -O exit`) before the lab is torn down.

A lab left up by ``netdx lab up`` is recorded in /run/netdx/lab.json so that ``lab down`` (a
later process) can remove exactly what it owns.
"""

from __future__ import annotations

import dataclasses
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

from netdx.errors import CannotRun, UsageError
from netdx.lab import netns
from netdx.lab.build import WORKDIR_PREFIX, Lab, LabState, teardown
from netdx.lab.loader import load_scenario
from netdx.lab.model import PREFIX, Scenario

STATE_FILE = Path("/run/netdx/lab.json")
CHECK_TIMEOUT = 30.0


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
        server's evidence holds and every expected warning is there."""
        return self.cause == self.expected and not self.missing_evidence and not (
            self.missing_warnings
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
    with tempfile.TemporaryDirectory(prefix="ndx-run-") as tmp, Lab(scenario) as lab:
        report = ""
        json_file = None
        extra = [*lab.ssh_argv(), *netdx_argv_extra]
        evidence_file = str(Path(tmp) / "evidence.json") if scenario.ssh else None
        if evidence_file is not None:
            extra += ["--evidence-file", evidence_file]
        if show_report and scenario.command == "check":
            json_file = str(Path(tmp) / "check.json")
        elif show_report:
            report = _run(report_argv(scenario, extra), timeout, env=_ssh_env(scenario, tmp))[1]
        argv = command_argv(scenario, extra, json_file=json_file)
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
    namespace = scenario.host(scenario.runner).namespace
    _run(netns.exec_argv(namespace, warm), timeout, env=_ssh_env(scenario, tmp))


def _close_ssh(lab: Lab, scenario: Scenario, tmp: str) -> None:
    """End the shared connections the run opened (they would outlive the lab by their
    ControlPersist time otherwise)."""
    options = lab.ssh_argv()
    if not scenario.ssh or not options:
        return
    namespace = scenario.host(scenario.runner).namespace
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
    """The verdict's cause in a `netdx.check/1` or `netdx.inspect/1` document."""
    if doc is None:
        return None
    verdict = doc.get("verdict")
    cause = verdict.get("cause") if isinstance(verdict, dict) else doc.get("cause")
    return cause if isinstance(cause, str) else None


def running_lab() -> LabState | None:
    """The lab recorded by `lab up`, or None (a stale record whose namespaces are gone is
    ignored)."""
    try:
        data = json.loads(STATE_FILE.read_text())
        state = LabState(
            scenario=str(data["scenario"]),
            client=str(data["client"]),
            namespaces=tuple(str(n) for n in data["namespaces"]),
            pids=tuple(int(p) for p in data["pids"]),
            workdir=str(data["workdir"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    existing = set(netns.list_namespaces())
    return state if any(name in existing for name in state.namespaces) else None


def up(name: str) -> LabState:
    """Build scenario `name` and leave it running; refuse if a lab is already up."""
    netns.require_root()
    current = running_lab()
    if current is not None:
        raise UsageError(f"lab: {current.scenario} is already up; run `netdx lab down` first")
    lab = Lab(load_scenario(name))
    state = lab.up()
    try:
        STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
        STATE_FILE.write_text(json.dumps(dataclasses.asdict(state), indent=2) + "\n")
    except OSError as exc:
        lab.down()
        raise CannotRun(f"lab: cannot record the lab in {STATE_FILE}: {exc.strerror}") from exc
    return lab.detach()


def down() -> LabState:
    """Remove the lab left up by `up`; `UsageError` if there is none."""
    netns.require_root()
    state = running_lab()
    STATE_FILE.unlink(missing_ok=True)
    if state is None:
        raise UsageError("lab: no lab is up (leftovers of a crash: `netdx lab clean`)")
    teardown(state)
    return state


def leftovers() -> list[str]:
    """Lab namespaces and /etc/netns directories that exist right now (what `clean` removes)."""
    found = netns.list_namespaces(PREFIX)
    if netns.NETNS_ETC.is_dir():
        found += sorted(p.name for p in netns.NETNS_ETC.glob(PREFIX + "*") if p.name not in found)
    return found


def clean() -> list[str]:
    """Remove every ``ndx-*`` namespace (killing what runs in it), /etc/netns/ndx-* and the
    lab's temp dirs; return the names removed. Everything with that prefix is the lab's."""
    netns.require_root()
    removed = netns.list_namespaces(PREFIX)
    for namespace in removed:
        netns.delete_namespace(namespace)
    if netns.NETNS_ETC.is_dir():
        for folder in sorted(netns.NETNS_ETC.glob(PREFIX + "*")):
            shutil.rmtree(folder, ignore_errors=True)
            if folder.name not in removed:
                removed.append(folder.name)
    for folder in Path(tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*"):
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
    STATE_FILE.unlink(missing_ok=True)
    return removed
