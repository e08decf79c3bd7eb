"""Every server-side and DNS command's JSON says where it was observed (issue 8): a top-level
`observed_on` right after `schema`, in check's encoding of `Vantage` (`{"kind": "local"}` for
this host, `{"kind": "netns", "name": X}` for a namespace).

The commands are run for real on this host (read-only: the sockets and the ruleset of the
root namespace, DNS to a silent loopback port); the namespace case goes through the
renderers and writers with a Vantage passed in, and through the commands with `here()` (the
one function --netns and `ip netns exec` answer through) reporting a namespace.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netlink_capture import load_case
from test_sockdiag import CASES, FIXTURES

from netdx.budget import Deadline
from netdx.cli import main
from netdx.dns.render import DnsReport, to_json
from netdx.firewall.cli import with_vantage
from netdx.firewall.diff import Snapshot, snapshot_from_json, snapshot_to_json
from netdx.firewall.explain import to_json as explain_json
from netdx.firewall.sources import Capture
from netdx.model.codec import to_data
from netdx.model.firewall import FirewallMatch
from netdx.model.server import ServerEvidence
from netdx.model.vantage import THIS_HOST, Vantage, in_netns, vantage_data
from netdx.netlink.fake import ReplayTransport
from netdx.sockets import render
from netdx.sockets.dump import list_sockets
from netdx.sockets.inspect import inspect_evidence
from netdx.sockets.model import OwnerScan, SocketListing, SocketQuery
from netdx.sockets.stream import stream_listing

HERE = {"kind": "local"}
NETNS = in_netns("ndx-vantage")
THERE = {"kind": "netns", "name": "ndx-vantage"}


def head(doc: dict[str, Any]) -> list[str]:
    return list(doc)[:2]


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """`netdx ARGV` in this process; its JSON document."""
    main(list(argv))
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


@pytest.fixture
def silent_udp() -> Iterator[int]:
    """A loopback UDP port that never answers: a DNS query to it times out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


# --- check's encoding ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", [THIS_HOST, NETNS, Vantage(kind="ssh", name="admin@web1")])
def test_vantage_data_is_checks_encoding(where: Vantage) -> None:
    """The commands write a Vantage exactly as check's JSON does (the codec, None left out)."""
    assert vantage_data(where) == to_data(where, omit_none=True)


# --- this host: the commands themselves ---------------------------------------------------------


def test_streamed_sockets_json_says_this_host() -> None:
    """`netdx sockets -t --json` (the no-click fast path) names this host after its schema."""
    proc = subprocess.run([sys.executable, "-m", "netdx", "sockets", "-t", "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    doc = json.loads(proc.stdout)
    assert head(doc) == ["schema", "observed_on"]
    assert doc["observed_on"] == HERE


@pytest.mark.parametrize("argv", [
    ("sockets", "-t", "--json"),                          # streamed through click
    ("sockets", "-t", "--src", "127.0.0.0/8", "--json"),  # filtered: the renderer
    ("sockets", "--summary", "--json"),
    ("who", ":1", "--json"),
    ("inspect", "--port", "1", "--json"),
    ("firewall", "explain", "--from", "127.0.0.1", "--to", "127.0.0.1:1", "--json"),
])  # fmt: skip
def test_command_json_says_this_host(argv: tuple[str, ...],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Each server-side command's JSON names this host right after its schema."""
    doc = run(*argv, capsys=capsys)
    assert head(doc) == ["schema", "observed_on"]
    assert doc["observed_on"] == HERE


def test_firewall_snapshot_says_this_host(capsys: pytest.CaptureFixture[str]) -> None:
    """`netdx firewall snapshot` names this host after its schema."""
    doc = run("firewall", "snapshot", capsys=capsys)
    assert head(doc) == ["schema", "observed_on"]
    assert doc["observed_on"] == HERE


@pytest.mark.parametrize("trace", [False, True])
def test_dns_json_says_this_host(trace: bool, silent_udp: int, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`netdx dns --json` (and --trace, from a loopback root) names this host after its
    schema."""
    argv = ["dns", "example.test.", "--json", "--timeout", "0.5", "--server-timeout", "0.1"]
    if trace:
        hints = tmp_path / "root.hints"  # a root on loopback: nothing leaves the host
        hints.write_text(".  3600000  NS  a.root-servers.net.\n"
                         "a.root-servers.net.  3600000  A  127.0.0.2\n")  # fmt: skip
        argv += ["--trace", "--root-hints", str(hints)]
    else:
        argv += ["@127.0.0.1", "--port", str(silent_udp)]
    main(argv)
    doc = json.loads(capsys.readouterr().out)
    assert head(doc) == ["schema", "observed_on"]
    assert doc["observed_on"] == HERE


# --- a namespace: --netns's plumbing (here()) and the renderers with a Vantage ----------------


@pytest.mark.parametrize("argv", [
    ("sockets", "-t", "--json"),
    ("sockets", "-t", "--src", "127.0.0.0/8", "--json"),
    ("who", ":1", "--json"),
    ("firewall", "explain", "--from", "127.0.0.1", "--to", "127.0.0.1:1", "--json"),
])  # fmt: skip
def test_commands_name_the_namespace_they_run_in(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a namespace (what --netns enters, `here()` tells) the command's JSON names it."""
    monkeypatch.setattr("netdx.host.netns.here", lambda: NETNS)
    doc = run(*argv, capsys=capsys)
    assert doc["observed_on"] == THERE


@pytest.mark.parametrize("process", [False, True])
def test_streamed_writers_and_renderer_name_the_namespace_alike(process: bool) -> None:
    """The streamed JSON writers (with and without owners) write the namespace in their
    header, byte for byte as the renderer does from a listing that carries it."""
    case = sorted(CASES)[0]
    replies = [load_case(FIXTURES, case)[1]]
    query = SocketQuery(protocols=(CASES[case]["proto"],), families=(CASES[case]["family"],))
    listing = list_sockets(query, deadline=Deadline.after(5), source=ReplayTransport(replies))
    scan = OwnerScan(wanted=len(listing.sockets)) if process else None
    listing = SocketListing(sockets=listing.sockets, owners=scan, notes=listing.notes,
                            observed_on=NETNS)  # fmt: skip
    out = io.StringIO()
    stream_listing(query, deadline=Deadline.after(5), out=out, as_json=True, process=process,
                   ifnames={}, source=ReplayTransport(replies), observed_on=NETNS,
                   owners=None if scan is None else (lambda inodes: scan))  # fmt: skip
    rendered = render.json_text(listing, with_process=process)
    assert out.getvalue() == rendered + "\n"
    assert json.loads(out.getvalue())["observed_on"] == THERE
    assert head(json.loads(rendered)) == ["schema", "observed_on"]


def test_empty_stream_names_the_namespace() -> None:
    """A listing with no socket at all still says where it looked."""
    out = io.StringIO()
    stream_listing(SocketQuery(protocols=("tcp",), families=(4,)), deadline=Deadline.after(5),
                   out=out, as_json=True, process=False, ifnames={},
                   source=ReplayTransport([[]]), observed_on=NETNS)  # fmt: skip
    doc = json.loads(out.getvalue())
    assert doc["sockets"] == [] and doc["observed_on"] == THERE


def test_who_and_summary_name_the_namespace() -> None:
    """who's document (its port and address after observed_on) and the summary say it."""
    listing = SocketListing(sockets=(), observed_on=NETNS)
    who = json.loads(render.json_text(listing, with_process=True, schema=render.WHO_SCHEMA,
                                      head={"port": 53, "address": None}))  # fmt: skip
    assert list(who)[:4] == ["schema", "observed_on", "port", "address"]
    assert who["observed_on"] == THERE
    summary = json.loads(render.summary_json(listing, with_process=False))
    assert head(summary) == ["schema", "observed_on"] and summary["observed_on"] == THERE


def test_inspect_document_names_the_namespace() -> None:
    """inspect's document names the namespace its server evidence was read in."""
    doc = render.inspect_document(inspect_evidence(ServerEvidence(port=1, observed_on=NETNS)))
    assert head(doc) == ["schema", "observed_on"] and doc["observed_on"] == THERE


def test_firewall_explain_keeps_ssh_last_and_names_a_namespace_first() -> None:
    """explain: a namespace right after schema; over SSH the key stays last, as before."""
    match = FirewallMatch(hook="input", decision="accept")
    doc = with_vantage(explain_json(match), NETNS)
    assert head(doc) == ["schema", "observed_on"] and doc["observed_on"] == THERE
    ssh = with_vantage(explain_json(match), Vantage(kind="ssh", name="admin@web1"))
    assert list(ssh)[-1] == "observed_on"
    assert ssh["observed_on"] == {"kind": "ssh", "name": "admin@web1"}


def test_snapshot_keeps_its_namespace_through_a_file() -> None:
    """A snapshot names its namespace after its schema, and reading it back keeps it."""
    snap = Snapshot(capture=Capture(), taken_at="2026-12-04T05:00:00+00:00", host="h",
                    observed_on=NETNS)  # fmt: skip
    doc = json.loads(json.dumps(snapshot_to_json(snap)))
    assert head(doc) == ["schema", "observed_on"] and doc["observed_on"] == THERE
    assert snapshot_from_json(doc) == snap
    del doc["observed_on"]  # a snapshot of an earlier netdx: this host's
    assert snapshot_from_json(doc).observed_on == THIS_HOST


def test_dns_document_names_the_namespace() -> None:
    """dns's document (and a trace's) names where the queries were sent from."""
    doc = json.loads(to_json(DnsReport(observed_on=NETNS)))
    assert head(doc) == ["schema", "observed_on"] and doc["observed_on"] == THERE
