"""The route rule (diagnose/route.py) on evidence literals: when it fires and what it quotes."""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c
import pytest

from netdx.diagnose import route
from netdx.model import (
    CheckEvidence,
)


def test_no_route_fails_with_the_route_lookup() -> None:
    """No route and an immediate ENETUNREACH fail the route step, quoting both."""
    f = route.no_route(c.NO_ROUTE)
    assert f is not None and f.severity == "fail" and f.step == "route"
    assert "ip route get 192.0.2.10: no route: ENETUNREACH" in f.evidence


def test_no_route_from_enetunreach_alone() -> None:
    """Without a route lookup, a connect failing with ENETUNREACH and no ICMP is enough."""
    head = replace(c.NO_ROUTE.addresses[0], route=None)
    f = route.no_route(replace(c.NO_ROUTE, addresses=(head,)))
    assert f is not None and (f.cause, f.severity) == ("route.no_route", "fail")
    assert any("ENETUNREACH" in e for e in f.evidence)


def test_no_route_warns_when_another_address_connected() -> None:
    """No IPv6 route while IPv4 connects is a warning naming the fallback."""
    f = route.no_route(c.NO_ROUTE_V6_FALLBACK)
    assert f is not None and f.severity == "warn" and "10.0.2.5" in f.summary
    assert any("ip -6 route" in x for x in f.fix)


@pytest.mark.parametrize("ev", [c.OK_PORT, c.HOST_UNREACHABLE, c.NXDOMAIN])
def test_no_route_quiet_otherwise(ev: CheckEvidence) -> None:
    """A working route, an ICMP from a router, or no address at all is not route.no_route."""
    assert route.no_route(ev) is None
