"""Reading the live firewall: the only module here that runs commands.

Every command goes through a `Runner` (argv in, `RunResult` out) so tests can feed captured
output; `subprocess_runner` is the real one, bounded by a deadline. `netns` runs everything
inside a named network namespace (`ip netns exec NAME ...`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from netdx.budget import Deadline
from netdx.firewall.sources import ADDRESSES_COMMAND, Capture, SaveCapture


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What one command printed; `returncode` 127 when the binary does not exist."""

    returncode: int
    stdout: str
    stderr: str = ""


Runner = Callable[[Sequence[str]], RunResult]

_SAVE_COMMANDS: tuple[
    tuple[str, Literal[4, 6], Literal["iptables-nft", "iptables-legacy"]], ...
] = (
    ("iptables-nft-save", 4, "iptables-nft"),
    ("ip6tables-nft-save", 6, "iptables-nft"),
    ("iptables-legacy-save", 4, "iptables-legacy"),
    ("ip6tables-legacy-save", 6, "iptables-legacy"),
)


def subprocess_runner(deadline: Deadline, netns: str | None = None) -> Runner:
    """A runner that executes argv (inside `netns` if given) within `deadline`."""

    def run(argv: Sequence[str]) -> RunResult:
        full = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
        try:
            proc = subprocess.run(
                full,
                capture_output=True,
                text=True,
                timeout=max(0.1, deadline.remaining()),
                check=False,
            )
        except FileNotFoundError:
            return RunResult(returncode=127, stdout="", stderr=f"{full[0]}: not found")
        except subprocess.TimeoutExpired:
            return RunResult(returncode=124, stdout="", stderr=f"{' '.join(argv)}: timed out")
        return RunResult(returncode=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)

    return run


def _output(result: RunResult, argv: Sequence[str], errors: list[str]) -> str | None:
    if result.returncode != 0:
        why = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        errors.append(f"{' '.join(argv)}: {why}")
        return None
    return result.stdout


_NFT_JSON = ("nft", "-j", "list", "ruleset")
_NFT_TEXT = ("nft", "-a", "list", "ruleset")
_ADDRESSES = ADDRESSES_COMMAND


def capture(runner: Runner) -> Capture:
    """Read everything the kernel enforces: nft (JSON and text), each iptables-save variant
    and the local addresses. A missing tool is recorded in `errors`, never raised. The
    commands run at once (each takes ~0.3 s on a 10,000-rule ruleset)."""
    commands = [_NFT_JSON, _NFT_TEXT, _ADDRESSES, *((c,) for c, _v, _s in _SAVE_COMMANDS)]
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        results = dict(zip(commands, pool.map(runner, commands), strict=True))
    errors: list[str] = []
    nft_json = _output(results[_NFT_JSON], _NFT_JSON, errors)
    nft_text = _output(results[_NFT_TEXT], _NFT_TEXT, errors) if nft_json else None
    saves = []
    for command, version, source in _SAVE_COMMANDS:
        result = results[(command,)]
        if result.returncode == 0 and result.stdout.strip():
            saves.append(SaveCapture(version=version, source=source, text=result.stdout))
        elif result.returncode not in (0, 127):
            errors.append(f"{command}: {result.stderr.strip()[:200]}")
    addresses = _output(results[_ADDRESSES], _ADDRESSES, errors)
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
        ("nft", "-j", "list", "ruleset"): captured.nft_json,
        ("nft", "-a", "list", "ruleset"): captured.nft_text,
        ("ip", "-j", "addr", "show"): captured.addresses_json,
    }
    for command, version, source in _SAVE_COMMANDS:
        outputs[(command,)] = next(
            (s.text for s in captured.saves if (s.version, s.source) == (version, source)), ""
        )

    def run(argv: Sequence[str]) -> RunResult:
        key = tuple(argv)
        if key[:4] == ("ip", "-j", "route", "get") and routes and key[4] in routes:
            return RunResult(returncode=0, stdout=json.dumps([{"dev": routes[key[4]]}]))
        text = outputs.get(key)
        if text is None:
            return RunResult(returncode=1, stdout="", stderr=f"{argv[0]}: not captured")
        return RunResult(returncode=0, stdout=text)

    return run
