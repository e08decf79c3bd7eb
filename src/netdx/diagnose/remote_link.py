"""The SSH link's own findings (`ssh.*`, warnings beside the client's verdict, never the
verdict) and the short "server (ssh DEST)" block of the report.

A failed link leaves the client's verdict standing: the warning quotes ssh's message and the
effective settings (`ssh -G`) that explain it, with a command to look further. A link that
worked but ran without root says what only root could have read, as "unknown".
"""

from __future__ import annotations

import shlex

from netdx.diagnose import server as server_rules
from netdx.diagnose.facts import first, ms
from netdx.diagnose.remote_text import capture_text, firewall_line
from netdx.model import CheckEvidence, Finding
from netdx.model.remote import RemoteEvidence, RemoteReport, SshOutcome, SshStatus

__all__ = ["link_warnings", "remote_report", "settings_text"]

# The `ssh -G` settings that explain each failure, in the order they are quoted.
_EXPLAINING: dict[SshStatus, tuple[str, ...]] = {
    "refused": ("hostname", "port", "proxyjump"),
    "timeout": ("hostname", "port", "connecttimeout", "proxyjump"),
    "unreachable": ("hostname", "port", "proxyjump"),
    "hostkey": ("hostname", "stricthostkeychecking", "userknownhostsfile", "hostkeyalias"),
    "auth": ("user", "hostname", "identityfile", "identitiesonly", "proxyjump"),
    "no_python": ("user", "hostname"),
    "no_root": ("user", "hostname"),
    "error": ("hostname", "port", "user", "proxyjump"),
}

_WHAT: dict[SshStatus, str] = {
    "refused": "the SSH port refused the connection",
    "timeout": "no SSH answer in time",
    "unreachable": "the SSH host could not be reached",
    "hostkey": "ssh refused the server's host key (unknown or changed), as its policy says",
    "auth": "the server accepted none of the keys offered (no password prompt: BatchMode)",
    "no_python": "logged in, but the server has no python3 (3.9 or later) for the collector",
    "no_root": "sudo -n on the server needs a password (or is missing)",
    "error": "the SSH session failed",
}


def settings_text(outcome: SshOutcome) -> str | None:
    """'ssh -G: stricthostkeychecking ask, userknownhostsfile ~/.ssh/known_hosts' — the
    effective settings that explain the failure (None when ssh -G gave none of them)."""
    wanted = _EXPLAINING.get(outcome.status, ())
    picked = [f"{k} {v}" for k, v in outcome.settings if k in wanted]
    return f"ssh -G: {', '.join(picked)}" if picked else None


def _fix(outcome: SshOutcome) -> tuple[str, ...]:
    dest = shlex.quote(outcome.destination)
    probe = f"ssh -v -o BatchMode=yes -- {dest} true"
    host = next((v for k, v in outcome.settings if k == "hostname"), None)
    port = next((v for k, v in outcome.settings if k == "port"), "22")
    fixes: dict[SshStatus, tuple[str, ...]] = {
        "refused": (f"is sshd running and listening on that port? try: {probe}",),
        "timeout": (
            f"the SSH port may be dropped or the host down; try: {probe}",
            "on a slow link, give the check a longer --timeout",
        ),
        "unreachable": (f"check the name, route and ProxyJump ssh uses: ssh -G -- {dest}",),
        "hostkey": (
            "verify the server's key out of band, then accept it once by hand: "
            + (
                f"ssh-keyscan -p {shlex.quote(port)} -- {shlex.quote(host)} | ssh-keygen -lf -"
                if host
                else f"ssh -- {dest}"
            ),
            "or give the file that holds it: --known-hosts FILE",
        ),
        "auth": (
            f"see which keys were offered: {probe}",
            "give the key the server accepts: --ssh-key FILE (or load it into ssh-agent)",
        ),
        "no_python": ("install python3 (3.9 or later) on the server: netdx needs nothing else",),
        "no_root": (
            "allow the collector through sudo without a password, or run without --sudo "
            "(then the capture and the ruleset stay unknown)",
        ),
        "error": (f"look at ssh's own account: {probe}",),
    }
    return fixes.get(outcome.status, ())


def link_warnings(ev: CheckEvidence) -> tuple[Finding, ...]:
    """The `ssh.<status>` warning of a link that failed (none when it worked)."""
    remote = ev.remote
    if remote is None or remote.ssh.ok:
        return ()
    outcome = remote.ssh
    evidence = [f"ssh said: {outcome.message}" if outcome.message else "ssh said nothing"]
    settings = settings_text(outcome)
    if settings is not None:
        evidence.append(settings)
    if outcome.elapsed_ms is not None:
        evidence.append(f"gave up after {ms(outcome.elapsed_ms)}")
    return (
        Finding(
            cause=outcome.code,
            severity="warn",
            step="ssh",
            summary=f"the server's side was not read over ssh {outcome.destination}: "
            f"{_WHAT.get(outcome.status, outcome.status)}; the verdict is the client's alone",
            evidence=tuple(evidence),
            fix=_fix(outcome),
        ),
    )


def _link_line(remote: RemoteEvidence) -> str:
    ssh = remote.ssh
    if not ssh.ok:
        said = f": {ssh.message}" if ssh.message else ""
        return f"{ssh.code}: {_WHAT.get(ssh.status, ssh.status)}{said}"
    parts = []
    if ssh.python:
        parts.append(f"python {ssh.python}")
    if remote.root is not None:
        parts.append("root" if remote.root else f"not root (euid {ssh.euid})")
    if ssh.warm is not None:
        parts.append("warm connection" if ssh.warm else "new connection")
    if ssh.elapsed_ms is not None:
        parts.append(ms(ssh.elapsed_ms))
    return "read over ssh" + (f": {', '.join(parts)}" if parts else "")


def _server_lines(ev: CheckEvidence, remote: RemoteEvidence) -> list[str]:
    lines: list[str] = []
    head = first(ev)
    if head is not None:
        owned = remote.owns(head.address)
        if owned is False:
            lines.append(
                f"does NOT have {head.address} (its addresses: {', '.join(remote.addresses[:8])})"
            )
        elif owned:
            lines.append(f"has {head.address}")
    server = remote.server
    if server is not None and server.error is not None:
        lines.append(f"sockets: unknown ({server.error})")
    elif server is not None:
        if server.listeners:
            lines += [server_rules.listener_text(s, server) for s in server.listeners[:4]]
        else:
            lines.append(f"nothing listens on port {server.port}")
    if remote.firewall is not None:
        lines.append(f"firewall ({remote.firewall.match.hook}): {firewall_line(remote.firewall)}")
    if remote.capture is not None:
        lines.append(capture_text(remote.capture, remote.client))
    back = remote.return_path
    if back is not None and back.route is not None:
        via = f" via {back.route.gateway}" if back.route.gateway else ""
        came = f" (the SYN came in on {back.syn_interface})" if back.syn_interface else ""
        rp = f", rp_filter {back.rp_filter}" if back.rp_filter is not None else ""
        lines.append(
            f"route back to {back.client}: dev {back.route.interface or '?'}{via}{came}{rp}"
        )
    lines += [f"{c.name} +{c.delta}" for c in remote.counters if c.delta > 0]
    if remote.root is False:
        lines.append(
            "not root on the server: the capture (did the SYN arrive?) and the ruleset with its "
            "counters need root, so they stay unknown; re-run with --sudo"
        )
    lines += list(remote.notes)
    return lines


def remote_report(ev: CheckEvidence) -> RemoteReport | None:
    """The "server (ssh DEST)" block of the report, with the evidence for `--json`."""
    remote = ev.remote
    if remote is None:
        return None
    lines = [_link_line(remote)]
    if remote.ssh.ok:
        lines += _server_lines(ev, remote)
    else:
        settings = settings_text(remote.ssh)
        if settings is not None:
            lines.append(settings)
        lines += [f"fix: {f}" for f in _fix(remote.ssh)]
    return RemoteReport(
        destination=remote.ssh.destination,
        status=remote.ssh.status,
        lines=tuple(lines),
        evidence=remote,
    )
