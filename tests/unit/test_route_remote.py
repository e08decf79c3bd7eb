"""`netdx route --ssh` plumbing on captured `route` collector documents (fixtures/route,
read in a lab namespace by the real collector): the query travels as checked data, the
facts are checked and judged like a local read, and a failure is one line with its exit."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from netdx.budget import Deadline
from netdx.collect.document import CollectRequest
from netdx.errors import CannotRun, UsageError
from netdx.host.ssh import SshOptions
from netdx.remote.checks import DocumentError
from netdx.remote.document import CollectDocument
from netdx.route import cli
from netdx.route.command import judge
from netdx.route.facts import route_facts

CAPTURED = json.loads((Path(__file__).parent / "fixtures/route/collected.json").read_text())
SSH = SshOptions(destination="admin@gw1")


def data(name: str) -> dict[str, Any]:
    return copy.deepcopy(CAPTURED[name]["collectors"]["route"]["data"])


def over_ssh(monkeypatch: pytest.MonkeyPatch, document: dict[str, Any], **flow: Any) -> Any:
    """`read_over_ssh` with the server's answer replaced by `document`; the request sent."""
    sent: list[dict[str, Any]] = []

    def fetch(_ssh: SshOptions, request: dict[str, Any], _deadline: Deadline) -> Any:
        sent.append(request)
        return CollectDocument.from_json(document)

    monkeypatch.setattr("netdx.remote.fetch.fetch_document", fetch)
    destination = flow.pop("destination", "10.94.5.5")
    args = {"source": None, "iif": None, "mark": None, **flow}
    report = cli.read_over_ssh(SSH, destination, deadline=Deadline.after(5.0), **args)
    return report, sent


def test_request_carries_the_query_as_checked_data() -> None:
    """The route query is parsed into the request (addresses normalised); a query with an
    unknown field or a mark out of range is refused with ValueError."""
    request = CollectRequest.from_json({"collectors": ["route"], "route": {
        "destination": "2001:DB8::0:1", "source": None, "iif": "eth0", "mark": 7}})
    assert request.collectors == ("route",)
    assert request.route == {"destination": "2001:db8::1", "source": None, "iif": "eth0",
                             "mark": 7}  # fmt: skip
    for bad in ({"destination": "10.0.0.1", "cmd": "x"}, {"destination": "10.0.0.1", "mark": -1},
                {"destination": "not-an-ip"}, {"destination": "10.0.0.1", "iif": "a/b"}):
        with pytest.raises(ValueError):
            CollectRequest.from_json({"collectors": ["route"], "route": bad})


def test_captured_policy_route_is_judged_like_a_local_read() -> None:
    """From 10.94.2.1 rule 1000 sends the lookup to table 100, via 10.94.2.254 on mc1,
    with the return path judged from the server's own rp_filter and route back."""
    report = judge(route_facts(data("policy")), "10.94.0.7", source="10.94.2.1", iif=None,
                   mark=None)  # fmt: skip
    assert report.status == "ok" and report.usable
    assert (report.table, report.gateway, report.interface) == ("100", "10.94.2.254", "mc1")
    assert report.rule is not None and report.rule.startswith("1000: from 10.94.2.1/32")
    assert report.return_path is not None and report.return_path.ok


def test_over_ssh_sends_only_the_route_collector_and_judges_its_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request asks the server for the `route` collector with the flow as data, and
    the captured blackhole answer reads as a blackhole route (not usable)."""
    report, sent = over_ssh(monkeypatch, CAPTURED["blackhole"], destination="10.94.5.5")
    assert sent[0]["collectors"] == ["route"]
    assert sent[0]["route"] == {"destination": "10.94.5.5", "source": None, "iif": None,
                                "mark": None}  # fmt: skip
    assert report.route_type == "blackhole" and not report.usable


def test_unknown_iif_on_the_server_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An --iif the server lacks is bad usage (exit 2) naming the server."""
    with pytest.raises(UsageError, match=r"nope0.*admin@gw1"):
        over_ssh(monkeypatch, CAPTURED["unknown_iif"], source="10.94.1.9", iif="nope0", mark=7)
    assert UsageError.exit_code == 2


def test_collector_failure_and_malformed_answer_are_one_line_exit_3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A collector that failed on the server, or facts of the wrong shape, become
    CannotRun (exit 3) with one line, never a traceback."""
    failed = copy.deepcopy(CAPTURED["blackhole"])
    failed["collectors"]["route"] = {"error": "Operation not permitted", "needs_root": True,
                                     "data": {}}  # fmt: skip
    with pytest.raises(CannotRun, match=r"route not read: Operation not permitted .*--sudo"):
        over_ssh(monkeypatch, failed)
    broken = copy.deepcopy(CAPTURED["blackhole"])
    broken["collectors"]["route"]["data"]["rules"][0]["priority"] = "high"
    with pytest.raises(CannotRun, match=r"unusable: route\.rules"):
        over_ssh(monkeypatch, broken)
    assert CannotRun.exit_code == 3


def test_malformed_facts_name_their_place() -> None:
    """A route answer with an unknown field is a DocumentError saying where."""
    bad = data("policy")
    bad["answer"]["shell"] = "rm -rf /"
    with pytest.raises(DocumentError, match=r"route\.answer"):
        route_facts(bad)
