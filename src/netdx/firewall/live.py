"""Reading the live firewall: the only module here that runs commands.

Every command goes through a `Runner` (argv in, `RunResult` out) so tests can feed captured
output. `host_runner` runs them through a `Host` (this machine, or a `NetnsHost` for a
named network namespace), bounded by a deadline; the command list itself is the collector
core's (`netdx.collect.firewall`), so a server reads exactly what this host reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from netdx.budget import Deadline
from netdx.collect.firewall import ADDRESSES, COMMANDS, NFT_JSON, NFT_TEXT, at_once
from netdx.collect.system import Host, LocalHost, RunResult
from netdx.firewall.sources import NO_NFT_TABLES, Capture, SaveCapture

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    from netdx.firewall.present import Present

__all__ = [
    "RunResult",
    "Runner",
    "capture",
    "capture_of",
    "fake_runner",
    "host_runner",
    "present_here",
    "route_interface",
    "subprocess_runner",
]

Runner = Callable[[Sequence[str]], RunResult]

_SAVE_COMMANDS: tuple[
    tuple[str, Literal[4, 6], Literal["iptables-nft", "iptables-legacy"]], ...
] = (
    ("iptables-nft-save", 4, "iptables-nft"),
    ("ip6tables-nft-save", 6, "iptables-nft"),
    ("iptables-legacy-save", 4, "iptables-legacy"),
    ("ip6tables-legacy-save", 6, "iptables-legacy"),
)


def host_runner(host: Host, deadline: Deadline) -> Runner:
    """A runner that executes argv on `host` within `deadline`."""

    def run(argv: Sequence[str]) -> RunResult:
        # No floor: a capture that cannot start within the budget is not run (unknown).
        return host.run(argv, timeout=deadline.remaining())

    return run


def subprocess_runner(deadline: Deadline, netns: str | None = None) -> Runner:
    """A runner on this machine, or inside network namespace `netns` (UsageError when it
    does not exist), within `deadline`."""
    if netns is None:
        return host_runner(LocalHost(), deadline)
    from netdx.host.netns import NetnsHost

    return host_runner(NetnsHost(netns), deadline)


def _output(result: RunResult, argv: Sequence[str], errors: list[str]) -> str | None:
    if not result.ok:
        errors.append(f"{' '.join(argv)}: {result.why()}")
        return None
    return result.stdout


def capture(runner: Runner, *, present: Present | None = None) -> Capture:
    """Read everything the kernel enforces: nft (JSON and text), each iptables-save variant
    and the local addresses. A missing tool is recorded in `errors`, never raised. The
    commands run at once (each takes ~0.3 s on a 10,000-rule ruleset).

    With `present` (the tables netlink and /proc say this namespace holds: `present_here`)
    a command that can add no rule is not run, and counts as having printed what it prints
    for nothing: the ruleset built is the same, for a fraction of the CPU."""
    skipped = {} if present is None else _nothing_to_add(present)
    commands = [c for c in COMMANDS if c not in skipped]
    results = dict(zip(commands, at_once(runner, commands), strict=True))
    return capture_of({**skipped, **results})


def _nothing_to_add(present: Present) -> dict[tuple[str, ...], RunResult]:
    """The commands whose output can add no rule to the ruleset, with what they print for
    nothing (nft's JSON: its listing of no table; the rest: no text): nft
    (JSON and text) without a table; iptables-nft-save without an nft table of its family
    (it prints only those); iptables-legacy-save without a legacy table; the local
    addresses (read by rules only) without any table."""
    empty = RunResult(returncode=0)
    out: dict[tuple[str, ...], RunResult] = {}
    if not present.nft:
        out[NFT_JSON] = RunResult(returncode=0, stdout=NO_NFT_TABLES)
        out[NFT_TEXT] = empty
    if not present.nft and not present.legacy:
        out[ADDRESSES] = empty  # read by no rule: none to read them
    for command, version, source in _SAVE_COMMANDS:
        held = (version in present.legacy if source == "iptables-legacy"
                else ("ip" if version == 4 else "ip6") in present.nft)
        if not held:
            out[(command,)] = empty
    return out


def present_here(deadline: Deadline) -> Present | None:
    """The tables this process's network namespace holds (netlink and /proc, no command);
    None when they cannot be listed (not root): then every command runs."""
    from netdx.firewall.present import present

    return present(deadline.remaining())


def capture_of(results: Mapping[tuple[str, ...], RunResult]) -> Capture:
    """The capture of the collector's command results, run here or on a server (the
    `firewall` entry of a `netdx.collect/1` document); a command not run counts as failed."""
    missing = RunResult(error="not run", missing=True)
    errors: list[str] = []
    nft_json = _output(results.get(NFT_JSON, missing), NFT_JSON, errors)
    nft_text = _output(results.get(NFT_TEXT, missing), NFT_TEXT, errors) if nft_json else None
    saves = []
    for command, version, source in _SAVE_COMMANDS:
        result = results.get((command,), missing)
        if result.ok and result.stdout.strip():
            saves.append(SaveCapture(version=version, source=source, text=result.stdout))
        elif not result.ok and not result.missing:
            errors.append(f"{command}: {(result.error or result.stderr.strip())[:200]}")
    addresses = _output(results.get(ADDRESSES, missing), ADDRESSES, errors)
    return Capture(
        nft_json=nft_json,
        nft_text=nft_text,
        saves=tuple(saves),
        addresses_json=addresses,
        errors=tuple(errors),
    )


def route_interface(runner: Runner, address: str) -> str | None:
    """The interface `ip route get ADDRESS` would use (None when there is no route)."""
    result = runner(["ip", "-j", "route", "get", address])
    if result.returncode != 0:
        return None
    import json

    try:
        routes = json.loads(result.stdout)
    except ValueError:
        return None
    if routes and isinstance(routes[0], dict):
        dev = routes[0].get("dev")
        return str(dev) if dev else None
    return None


def fake_runner(captured: Capture, routes: dict[str, str] | None = None) -> Runner:
    """A runner that replays a capture (and `ip route get` answers from `routes`, address →
    interface): for tests, and for explaining against a snapshot."""
    outputs: dict[tuple[str, ...], str | None] = {
        NFT_JSON: captured.nft_json,
        NFT_TEXT: captured.nft_text,
        ADDRESSES: captured.addresses_json,
    }
    for command, version, source in _SAVE_COMMANDS:
        outputs[(command,)] = next(
            (s.text for s in captured.saves if (s.version, s.source) == (version, source)), ""
        )

    def run(argv: Sequence[str]) -> RunResult:
        key = tuple(argv)
        if key[:4] == ("ip", "-j", "route", "get") and routes and key[4] in routes:
            import json

            return RunResult(returncode=0, stdout=json.dumps([{"dev": routes[key[4]]}]))
        text = outputs.get(key)
        if text is None:
            return RunResult(returncode=1, stdout="", stderr=f"{argv[0]}: not captured")
        return RunResult(returncode=0, stdout=text)

    return run
