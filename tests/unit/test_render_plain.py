"""The terminal report laid out without rich is byte for byte what rich prints without colour."""

from __future__ import annotations

import dataclasses
import io

import evidence_cases as c
import remote_cases as r
from hypothesis import event, given, settings
from hypothesis import strategies as st

from netdx.diagnose import build_report
from netdx.model import Report, Step
from netdx.model.report import Finding
from netdx.render.terminal import console_for, plain_text, render_rich, render_terminal

BASES = (
    build_report(c.TARGETS["web"], c.OK_HTTP, 1234.5),
    build_report(c.TARGETS["db"], c.PORT_FILTERED, 99.0),
    build_report(c.TARGETS["db"], r.REMOTE_RULE_CONFIRMED, 2500.0),
)

# Mostly what reports hold (words, addresses, the report's symbols, runs of spaces, words
# longer than a line), and now and then what only rich can measure (wide, combining and
# control characters, newlines, tabs): then the plain layout must step aside.
_CHARS = st.sampled_from("abcdefghij KLMNO 0123:./[]-_ ✔→•·—≥")
_ODD = st.sampled_from(["界", "e\u0301", "\t", "\n", "\x1b[31m", "\u200b", "\r"])
_WORD = st.one_of(st.text(_CHARS, min_size=1, max_size=12),
                  st.text(st.sampled_from("x-"), min_size=60, max_size=130))
_CLEAN = st.lists(_WORD, max_size=30).map(" ".join)
_MIXED = st.lists(st.one_of(_WORD, _ODD), max_size=30).map(" ".join)
TEXT = st.one_of(*[_CLEAN] * 30, _MIXED)  # one text in 31 may hold what only rich measures
LINES = st.lists(TEXT, max_size=3).map(tuple)


def rich_text(report: Report, width: int, quiet: bool) -> str:
    buf = io.StringIO()
    render_rich(report, console_for(buf, width, color=False), quiet=quiet)
    return buf.getvalue()


@st.composite
def reports(draw: st.DrawFn) -> Report:
    base = draw(st.sampled_from(BASES))
    steps = tuple(dataclasses.replace(step, summary=draw(TEXT)) for step in base.steps)
    verdict = dataclasses.replace(
        base.verdict, summary=draw(TEXT), evidence=draw(LINES), fix=draw(LINES),
        warnings=tuple(Finding(cause="x.y", severity="warn", step="port", summary=s)
                       for s in draw(LINES)))
    remote = base.remote
    if remote is not None:
        remote = dataclasses.replace(remote, lines=draw(LINES), destination=draw(TEXT))
    target = dataclasses.replace(base.target, raw=draw(TEXT))
    return dataclasses.replace(base, steps=steps, verdict=verdict, remote=remote, target=target)


@settings(max_examples=400, deadline=None)
@given(report=reports(), width=st.integers(min_value=20, max_value=160), quiet=st.booleans())
def test_plain_layout_is_richs_or_steps_aside(report: Report, width: int, quiet: bool) -> None:
    """For any report text and width, the plain layout equals rich's output, or is None (then
    render_terminal uses rich), and render_terminal prints rich's text either way."""
    expected = rich_text(report, width, quiet)
    plain = plain_text(report, width=width, quiet=quiet)
    assert plain is None or plain == expected
    event("laid out without rich" if plain is not None else "laid out by rich")
    buf = io.StringIO()
    render_terminal(report, file=buf, width=width, color=False, quiet=quiet)
    assert buf.getvalue() == expected


def test_plain_layout_serves_the_usual_reports() -> None:
    """The everyday reports (one-cell text, width 80 or more) are laid out without rich."""
    for base in BASES:
        for width in (80, 100):
            assert plain_text(base, width=width) == rich_text(base, width, False)
    long_step = Step(layer="reach", status="pass", summary="a " * 100)
    report = dataclasses.replace(BASES[0], steps=(long_step,))
    assert plain_text(report, width=80) == rich_text(report, 80, False)
