"""Lab records (`netdx.lab.record`): pid + start time identity, exclusive reservation, and
records that cannot point a teardown outside their own instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from netdx.lab import record
from netdx.lab.record import LabState, Proc


def test_a_process_is_its_pid_and_start_time() -> None:
    """A live pid with another start time (a recycled pid) is not the recorded process."""
    me = record.this_process()
    assert me.alive and me.pid == os.getpid()
    assert not Proc(pid=me.pid, start=me.start + 1).alive
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    assert record.start_time(child.pid) is None


def test_reserve_is_exclusive_and_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first reservation of an instance wins; the second leaves the first record alone."""
    monkeypatch.setattr(record, "RECORD_DIR", tmp_path / "labs")
    assert record.reserve("ab12", '{"scenario": "one"}')
    assert not record.reserve("ab12", '{"scenario": "two"}')
    assert record.read_all() == {"ab12": {"scenario": "one"}}
    assert [p.name for p in (tmp_path / "labs").iterdir()] == ["ab12.json"]
    assert record.new_instance({"ab12"}) != "ab12"


def test_record_round_trip_and_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A state reads back as written; a record naming another instance's namespace, or a
    malformed one, is ignored (teardown never follows it)."""
    monkeypatch.setattr(record, "RECORD_DIR", tmp_path)
    state = LabState(instance="00ff", scenario="healthy-flat", client="payment",
                     namespaces=("ndx-00ff-payment",), workdir="/tmp/ndx-lab-00ff",
                     processes=(Proc(pid=7, start=9),), owner=record.this_process(),
                     detached=True, user="root")  # fmt: skip
    record.write("00ff", state.to_json())
    (tmp_path / "0bad.json").write_text('{"scenario": "x", "namespaces": ["ndx-payment"]}')
    (tmp_path / "0bae.json").write_text('{"scenario": "x", "processes": [{"pid": "x"}]}')
    assert record.states() == [state]


def test_an_instance_prefixes_namespaces_not_interfaces() -> None:
    """An instance renames every namespace (switches too) and keeps the interface names,
    which only need to be unique inside a namespace (and fit IFNAMSIZ)."""
    from netdx.lab import load_scenario

    base = load_scenario("path-filtered-midway")
    built = base.with_prefix(record.prefix_of("0a1b"))
    assert len(built.namespaces) == len(base.namespaces)
    assert all(name.startswith("ndx-0a1b-") for name in built.namespaces)
    assert [n.removeprefix("ndx-0a1b-") for n in built.namespaces] == [
        n.removeprefix("ndx-") for n in base.namespaces
    ]
    ifnames = [i.ifname for h in built.hosts for i in h.interfaces]
    assert ifnames == [i.ifname for h in base.hosts for i in h.interfaces]
    assert all(len(name) <= 15 for name in ifnames)
