"""The command line contract: exit codes, one-line errors, a fast --help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from netdx import __all__ as public_names
from netdx.cli import main

HEAVY = ("rich", "dns", "aiohttp", "pydantic", "yaml", "asyncssh", "pyroute2")

BAD_TARGETS = [
    "host:99999",
    ":80",
    "http://",
    "a b:1",
    "a" * 300 + ":1",
    "x;rm -rf /",
    "$(reboot):22",
    "[",
    "host|cat /etc/passwd:1",
]


@pytest.mark.parametrize("raw", BAD_TARGETS)
def test_bad_target_exits_2_with_one_line(raw: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad target gives exit code 2 and exactly one line on stderr, nothing on stdout."""
    assert main(["check", raw]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("netdx: error: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", "db:1", "--timeout", "0"],
        ["check", "db:1", "--timeout", "abc"],
        ["check", "db:1", "-4", "-6"],
        ["check", "db:1", "--json", "--markdown"],
        ["check", "db:1", "--dns-server", "not-an-ip"],
        ["check", "db:1", "--no-such-option"],
        ["no-such-command"],
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad options give exit code 2 and a single error line."""
    assert main(argv) == 2
    _, err = capsys.readouterr()
    assert err.startswith("netdx: error: ")
    assert err.count("\n") == 1


def test_family_mismatch_with_literal_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """-6 with an IPv4 literal is refused before any probe runs."""
    assert main(["check", "127.0.0.1:1", "-6"]) == 2
    assert "IPv4 address" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["check", "--help"]])
def test_help_and_version_import_no_heavy_library(argv: list[str]) -> None:
    """`netdx --help`/`--version` load none of the heavy libraries."""
    code = (
        "import sys\n"
        "from netdx.cli import main\n"
        f"rc = main({argv!r})\n"
        "import json\n"
        f"print(json.dumps([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == []


def test_public_api_names_resolve() -> None:
    """Every name in netdx.__all__ is importable from the package."""
    import netdx

    assert public_names
    assert [name for name in public_names if not hasattr(netdx, name)] == []
    assert sorted(public_names) == sorted(set(public_names))


def test_reverse_lookup_of_a_scoped_address_asks_the_plain_ptr() -> None:
    """`dns -x fe80::1%lo` asks the PTR of fe80::1 (the zone is not part of the name); it
    used to end in an internal error."""
    from netdx.dns.cli import _split_args

    name, types, _ = _split_args((), "fe80::1%lo")
    assert name == "1." + "0." * 28 + "8.e.f.ip6.arpa."
    assert types == ("PTR",)
