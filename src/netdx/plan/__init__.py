"""The plan stage of `netdx check`: which probe comes next, given the evidence so far.

target → **plan** → probes (I/O, `netdx.probes`, run by `netdx.check`) → evidence → rules
(`netdx.diagnose`) → verdict → report. The plan is pure: it hands out small frozen probe
requests (`next_probes`), steers probes in flight (`signals`), takes their results
(`feed`) and assembles the `CheckEvidence`. Its budget constants are in `plan.limits`.
"""

from netdx.netlink._lazy import lazy_exports
from netdx.plan import requests
from netdx.plan.machine import CheckPlan, addresses_from_servers, wants_authoritative

# The request vocabulary (probe requests, signals, results, budgets) is listed once, in
# `requests.__all__`, and re-exported whole, as asyncio's package does for its modules.
from netdx.plan.requests import *  # noqa: F403
from netdx.plan.settings import CheckSettings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.plan.requests import Result

__all__ = ["CheckPlan", "CheckSettings", "Result", "addresses_from_servers",
           "wants_authoritative"]
__all__ += requests.__all__
# Result is made on first use (its union names --ssh's evidence: see requests).
__getattr__ = lazy_exports(__name__, {"Result": ".requests"})
