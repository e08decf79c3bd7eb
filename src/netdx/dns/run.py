"""The body of `netdx dns`, shared by click's command (`netdx.dns.cli`) and by the plain
command lines `netdx.start` reads itself (`fast_dns`): click and netdx's command table cost
about 30 ms of CPU, as much as a whole trace of a LAN's hierarchy.

`fast_dns` takes only what click reads the same way: words (NAME, TYPEs, @SERVERs,
+options), the flags --trace, --compare, --tcp, --norecurse, --short and --json each at
most once, and `--root-hints FILE` and `--timeout S` with values click would accept. Anything
else (help, -x, -p, --server-timeout, --netns, `--`, a repeat, a value click would refuse)
goes to click untouched, so every usage message of click's stays click's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from netdx.dns.words import DigWords, parse_words
from netdx.errors import UsageError
from netdx.start import _seconds  # `--timeout`'s value as click reads it, when valid

_FLAGS = {"--trace": "trace", "--compare": "compare", "--tcp": "tcp",
          "--norecurse": "norecurse", "--short": "short", "--json": "as_json"}
_VALUES = ("--root-hints", "--timeout")


def dns_command(*, args: tuple[str, ...], reverse: str | None = None, trace: bool = False,
                compare: bool = False, root_hints: str | os.PathLike[str] | None = None,
                tcp: bool = False, norecurse: bool = False, short: bool = False, port: int = 53,
                timeout: float = 5.0, server_timeout: float = 1.0,
                as_json: bool = False) -> int:
    """Run `netdx dns` with its options as click gives them; the exit code (0 answered, 1 a
    problem found). Bad words are a UsageError."""
    words = dns_words(args, reverse, short=short, as_json=as_json, compare=compare)
    short = short or words.short
    from netdx.dns.command import DnsRequest, run_sync
    from netdx.dns.render import short_lines, to_json, to_text
    from netdx.start import echo

    request = DnsRequest(name=words.name, types=words.types, servers=words.servers, port=port,
                         trace=trace or words.trace, compare=compare,
                         root_hints=None if root_hints is None else os.fspath(root_hints),
                         tcp=tcp if words.tcp is None else words.tcp,
                         recurse=not norecurse if words.recurse is None else words.recurse,
                         timeout=timeout, server_timeout=server_timeout)
    report = run_sync(request)
    if as_json and not short:
        from dataclasses import replace

        from netdx.host.netns import here

        # Where the queries went from: the namespace this process is in (--netns, `ip
        # netns exec`), else this host. Read for the JSON only: the text does not say it.
        report = replace(report, observed_on=here())
    if short:
        answers, problems = short_lines(report)
        for line in answers:
            echo(line)
        for line in problems:
            echo(f"netdx: note: {line}", err=True)
    else:
        echo(to_json(report) if as_json else to_text(report), nl=as_json)
    return 0 if report.ok else 1


def dns_words(args: tuple[str, ...], reverse: str | None, *, short: bool, as_json: bool,
              compare: bool) -> DigWords:
    """The words, checked against the options given with them; a UsageError else."""
    words = parse_words(args, reverse)
    short = short or words.short
    if short and as_json:
        raise UsageError("+short and --json cannot be combined")
    if short and compare:
        raise UsageError("+short and --compare cannot be combined")
    if compare and len(words.servers) > 1:
        raise UsageError("--compare asks every configured resolver: give no @SERVER")
    return words


def fast_dns(argv: Sequence[str]) -> Callable[[], int] | None:
    """`dns_command` bound to the arguments after `dns` when click would read them the same
    way, else None (click then parses them, and says what is wrong)."""
    flags: dict[str, bool] = {}
    values: dict[str, str] = {}
    words: list[str] = []
    rest = list(argv)
    while rest:
        token = rest.pop(0)
        name, eq, value = token.partition("=")
        if token in _FLAGS and _FLAGS[token] not in flags:
            flags[_FLAGS[token]] = True
        elif name in _VALUES and name not in values and (eq or rest):
            values[name] = value if eq else rest.pop(0)
        elif token.startswith("-"):
            return None  # -x, -p, --help, --netns, --, a repeat: click's
        else:
            words.append(token)
    timeout = _seconds(values.get("--timeout", "5"))
    hints = values.get("--root-hints")
    # click.Path(dir_okay=False) refuses a directory; an empty or option-like name: click's.
    if timeout is None or (hints is not None and (not hints or hints.startswith("-")
                                                 or os.path.isdir(hints))):
        return None
    return lambda: dns_command(
        args=tuple(words), timeout=timeout, root_hints=hints,
        trace=flags.get("trace", False), compare=flags.get("compare", False),
        tcp=flags.get("tcp", False), norecurse=flags.get("norecurse", False),
        short=flags.get("short", False), as_json=flags.get("as_json", False))
