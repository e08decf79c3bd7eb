"""ssh's failures are classified from its own words, on stderr captured from real runs
against a lab sshd (tests/lab/ssh_capture_fixtures.py): each fixture gets its status, and
the message is the line of stderr that says it, as ssh wrote it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest

from netdx.host.ssh_status import classify, last_line
from netdx.model.remote import SshStatus

FIXTURES = Path(__file__).parent / "fixtures" / "ssh"
CASES = sorted(FIXTURES.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_every_status_has_a_real_capture() -> None:
    """The captures cover every status an SSH link can end with."""
    assert {load(p)["status"] for p in CASES} == set(get_args(SshStatus))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_captured_stderr_is_classified(path: Path) -> None:
    """Each real stderr (with its exit status) gets the status it was captured for, and
    the message is one of its own lines."""
    case = load(path)
    status, message = classify(case["returncode"], case["stderr"], sudo=case["sudo"])
    assert status == case["status"]
    if status != "ok":
        assert message and message in case["stderr"]


def test_changed_host_key_names_the_host_not_the_banner() -> None:
    """Of ssh's page about a changed host key, the message is the line naming the host."""
    case = load(FIXTURES / "hostkey-changed.json")
    _, message = classify(case["returncode"], case["stderr"])
    assert message.startswith("Host key for 10.97.1.2 has changed")


def test_a_killed_ssh_is_a_timeout_even_with_noise_on_stderr() -> None:
    """ssh killed at the deadline (no exit status): timeout, whatever notices it printed."""
    noise = "Warning: Permanently added '10.0.0.2' (ED25519) to the list of known hosts.\r\n"
    assert classify(None, noise) == ("timeout", "")
    assert last_line(noise) == ""


def test_sudo_words_count_only_with_sudo() -> None:
    """A collector's stderr that mentions sudo is no sudo failure when --sudo was not given."""
    assert classify(1, "sudo: a password is required\n", sudo=True)[0] == "no_root"
    assert classify(1, "sudo: a password is required\n", sudo=False)[0] == "error"


def test_link_words_from_the_remote_side_are_no_link_failure() -> None:
    """A collector that fails with "timed out" in its last words (exit 1) is an error of
    the collector, not an SSH timeout: link statuses need ssh's own exit status 255."""
    stderr = "Traceback (most recent call last):\nTimeoutError: timed out\n"
    assert classify(1, stderr) == ("error", "TimeoutError: timed out")
    assert classify(255, "ssh: connect to host h port 22: Connection timed out\n")[0] == "timeout"
