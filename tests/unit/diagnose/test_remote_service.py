"""The ssh twins' verdicts quote the server: evidence captured in the lab (real collector
documents joined by the real join, fixtures/evidence/*-ssh.json) diagnosed without any
network, and near misses where a server rule must stand aside."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import evidence_cases as c
import remote_cases as r

from netdx.diagnose import diagnose
from netdx.diagnose.remote import decisive
from netdx.diagnose.remote_service import family_listener, router_reject, served_by
from netdx.model import CheckEvidence, Verdict
from netdx.model.codec import from_data
from netdx.model.remote import RemoteEvidence

CAPTURED = Path(__file__).parents[1] / "fixtures" / "evidence"
OWNER = r"python \(pid \d+, user root\)"


def captured(name: str) -> CheckEvidence:
    return from_data(CheckEvidence, json.loads((CAPTURED / f"{name}.json").read_text()))


def remote_of(ev: CheckEvidence) -> RemoteEvidence:
    assert ev.remote is not None
    return ev.remote


def verdict(ev: CheckEvidence) -> Verdict:
    return diagnose(ev)[1]


def text(v: Verdict) -> str:
    return "\n".join((v.summary, *v.evidence, *v.fix))


# --- path.filtered_midway ---------------------------------------------------------------------


def test_midway_twin_quotes_the_empty_capture_and_suspects_the_last_hop() -> None:
    """r1 drops the port: the server's capture saw no SYN, and the fix points at the
    forward filter of the last hop that answered (time-exceeded comes before that hook)."""
    v = verdict(captured("path-filtered-midway-ssh"))
    assert v.cause == "path.filtered_midway"
    assert "after hop 1 (10.0.1.1)" in v.summary
    assert any(
        re.fullmatch(r"on root@10\.0\.2\.20: capture: no SYN from 10\.0\.1\.10 arrived on port "
                     r"5432 in \d+ ms", e) for e in v.evidence
    )  # fmt: skip
    assert any("forward filter of router 10.0.1.1 (hop 1) first" in f for f in v.fix)


# --- a REJECT with ICMP, on a router or on the server ----------------------------------------


def test_router_reject_twin_says_no_syn_reached_the_listening_server() -> None:
    """The router's admin-prohibited answered: the server's capture saw none of the SYNs,
    while its listener is up."""
    v = verdict(captured("firewall-reject-admin-ssh"))
    assert v.cause == "firewall.reject_admin"
    assert v.summary.endswith("the server's capture saw none of the SYNs: 10.0.1.1 answers for it")
    body = text(v)
    assert "on root@10.0.2.20: capture: no SYN from 10.0.1.10 arrived on port 5432" in body
    assert re.search(rf"on root@10\.0\.2\.20: {OWNER} listens on 0\.0\.0\.0:5432 \(no SYN got "
                     r"there\)", body)  # fmt: skip


def test_router_reject_needs_a_whole_capture() -> None:
    """A capture that lost packets proves no absence: the router rule stands aside and the
    client's verdict is left as it was."""
    ev = captured("firewall-reject-admin-ssh")
    cap = remote_of(ev).capture
    assert cap is not None
    lossy = dataclasses.replace(ev, remote=dataclasses.replace(
        remote_of(ev), capture=dataclasses.replace(cap, kernel_dropped=1)))  # fmt: skip
    assert router_reject(lossy, remote_of(lossy)) is None
    v = verdict(lossy)
    assert v.cause == "firewall.reject_admin" and "answers for it" not in v.summary


def test_router_reject_literal_and_the_targets_own_icmp() -> None:
    """The literal case decides the same way; ICMP from the target itself is not a router's
    (the server's own rule is icmp_rule's), so this rule stands aside."""
    found = decisive(r.REMOTE_ROUTER_REJECT)
    assert found is not None and found.cause == "firewall.reject_admin"
    assert "answers for it" in found.summary
    own = dataclasses.replace(c.REJECT_PORT_UNREACHABLE, remote=r.REMOTE_ROUTER_REJECT.remote)
    assert router_reject(own, remote_of(own)) is None


def test_server_reject_twin_names_the_rule_and_its_counter() -> None:
    """The server's ICMP port-unreachable: the rule is named with its handle and confirmed
    by its counter rising during the check."""
    v = verdict(captured("firewall-reject-port-unreachable-ssh"))
    assert v.cause == "firewall.reject_port_unreachable"
    assert re.search(r"\(confirmed\) — inet filter input handle \d+: .*tcp dport 5432 counter "
                     r"reject with icmp port-unreachable, counter \+\d+ during this check",
                     v.summary)  # fmt: skip
    assert any(f.startswith("on root@10.0.0.20: remove or narrow the rule") for f in v.fix)


# --- a listener on one family ------------------------------------------------------------------


def test_ipv4_mismatch_twin_names_the_v6only_listener() -> None:
    """IPv4 refused, IPv6 connected: the server shows the [::] listener with IPV6_V6ONLY and
    its owner, and the kernel's reset; the guess ("likely") is gone, and the same refusal
    is not repeated as a port.refused warning."""
    v = verdict(captured("service-ipv4-only-mismatch-ssh"))
    assert v.cause == "service.ipv4_only_mismatch"
    assert "likely" not in v.summary
    assert re.search(rf"connected: on root@10\.0\.0\.20, {OWNER} listens on \[::\]:5432 "
                     r"\(IPV6_V6ONLY: IPv6 only\); nothing takes IPv4 10\.0\.0\.20$",
                     v.summary)  # fmt: skip
    assert "on root@10.0.0.20: no listener of port 5432 takes 10.0.0.20" in v.evidence
    assert any(re.search(r"capture: 1 SYN from 10\.0\.0\.10 arrived .*1 reset sent back", e)
               for e in v.evidence)  # fmt: skip
    assert any("clear IPV6_V6ONLY" in f for f in v.fix)
    assert [w.cause for w in v.warnings] == []


def test_ipv6_mismatch_twin_names_the_ipv4_listener() -> None:
    """IPv6 refused, IPv4 connected: the server shows 0.0.0.0:5432 (IPv4 only)."""
    v = verdict(captured("service-ipv6-only-mismatch-ssh"))
    assert v.cause == "service.ipv6_only_mismatch"
    assert re.search(rf"{OWNER} listens on 0\.0\.0\.0:5432 \(IPv4 only\); nothing takes IPv6 "
                     r"2001:db8::20$", v.summary)  # fmt: skip
    assert any(f.endswith("listen on IPv6 too ([::])") for f in v.fix)


def test_family_rule_stands_aside_when_the_listener_takes_the_first_address() -> None:
    """A [::] listener without IPV6_V6ONLY takes IPv4 too: the server does not explain the
    refusal, so no server fact is claimed and the client's own wording stays."""
    ev = captured("service-ipv4-only-mismatch-ssh")
    server = remote_of(ev).server
    assert server is not None
    dual = dataclasses.replace(server, listeners=tuple(
        s._replace(v6only=False) for s in server.listeners))  # fmt: skip
    changed = dataclasses.replace(ev, remote=dataclasses.replace(remote_of(ev), server=dual))
    assert family_listener(changed, remote_of(changed)) is None
    assert "it likely listens on IPv6 only" in verdict(changed).summary


def test_family_rule_needs_the_reading_of_the_first_address() -> None:
    """Sockets read for another address say nothing about this one's bind."""
    ev = captured("service-ipv6-only-mismatch-ssh")
    server = remote_of(ev).server
    assert server is not None
    other = dataclasses.replace(server, address="10.0.0.99")
    changed = dataclasses.replace(ev, remote=dataclasses.replace(remote_of(ev), server=other))
    assert family_listener(changed, remote_of(changed)) is None


# --- who served the HTTP error or the TLS handshake --------------------------------------------


def test_http_error_twin_names_the_process_that_answered() -> None:
    """HTTP 500: the server names the listener of 8080 and its owner, with its logs to read."""
    v = verdict(captured("service-http-error-ssh"))
    assert v.cause == "service.http_error"
    assert re.search(rf"HTTP 500 from .* — served on root@10\.0\.2\.20 by {OWNER}$", v.summary)
    assert any(re.fullmatch(rf"on root@10\.0\.2\.20: {OWNER} listens on 0\.0\.0\.0:8080", e)
               for e in v.evidence)  # fmt: skip
    assert any(re.search(r"journalctl _PID=\d+$", f) for f in v.fix)


def test_tls_error_twin_names_the_process_that_holds_the_certificate() -> None:
    """A self-signed certificate is untrusted over SSH too, and the server names who
    serves 8443."""
    v = verdict(captured("service-tls-error-ssh"))
    assert v.cause == "service.tls_untrusted"
    assert re.search(rf"— served on root@10\.0\.2\.20 by {OWNER}$", v.summary)
    assert any("check the certificate and key python" in f for f in v.fix)


def test_served_by_literal_and_a_redirect() -> None:
    """The literal 503 names nginx; a 3xx is only a warning, so no server rule decides it."""
    found = decisive(r.REMOTE_HTTP_SERVED)
    assert found is not None
    assert found.summary.endswith("— served on admin@db-server-01 by nginx (pid 2200, user app)")
    redirect = dataclasses.replace(c.HTTP_301, remote=r.REMOTE_HTTP_SERVED.remote)
    assert served_by(redirect, remote_of(redirect)) is None
