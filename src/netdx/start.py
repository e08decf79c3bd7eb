"""The `netdx` process entry: the common `netdx check TARGET` starts without click.

Importing click and building netdx's command table costs about a tenth of a refused
loopback check. So `main` first reads argv itself when it is in the narrow form users type
most, `check TARGET` with `--json`, `-q`/`--quiet`, `-4`/`-6` and a valid `--timeout S`,
each at most once, and runs the same `check_command` body that the click command runs,
under the same error handler; `--version` alone prints click's line itself. Anything else
(help, another command, another option, a value click would refuse, `--`) goes to click
untouched (`netdx.cli.main`), so every message and exit code of a usage error is click's
own. tests/unit/test_start_fast_path.py compares both paths on a set of argvs.
"""

from __future__ import annotations

import os
import sys

from netdx.errors import NetdxError, UsageError
from netdx.timeout import timeout_ok

# `netdx --version` imports this module and nothing else that typing would cost it
# (about a third of its own start): mypy reads any name TYPE_CHECKING as typing's.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from netdx.host.ssh import SshOptions
    from netdx.model.service import HttpOptions

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_CANNOT_RUN = 0, 1, 2, 3
# A command creates tens of thousands of objects that live until it ends (modules, classes,
# the model) and few reference cycles. At CPython's young-generation threshold of 700 a
# refused loopback check ran ~50 collections that freed nothing: 8-20 ms of its CPU (timed
# with gc.callbacks), and 10,000 still cost as much (5 larger ones). At 50,000 none runs
# before the verdict; a long `serve` or `verify` still collects its cycles, every 50,000
# allocations, with at most that many young objects waiting (a few MB). See `run`.
GC_THRESHOLD = (50_000, 20, 20)
CHECK_TIMEOUT_S = 5.0  # `check --timeout`'s default
VERSION_TEXT = "netdx, version {version}"  # `netdx --version`, as click's version_option says it

_HELP = frozenset(("--help", "-h"))
_FLAGS = {"--json": "as_json", "-q": "quiet", "--quiet": "quiet", "-4": "ipv4", "-6": "ipv6"}


class FastCheck:
    """`check` arguments read without click (only the forms click reads the same way).

    A plain class, neither a NamedTuple nor a frozen dataclass: `typing` and `dataclasses`
    (which imports `inspect`) would cost `netdx --version` and `--help`, passing through
    here, more than their whole start."""

    __slots__ = ("as_json", "ipv4", "ipv6", "quiet", "target", "timeout")

    def __init__(self, *, target: str, timeout: float = CHECK_TIMEOUT_S, as_json: bool = False,
                 quiet: bool = False, ipv4: bool = False, ipv6: bool = False) -> None:
        self.target, self.timeout, self.as_json = target, timeout, as_json
        self.quiet, self.ipv4, self.ipv6 = quiet, ipv4, ipv6

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FastCheck) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable slots, like a dataclass's eq

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"FastCheck({fields})"


def fast_check(argv: Sequence[str]) -> FastCheck | None:
    """The arguments of `argv` when it is a plain `check TARGET [flags] [--timeout S]`, else
    None (click then parses it, and says what is wrong with it)."""
    if len(argv) < 2 or argv[0] != "check":
        return None
    target: str | None = None
    timeout: float | None = None
    flags: dict[str, bool] = {}
    rest = list(argv[1:])
    while rest:
        token = rest.pop(0)
        if token in _FLAGS and _FLAGS[token] not in flags:
            flags[_FLAGS[token]] = True
        elif token == "--timeout" and rest and timeout is None:
            timeout = _seconds(rest.pop(0))
            if timeout is None:
                return None
        elif token.startswith("--timeout=") and timeout is None:
            timeout = _seconds(token.partition("=")[2])
            if timeout is None:
                return None
        elif not token.startswith("-") and target is None:
            target = token
        else:
            return None  # an option click knows (or does not), a second target, a repeat
    if target is None:
        return None
    return FastCheck(target=target, timeout=CHECK_TIMEOUT_S if timeout is None else timeout,
                     **flags)


def _seconds(text: str) -> float | None:
    """`--timeout`'s value as click's float type reads it, when the budget accepts it."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if timeout_ok(value) else None


def check_command(
    *,
    target: str,
    timeout: float,
    as_json: bool = False,
    markdown: bool = False,
    ipv4: bool = False,
    ipv6: bool = False,
    dns_servers: tuple[str, ...] = (),
    quiet: bool = False,
    json_file: str | None = None,
    root_hints: str | None = None,
    evidence_file: str | None = None,
    ssh: SshOptions | None = None,
    http: HttpOptions | None = None,
    source: str | None = None,
    interface: str | None = None,
    tls: bool = False,
) -> int:
    """The body of `netdx check` (click's command and the fast path): the exit code."""
    from netdx.check import CheckSettings, check_sync, validate_dns_servers
    from netdx.target import parse_target

    if as_json and markdown:
        raise UsageError("--json and --markdown cannot be combined")
    if ipv4 and ipv6:
        raise UsageError("-4 and -6 cannot be combined")
    parsed = parse_target(target)
    tls = _tls_for(parsed.scheme, parsed.port, tls)
    # rediss:// is TLS without --tls: its trust options (--cacert, -k) count as with it.
    http = _http_for(parsed.scheme, http, tls=tls or parsed.scheme == "rediss")
    settings = CheckSettings(
        verify_tls=http is None or not http.insecure,
        http=http,
        timeout=timeout,
        family=4 if ipv4 else 6 if ipv6 else None,
        dns_servers=validate_dns_servers(dns_servers),
        root_hints=root_hints,
        ssh=ssh,
        tls=tls,
    )
    from netdx.probes.bind import apply_binding, validate_binding

    with apply_binding(validate_binding(source, interface)):  # --source / --interface
        report, evidence = check_sync(parsed, settings)
    if json_file is not None:
        from netdx.options import write_output
        from netdx.render.json import to_json

        write_output(json_file, to_json(report))
    if evidence_file is not None:
        import json

        from netdx.model.codec import to_data
        from netdx.options import write_output

        write_output(evidence_file, json.dumps(to_data(evidence), indent=1, ensure_ascii=False))
    _render(report, as_json=as_json, markdown=markdown, quiet=quiet)
    return EXIT_OK if report.verdict.ok else EXIT_PROBLEM


def _http_for(
    scheme: str | None, http: HttpOptions | None, *, tls: bool = False
) -> HttpOptions | None:
    """`http` when the target speaks HTTP(S) (the TLS options only for https, or with
    --tls), else a UsageError for an option given in vain; None for the defaults."""
    if http is None:
        return None  # the fast path: no HTTP option given
    from netdx.http_option import given

    if not given(http):
        return None
    if tls and scheme not in ("http", "https"):
        from dataclasses import replace

        if given(replace(http, ca_file=None, ca_pem=None, insecure=False)):
            raise UsageError("--expect-status, --method and --header need an http:// or "
                             "https:// target")  # fmt: skip
        return http
    if scheme not in ("http", "https"):
        raise UsageError("--cacert, -k, --expect-status, --method and --header need an "
                         "http:// or https:// target")  # fmt: skip
    if scheme == "http" and (http.insecure or http.ca_file is not None):
        raise UsageError("--cacert and -k need an https:// target")
    return http


def _render(report: Any, *, as_json: bool, markdown: bool, quiet: bool) -> None:
    if as_json:
        from netdx.render.json import to_json

        echo(to_json(report))
    elif markdown:
        from netdx.render.markdown import to_markdown

        echo(to_markdown(report), nl=False)
    else:
        from netdx.render.terminal import render_terminal
        from netdx.tty import plain_width

        # Into a pipe or a file, the same text without importing rich (~50 ms).
        width = plain_width(sys.stdout)
        render_terminal(report, file=sys.stdout, quiet=quiet, width=width,
                        color=False if width is not None else None)


def echo(text: str, *, nl: bool = True, err: bool = False) -> None:
    """Write `text` as click.echo does. Text without ANSI codes, in ASCII (every JSON report
    of check: it escapes control characters) or to a stream whose encoding is not ASCII, is
    written as is, which is what click.echo writes for it; anything else goes through
    click.echo itself (it strips ANSI codes off a non-terminal and mends a stream whose
    encoding is ASCII)."""
    stream = sys.stderr if err else sys.stdout
    if "\x1b" not in text and (text.isascii() or _not_ascii(stream)):
        stream.write(text + "\n" if nl else text)
        stream.flush()
        return
    import click

    click.echo(text, nl=nl, err=err)


def _not_ascii(stream: Any) -> bool:
    """A text stream that click.echo writes to as it is: its encoding and errors set, the
    encoding not ASCII (click mends an ASCII one into UTF-8)."""
    import codecs  # loaded at every Python start

    encoding, errors = getattr(stream, "encoding", None), getattr(stream, "errors", None)
    if not isinstance(encoding, str) or errors is None:
        return False
    try:
        return codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return True


def error(message: str) -> None:
    """One line on stderr: `netdx: error: ` and the message's first line."""
    first = message.strip().splitlines()[0] if message.strip() else "error"
    echo(f"netdx: error: {first}", err=True)


def tolerant_streams() -> None:
    """A terminal or pipe whose encoding lacks ✔ or → (PYTHONIOENCODING=ascii, a C locale)
    gets escapes for them instead of an internal error."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def guarded(call: Callable[[], int]) -> int:
    """Run `call` under netdx's one error handler: netdx's own errors are one line and
    their exit code, an interrupt 130, a bug one line and 3 (its traceback with
    NETDX_DEBUG=1)."""
    try:
        return call()
    except NetdxError as exc:
        error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except Exception as exc:  # a bug: one line by default, the traceback on request
        if os.environ.get("NETDX_DEBUG"):
            raise
        error(f"internal error: {type(exc).__name__}: {exc} (set NETDX_DEBUG=1 for details)")
        return EXIT_CANNOT_RUN


def run() -> int:
    """The `netdx` script and `python -m netdx`: `main` as a process of its own, which
    ends once it has answered. The collector is tuned for that (GC_THRESHOLD), and what
    `main` made is frozen before the interpreter's shutdown: its last full collection then
    skips it (the process is ending; every object goes with it). That last collection
    took 25-45 ms of a refused loopback check's wall time, a fifth to a third of it, after the
    answer was printed (atexit to exit, timed from outside); frozen, ~7 ms. Shutdown is
    otherwise the interpreter's own: atexit handlers, flushes and thread joins all run.
    Callers in the same process (tests, the fuzz harness) call `main` and keep Python's
    defaults."""
    import gc

    gc.set_threshold(*GC_THRESHOLD)
    code = main()
    gc.freeze()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run netdx with `argv` (default: sys.argv[1:]) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from netdx import __version__

        echo(VERSION_TEXT.format(version=__version__))  # click's version_option, word for word
        return EXIT_OK
    if args and not args[0].startswith("-") and not _HELP.intersection(args):
        # A command that works (not --help: that loads no model) defines a hundred or more
        # dataclasses: their methods come precompiled (netdx.model.record), the plain
        # dataclasses of netlink and the collector too.
        from netdx.model.record import install

        install()
    fast = fast_check(args)
    if fast is None and args[:1] == ["dns"]:
        from netdx.dns.run import fast_dns  # a plain `dns ...` without click, as for check

        call = fast_dns(args[1:])
        if call is not None:
            tolerant_streams()
            return guarded(call)
    if fast is None and args[:1] == ["sockets"]:
        from netdx.sockets.run import fast_sockets  # a plain listing (-tan, --json) too

        call = fast_sockets(args[1:])
        if call is not None:
            tolerant_streams()
            return guarded(call)
    if fast is None:
        from netdx.cli import main as click_main

        return click_main(args)
    tolerant_streams()
    return guarded(
        lambda: check_command(target=fast.target, timeout=fast.timeout, as_json=fast.as_json,
                              quiet=fast.quiet, ipv4=fast.ipv4, ipv6=fast.ipv6)
    )


# --tls: the schemes whose port is TLS from its first byte (a bare host:port is scheme None),
# postgres and mysql, whose SSLRequest leads into TLS; https and rediss have it already (no-op).
_TLS_SCHEMES = (None, "tcp", "postgres", "postgresql", "mysql", "https", "rediss")


def _tls_for(scheme: str | None, port: int | None, tls: bool) -> bool:
    """Whether the plan makes a TLS handshake after the connect: --tls on a TCP target that
    is not https://; a UsageError where --tls has no handshake to make."""
    if not tls:
        return False
    if scheme in ("udp", "dns"):
        raise UsageError(f"--tls needs a TCP target: {scheme}:// has no TLS handshake to check")
    if scheme not in _TLS_SCHEMES:
        hint = {
            "http": " (use https://)",
            "redis": " (a TLS-wrapped redis is rediss://)",
        }.get(scheme or "", " (its TLS starts inside the protocol)")
        raise UsageError(f"--tls is not supported on {scheme}:// targets{hint}")
    if port is None:
        raise UsageError("--tls needs a port: HOST:PORT")
    return scheme not in ("https", "rediss")
