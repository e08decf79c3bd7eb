"""The report on a terminal: a layered checklist, then the verdict block.

One screen for a support engineer: one line per step, then the cause, its evidence and the
commands that fix or confirm it. rich is imported inside `render_terminal` (it is heavy).
Every piece of report text goes through `Text`, never markup: addresses like `[::1]:80`
would otherwise be read as markup tags.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from netdx.model import Report, Verdict

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

STATUS_ICONS: dict[str, str] = {
    "pass": "✔",
    "fail": "✘",
    "warn": "!",
    "skip": "–",
    "unknown": "?",
}

_STATUS_STYLES: dict[str, str] = {
    "pass": "green",
    "fail": "bold red",
    "warn": "yellow",
    "skip": "dim",
    "unknown": "magenta",
}


def _verdict_status(verdict: Verdict) -> str:
    """The checklist status whose icon heads the verdict line."""
    if verdict.ok:
        return "pass"
    return "unknown" if verdict.cause == "unknown" else "fail"


def _console(file: IO[str], width: int | None, color: bool | None) -> Console:
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
    from rich.text import Text

    console = _console(file, width, color)
    verdict = report.verdict
    status = _verdict_status(verdict)
    head = Text(verdict.cause, style=f"bold {_STATUS_STYLES[status]}")
    head.append(f": {verdict.summary}")
    verdict_line = _hanging(console, Text(f"{STATUS_ICONS[status]} ", _STATUS_STYLES[status]), head)
    if quiet:
        console.print(verdict_line)
        return
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
