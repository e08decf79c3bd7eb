"""The `probe` collector's documents, captured on a lab source host
(fixtures/remote_probe/capture.py), judged here: each gives the verdict a check from that
host gives, with the source as the vantage; a malformed or hostile document is one
DocumentError, never another exception."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from netdx.model.vantage import Vantage
from netdx.remote.probe import (
    DocumentError,
    FlowProbe,
    probe_request,
    read_flows,
    report_of,
    unsupported,
)
from netdx.target import parse_target

FIXTURES = Path(__file__).parent / "fixtures" / "remote_probe"
SOURCE = Vantage(kind="ssh", name="root@10.98.1.2")
TARGETS = {
    "open": "10.98.2.2:8080",
    "dropped": "10.98.2.2:9090",
    "rejected": "10.98.2.2:9091",
    "closed": "10.98.2.2:9092",
    "egress": "10.98.2.2:9093",
    "hosts_name": "db.vrm.test:8080",
    "no_name": "nowhere.vrm.test:8080",
    "web_health": "http://db.vrm.test:8081/health",
}


def document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def judged(name: str, doc: dict[str, Any] | None = None) -> Any:
    data, hosts = read_flows(doc if doc is not None else document(name))
    flow = FlowProbe(target=parse_target(TARGETS[name]), timeout=3.0)
    return report_of(data, 0, flow, hosts_text=hosts, observed_on=SOURCE)


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("open", "ok"),
        ("dropped", "port.filtered"),
        ("rejected", "firewall.reject_admin"),
        ("closed", "port.refused"),
        ("egress", "firewall.local_egress"),
        ("hosts_name", "ok"),
        ("no_name", "dns.resolver_unreachable"),
        ("web_health", "service.http_error"),
    ],
)
def test_captured_documents_get_the_checks_verdict(name: str, cause: str) -> None:
    """Each captured flow gets the cause a check from the source would give, observed there."""
    report = judged(name)
    assert report.verdict.cause == cause, report.verdict
    assert report.observed_on == SOURCE


def test_the_reject_names_its_sender_and_the_echo_is_matched() -> None:
    """The ICMP admin-prohibited keeps its type, code and sender from the error queue, and
    the raw socket's echo replies are matched to our echoes (the host is up)."""
    report = judged("rejected")
    port = next(s for s in report.steps if s.layer == "port")
    (tcp,) = port.evidence.tcp
    assert tcp.outcome == "icmp_error" and tcp.icmp is not None
    assert (tcp.icmp.icmp_type, tcp.icmp.icmp_code, tcp.icmp.sender) == (3, 13, "10.98.2.2")
    reach = next(s for s in report.steps if s.layer == "reach")
    (echo,) = reach.evidence.echo
    assert echo.status == "reply" and echo.received == 3 and echo.method == "raw"


def test_a_dropped_syn_is_a_timeout_and_the_route_is_the_sources() -> None:
    """No answer to the SYN within the connect's share of the budget: a timeout; the route
    names the source's own interface (from its ifindex, not this host's)."""
    report = judged("dropped")
    port = next(s for s in report.steps if s.layer == "port")
    (tcp,) = port.evidence.tcp
    assert tcp.outcome == "timeout" and tcp.timeout_ms > 0
    route = next(s for s in report.steps if s.layer == "route")
    (lookup,) = route.evidence.routes
    assert lookup.status == "ok" and lookup.interface == "ndx-vrMs1"
    # The source (root) sent the raw SYN: its own output rules are cleared, so the summary
    # does not hedge about them.
    (egress,) = port.evidence.egress
    assert egress.status == "clear"
    assert "could not be ruled out" not in report.verdict.summary


def test_the_sources_own_output_drop_is_named() -> None:
    """The raw SYN failed with EPERM on the source: blocked, so its own egress is the cause."""
    report = judged("egress")
    port = next(s for s in report.steps if s.layer == "port")
    (egress,) = port.evidence.egress
    assert egress.status == "blocked" and egress.errno == "EPERM"


def test_a_name_comes_from_the_sources_hosts_file() -> None:
    """getaddrinfo ran on the source; its hosts file pinned the address (source "hosts")."""
    report = judged("hosts_name")
    dns = next(s for s in report.steps if s.layer == "dns").evidence.dns
    assert dns is not None and dns.source == "hosts" and dns.nss is not None
    assert dns.nss.addresses == ("10.98.2.2",) and dns.nss.hosts_addresses == ("10.98.2.2",)


def flow_of(doc: dict[str, Any]) -> dict[str, Any]:
    flow: dict[str, Any] = doc["collectors"]["probe"]["data"]["flows"][0]
    return flow


def _set(path: str, value: object) -> dict[str, Any]:
    doc = copy.deepcopy(document("rejected"))
    node: Any = flow_of(doc)
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


@pytest.mark.parametrize(
    "doc",
    [
        _set("tcp.so_error", "111"),
        _set("tcp.ended", "yes"),
        _set("tcp.errqueue.0.cmsgs.0.2", "not hex"),
        _set("tcp.local", ["10.98.2.1"]),
        _set("echo.method", "telepathy"),
        _set("egress", {"sent": "no", "stage": "send", "errno": None}),
        _set("egress", {"sent": False, "stage": "later", "errno": None}),
        _set("echo.packets.0.data", None),
        _set("route.route", {"type": "unicast"}),
        _set("interfaces", {"x": "eth0"}),
        _set("address", "not an address"),
        _set("host", "10.98.2.3"),
        _set("error", "the probe did not finish within its timeout"),
    ],
)
def test_a_malformed_flow_is_one_document_error(doc: dict[str, Any]) -> None:
    """A value of the wrong shape or type anywhere in a flow: DocumentError, one line."""
    with pytest.raises(DocumentError) as caught:
        judged("rejected", doc)
    assert "\n" not in str(caught.value)


def test_a_document_without_the_probe_or_with_its_error_is_refused() -> None:
    """Not a collect document, a failed collector, a missing flow: DocumentError."""
    with pytest.raises(DocumentError):
        read_flows({"schema": "netdx.collect/0"})
    failed = document("open")
    failed["collectors"]["probe"]["error"] = "boom"
    with pytest.raises(DocumentError, match="boom"):
        read_flows(failed)
    empty = document("open")
    empty["collectors"]["probe"]["data"]["flows"] = []
    with pytest.raises(DocumentError, match="no answer for flow 1"):
        judged("open", empty)


def test_request_batches_the_flows_within_the_budget() -> None:
    """One collect request for a host's flows, each bounded by its timeout and the budget;
    a host-only target is refused with a reason before anything is sent; a URL is probed."""
    flows = [FlowProbe(target=parse_target("db:5432"), timeout=5.0),
             FlowProbe(target=parse_target("10.0.0.1:22"), timeout=1.0)]  # fmt: skip
    request = probe_request(flows, 2.0)
    assert request == {
        "collectors": ["probe"],
        "probes": [{"host": "db", "port": 5432, "family": None, "timeout": 2.0},
                   {"host": "10.0.0.1", "port": 22, "family": None, "timeout": 1.0}],
        "timeout": 2.0,
    }  # fmt: skip
    assert unsupported(parse_target("db:5432")) is None
    assert unsupported(parse_target("db")) is not None
    assert unsupported(parse_target("https://db/")) is None


def test_the_sources_own_resolv_conf_backs_the_dns_finding() -> None:
    """A name the source cannot resolve is judged with the source's own resolv.conf (read
    there, parsed here): its nameserver, not "no nameserver is configured"; a document
    without the file (an older collector) claims nothing about it."""
    report = judged("no_name")
    dns = report.steps[0].evidence.dns
    assert dns is not None and dns.configured_servers == ("10.98.2.2",), dns
    assert not any("no nameserver" in line for line in report.verdict.evidence)
    older = document("no_name")
    del older["collectors"]["probe"]["data"]["resolv_conf"]
    dns = judged("no_name", older).steps[0].evidence.dns
    assert dns is not None and dns.configured_servers == ()


def test_an_unreadable_resolv_conf_is_glibcs_default_and_search_comes_from_it() -> None:
    """As glibc: no file means 127.0.0.1; the search list is the file's (the nxdomain
    finding lists it)."""
    doc = document("no_name")
    data = doc["collectors"]["probe"]["data"]
    data["resolv_conf"], data["resolv_error"] = None, "No such file or directory"
    dns = judged("no_name", doc).steps[0].evidence.dns
    assert dns is not None and dns.configured_servers == ("127.0.0.1",)
    data["resolv_conf"] = "nameserver 10.98.2.2\nsearch vrm.test corp.test\n"
    dns = judged("no_name", doc).steps[0].evidence.dns
    assert dns is not None and dns.search == ("vrm.test", "corp.test")
    data["resolv_conf"] = 7
    with pytest.raises(DocumentError, match="resolv_conf"):
        judged("no_name", doc)
