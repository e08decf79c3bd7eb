"""`netdx check TARGET` without click (netdx.start) behaves as through click (netdx.cli):
the same output, errors and exit code on every argv, fast or not."""

from __future__ import annotations

import socket

import pytest
from two_paths import run_steady

from netdx import cli, start

# (argv with PORT for a refused loopback port, taken by the fast path?)
ARGVS: list[tuple[list[str], bool]] = [
    (["check", "127.0.0.1:PORT"], True),
    (["check", "127.0.0.1:PORT", "--json"], True),
    (["check", "--json", "-q", "127.0.0.1:PORT", "--timeout", "1.5"], True),
    (["check", "127.0.0.1:PORT", "--timeout=2", "-4", "--quiet"], True),
    (["check", "[::1]:PORT", "-4"], True),  # the body's usage error
    (["check", "-4", "-6", "127.0.0.1:PORT"], True),
    (["check", "127.0.0.1:99999"], True),  # a target error
    (["check", ""], True),
    (["check"], False),
    (["check", "127.0.0.1:PORT", "--timeout", "0"], False),
    (["check", "127.0.0.1:PORT", "--timeout", "nan"], False),
    (["check", "127.0.0.1:PORT", "--timeout", "-4"], False),
    (["check", "127.0.0.1:PORT", "--timeout"], False),
    (["check", "127.0.0.1:PORT", "extra"], False),
    (["check", "127.0.0.1:PORT", "--json", "--json"], False),
    (["check", "127.0.0.1:PORT", "--markdown"], False),
    (["check", "127.0.0.1:PORT", "--bogus"], False),
    (["check", "--", "127.0.0.1:PORT"], False),
    (["check", "-q4", "127.0.0.1:PORT"], False),
    (["check", "--help"], False),
    (["check", "127.0.0.1:PORT", "--method", "HEAD"], False),  # HTTP options: click's
    (["check", "127.0.0.1:PORT", "--tls"], False),  # --tls: click's, the same body
    (["check", "udp://127.0.0.1:PORT", "--tls"], False),  # its usage error
    (["--version"], True),
    (["--version", "--help"], False),
    (["check", "--version"], False),
]


@pytest.fixture(scope="module")
def port() -> str:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@pytest.mark.parametrize(("argv", "fast"), ARGVS, ids=[" ".join(a) or "-" for a, _ in ARGVS])
def test_fast_path_matches_click(
    argv: list[str], fast: bool, port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each argv gives the same exit code, stdout and stderr through netdx.start as through
    click; only the plain forms are read without click."""
    argv = [a.replace("PORT", port) for a in argv]
    assert (start.fast_check(argv) is not None or argv == ["--version"]) == fast
    through_click = run_steady(cli.main, argv, capsys)
    through_start = run_steady(start.main, argv, capsys)
    assert through_start == through_click
    assert through_click[0] in (0, 1, 2)


def test_fast_path_reads_the_values_click_would() -> None:
    """Flags, both spellings of --timeout and the default budget come out as click's
    options would set them."""
    assert start.fast_check(["check", "h:1"]) == start.FastCheck(target="h:1", timeout=5.0)
    got = start.fast_check(["check", "-6", "--timeout=0.1", "h:1", "--json", "--quiet"])
    assert got == start.FastCheck(target="h:1", timeout=0.1, ipv6=True, as_json=True,
                                  quiet=True)
    assert start.fast_check(["check", "h:1", "--timeout", "1e309"]) is None  # click refuses
    assert start.fast_check(["dns", "h"]) is None
