"""`--ssh` on the server-side commands, with the SSH link replaced by a fake that answers
with a real captured document: the output is the local commands' own (plus where it was
observed); an SSH failure or an unusable document is one line and exit 3; hostile text in
the arguments is refused (exit 2) or travels as data inside the request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netdx.cli import main
from netdx.host import ssh as ssh_module
from netdx.model.remote import SshOutcome

FIXTURE = Path(__file__).parent / "fixtures" / "remote" / "document.json"
DEST = "root@db"


def document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


class Link:
    """The fake link: records each request, answers with `answer`."""

    def __init__(self, answer: dict[str, Any] | None, status: str = "ok", message: str = ""):
        self.answer = answer
        self.outcome = SshOutcome(destination=DEST, status=status, message=message)  # type: ignore[arg-type]
        self.requests: list[dict[str, Any]] = []
        self.afters = 0

    def collect_once(self, opts: Any, request: dict[str, Any], deadline: Any) -> Any:
        assert opts.destination == DEST and deadline.remaining() > 0
        self.requests.append(request)
        return self.outcome, self.answer

    def session(self) -> type:
        link = self

        class Session:
            outcome = link.outcome

            @classmethod
            async def open(cls, opts: Any, request: dict[str, Any], deadline: Any) -> Any:
                link.requests.append(request)
                return cls()

            async def before(self) -> dict[str, Any] | None:
                return link.answer

            async def after(self) -> dict[str, Any] | None:
                link.afters += 1
                return link.answer

            async def close(self) -> None:
                pass

        return Session


@pytest.fixture
def link(monkeypatch: pytest.MonkeyPatch) -> Link:
    fake = Link(document())
    monkeypatch.setattr(ssh_module, "collect_once", fake.collect_once)
    monkeypatch.setattr(ssh_module, "SshSession", fake.session())
    return fake


def test_sockets_over_ssh_lists_the_servers_sockets(
    link: Link, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table holds the server's sockets with their owners; stderr says where; the
    request asks for the listing's selection, owners and the interface names."""
    assert main(["sockets", "-t", "-p", "--ssh", DEST]) == 0
    out, err = capsys.readouterr()
    assert "0.0.0.0:5432" in out and "python3" in out and "[::1]:5433" in out
    assert f"read on {DEST} over SSH" in err
    request = link.requests[0]
    assert request["collectors"] == ["sockets", "owners", "addresses"]
    assert request["sockets"]["protocols"] == ("tcp",)


def test_who_over_ssh_names_the_owner(link: Link, capsys: pytest.CaptureFixture[str]) -> None:
    """`who :5432` over SSH names the python3 that holds the listener."""
    assert main(["who", ":5432", "--ssh", DEST, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "netdx.who/1"
    rows = doc["sockets"]
    assert {r["process"]["command"] for r in rows if r.get("process")} == {"python3"}


def test_inspect_over_ssh_takes_a_second_sample_and_says_where(
    link: Link, capsys: pytest.CaptureFixture[str]
) -> None:
    """One CLOSE-WAIT (fewer than the threshold): a second document is read in the same
    session, as inspect_local samples twice; the JSON says it was observed over SSH."""
    assert main(["inspect", "--port", "5432", "--ssh", DEST, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["observed_on"] == {"kind": "ssh", "name": DEST}
    assert doc["states"]["CLOSE-WAIT"] == 1 and link.afters == 1
    assert link.requests[0]["before"] == link.requests[0]["after"]
    assert main(["inspect", "--port", "5432", "--ssh", DEST]) == 0
    assert f"observed on: {DEST} (over SSH)" in capsys.readouterr().out


def test_firewall_explain_over_ssh_names_the_servers_rule(
    link: Link, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server's drop rule for the client's flow, with the route of the server's own
    document (the client is routed on eth0); exit 1 as for a local drop."""
    code = main(["firewall", "explain", "--from", "10.0.0.10", "--to", "10.0.0.2:5432",
                 "--json", "--ssh", DEST])  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and result["decision"] == "drop"
    assert result["observed_on"] == {"kind": "ssh", "name": DEST}
    assert result["rule"]["handle"] == 2 and result["packet"]["iif"] == "eth0"
    assert link.requests[0]["addresses"] == ["10.0.0.10", "10.0.0.2"]


def test_firewall_snapshot_over_ssh_is_the_servers(
    link: Link, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The snapshot holds the server's nft ruleset and names the destination as host."""
    out = tmp_path / "snap.json"
    assert main(["firewall", "snapshot", "-o", str(out), "--ssh", DEST]) == 0
    snap = json.loads(out.read_text())
    assert snap["host"] == DEST and "10.0.0.10" in json.dumps(snap)
    assert main(["firewall", "diff", str(out), str(out), "--ssh", DEST]) == 2
    assert "give OLD only" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("status", "message"),
    [("auth", "root@db: Permission denied (publickey)."), ("timeout", "")],
)
def test_ssh_failure_is_one_line_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], status: str,
    message: str,
) -> None:  # fmt: skip
    """No document: `netdx: error: ssh.<status>: DEST: ssh's words`, exit 3, nothing on
    stdout, for each command."""
    fake = Link(None, status, message)
    monkeypatch.setattr(ssh_module, "collect_once", fake.collect_once)
    monkeypatch.setattr(ssh_module, "SshSession", fake.session())
    for argv in (["sockets"], ["who", ":22"], ["inspect", "--port", "22"],
                 ["firewall", "snapshot"]):  # fmt: skip
        assert main([*argv, "--ssh", DEST]) == 3
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1
        assert err.startswith(f"netdx: error: ssh.{status}: {DEST}: "), err


def test_unusable_document_is_one_line_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A document of the wrong shape (a socket row with a bad port) is exit 3, one line."""
    bad = document()
    bad["collectors"]["sockets"]["data"]["rows"][0][4] = 70000
    fake = Link(bad)
    monkeypatch.setattr(ssh_module, "collect_once", fake.collect_once)
    monkeypatch.setattr(ssh_module, "SshSession", fake.session())
    for argv in (["sockets"], ["inspect", "--port", "5432"]):
        assert main([*argv, "--ssh", DEST]) == 3
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "unusable" in err and "sockets.rows" in err


HOSTILE = ["db;id", "$(id)", "`id`", "db'x", "db\nid", "-oProxyCommand=id"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_destination_is_refused(
    link: Link, capsys: pytest.CaptureFixture[str], hostile: str
) -> None:
    """Shell syntax or an option in DEST is refused before any link (exit 2)."""
    assert main(["inspect", "--port", "5432", "--ssh", hostile]) == 2
    assert link.requests == [] and "--ssh" in capsys.readouterr().err


def test_hostile_flow_text_is_refused_or_data(
    link: Link, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shell syntax in --from / --to is refused as an address (exit 2): no request holds it."""
    for src in ("10.0.0.10;id", "$(id)", "`id`"):
        assert main(["firewall", "explain", "--from", src, "--to", "10.0.0.2:5432",
                     "--ssh", DEST]) == 2  # fmt: skip
    assert link.requests == []
