"""The data model: frozen values only, no I/O.

The names below are re-exported lazily (PEP 562): `from netdx.model import Target` imports
netdx.model.target alone, not every model module (defining ~60 frozen dataclasses costs
tens of milliseconds, paid by commands such as `sockets` that need one of them).
"""


from netdx.netlink._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
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
    from netdx.model.report import (
        CHECK_SCHEMA,
        LAYER_ORDER,
        Finding,
        Report,
        Step,
        StepEvidence,
        Verdict,
    )
    from netdx.model.target import SCHEME_PORTS, Target
    from netdx.model.vantage import THIS_HOST, Vantage

__all__ = [
    "CHECK_SCHEMA",
    "LAYER_ORDER",
    "SCHEME_PORTS",
    "THIS_HOST",
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
    "StepEvidence",
    "Target",
    "TcpConnect",
    "Vantage",
    "Verdict",
]

_LAZY = {
    "AddressEvidence": "netdx.model.evidence",
    "CheckEvidence": "netdx.model.evidence",
    "DnsEvidence": "netdx.model.evidence",
    "DnsRecord": "netdx.model.evidence",
    "DnsServerAnswer": "netdx.model.evidence",
    "EgressCheck": "netdx.model.evidence",
    "Hop": "netdx.model.evidence",
    "HttpExchange": "netdx.model.evidence",
    "IcmpEcho": "netdx.model.evidence",
    "IcmpError": "netdx.model.evidence",
    "NssResult": "netdx.model.evidence",
    "PathTrace": "netdx.model.evidence",
    "RouteLookup": "netdx.model.evidence",
    "TcpConnect": "netdx.model.evidence",
    "FirewallMatch": "netdx.model.firewall",
    "CHECK_SCHEMA": "netdx.model.report",
    "LAYER_ORDER": "netdx.model.report",
    "Finding": "netdx.model.report",
    "Report": "netdx.model.report",
    "Step": "netdx.model.report",
    "StepEvidence": "netdx.model.report",
    "Verdict": "netdx.model.report",
    "SCHEME_PORTS": "netdx.model.target",
    "Target": "netdx.model.target",
    "THIS_HOST": "netdx.model.vantage",
    "Vantage": "netdx.model.vantage",
}

__getattr__ = lazy_exports(__name__, _LAZY)
