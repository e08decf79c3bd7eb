"""The command line: parse, build settings, call, render, return an exit code.

Exit codes: 0 ok, 1 a problem was diagnosed, 2 bad usage or input, 3 netdx could not run.
Heavy libraries are imported inside the commands, so `netdx --help` stays fast. The installed
`netdx` script starts in `netdx.start`, which runs a plain `check TARGET` without click and
hands every other command line to `main` here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from netdx import __version__
from netdx.host.option import netns_option
from netdx.host.ssh_option import ssh_options
from netdx.http_option import http_options
from netdx.options import timeout_option
from netdx.start import (
    CHECK_TIMEOUT_S,
    EXIT_CANNOT_RUN,
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    check_command,
    error,
    guarded,
    tolerant_streams,
)

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from netdx.host.ssh import SshOptions
    from netdx.model.service import HttpOptions

__all__ = ["EXIT_CANNOT_RUN", "EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE", "cli", "main"]

# Subcommands that live in their own modules, imported only when used: the entry point
# ("module:attribute", as in a package's entry points) and the one-line help shown by
# `netdx --help` without importing the module.
_LAZY_COMMANDS = {
    "dns": ("netdx.dns.cli:dns",
            "Ask DNS precisely; --trace walks from the root, --compare checks every source."),
    "firewall": ("netdx.firewall.cli:firewall",
                 "Name the rule of the live ruleset that decides a flow; snapshot and diff."),
    "inspect": ("netdx.sockets.cli:inspect",
                "On the server: the verdict for one service port (listeners, queues, leaks)."),
    "lab": ("netdx.lab.cli:lab", "Rebuild failure modes in network namespaces."),
    "route": ("netdx.route.cli:route", "ip route get with the reasons: rule, table, next hop."),
    "serve": ("netdx.serve.cli:serve", "A Prometheus exporter of check (blackbox style)."),
    "sockets": ("netdx.sockets.cli:sockets",
                "List sockets like ss, faster, with owners (-p) and per-state summaries."),
    "trace": ("netdx.trace.cli:trace_command", "Per-hop loss and latency, like mtr --report."),
    "verify": ("netdx.verify.cli:verify", "Check declared flows across hosts, with each cause."),
    "who": ("netdx.sockets.cli:who", "Which process, user and fd own a port (like lsof -i)."),
    "self": ("netdx.selfcheck.cli:self_command", "This host reaches nothing? Loopback to DNS."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS:
            import importlib

            module, _, attr = _LAZY_COMMANDS[cmd_name][0].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Tab completion of a command name uses the lazy one-line help: completing `netdx
        s<TAB>` imports no command module (click's own would import them all)."""
        from click.shell_completion import CompletionItem

        items = [
            CompletionItem(name, help=_LAZY_COMMANDS[name][1])
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and name in _LAZY_COMMANDS
        ]
        for name in super().list_commands(ctx):
            command = super().get_command(ctx, name)
            if name.startswith(incomplete) and command is not None and not command.hidden:
                items.append(CompletionItem(name, help=command.get_short_help_str()))
        # Options of the group itself (--help, --version), as click's Command completes them.
        return items + click.Command.shell_complete(self, ctx, incomplete)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in _LAZY_COMMANDS:
                rows.append((name, _LAZY_COMMANDS[name][1]))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit=60)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""\b
Examples:
  netdx check db.internal:5432          why can't I reach postgres?
  netdx sockets -tlnp                    what listens here, and which process
  eval "$(_NETDX_COMPLETE=bash_source netdx)"   tab completion in bash
""",
)
@click.version_option(__version__, prog_name="netdx")
def cli() -> None:
    """Why can't A connect to B? netdx walks DNS, route, reachability, port and service,
    names the failing layer, shows the evidence and gives the fix."""


@cli.command(
    epilog="""\b
Examples:
  netdx check db.internal:5432                     DNS, route, port and service
  netdx check https://api.example.com/health --json
  netdx check 10.0.0.5:8080 --ssh admin@10.0.0.5   join both ends of the flow
"""
)
@click.argument("target")
@timeout_option(CHECK_TIMEOUT_S, "One time budget in seconds for the whole check.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (netdx.check/1).")
@click.option("--markdown", is_flag=True, help="Print the report as Markdown.")
@click.option("-4", "ipv4", is_flag=True, help="Use IPv4 addresses only.")
@click.option("-6", "ipv6", is_flag=True, help="Use IPv6 addresses only.")
@click.option(
    "--dns-server",
    "dns_servers",
    multiple=True,
    metavar="ADDR",
    help="Ask this DNS server instead of those in /etc/resolv.conf (repeatable).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict line.")
@click.option(
    "--json-file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the JSON report to this file (the terminal output stays).",
)
@click.option(
    "--root-hints",
    type=click.Path(dir_okay=False, exists=True),
    help="Root hints for the authoritative DNS check (default: the system's).",
)
@click.option(
    "--evidence-file",
    type=click.Path(dir_okay=False, writable=True),
    hidden=True,
    help="Write the raw evidence (before diagnosis) as JSON: for test fixtures.",
)
@click.option("--source", metavar="ADDR", help="Probe from this address of this host (nc -s).")
@click.option("--interface", metavar="IFACE", help="Probe through this interface (ping -I).")
@click.option(
    "--tls",
    is_flag=True,
    default=False,
    help="After the TCP connect, make a TLS handshake (openssl s_client) and judge the "
    "certificate: HOST:PORT, tcp:// and postgres:// (after SSLRequest); https:// has it.",
)
@netns_option()
@ssh_options
@http_options
def check(
    *,
    source: str | None,
    interface: str | None,
    tls: bool,
    target: str,
    ssh: SshOptions | None,
    http: HttpOptions,
    json_file: str | None,
    root_hints: str | None,
    evidence_file: str | None,
    timeout: float,
    as_json: bool,
    markdown: bool,
    ipv4: bool,
    ipv6: bool,
    dns_servers: tuple[str, ...],
    quiet: bool,
) -> int:
    """Diagnose why TARGET cannot be reached.

    TARGET is host:port, [v6addr]:port, host (reachability only), or a URL:
    http://, https://, postgres://, redis://, mysql://, tcp://host:port, rediss:// (TLS).
    UDP: udp://host:port (a datagram: it answers, is closed, or is open|filtered) and
    dns://SERVER[:PORT]/NAME?type=A (a real DNS query: rcode, answer, SERVFAIL's cause).

    With --ssh [USER@]HOST the server is read over SSH while the probes run (its listeners,
    firewall rule with counters, queues, the wire), and the verdict joins both ends, all
    within the same --timeout.
    """
    return check_command(
        target=target,
        timeout=timeout,
        as_json=as_json,
        markdown=markdown,
        ipv4=ipv4,
        ipv6=ipv6,
        dns_servers=dns_servers,
        quiet=quiet,
        json_file=json_file,
        root_hints=root_hints,
        evidence_file=evidence_file,
        ssh=ssh,
        http=http,
        source=source,
        interface=interface,
        tls=tls,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run netdx with `argv` (default: sys.argv[1:]) through click; the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    tolerant_streams()

    def run() -> int:
        try:
            result = cli.main(args=args, prog_name="netdx", standalone_mode=False)
        except click.exceptions.Exit as exc:
            return int(exc.exit_code)
        except click.Abort:
            error("aborted")
            return 130
        except click.exceptions.NoArgsIsHelpError as exc:
            # `netdx` or `netdx lab` alone asks what there is: the help, not "error: Usage:".
            click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
            return EXIT_OK
        except click.ClickException as exc:
            error(exc.format_message())
            return EXIT_USAGE
        return result if isinstance(result, int) else EXIT_OK

    return guarded(run)
