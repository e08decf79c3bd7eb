"""ssh's failures as data: its stderr (and the remote command's) → an `SshStatus` and the
line that says it. Pure, and tested on the stderr of real ssh runs (tests/unit/fixtures/ssh).

ssh exits 255 for its own failures whatever they are, so the words decide; the remote
command exits 127 with "netdx: no python3 on this host" and sudo -n prints why it would
need a password. The first status (in this table's order) whose words appear wins, and the
line with its most telling words becomes the message, as ssh wrote it.
"""

from __future__ import annotations

from netdx.model.remote import SshStatus

# Lines that are never the reason (ssh's notices, the post-quantum banner of OpenSSH 9.x).
_NOISE = ("Warning: Permanently added", "** ", "Pseudo-terminal will not be allocated")

_TABLE: tuple[tuple[SshStatus, tuple[str, ...]], ...] = (
    ("no_python", ("netdx: no python3 on this host",)),
    (
        "no_root",
        (
            "netdx: no sudo on this host",
            "sudo: a password is required",
            "sudo: a terminal is required",
            "is not in the sudoers file",
            "is not allowed to execute",
            "may not run sudo",
        ),
    ),
    (
        "hostkey",
        (
            "Host key for",  # "...has changed and you have requested strict checking"
            "host key is known for",
            "Host key verification failed",
            "REMOTE HOST IDENTIFICATION HAS CHANGED",
        ),
    ),
    ("auth", ("Permission denied (", "Too many authentication failures")),
    ("refused", ("Connection refused",)),
    (
        "timeout",
        ("Connection timed out", "Operation timed out", "not responding", "timed out"),
    ),
    (
        "unreachable",
        (
            "No route to host",
            "Network is unreachable",
            "Could not resolve hostname",
            "Name or service not known",
            "Temporary failure in name resolution",
        ),
    ),
)


_LINK = ("hostkey", "auth", "refused", "timeout", "unreachable")


def lines_of(stderr: str) -> list[str]:
    """The meaningful lines of stderr (blank lines and ssh's notices dropped)."""
    lines = (line.strip() for line in stderr.replace("\r", "\n").splitlines())
    return [line for line in lines if line and not line.startswith(_NOISE)]


def last_line(stderr: str) -> str:
    """The last meaningful line ('' when there is none)."""
    lines = lines_of(stderr)
    return lines[-1] if lines else ""


def classify(returncode: int | None, stderr: str, *, sudo: bool = False) -> tuple[SshStatus, str]:
    """The status of an ssh run that ended with `returncode` (None: killed at the deadline)
    and printed `stderr`, and the line that says why. "ok" only when nothing failed."""
    lines = lines_of(stderr)
    # ssh's own failures end it with 255 (or netdx killed it): with another exit status,
    # the words came from the remote side and say nothing of the link.
    by_ssh = returncode in (255, None)
    for status, words in _TABLE:
        if (status == "no_root" and not sudo) or (status in _LINK and not by_ssh):
            continue
        for word in words:  # the most telling words first, whichever line holds them
            for line in lines:
                if word in line:
                    return status, line
    if returncode == 0:
        return "ok", ""
    if returncode is None:
        return "timeout", lines[-1] if lines else ""
    return "error", lines[-1] if lines else f"ssh ended with exit status {returncode}"
