"""The plan stage of `netdx check`: which probe comes next, given the evidence so far.

target → **plan** → probes (I/O, `netdx.probes`, run by `netdx.check`) → evidence → rules
(`netdx.diagnose`) → verdict → report. The plan is pure: it hands out small frozen probe
requests (`next_probes`), steers probes in flight (`signals`), takes their results
(`feed`) and assembles the `CheckEvidence`. Its budget constants are in `plan.limits`.
"""

from netdx.plan.machine import CheckPlan, addresses_from_servers, wants_authoritative
from netdx.plan.requests import (
    WHOLE,
    AskAuthoritative,
    Budget,
    Cancel,
    CheckEgress,
    Connect,
    Echo,
    EvaluateFirewall,
    FetchHttp,
    Hint,
    LookupRoute,
    NeighbourRead,
    NotRun,
    Probe,
    ReadNeighbour,
    ReadServer,
    Resolve,
    Result,
    Signal,
    Stop,
    TraceTcp,
)
from netdx.plan.settings import CheckSettings

__all__ = [
    "WHOLE",
    "AskAuthoritative",
    "Budget",
    "Cancel",
    "CheckEgress",
    "CheckPlan",
    "CheckSettings",
    "Connect",
    "Echo",
    "EvaluateFirewall",
    "FetchHttp",
    "Hint",
    "LookupRoute",
    "NeighbourRead",
    "NotRun",
    "Probe",
    "ReadNeighbour",
    "ReadServer",
    "Resolve",
    "Result",
    "Signal",
    "Stop",
    "TraceTcp",
    "addresses_from_servers",
    "wants_authoritative",
]
