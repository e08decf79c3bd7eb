"""Every command netdx prints in a fix is pasted into a root shell: a hostile value in the
evidence (a name from a DNS server, a rule's table or chain, an interface, a URL, a target)
must reach the command as one argument and never run anything of its own.

The evidence of every captured case is mutated one string field at a time with a payload that
would run `touch` if a shell saw it unquoted; the rules run on each variant; each fix line that
carries the payload has its command pasted into bash, where every command is a recording stub.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import evidence_cases as c
import pytest
import remote_cases as r

from netdx.diagnose.dns_trace import query_findings
from netdx.diagnose.engine import run_rules
from netdx.model import CheckEvidence, Finding
from netdx.model.evidence import DnsServerAnswer

# Quotes of both kinds, a command substitution in both syntaxes, a separator and a newline:
# unquoted anywhere in a pasted line, one of them runs `touch`.
PAYLOAD = "Q'\"$(touch M)`touch M`;touch M\n|touch M&&touch M Q"

# Where a fix line's command starts: after "label: " (or at the start), at a tool netdx names.
_TOOLS = ("dig", "ip", "nft", "ss", "curl", "openssl", "netdx", "sysctl", "iptables",
          "ip6tables", "iptables-legacy", "ip6tables-legacy", "traceroute", "getent", "grep",
          "ssh-keyscan", "nstat", "unbound-control", "resolvectl", "nc", "journalctl",
          "psql", "redis-cli", "mysql")
_TOOL_NAMES = "|".join(re.escape(t) for t in _TOOLS)
_COMMAND = re.compile(rf"(?:^|: )((?:{_TOOL_NAMES}) .*)$", re.S)
# A trailing aside such as "(or a default route)" is prose, not part of the command.
_ASIDE = re.compile(r" \([^'\"()]*\)$")
# The prose some fixes go on with after the command.
_PROSE_TAIL = re.compile(r", then [a-z ]+$")

BASH = shutil.which("bash") or "/bin/bash"

# A shell where no command exists: each one (a substituted `touch` included) is recorded.
_SANDBOX = r"""
command_not_found_handle() { printf '%s\0' "$@" >> "$NETDX_LOG"; printf '\1\n' >> "$NETDX_LOG"; }
"""


def _paths(obj: object, at: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _paths(getattr(obj, f.name), (*at, f.name))
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from _paths(item, (*at, i))
    elif isinstance(obj, str):
        yield at


def _get(obj: object, path: tuple[object, ...]) -> object:
    for key in path:
        if isinstance(obj, tuple) and isinstance(key, int):
            obj = obj[key]
        else:
            obj = getattr(obj, str(key))
    return obj


def _set(obj: object, path: tuple[object, ...], value: str) -> object:
    if not path:
        return value
    key, rest = path[0], path[1:]
    if isinstance(obj, tuple):
        assert isinstance(key, int)
        items = (*obj[:key], _set(obj[key], rest, value), *obj[key + 1:])
        return type(obj)(*items) if hasattr(obj, "_fields") else items  # a NamedTuple record
    return dataclasses.replace(obj, **{str(key): _set(getattr(obj, str(key)), rest, value)})  # type: ignore[type-var]


def _cases() -> dict[str, CheckEvidence]:
    found: dict[str, CheckEvidence] = {}
    for module in (c, r):
        for name, value in vars(module).items():
            if isinstance(value, CheckEvidence):
                found[f"{module.__name__}.{name}"] = value
    return found


def _variants(case: object) -> Iterator[tuple[str, str, object]]:
    """(field path, the hostile value, the case with that one field made hostile)."""
    for path in _paths(case):
        hostile = str(_get(case, path)) + PAYLOAD
        yield ".".join(str(k) for k in path), hostile, _set(case, path, hostile)


def _hostile_commands(findings: tuple[Finding, ...]) -> list[str]:
    commands = []
    for line in (fix for f in findings for fix in f.fix):
        if "touch M" not in line:
            continue
        match = _COMMAND.search(line)
        if match is None or "touch M" not in match.group(1):
            continue  # the payload sits in prose ("on HOST, …"), not in the command
        commands.append(_PROSE_TAIL.sub("", _ASIDE.sub("", match.group(1))))
    return commands


def _paste(command: str, tmp_path: Path) -> list[list[str]]:
    """Run `command` in the recording shell; the argv of every command it tried to run."""
    log = tmp_path / "argv.log"
    log.write_bytes(b"")
    subprocess.run(
        [BASH, "--noprofile", "--norc", "-c", _SANDBOX + command + "\n"],
        cwd=tmp_path, env={"PATH": str(tmp_path / "no-such-dir"), "NETDX_LOG": str(log)},
        capture_output=True, timeout=30, check=False,
    )
    runs = []
    for record in log.read_bytes().split(b"\x01\n")[:-1]:
        runs.append([a.decode() for a in record.split(b"\0")[:-1]])
    return runs


def _check(command: str, hostile: str, where: str, tmp_path: Path) -> None:
    syntax = subprocess.run([BASH, "--noprofile", "--norc", "-n", "-c", command],
                            capture_output=True, timeout=30, check=False)
    assert syntax.returncode == 0, f"{where}: the printed command does not parse: {command!r}"
    runs = _paste(command, tmp_path)
    assert runs, f"{where}: nothing ran for {command!r}"
    ran = [argv[0] for argv in runs]
    assert "touch" not in ran, f"{where}: pasting {command!r} ran {ran}"
    assert not (tmp_path / "M").exists()
    assert any(hostile in arg for argv in runs for arg in argv), (
        f"{where}: the hostile value did not reach the command as data: {runs}")


def test_every_printed_command_keeps_hostile_values_as_data(tmp_path: Path) -> None:
    """For every captured case and every string in its evidence, a fix command that carries
    the value gets it as data: it parses, runs only the tools it names, and passes the value
    whole in one argument."""
    checked: dict[str, int] = {}
    for name, case in _cases().items():
        for field, hostile, variant in _variants(case):
            try:
                findings = run_rules(variant)  # type: ignore[arg-type]
            except (ValueError, KeyError):
                continue  # a field the rules parse (an address, a number) refuses the payload
            for command in _hostile_commands(findings):
                _check(command, hostile, f"{name} {field}", tmp_path)
                checked[field] = checked.get(field, 0) + 1
    # The fields that reach a command today: names from the user and from DNS servers, the
    # server's rule coordinates, interfaces, URLs. If one stops reaching any, this says so.
    for field in ("dns.name", "target_host", "addresses.0.address", "addresses.0.http.url",
                  "remote.firewall.match.rule.table", "remote.firewall.match.rule.chain",
                  "addresses.0.firewall.rule.table", "addresses.0.firewall.rule.chain",
                  "remote.return_path.syn_interface", "dns.servers.0.qname",
                  "dns.servers.0.server", "dns.delegation.0.address"):
        assert checked.get(field), f"no printed command carries {field} any more: {sorted(checked)}"


def _answer(qname: str, server: str, rcode: str) -> DnsServerAnswer:
    from netdx.model.evidence import DnsExchange, DnsMessage, DnsQuestion

    message = DnsMessage(id=1, rcode=rcode, flags=("qr",),
                         question=(DnsQuestion(name=qname, rtype="A"),))
    return DnsServerAnswer(server=server, qname=qname, rtype="A", status="ok", elapsed_ms=1.0,
                           exchange=DnsExchange(port=53, transport="udp", message=message))


@pytest.mark.parametrize("rcode", ["NXDOMAIN", "SERVFAIL", "REFUSED"])
def test_dns_command_fixes_quote_names_from_the_wire(rcode: str, tmp_path: Path) -> None:
    """`netdx dns @server NAME` prints `dig` lines with the name a server's answer holds; the
    wire decoder leaves a backtick or a quote as it is, so the printed line must quote it."""
    hostile = "a" + PAYLOAD.replace("\n", "") + ".example."
    for qname, server in ((hostile, "192.0.2.53"), ("ok.example.", "192.0.2.53" + PAYLOAD)):
        findings = query_findings((_answer(qname, server, rcode),))
        commands = _hostile_commands(findings)
        assert commands, f"{rcode}: no dig line carries the name: {findings}"
        for command in commands:
            _check(command, qname if qname == hostile else server, rcode, tmp_path)


def test_the_sandbox_catches_an_unquoted_value(tmp_path: Path) -> None:
    """The check itself can fail: a value pasted unquoted runs the substituted command."""
    runs = _paste("dig a$(touch M).example", tmp_path)
    assert ["touch", "M"] in runs
    assert os.path.exists(tmp_path / "M") is False  # recorded, never run: PATH has no tools
