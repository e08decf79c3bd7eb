"""The settings of one check: the plan's input besides the target."""

from __future__ import annotations

from netdx.model.evidence import Family
from netdx.model.record import record
from netdx.model.service import HttpOptions
from netdx.model.vantage import Vantage

TYPE_CHECKING = False
if TYPE_CHECKING:  # the plan stays pure: the transport's module is not imported at run time
    from netdx.host.ssh import SshOptions


@record
class CheckSettings:
    """Settings of one check: the budget in seconds, the address family, DNS servers.

    `observed_on` is where the probes run; None lets `netdx.check` decide (this host, or
    the named network namespace the process is in). `ssh` is the server to read over SSH
    while the probes run (--ssh and its options); None: the client's side only.
    """

    timeout: float = 5.0
    family: Family | None = None
    dns_servers: tuple[str, ...] = ()
    verify_tls: bool = True
    root_hints: str | None = None  # for the authoritative check; None: the system's hints
    observed_on: Vantage | None = None
    ssh: SshOptions | None = None
    http: HttpOptions | None = None  # --cacert, -k, --method...; None: a plain GET
    tls: bool = False  # --tls: a TLS handshake after the connect of a target not https://
