"""`python -m netdx.dns ARGS` runs `netdx dns ARGS` (handy inside `ip netns exec`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from netdx.dns.cli import dns
from netdx.errors import NetdxError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the dns command with netdx's exit codes: 0 ok, 1 problem, 2 usage, 3 cannot run."""
    try:
        result = dns.main(args=list(sys.argv[1:] if argv is None else argv),
                          prog_name="netdx dns", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"netdx: error: {exc.format_message()}", err=True)
        return 2
    except NetdxError as exc:
        click.echo(f"netdx: error: {exc}", err=True)
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
