"""`netdx serve`: parse, load the config, bind, serve until stopped (SIGTERM or Ctrl-C)."""

from __future__ import annotations

import ipaddress
import signal
import sys
import threading
import types

import click

from netdx.errors import UsageError
from netdx.host.option import netns_option

DEFAULT_LISTEN = "127.0.0.1:9799"


def parse_listen(text: str) -> tuple[str, int]:
    """`ADDR:PORT` or `[V6ADDR]:PORT` → (address, port); port 0 picks a free one. The
    address must be an IP literal: a name would need the machine's resolver to bind."""
    from netdx.target import port_number

    shown = repr(text[:80])
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
    else:
        host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise UsageError(f"--listen {shown}: expected ADDR:PORT or [V6ADDR]:PORT")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"--listen {shown}: {host[:60]!r} is not an IP address") from None
    if text.startswith("[") != (address.version == 6):
        raise UsageError(f"--listen {shown}: an IPv6 address goes in brackets, IPv4 does not")
    port = 0 if port_text == "0" else port_number(port_text)
    if port is None:
        raise UsageError(f"--listen {shown}: the port must be a number from 0 to 65535")
    return str(address), port


@click.command(
    epilog="""\b
Examples:
  netdx serve                                        loopback targets only, 127.0.0.1:9799
  netdx serve --config netdx-serve.yaml              the targets and modules it allows
  netdx serve --listen 127.0.0.1:0 --config netdx-serve.yaml   any free port
"""
)
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    metavar="ADDR:PORT",
    help="Where to serve /probe and /metrics ([V6ADDR]:PORT for IPv6; port 0: any free one).",
)
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    help="YAML: allow_targets (CIDRs and names /probe may target) and modules. "
    "Without it only loopback targets are allowed.",
)
@click.option(
    "--cacert",
    metavar="FILE",
    help="Verify https:// (and tls: true) certificates against the CA certificates (PEM) "
    "of FILE instead of the system store, for every module without its own cacert.",
)
@click.option(
    "-k",
    "--insecure",
    is_flag=True,
    default=False,
    help="Do not verify certificates, for every module without its own cacert.",
)
@netns_option()
def serve(*, listen: str, config_path: str | None, cacert: str | None, insecure: bool) -> int:
    """A Prometheus exporter of `netdx check`, in the manner of blackbox_exporter.

    GET /probe?target=HOST:PORT&module=NAME runs one check within the scrape's deadline and
    answers netdx_probe_success, netdx_probe_duration_seconds,
    netdx_probe_layer_duration_seconds{layer} and netdx_probe_cause{cause} (1 for the
    verdict's cause, 0 for the others); add debug=true for the report itself. A target
    that allow_targets does not list gets 403 and is sent nothing. GET /metrics: the
    exporter's own metrics. See docs/monitoring.md.
    """
    from netdx.serve.config import default_config, load_config, with_trust
    from netdx.serve.server import Exporter, make_server

    host, port = parse_listen(listen)
    from prometheus_client import disable_created_metrics

    # The exporter's counters would each add a `_created` series: noise in every scrape
    # (this process serves nothing else, so the library-wide switch is ours to set).
    disable_created_metrics()  # type: ignore[no-untyped-call]
    config = load_config(config_path) if config_path is not None else default_config()
    config = with_trust(config, cacert=cacert, insecure=insecure)
    exporter = Exporter(config)
    try:
        server = make_server(exporter, host, port)
    except OSError as exc:
        raise UsageError(f"--listen {listen!r}: cannot listen: {exc.strerror or exc}") from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"netdx serve: listening on http://{shown}:{server.server_port} "
        f"({config.source}; allowed targets: {config.allow.describe()})",
        err=True,
    )
    sys.stderr.flush()
    def on_sigterm(_signum: int, _frame: types.FrameType | None) -> None:
        # serve_forever ends at its next poll. Raising from here instead could land inside
        # the handling of a request (a handler thread's start), where socketserver catches,
        # logs and serves on: SIGTERM then went unheard (a unit test hung 1 run in 5).
        threading.Thread(target=server.shutdown, daemon=True).start()

    old = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, old)
        server.server_close()
    click.echo("netdx serve: stopped", err=True)
    return 0
