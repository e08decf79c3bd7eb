"""Pure diagnosis: rules over the evidence, one verdict, no I/O.

`diagnose(evidence)` gives the five steps of the walk and the verdict; `build_report` wraps
them for the renderers. `diagnose_server(server)` judges the server side of one port
(`netdx inspect`) with the rules of `diagnose.server` and the same verdict picker. The causes
are the public vocabulary documented in docs/causes.md.
"""

# Every cause a verdict can carry (docs/causes.md documents each one).
CAUSES: tuple[str, ...] = (
    "ok",
    "unknown",
    "dns.nxdomain",
    "dns.no_address",
    "dns.resolver_unreachable",
    "dns.hosts_override",
    "dns.stale_cache",
    "dns.wrong_address",
    "dns.lame_delegation",
    "dns.servfail",
    "route.no_route",
    "route.rp_filter",
    "reach.host_unreachable",
    "reach.no_reply",
    "port.refused",
    "port.filtered",
    "service.loopback_only",
    "app.close_wait_leak",
    "app.accept_queue_full",
    "firewall.reject_port_unreachable",
    "firewall.reject_admin",
    "firewall.local_egress",
    "path.filtered_midway",
    "service.ipv6_only_mismatch",
    "service.ipv4_only_mismatch",
    "service.http_error",
    "service.tls_error",
    "service.http_timeout",
    "service.http_failed",
    "port.udp_closed",
    "port.udp_open_filtered",
    "service.dns_no_answer",
    "service.dns_servfail",
    "service.dns_refused",
    "service.dns_bad_answer",
    "service.protocol_mismatch",
    "service.protocol_error",
    "service.tls_expired",
    "service.tls_name_mismatch",
    "service.tls_untrusted",
    "service.tls_not_offered",
)

# Causes in the vocabulary that no rule emits yet (kept so their codes stay stable).
RESERVED_CAUSES: tuple[str, ...] = ()

# Causes of the same vocabulary that other commands emit (`netdx dns`, `netdx inspect`),
# not `netdx check` — and the SSH link's findings, which `netdx check --ssh` gives only as
# warnings beside the verdict, never as the verdict.
OTHER_CAUSES: tuple[str, ...] = (
    "service.ipv4_only_listener",
    "service.ipv6_only_listener",
    "app.time_wait_churn",
    "dns.search_domain",
    "dns.dangling_cname",
    "dns.cname_loop",
    "dns.cname_chain_too_long",
    "dns.referral_loop",
    "dns.trace_incomplete",
    "dns.malformed_answer",
    "dns.refused",
    "ssh.refused",
    "ssh.timeout",
    "ssh.unreachable",
    "ssh.hostkey",
    "ssh.auth",
    "ssh.no_python",
    "ssh.no_root",
    "ssh.error",
    "app.udp_rcvbuf_drops",  # `netdx inspect`: a UDP socket of the port drops datagrams
)

# The verdict engine (every layer's rules) loads on first use: `netdx dns` judges with its
# own two modules (dns_trace, dns_compare) and would otherwise import them all.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.diagnose.engine import (
        RULES,
        build_report,
        check_succeeded,
        diagnose,
        diagnose_server,
        pick_verdict,
        run_rules,
    )
_ENGINE = ("RULES", "build_report", "check_succeeded", "diagnose", "diagnose_server",
           "pick_verdict", "run_rules")


def __getattr__(name: str) -> object:
    if name in _ENGINE:
        from netdx.diagnose import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CAUSES",
    "OTHER_CAUSES",
    "RESERVED_CAUSES",
    "RULES",
    "build_report",
    "check_succeeded",
    "diagnose",
    "diagnose_server",
    "pick_verdict",
    "run_rules",
]
