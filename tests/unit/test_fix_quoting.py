"""A printed fix is pasted into a root shell: it must parse into the argv intended and run
nothing of its own, whatever the target URL holds."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import evidence_cases as c
import pytest

from netdx.diagnose.engine import run_rules
from netdx.model import CheckEvidence, Finding

HOSTILE_PATHS = (
    "/'$(touch${IFS}MARK)'",
    '/"$(touch MARK)"',
    "/`touch MARK`;touch MARK",
    "/x?a=1&b=2|touch MARK",
    "/$'\\x41'\\\n",
)


def _with_url(ev: CheckEvidence, url: str) -> CheckEvidence:
    a = ev.addresses[0]
    assert a.http is not None
    http = dataclasses.replace(a.http, url=url)
    return dataclasses.replace(ev, addresses=(dataclasses.replace(a, http=http),))


def _curl_lines(f: Finding) -> list[str]:
    return [line.split(": ", 1)[1] for line in f.fix if "curl" in line]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
@pytest.mark.parametrize(
    "case", [c.HTTP_500, c.HTTP_404, c.HTTP_301, c.HTTP_TIMEOUT, c.HTTP_FAILED]
)
def test_pasted_curl_fix_runs_nothing_and_keeps_the_url(
    case: CheckEvidence, path: str, tmp_path: Path
) -> None:
    """Pasted into bash, the curl line of an HTTP finding passes the URL as one argument and
    never runs a command hidden in it."""
    mark = tmp_path / "pwned"
    url = "http://web.lab.example:80" + path.replace("MARK", str(mark))
    ev = _with_url(case, url)
    findings = run_rules(ev)
    lines = [line for f in findings for line in _curl_lines(f)]
    assert lines, "the case should produce a curl fix"
    for line in lines:
        # The paste itself: bash parses the line; curl is a function that prints its argv.
        script = 'curl() { printf "%s\\0" "$@"; }\n' + line + "\n"
        out = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", script],
            cwd=tmp_path, capture_output=True, timeout=30, check=True,
        ).stdout
        argv = out.split(b"\0")[:-1]
        assert argv[-1].decode() == url
        assert argv[0] == b"-sv"
        assert argv[-3:-1] == [b"--resolve", b"web.lab.example:80:10.0.2.8"]
        assert not mark.exists()
