"""A password in a URL never reaches any output, also in the mistyped URLs where the URL
syntax does not allow the password's characters (issue 13's three examples)."""

from __future__ import annotations

import pytest

from netdx.cli import main

# Loopback only: port 9 (discard) is closed, so each check ends at once with "refused".
URLS = (
    "http://u:SECRET@bad host/",
    "http://u:SE/CRET@127.0.0.1:9/",
    "http://u:SE@CRET@127.0.0.1:9/",
    "https://u:SECRET@127.0.0.1:9/x@y",
)


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("output", ["--json", "--quiet"])
def test_no_part_of_the_password_is_printed(
    url: str, output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whether the URL is refused (exit 2) or checked (exit 1), neither stdout nor stderr
    holds any piece of the password."""
    code = main(["check", url, output, "--timeout", "2"])
    out, err = capsys.readouterr()
    assert code in (1, 2), (code, err)
    for piece in ("SECRET", "CRET", "SE/", "SE@"):
        assert piece not in out and piece not in err, (piece, out, err)
    if output == "--json" or code == 2:  # --quiet prints the verdict line alone
        assert "***" in out + err
