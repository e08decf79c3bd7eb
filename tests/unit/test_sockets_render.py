"""Table, JSON and summary of a listing built from captured sockets, compared as exact text;
and the command-line helpers that need no kernel."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from netdx.netlink.diag import DiagSocket, parse_datagram
from netdx.sockets.cli import parse_port_spec
from netdx.sockets.model import OwnerScan, Process, ProcessIssue, SocketListing
from netdx.sockets.render import json_text, notes_text, summary, summary_json, table

FIXTURES = Path(__file__).parent / "fixtures" / "sockdiag"


def captured(case: str) -> list[DiagSocket]:
    """The sockets of one captured dump."""
    proto = "udp" if case.startswith("udp") else "tcp"
    out: list[DiagSocket] = []
    for line in (FIXTURES / f"{case}.hex").read_text().splitlines():
        if line.startswith("< "):
            out += parse_datagram(bytes.fromhex(line[2:]), proto).sockets
    return out


LISTING = SocketListing(sockets=(*captured("tcp6_listen"), *captured("udp4_all")))
NGINX = (Process(pid=42, command="nginx", user="www", uid=33), 6)  # holding it through fd 6


def owned() -> SocketListing:
    """LISTING with the first socket owned by nginx, the rest unknown."""
    scan = OwnerScan.of({LISTING.sockets[0].inode: (NGINX,)}, wanted=6, complete=False)
    return SocketListing(sockets=LISTING.sockets, owners=scan)


def test_table_matches_golden_text() -> None:
    """IPv6 in brackets, `*` for the dual-stack wildcard, UDP states, aligned columns."""
    assert table(LISTING, with_process=False).splitlines() == [
        "Proto State      Recv-Q Send-Q Local                 Peer",
        "tcp   LISTEN          0     16 [::1]:6379            [::]:*",
        "tcp   LISTEN          0     16 *:9000                *:*",
        "tcp   LISTEN          0     16 [::]:8443             [::]:*",
        "udp   UNCONN          0      0 0.0.0.0:5353          0.0.0.0:*",
        "udp   UNCONN          0      0 127.0.0.1:6000        0.0.0.0:*",
        "udp   ESTAB           0      0 127.0.0.1:40000       127.0.0.1:5353",
    ]


def test_table_with_process_column() -> None:
    """With -p the owner is shown as command(pid,fd,user); unknown owners leave it empty."""
    lines = table(owned(), with_process=True).splitlines()
    assert lines[0].endswith(" Process")
    assert lines[1].endswith(" nginx(pid=42,fd=6,user=www)")
    assert lines[2].endswith("*:*")


def test_json_objects_carry_the_contract_fields() -> None:
    """Each object has proto, state, local, remote, queues, uid, inode and, with -p, process."""
    doc = json.loads(json_text(owned(), with_process=True))
    assert doc["schema"] == "netdx.sockets/1"
    [first, *rest] = doc["sockets"]
    assert {"proto", "state", "local", "remote", "recv_q", "send_q", "uid", "inode"} <= set(first)
    assert first["process"] == {"pid": 42, "command": "nginx", "user": "www", "fd": 6}
    assert first["local"] == "[::1]:6379" and first["state"] == "LISTEN"
    assert rest[-1]["state"] == "ESTAB" and rest[-1]["process"] is None
    assert rest[-2]["uid"] == 65534


def test_summary_counts_states_and_ports() -> None:
    """--summary counts per protocol and state, then per state and service port."""
    text = summary(LISTING, with_process=False)
    assert text.splitlines()[:4] == [
        "6 sockets",
        "  tcp  LISTEN             3",
        "  udp  ESTAB              1",
        "  udp  UNCONN             2",
    ]
    assert "  udp  ESTAB       :5353          1" in text


def test_notes_say_what_could_not_be_read() -> None:
    """Sockets without a known owner are counted in the notes, with unreadable and exited
    processes; nothing is said when every socket has its owner."""
    assert notes_text(owned()) == ["5 socket(s) without a known owner: no process found"]
    issue = ProcessIssue(pid=7, command="sshd", reason="fds not readable (needs root)")
    scan = OwnerScan.of({}, unreadable=(issue,), vanished=2, complete=False)
    listing = SocketListing(sockets=LISTING.sockets[:1], owners=scan)
    assert notes_text(listing) == [
        "1 socket(s) without a known owner: some processes are not readable",
        "2 process(es) exited while /proc was read",
        "pid 7 (sshd): fds not readable (needs root)",
    ]
    whole = OwnerScan.of({s.inode: (NGINX,) for s in LISTING.sockets}, vanished=3)
    assert notes_text(SocketListing(sockets=LISTING.sockets, owners=whole)) == []


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [("80", (None, 80)), (":443", (None, 443)), ("10.0.0.1:22", ("10.0.0.1", 22)),
     ("[::1]:5432", ("::1", 5432))],
)  # fmt: skip
def test_port_spec(spec: str, parsed: tuple[str | None, int]) -> None:
    """who accepts PORT, :PORT, ADDR:PORT and [V6]:PORT."""
    assert parse_port_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["http", ":0", "host:80", ":70000"])
def test_bad_port_spec(spec: str) -> None:
    """A name, port 0 or out of range is a usage error."""
    with pytest.raises(click.BadParameter):
        parse_port_spec(spec)


def test_summary_json_carries_the_counts_and_its_schema() -> None:
    """`sockets --summary --json` (refused before) is netdx.sockets.summary/1 with the same
    counts as the text summary."""
    doc = json.loads(summary_json(LISTING, with_process=False))
    assert doc["schema"] == "netdx.sockets.summary/1" and doc["total"] == 6
    assert {"proto": "tcp", "state": "LISTEN", "count": 3} in doc["states"]
    assert sum(g["count"] for g in doc["groups"]) == 6
    assert all("process" not in g for g in doc["groups"])
