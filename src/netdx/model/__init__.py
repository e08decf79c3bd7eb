"""The data model: frozen values only, no I/O."""

from netdx.model.evidence import (
    AddressEvidence,
    CheckEvidence,
    DnsEvidence,
    DnsRecord,
    DnsServerAnswer,
    EgressCheck,
    Hop,
    HttpExchange,
    IcmpEcho,
    IcmpError,
    NssResult,
    PathTrace,
    RouteLookup,
    TcpConnect,
)
from netdx.model.firewall import FirewallMatch
from netdx.model.report import CHECK_SCHEMA, LAYER_ORDER, Finding, Report, Step, Verdict
from netdx.model.target import SCHEME_PORTS, Target

__all__ = [
    "CHECK_SCHEMA",
    "LAYER_ORDER",
    "SCHEME_PORTS",
    "AddressEvidence",
    "CheckEvidence",
    "DnsEvidence",
    "DnsRecord",
    "DnsServerAnswer",
    "EgressCheck",
    "Finding",
    "FirewallMatch",
    "Hop",
    "HttpExchange",
    "IcmpEcho",
    "IcmpError",
    "NssResult",
    "PathTrace",
    "Report",
    "RouteLookup",
    "Step",
    "Target",
    "TcpConnect",
    "Verdict",
]
