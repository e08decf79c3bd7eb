"""The check plan asks for a protocol's first exchange after a connect to a postgres://,
redis:// or mysql:// target, and for nothing more with a bare host:port or tcp://."""

from __future__ import annotations

import evidence_cases as c
import pytest
from protocol_cases import POSTGRES_OK

from netdx.model import Target
from netdx.plan import (
    Budget,
    CheckPlan,
    CheckSettings,
    Connect,
    Echo,
    Handshake,
    LookupRoute,
    Probe,
    limits,
)

IP = c.DB_IP


def _connected(target: Target) -> tuple[CheckPlan, tuple[Probe, ...]]:
    """A plan for `target` whose connect succeeded and whose echo replied: what comes next."""
    plan = CheckPlan(target, CheckSettings())
    (lookup,) = plan.next_probes()
    assert isinstance(lookup, LookupRoute)
    plan.feed(lookup.id, c.route_ok(IP))
    probes = plan.next_probes()
    echo = next(p for p in probes if isinstance(p, Echo))
    connect = next(p for p in probes if isinstance(p, Connect))
    plan.feed(echo.id, c.echo_reply(IP))
    assert target.port is not None
    plan.feed(connect.id, c.tcp(IP, target.port, "connected"))
    return plan, plan.next_probes()


@pytest.mark.parametrize(("scheme", "protocol", "port"), [
    ("postgres", "postgres", 5432),
    ("postgresql", "postgres", 5432),
    ("redis", "redis", 6379),
    ("mysql", "mysql", 3306),
])  # fmt: skip
def test_database_url_gets_its_handshake(scheme: str, protocol: str, port: int) -> None:
    """Connected to a database URL: one Handshake of that protocol, at most HANDSHAKE_MAX_S,
    and its result lands in the address's evidence."""
    target = Target(raw=f"{scheme}://{IP}", host=IP, port=port, scheme=scheme, ip_literal=True)
    plan, probes = _connected(target)
    (probe,) = probes
    assert isinstance(probe, Handshake)
    assert probe.protocol == protocol and probe.port == port and probe.address == IP
    assert probe.budget == Budget(cap_s=limits.HANDSHAKE_MAX_S)
    answer = POSTGRES_OK.addresses[0].handshake
    assert answer is not None
    plan.feed(probe.id, answer)
    assert plan.evidence().addresses[0].handshake == answer


@pytest.mark.parametrize("target", [
    Target(raw=f"{IP}:5432", host=IP, port=5432, ip_literal=True),
    Target(raw=f"tcp://{IP}:5432", host=IP, port=5432, scheme="tcp", ip_literal=True),
])  # fmt: skip
def test_plain_port_gets_no_handshake(target: Target) -> None:
    """host:port (even on 5432) and tcp:// stay a plain connect: nothing follows it."""
    _, probes = _connected(target)
    assert probes == ()
