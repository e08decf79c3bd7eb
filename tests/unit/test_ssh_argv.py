"""The ssh command line netdx builds, the validation of what the user types for --ssh, and
the click options: BatchMode first, StrictHostKeyChecking never set, the remote command a
constant, and shell metacharacters either refused (exit 2) or carried as one argv element."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from netdx.budget import Deadline
from netdx.errors import UsageError
from netdx.host.ssh import (
    REMOTE_COMMAND,
    REMOTE_COMMAND_SUDO,
    SshOptions,
    control_dir,
    parse_option,
    parse_settings,
    remote_command,
    session_request,
    ssh_argv,
)
from netdx.host.ssh_option import ssh_options

INJECTIONS = ("a;id", "$(id)", "`id`", "a'b", 'a"b', "a\nb", "a|b", "a&b", "a b", "a>b")
CONTROL = Path("/c/netdx/ssh")


def argv_of(opts: SshOptions, budget: float = 5.5, control: Path | None = CONTROL) -> list[str]:
    return ssh_argv(opts, Deadline.after(budget), control=control, command=remote_command(opts))


def test_batchmode_comes_first_and_the_users_options_last() -> None:
    """netdx's options precede the user's (ssh keeps the first value of an option), then
    `--`, DEST and the fixed remote command close the line."""
    opts = SshOptions(destination="admin@db-1", key="/k/id", known_hosts="/k/kh",
                      options=(("ProxyJump", "bastion"), ("Port", "2222")))  # fmt: skip
    argv = argv_of(opts)
    assert argv[:4] == ["ssh", "-T", "-o", "BatchMode=yes"]
    assert argv[-3:] == ["--", "admin@db-1", REMOTE_COMMAND]
    values = [argv[i + 1] for i, a in enumerate(argv) if a == "-o"]
    assert values.index("ConnectTimeout=5") < values.index("ProxyJump=bastion")
    assert "ControlMaster=auto" in values and f"ControlPath={CONTROL}/%C" in values
    assert values[-3:] == ["UserKnownHostsFile=/k/kh", "ProxyJump=bastion", "Port=2222"]
    assert argv[argv.index("-i") + 1] == "/k/id"


def test_strict_host_key_checking_is_never_set() -> None:
    """Whatever the options, netdx itself never sets StrictHostKeyChecking (the user's
    configuration decides); only what the user typed appears."""
    for opts in (SshOptions(destination="h"), SshOptions(destination="h", sudo=True)):
        assert not any("stricthostkeychecking" in a.lower() for a in argv_of(opts))
    typed = SshOptions(destination="h", options=(("StrictHostKeyChecking", "yes"),))
    assert [a for a in argv_of(typed) if "StrictHostKey" in a] == ["StrictHostKeyChecking=yes"]


def test_timeouts_come_from_the_budget() -> None:
    """ConnectTimeout is the whole seconds left (at least 1); keepalives notice a dead
    peer within the budget; no control dir means no connection sharing."""
    values = [a for a in argv_of(SshOptions(destination="h"), budget=0.4, control=None)]
    assert "ConnectTimeout=1" in values and "ControlPath=none" in values
    assert "ServerAliveInterval=1" in values and "ServerAliveCountMax=2" in values
    assert "ConnectTimeout=12" in argv_of(SshOptions(destination="h"), budget=12.9)


def test_remote_command_is_constant_and_carries_no_user_text() -> None:
    """The remote command is one of two constants, whatever the user typed; the sudo one
    runs `sudo -n`, and both start /bin/sh with one single-quoted script."""
    opts = SshOptions(destination="u@h", key="/x$(id)", options=(("User", "`id`"),))
    assert argv_of(opts)[-1] == REMOTE_COMMAND
    assert argv_of(SshOptions(destination="h", sudo=True))[-1] == REMOTE_COMMAND_SUDO
    assert "sudo -n" in REMOTE_COMMAND_SUDO and "sudo" not in REMOTE_COMMAND
    for command in (REMOTE_COMMAND, REMOTE_COMMAND_SUDO):
        assert command.startswith("exec /bin/sh -c '") and command.count("'") == 2


@pytest.mark.parametrize("text", INJECTIONS)
def test_destination_with_shell_characters_is_refused(text: str) -> None:
    """`;`, `$()`, backticks, quotes, blanks and newlines in DEST: exit 2 (ssh would expand
    DEST into a user's ProxyCommand, which runs in a shell)."""
    with pytest.raises(UsageError) as caught:
        SshOptions(destination=f"root@{text}")
    assert caught.value.exit_code == 2 and "--ssh" in str(caught.value)


@pytest.mark.parametrize("dest", ["-oProxyCommand=id", "", "x" * 256])
def test_destination_that_is_an_option_or_empty_is_refused(dest: str) -> None:
    """A DEST starting with `-` (an ssh option in disguise), empty or absurdly long."""
    with pytest.raises(UsageError):
        SshOptions(destination=dest)


@pytest.mark.parametrize(
    "dest", ["db-1", "admin@db-1.example.lab", "10.0.0.2", "u@fe80::1%eth0", "::1", "db_prod", "h."]
)
def test_ordinary_destinations_pass(dest: str) -> None:
    """Host names, aliases, addresses (IPv6 with a zone too) and USER@ are accepted."""
    assert argv_of(SshOptions(destination=dest))[-2] == dest


@pytest.mark.parametrize("text", ["a;id", "$(id)", "`id`", "a|b&c"])
def test_key_and_known_hosts_with_shell_characters_travel_as_one_element(text: str) -> None:
    """Shell characters in --ssh-key / --known-hosts stay data: one argv element each."""
    argv = argv_of(SshOptions(destination="h", key=f"/k/{text}", known_hosts=f"/k/{text}"))
    assert argv[argv.index("-i") + 1] == f"/k/{text}"
    assert f"UserKnownHostsFile=/k/{text}" in argv


@pytest.mark.parametrize("path", ["/k/a\nProxyCommand=id", "/k/a\x00", "", "/k/a b", "/k/a'b"])
def test_known_hosts_that_ssh_config_would_split_is_refused(path: str) -> None:
    """A newline, NUL, blank or quote in --known-hosts (it becomes an ssh_config line)."""
    with pytest.raises(UsageError, match="--known-hosts"):
        SshOptions(destination="h", known_hosts=path)


def test_key_with_a_newline_is_refused() -> None:
    """A control character in --ssh-key is refused, with the flag named."""
    with pytest.raises(UsageError, match="--ssh-key"):
        SshOptions(destination="h", key="/k/id\nx")


@pytest.mark.parametrize(
    ("option", "why"),
    [
        ("ProxyCommand=nc %h %p", "local command"),
        ("proxycommand=id", "local command"),
        ("LocalCommand=id", "local command"),
        ("PermitLocalCommand=yes", "LocalCommand"),
        ("KnownHostsCommand=/bin/id", "local command"),
        ("RemoteCommand=id", "fixed remote command"),
        ("BatchMode=no", "BatchMode=yes"),
        ("Match=exec id", "Match exec"),
        ("ControlPath=/tmp/x", "shares connections"),
    ],
)
def test_options_that_run_commands_or_weaken_the_rules_are_refused(option: str, why: str) -> None:
    """Each refused --ssh-option says why, in one line (exit 2)."""
    with pytest.raises(UsageError, match=why) as caught:
        parse_option(option)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("text", ["Port=2\nProxyCommand=id", "=x", "noequals", "Pro xy=1", "a;b=c"])
def test_malformed_options_are_refused(text: str) -> None:
    """Not K=V, a bad key, or a control character in the value."""
    with pytest.raises(UsageError):
        parse_option(text)


def test_option_values_with_shell_characters_travel_as_one_element() -> None:
    """A value with `;`, `$()` and backticks is one `-o K=V` element (ssh reads it as data)."""
    key, value = parse_option("SetEnv=X=$(id);`id`")
    argv = argv_of(SshOptions(destination="h", options=((key, value),)))
    assert "SetEnv=X=$(id);`id`" in argv


def test_settings_keep_what_explains_a_failure_in_ssh_order() -> None:
    """`ssh -G` output → the settings kept in the evidence (several identity files too)."""
    text = ("user root\nhostname 10.0.0.2\nport 22\naddressfamily any\nidentityfile ~/.ssh/a\n"
            "identityfile ~/.ssh/b\nstricthostkeychecking ask\ncontrolpath /c/x\n")  # fmt: skip
    assert parse_settings(text) == (
        ("user", "root"), ("hostname", "10.0.0.2"), ("port", "22"),
        ("identityfile", "~/.ssh/a"), ("identityfile", "~/.ssh/b"),
        ("stricthostkeychecking", "ask"), ("controlpath", "/c/x"),
    )  # fmt: skip


def test_session_request_fits_the_deadline() -> None:
    """A collect request becomes a one-shot session request; its timeout ends before the
    deadline so the answer arrives before netdx gives up."""
    wrapped = session_request({"collectors": ["sockets"]}, Deadline.after(3.0))
    assert wrapped["schema"] == "netdx.session/1" and wrapped["after"] is None
    assert 2.5 < wrapped["timeout"] <= 2.8
    kept = session_request({"schema": "netdx.session/1", "timeout": 1.0}, Deadline.after(9))
    assert kept["timeout"] == 1.0


def test_control_dir_is_private_and_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared connections live in <cache>/netdx/ssh, mode 0700; a cache dir too long
    for a unix socket name turns sharing off instead of breaking ssh."""
    with tempfile.TemporaryDirectory(prefix="ndx-") as short:
        monkeypatch.setenv("XDG_CACHE_HOME", short)
        made = control_dir()
        assert made == Path(short) / "netdx" / "ssh"
        assert made.stat().st_mode & 0o777 == 0o700
        monkeypatch.setenv("XDG_CACHE_HOME", str(Path(short) / ("x" * 80)))
        assert control_dir() is None


@click.command()
@ssh_options
def show(ssh: SshOptions | None) -> None:
    click.echo(repr(ssh))


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(show, list(args))
    if isinstance(result.exception, UsageError):
        return result.exception.exit_code, str(result.exception)
    return result.exit_code, result.output


def test_click_options_build_ssh_options(tmp_path: Path) -> None:
    """--ssh, --ssh-key, --known-hosts, --ssh-option (repeated), --sudo → one SshOptions."""
    key, known = tmp_path / "id", tmp_path / "kh"
    key.write_text("k")
    known.write_text("")
    code, out = invoke("--ssh", "u@h", "--ssh-key", str(key), "--known-hosts", str(known),
                       "--ssh-option", "Port=2222", "--ssh-option", "User=x", "--sudo")  # fmt: skip
    assert code == 0
    expected = SshOptions(destination="u@h", key=str(key), known_hosts=str(known),
                          options=(("Port", "2222"), ("User", "x")), sudo=True)  # fmt: skip
    assert out.strip() == repr(expected)
    assert invoke() == (0, "None\n")


def test_click_options_refuse_bad_input_with_exit_2(tmp_path: Path) -> None:
    """A missing key file, a companion flag without --ssh, a bad DEST or a refused option:
    exit 2 with one line naming the flag."""
    assert invoke("--ssh", "h", "--ssh-key", str(tmp_path / "missing"))[0] == 2
    assert invoke("--sudo") == (2, "--sudo needs --ssh [USER@]HOST")
    code, message = invoke("--ssh", "h;id")
    assert code == 2 and message.startswith("--ssh 'h;id'")
    code, message = invoke("--ssh", "h", "--ssh-option", "ProxyCommand=id")
    assert code == 2 and "refused" in message


@pytest.mark.parametrize(("option", "said"), [
    ("x=y", "Bad configuration option: x"),
    ("Compression=maybe", 'unsupported option "maybe"'),
    ("Port=abc", "Bad port 'abc'"),
])
def test_an_option_ssh_itself_refuses_is_bad_input(option: str, said: str) -> None:
    """An option the system ssh does not know, or a value it cannot read, is exit 2 with
    ssh's own words (asked with `ssh -F /dev/null -G`, which connects to nothing), not an
    `ssh.error` (exit 3) after the session failed; one it takes is kept."""
    code, message = invoke("--ssh", "h", "--ssh-option", option)
    assert code == 2, message
    assert message.startswith(f"--ssh-option '{option}': ssh refuses it: command-line")
    assert said in message
    taken = invoke("--ssh", "h", "--ssh-option", "Port=2222", "--ssh-option", "Compression=no")
    assert taken[0] == 0


@pytest.mark.parametrize(
    ("dest", "why"),
    [
        ("[::1]:22", "no [address] or :port"),
        ("u@[fe80::1%eth0]", "no [address] or :port"),
        ("%n", "IPv6 only"),
        ("a:b", "IPv6 only"),
        ("a..b", "empty label"),
        (".x", "empty label"),
        ("u@", "no host"),
        ("fe80::1%e$th0", "not allowed"),
    ],
)
def test_destination_ssh_could_never_reach_is_refused(dest: str, why: str) -> None:
    """ssh keeps `[::1]` and `[::1]:22` as literal host names ("Could not resolve hostname
    [::1]", OpenSSH 9.2), and a name with an empty label or a stray `%` resolves nowhere:
    exit 2 with the reason, not an "unreachable server" after a connection attempt (make
    fuzz found these as exit 3)."""
    with pytest.raises(UsageError) as caught:
        SshOptions(destination=dest)
    assert caught.value.exit_code == 2 and why in str(caught.value)
