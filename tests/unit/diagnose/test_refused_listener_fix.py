"""Issue 10: `check [::1]:7001` with a listener on 127.0.0.1:7001 suggested a nearby
unrelated port (`:7004`); the listener on the port itself is the one to point at. Fed the
sockets of captured sock_diag dumps (127.0.0.1:5433 among them)."""

from __future__ import annotations

from dataclasses import replace

from netdx.diagnose import server as rules

from .test_server import read


def test_listener_on_the_port_elsewhere_is_the_fix_not_a_nearby_port() -> None:
    """[::1]:5433 refused, postgres-like listener on 127.0.0.1:5433, another on :5436: the
    fix points at 127.0.0.1:5433 (or binding [::1]), never at :5436."""
    server = read(5433, address="::1")
    near = server.other_listeners[0]._replace(sport=5436)
    server = replace(server, other_listeners=(near, *server.other_listeners))
    finding = rules.port_refused(server)
    assert finding is not None and finding.cause == "port.refused"
    assert finding.fix[1] == ("point the client at 127.0.0.1:5433, where it listens, or bind "
                              "the service to [::1]:5433 too")
    assert not any(":5436" in line for line in finding.fix)


def test_without_a_listener_on_the_port_the_nearby_one_is_named() -> None:
    """No listener on the port at all: the nearby port is still the hint."""
    server = read(5434)
    near = server.other_listeners[0]._replace(sport=5436)
    finding = rules.port_refused(replace(server, other_listeners=(near,)))
    assert finding is not None
    assert finding.fix[1].endswith("listens on (:5436)")
