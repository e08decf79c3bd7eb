"""The Host seam: LocalHost turns a missing binary and a timeout into results, reads capped
files; FakeHost answers from its tables; a namespace that does not exist is a usage error
(exit 2, one line) for every command; the firewall captures go through Host.run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import netdx.host
from netdx.budget import Deadline
from netdx.cli import main
from netdx.collect.firewall import COMMANDS
from netdx.errors import UsageError
from netdx.firewall.live import capture, host_runner
from netdx.host import FakeHost, LocalHost, NetnsHost, RunResult, netns_path


def test_public_api_is_exported() -> None:
    """netdx.host exports exactly its documented names, each importable."""
    assert sorted(netdx.host.__all__) == sorted(
        ["FakeHost", "Host", "LocalHost", "NetnsHost", "RunResult", "enter_netns", "netns_path"]
    )
    for name in netdx.host.__all__:
        assert callable(getattr(netdx.host, name))


def test_local_run_reports_output_and_exit_status() -> None:
    """A command that runs gives its exit status and both outputs."""
    script = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    result = LocalHost().run([sys.executable, "-c", script], timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.ok and result.why() == "err" and result.error is None


def test_local_run_missing_binary_and_timeout_are_results() -> None:
    """A missing program and a command that outlives its timeout are values saying why."""
    missing = LocalHost().run(["ndx-no-such-binary", "-x"], timeout=5)
    assert missing.returncode is None and missing.missing
    assert missing.why() == "ndx-no-such-binary: not found"
    slow = LocalHost().run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.2)
    assert slow.returncode is None and not slow.missing
    assert slow.why().startswith("timed out")
    assert LocalHost().run(["true"], timeout=0).error == "no time left to run it"


def test_local_read_text_is_capped(tmp_path: Path) -> None:
    """read_text returns at most `limit` bytes and raises OSError for a missing file."""
    big = tmp_path / "big"
    big.write_text("x" * 5000)
    assert LocalHost().read_text(str(big), limit=100) == "x" * 100
    assert "TcpExt:" in LocalHost().read_text("/proc/net/netstat")
    with pytest.raises(FileNotFoundError):
        LocalHost().read_text(str(tmp_path / "nope"))


def test_fake_host_answers_from_tables_and_records_calls() -> None:
    """Canned commands and files are answered; others are 'not found'; sockets are refused."""
    denied = PermissionError(13, "denied")
    host = FakeHost(commands={("nft", "-v"): "nftables v1.0.6\n"},
                    files={"/proc/x": "text", "/proc/y": denied})  # fmt: skip
    assert host.run(["nft", "-v"], timeout=1).stdout == "nftables v1.0.6\n"
    assert host.run(["iptables-save"], timeout=1).missing
    assert host.read_text("/proc/x", limit=2) == "te"
    with pytest.raises(PermissionError):
        host.read_text("/proc/y")
    with pytest.raises(PermissionError):
        host.socket(16, 3, 4)
    assert [kind for kind, _arg in host.calls] == ["run", "run", "read_text", "read_text", "socket"]


@pytest.mark.parametrize("name", ["ndx-host-missing", "a/b", "..", ""])
def test_missing_or_bad_namespace_is_a_usage_error(name: str) -> None:
    """NetnsHost and netns_path refuse a name that is not an existing namespace."""
    with pytest.raises(UsageError):
        netns_path(name)
    with pytest.raises(UsageError):
        NetnsHost(name)


@pytest.mark.parametrize(
    "args",
    [
        ("sockets",),
        ("who", ":22"),
        ("inspect", "--port", "22"),
        ("check", "127.0.0.1:1"),
        ("dns", "example.test", "@127.0.0.1"),
        ("firewall", "explain", "--from", "10.0.0.1", "--to", "10.0.0.2:22"),
        ("firewall", "snapshot"),
        ("firewall", "diff", "old.json"),
    ],
)
def test_every_command_refuses_a_missing_namespace(
    args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--netns` on a namespace that does not exist: exit 2, one line on stderr, no output."""
    assert main([*args, "--netns", "ndx-host-missing"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "'ndx-host-missing' does not exist" in err


def test_firewall_diff_refuses_netns_with_two_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """diff compares files unless NEW is omitted: --netns with two files is a usage error."""
    import netdx.host.netns as netns_module

    entered: list[str] = []
    monkeypatch.setattr(netns_module, "enter_netns", entered.append)
    for name in ("old.json", "new.json"):
        (tmp_path / name).write_text("{}")
    code = main(["firewall", "diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"),
                 "--netns", "ndx-x"])  # fmt: skip
    assert code == 2 and entered == ["ndx-x"]
    assert "give OLD only" in capsys.readouterr().err


def test_firewall_capture_runs_through_host() -> None:
    """live.capture reads every firewall command through Host.run: missing iptables variants
    are silent, a failing nft is an error line, the rest is captured."""
    host = FakeHost(commands={
        ("nft", "-j", "list", "ruleset"): RunResult(returncode=1, stderr="Error: no nft\n"),
        ("ip", "-j", "addr", "show"): "[]",
        ("iptables-legacy-save",): "*filter\nCOMMIT\n",
        ("ip6tables-legacy-save",): RunResult(error="timed out after 5.0 s"),
    })  # fmt: skip
    captured = capture(host_runner(host, Deadline.after(5)))
    assert sorted(argv for kind, argv in host.calls) == sorted(COMMANDS)  # type: ignore[type-var]
    assert captured.nft_json is None and captured.addresses_json == "[]"
    assert [(s.version, s.source) for s in captured.saves] == [(4, "iptables-legacy")]
    assert captured.errors == (
        "nft -j list ruleset: Error: no nft",
        "ip6tables-legacy-save: timed out after 5.0 s",
    )


def test_identify_netns_names_the_entry_of_our_namespace(tmp_path: Path) -> None:
    """The namespace is named by the run-dir entry that is the same nsfs object as our own
    (as `ip netns identify`); no such entry, or no run dir, gives None."""
    import os

    from netdx.host.netns import identify_netns

    (tmp_path / "other").write_text("")
    assert identify_netns(str(tmp_path)) is None
    os.symlink("/proc/self/ns/net", tmp_path / "ours")
    assert identify_netns(str(tmp_path)) == "ours"
    assert identify_netns(str(tmp_path / "missing")) is None
