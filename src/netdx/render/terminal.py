"""The report on a terminal: a layered checklist, then the verdict block.

One screen for a support engineer: one line per step, then the cause, its evidence and the
commands that fix or confirm it. rich is imported inside `render_terminal` (it is heavy).
Every piece of report text goes through `Text`, never markup: addresses like `[::1]:80`
would otherwise be read as markup tags.

Without colour and at a known width (a pipe, a file, the tests), the text is laid out here
without rich, byte for byte as rich lays it out: rich's word wrap is ported below for text
whose every character is one cell wide; any other text (wide or combining characters,
control codes, newlines, a very narrow width) still goes through rich. Importing rich costs
~17 ms of CPU on top of what `check` imports anyway (60 ms on its own), more than the rest
of the rendering; tests/unit/test_render_plain.py compares both layouts on generated reports.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from netdx.model import Report, Verdict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

    from rich.console import Console
    from rich.text import Text

# Each checklist status: its icon (plain text and rich alike) and its rich style, in one row
# so that a new status cannot get one without the other.
_STATUSES: dict[str, tuple[str, str]] = {
    "pass": ("✔", "green"),
    "fail": ("✘", "bold red"),
    "warn": ("!", "yellow"),
    "skip": ("–", "dim"),
    "unknown": ("?", "magenta"),
}
STATUS_ICONS: dict[str, str] = {status: icon for status, (icon, _) in _STATUSES.items()}
_STATUS_STYLES: dict[str, str] = {status: style for status, (_, style) in _STATUSES.items()}


def _verdict_status(verdict: Verdict) -> str:
    """The checklist status whose icon heads the verdict line."""
    if verdict.ok:
        return "pass"
    return "unknown" if verdict.cause == "unknown" else "fail"


def console_for(file: IO[str], width: int | None, color: bool | None) -> Console:
    """The rich console `render_terminal` prints through."""
    from rich.console import Console

    # False: no escapes at all; True forces them even into a pipe; None lets rich look at
    # the terminal.
    return Console(
        file=file,
        width=width,
        highlight=False,
        emoji=False,
        color_system=None if color is False else "auto",
        force_terminal=color,
    )


def render_terminal(
    report: Report,
    *,
    file: IO[str],
    width: int | None = None,
    color: bool | None = None,
    quiet: bool = False,
) -> None:
    """Print the report to `file`: checklist and verdict, or only the verdict line if quiet.

    `color` None lets rich decide from the terminal; False prints plain text.
    """
    if color is False and width is not None:
        text = plain_text(report, width=width, quiet=quiet)
        if text is not None:
            file.write(text)
            return
    render_rich(report, console_for(file, width, color), quiet=quiet)


def render_rich(report: Report, console: Console, *, quiet: bool = False) -> None:
    """`render_terminal` through rich onto `console`, whatever the text and the terminal."""
    from rich.text import Text

    verdict = report.verdict
    status = _verdict_status(verdict)
    head = Text(verdict.cause, style=f"bold {_STATUS_STYLES[status]}")
    head.append(f": {verdict.summary}")
    icon = Text(f"{STATUS_ICONS[status]} ", _STATUS_STYLES[status])
    if quiet:
        # One line for scripts and pipes (`-q | grep`): never wrapped at the width.
        console.print(icon + head, soft_wrap=True)
        return
    verdict_line = _hanging(console, icon, head)
    title = Text("netdx check ", style="bold")
    title.append(report.target.raw)
    title.append(f"  ({report.elapsed_ms / 1000:.2f} s)", style="dim")
    console.print(title)
    for step in report.steps:
        style = _STATUS_STYLES.get(step.status, "")
        prefix = Text(f" {STATUS_ICONS.get(step.status, '?')} ", style=style)
        prefix.append(f"{step.layer:<8}", style="bold" if step.status in ("fail", "warn") else "")
        body = Text(step.summary, style="dim" if step.status == "skip" else "")
        console.print(_hanging(console, prefix, body))
    if report.remote is not None:
        # The server's side (--ssh), as diagnose wrote it: what the verdict joined.
        console.print()
        _print_block(console, f"server (ssh {report.remote.destination})",
                     report.remote.lines, "·", "", indent=" ")  # fmt: skip
    console.print()
    console.print(verdict_line)
    _print_block(console, "evidence", verdict.evidence, "•", "")
    _print_block(console, "fix", verdict.fix, "→", "cyan")
    warnings = tuple(f"{w.cause}: {w.summary}" for w in verdict.warnings)
    _print_block(console, "warnings", warnings, "!", "yellow")


def _hanging(console: Console, prefix: Text, body: Text) -> Text:
    """`prefix` then `body`, wrapped to the console width with a hanging indent.

    Wrapping by hand (rather than a rich table) keeps lines free of trailing padding, so
    the text copies cleanly into a ticket.
    """
    from rich.text import Text

    room = max(20, console.width - prefix.cell_len)
    lines = body.wrap(console, room, overflow="fold")
    out = Text()
    for i, line in enumerate(lines):
        out.append_text(prefix if i == 0 else Text(" " * prefix.cell_len))
        line.rstrip()
        out.append_text(line)
        if i < len(lines) - 1:
            out.append("\n")
    return out


def _print_block(
    console: Console,
    title: str,
    lines: tuple[str, ...],
    bullet: str,
    style: str,
    *,
    indent: str = "  ",
) -> None:
    """A titled, indented list with hanging indents; nothing when empty."""
    if not lines:
        return
    from rich.text import Text

    console.print(Text(f"{indent}{title}", style="bold"))
    for line in lines:
        console.print(_hanging(console, Text(f"{indent}  {bullet} ", style=style), Text(line)))


# --- the same layout without rich ------------------------------------------------------------

# Characters rich measures as one cell and wraps like ASCII (no grapheme joins): printable
# ASCII and the symbols netdx's reports use. Any other character sends the report to rich.
_ONE_CELL = frozenset(map(chr, range(0x20, 0x7F))) | frozenset("✔✘–—→•·≥≤±×…")
# Below this width a hanging indent can outgrow the line (rich then re-wraps it): use rich.
_PLAIN_MIN_WIDTH = 40


def _words(text: str) -> Iterator[tuple[int, str]]:
    """(start, word) of each match of rich._wrap.re_word, `\\s*\\S+\\s*` (a word with the
    spaces before the first and after each), found without `re` (~1.5 ms to import): `\\s`
    of a str pattern is `str.isspace`."""
    end, at = len(text), 0
    while at < end:
        stop = at
        while stop < end and text[stop].isspace():
            stop += 1
        if stop == end:  # only spaces left: no word
            return
        while stop < end and not text[stop].isspace():
            stop += 1
        while stop < end and text[stop].isspace():
            stop += 1
        yield at, text[at:stop]
        at = stop


def _divide(text: str, width: int) -> list[int]:
    """rich._wrap.divide_line (fold=True) for one-cell characters: where lines break."""
    breaks: list[int] = []
    offset = 0
    for start, word in _words(text):
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:  # a word longer than a line is folded into pieces
            pieces = [word[i : i + width] for i in range(0, len(word), width)]
            for i, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if i == len(pieces) - 1:
                    offset = len(piece)
                else:
                    start += len(piece)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


def _wrap(text: str, width: int) -> list[str]:
    """rich's Text.wrap (justify default, overflow fold) of one line of one-cell text."""
    if len(text) <= width:  # every word fits where it stands: no break, nothing cut
        return [text]
    bounds = [0, *_divide(text, width), len(text)]
    lines = []
    for start, end in itertools.pairwise(bounds):
        line = text[start:end]
        if len(line) > width:  # Text.rstrip_end: drop only the spaces beyond the width
            spaces = len(line) - len(line.rstrip())  # rich's `\s+$`
            if spaces:
                line = line[: len(line) - min(spaces, len(line) - width)]
        lines.append(line[:width])
    return lines


def _plain_hanging(prefix: str, body: str, width: int) -> str:
    """`_hanging` without rich."""
    lines = _wrap(body, max(20, width - len(prefix)))
    return "\n".join((prefix if i == 0 else " " * len(prefix)) + line.rstrip()
                     for i, line in enumerate(lines))


def plain_text(report: Report, *, width: int, quiet: bool = False) -> str | None:
    """What `render_rich` prints without colour at `width`, or None when only rich can lay
    the text out the same way (see the module's docstring)."""
    if width < _PLAIN_MIN_WIDTH:
        return None
    out: list[str] = []

    def put(*texts: str) -> bool:
        """console.print of each text (rich wraps it again at the console width)."""
        for text in texts:
            if not _ONE_CELL.issuperset(text):
                return False
        out.extend("\n".join(w for line in texts for w in _wrap(line, width)).split("\n"))
        return True

    verdict = report.verdict
    status = _verdict_status(verdict)
    icon = STATUS_ICONS[status]
    verdict_line = f"{verdict.cause}: {verdict.summary}"
    if not _ONE_CELL.issuperset(verdict_line):
        return None
    if quiet:
        return f"{icon} {verdict_line}\n"  # one line, unwrapped, like rich's soft wrap
    verdict_text = _plain_hanging(f"{icon} ", verdict_line, width)
    title = f"netdx check {report.target.raw}  ({report.elapsed_ms / 1000:.2f} s)"
    if not put(title):
        return None
    for step in report.steps:
        prefix = f" {STATUS_ICONS.get(step.status, '?')} {step.layer:<8}"
        if not _ONE_CELL.issuperset(prefix + step.summary):
            return None
        put(*_plain_hanging(prefix, step.summary, width).split("\n"))
    blocks: list[tuple[str, tuple[str, ...], str, str]] = []
    if report.remote is not None:
        blocks.append((f"server (ssh {report.remote.destination})", report.remote.lines,
                       "·", " "))
    for title_, lines, bullet, indent in blocks:
        out.append("")
        if not _plain_block(put, title_, lines, bullet, indent, width):
            return None
    out.append("")
    if not put(*verdict_text.split("\n")):
        return None
    warnings = tuple(f"{w.cause}: {w.summary}" for w in verdict.warnings)
    for title_, lines, bullet in (("evidence", verdict.evidence, "•"), ("fix", verdict.fix, "→"),
                                  ("warnings", warnings, "!")):
        if not _plain_block(put, title_, lines, bullet, "  ", width):
            return None
    return "\n".join(out) + "\n"


def _plain_block(put: Callable[..., bool], title: str, lines: tuple[str, ...], bullet: str,
                 indent: str, width: int) -> bool:
    """`_print_block` without rich; False when a text needs rich."""
    if not lines:
        return True
    if not put(f"{indent}{title}"):
        return False
    for line in lines:
        prefix = f"{indent}  {bullet} "
        if not _ONE_CELL.issuperset(prefix + line):
            return False
        put(*_plain_hanging(prefix, line, width).split("\n"))
    return True
