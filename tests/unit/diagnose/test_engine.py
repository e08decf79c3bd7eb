"""The engine: verdict precedence, warnings, unknown states, the five steps, the vocabulary."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import evidence_cases as c
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_cases import PROTOCOL_EXPECTED
from remote_cases import REMOTE_EXPECTED
from tls_port_cases import TLS_PORT_EXPECTED
from udp_cases import UDP_EXPECTED

from netdx.diagnose import (
    CAUSES,
    OTHER_CAUSES,
    RESERVED_CAUSES,
    RULES,
    build_report,
    diagnose,
)
from netdx.diagnose.engine import run_rules
from netdx.model import (
    LAYER_ORDER,
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

DOCS = Path(__file__).resolve().parents[3] / "docs" / "causes.md"

ALL_CASES = {name: value for name, value in vars(c).items() if isinstance(value, CheckEvidence)}

EXPECTED = {
    "OK_PORT": "ok",
    "OK_HOST": "ok",
    "OK_HTTP": "ok",
    "HOST_LIVENESS": "ok",
    "HOSTS_OVERRIDE_ALIVE": "ok",
    "RESOLVER_PARTIAL": "ok",
    "HTTP_301": "ok",
    "HOST_ECHO_UNKNOWN": "unknown",
    "HOST_NO_REPLY": "reach.no_reply",
    "PORT_FILTERED": "port.filtered",
    "PORT_FILTERED_NO_ECHO": "port.filtered",
    "REFUSED": "port.refused",
    "REFUSED_FALLBACK": "port.refused",
    "REJECT_ADMIN": "firewall.reject_admin",
    "REJECT_PORT_UNREACHABLE": "firewall.reject_port_unreachable",
    "HOST_UNREACHABLE": "reach.host_unreachable",
    "LOCAL_EHOSTUNREACH": "reach.host_unreachable",
    "NEIGHBOUR_FAILED": "reach.host_unreachable",
    "NO_ROUTE": "route.no_route",
    "NO_ROUTE_V6_FALLBACK": "route.no_route",
    "LOCAL_EGRESS": "firewall.local_egress",
    "PATH_MIDWAY": "path.filtered_midway",
    "NXDOMAIN": "dns.nxdomain",
    "NO_ADDRESS": "dns.no_address",
    "RESOLVER_DOWN": "dns.resolver_unreachable",
    "LAME_DELEGATION": "dns.lame_delegation",
    "RESOLVER_SERVFAIL": "dns.servfail",
    "HOSTS_OVERRIDE_DEAD": "dns.hosts_override",
    "STALE_CACHE": "dns.stale_cache",
    "LOCAL_LOOPBACK_ONLY": "service.loopback_only",
    "LOCAL_QUEUE_FULL": "app.accept_queue_full",
    "LOCAL_INPUT_DROP": "port.filtered",
    "LOCAL_CLOSE_WAIT": "ok",
    "IPV6_MISMATCH": "service.ipv6_only_mismatch",
    "IPV6_MISMATCH_TIMEOUT": "service.ipv6_only_mismatch",
    "IPV4_MISMATCH": "service.ipv4_only_mismatch",
    "HTTP_500": "service.http_error",
    "HTTP_404": "service.http_error",
    "TLS_ERROR": "service.tls_error",
    "HTTP_TIMEOUT": "service.http_timeout",
    "HTTP_FAILED": "service.http_failed",
    **REMOTE_EXPECTED,  # the cases with the server's side (--ssh)
    **UDP_EXPECTED,  # udp:// and dns:// targets
    **PROTOCOL_EXPECTED,  # postgres/redis/mysql handshakes, failed TLS with its certificate
    **TLS_PORT_EXPECTED,  # check --tls on ports that are not https://
}


def test_every_case_has_an_expected_verdict() -> None:
    """The table below covers every evidence literal, so a new case cannot go unchecked."""
    assert set(EXPECTED) == set(ALL_CASES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_case_verdict(name: str) -> None:
    """Each evidence literal gives its expected cause and five steps in walk order."""
    steps, verdict = diagnose(ALL_CASES[name])
    assert verdict.cause == EXPECTED[name]
    assert tuple(s.layer for s in steps) == LAYER_ORDER


def test_lowest_failing_step_wins() -> None:
    """A dead /etc/hosts pin fails DNS and the port; the DNS finding is the verdict."""
    causes = {f.cause for f in run_rules(c.HOSTS_OVERRIDE_DEAD)}
    assert {"dns.hosts_override", "port.filtered"} <= causes
    _, verdict = diagnose(c.HOSTS_OVERRIDE_DEAD)
    assert verdict.cause == "dns.hosts_override"


def test_fail_beats_a_lower_warning() -> None:
    """A DNS warning does not outrank a port failure; it rides along as a warning."""
    ev = replace(c.REFUSED, dns=c.RESOLVER_PARTIAL.dns)
    _, verdict = diagnose(ev)
    assert verdict.cause == "port.refused"
    assert [w.cause for w in verdict.warnings] == ["dns.resolver_unreachable"]


def test_ok_carries_warnings() -> None:
    """A working connection with a dead secondary DNS server is ok with one warning."""
    steps, verdict = diagnose(c.RESOLVER_PARTIAL)
    assert verdict.ok and verdict.layer == "ok"
    assert [w.cause for w in verdict.warnings] == ["dns.resolver_unreachable"]
    assert steps[0].status == "warn"


def test_redirect_is_ok_with_a_warning() -> None:
    """A 301 is below 400: ok, with the redirect as a warning and the service step warned."""
    steps, verdict = diagnose(c.HTTP_301)
    assert verdict.ok and verdict.warnings[0].cause == "service.http_error"
    assert steps[4].status == "warn"


def test_warning_becomes_the_verdict_when_nothing_succeeded() -> None:
    """The first address refused and a fallback connected: not ok, the warning is the verdict."""
    _, verdict = diagnose(c.REFUSED_FALLBACK)
    assert verdict.cause == "port.refused" and verdict.warnings == ()


def test_mismatch_outranks_the_port_finding() -> None:
    """IPv6 refused and IPv4 connected: the verdict is the mismatch, and the port step warns."""
    steps, verdict = diagnose(c.IPV6_MISMATCH)
    assert verdict.cause == "service.ipv6_only_mismatch"
    assert "port.refused" not in {w.cause for w in verdict.warnings}
    assert steps[3].status == "warn" and steps[4].status == "fail"


def test_route_warning_rides_along_the_fallback() -> None:
    """No IPv6 route while IPv4 connects: the route step warns, the verdict is that warning."""
    steps, verdict = diagnose(c.NO_ROUTE_V6_FALLBACK)
    assert steps[1].status == "warn" and verdict.cause == "route.no_route"


def test_build_report() -> None:
    """build_report wraps the diagnosis with the target and the total time."""
    report = build_report(c.TARGETS["db"], c.PORT_FILTERED, 1234.5678)
    assert report.verdict.cause == "port.filtered"
    assert report.elapsed_ms == 1234.57 and report.schema == "netdx.check/1"
    assert len(report.steps) == 5


# --- the vocabulary ------------------------------------------------------------------------


def _documented() -> set[str]:
    return set(re.findall(r"^### `([a-z0-9_.]+)`", DOCS.read_text(), flags=re.MULTILINE))


def test_every_cause_is_documented() -> None:
    """Every cause a verdict can carry, and every reserved one, has an entry in docs/causes.md."""
    assert set(CAUSES) | set(RESERVED_CAUSES) | set(OTHER_CAUSES) == _documented()


def test_reserved_causes_are_marked() -> None:
    """The headings docs/causes.md marks as not emitted yet are exactly RESERVED_CAUSES."""
    marked = re.findall(
        r"^### `([a-z0-9_.]+)` — reserved: not emitted yet", DOCS.read_text(), flags=re.MULTILINE
    )
    assert sorted(marked) == sorted(RESERVED_CAUSES)


def test_emitted_causes_match_the_vocabulary() -> None:
    """The cases exercise every cause in CAUSES, and no rule emits a cause outside it."""
    emitted = {diagnose(ev)[1].cause for ev in ALL_CASES.values()}
    emitted |= {f.cause for ev in ALL_CASES.values() for f in run_rules(ev)}
    assert emitted == set(CAUSES)
    assert not emitted & set(RESERVED_CAUSES)


def test_rules_are_documented_functions() -> None:
    """Every rule in RULES fires on some case, and its docstring names a cause it emitted
    there (a full code such as port.refused, not a word that merely contains "ok")."""
    for rule in RULES:
        emitted = {f.cause for ev in ALL_CASES.values() if (f := rule(ev)) is not None}
        named = set(re.findall(r"\b[a-z]+\.[a-z0-9_]+\b", rule.__doc__ or ""))
        assert emitted, f"{rule.__name__} fires on no evidence literal"
        assert emitted & named, f"{rule.__name__}: docstring names none of {sorted(emitted)}"


# --- property: diagnose never breaks -------------------------------------------------------

ADDRS = ("10.0.2.5", "10.0.2.6", "fd00:2::5", "::1", "127.0.0.1")
KINDS = (
    "net-unreachable",
    "host-unreachable",
    "port-unreachable",
    "admin-prohibited",
    "host-prohibited",
    "net-prohibited",
    "frag-needed",
    "time-exceeded",
    "no-route",
    "addr-unreachable",
    "other",
)
opt_float = st.none() | st.floats(min_value=0, max_value=1e5, allow_nan=False)
icmps = st.builds(
    IcmpError,
    family=st.sampled_from((4, 6)),
    icmp_type=st.integers(0, 255),
    icmp_code=st.integers(0, 255),
    kind=st.sampled_from(KINDS),
    sender=st.none() | st.sampled_from((*ADDRS, "10.0.1.1")),
    errno=st.none() | st.sampled_from(("EHOSTUNREACH", "ECONNREFUSED")),
)
errnos = st.none() | st.sampled_from(("ENETUNREACH", "EHOSTUNREACH", "EPERM", "EACCES", "EIO"))


def tcps(address: str) -> st.SearchStrategy[TcpConnect]:
    return st.builds(
        TcpConnect,
        address=st.just(address),
        port=st.sampled_from((22, 80, 5432)),
        outcome=st.sampled_from(("connected", "refused", "timeout", "icmp_error", "error")),
        elapsed_ms=st.floats(0, 1e4),
        timeout_ms=st.floats(0, 1e4),
        timeout_basis=st.sampled_from(("rtt", "budget")),
        rtt_ms=opt_float,
        errno=errnos,
        icmp=st.none() | icmps,
    )


def address_evidence(address: str) -> st.SearchStrategy[AddressEvidence]:
    return st.builds(
        AddressEvidence,
        address=st.just(address),
        family=st.just(6 if ":" in address else 4),
        route=st.none()
        | st.builds(
            RouteLookup,
            address=st.just(address),
            status=st.sampled_from(("ok", "no_route", "local", "error")),
            gateway=st.none() | st.just("10.0.1.1"),
            neighbour_state=st.none() | st.sampled_from(("REACHABLE", "FAILED", "INCOMPLETE")),
            error=errnos,
        ),
        echo=st.none()
        | st.builds(
            IcmpEcho,
            address=st.just(address),
            status=st.sampled_from(("reply", "timeout", "icmp_error", "unknown")),
            rtt_ms=opt_float,
            reply_ttl=st.none() | st.integers(-5, 300),
            error=st.none() | icmps,
            reason=st.none() | st.just("EACCES"),
        ),
        tcp=st.none() | tcps(address),
        egress=st.none()
        | st.builds(
            EgressCheck,
            address=st.just(address),
            port=st.just(5432),
            status=st.sampled_from(("blocked", "clear", "unknown")),
        ),
        path=st.none()
        | st.builds(
            PathTrace,
            address=st.just(address),
            port=st.just(5432),
            hops=st.lists(
                st.builds(
                    Hop,
                    ttl=st.integers(0, 40),
                    kind=st.sampled_from(("time_exceeded", "reached", "unreachable", "silent")),
                    address=st.none() | st.sampled_from((*ADDRS, "10.0.3.1")),
                ),
                max_size=6,
            ).map(tuple),
            reached=st.booleans(),
        ),
        http=st.none()
        | st.builds(
            HttpExchange,
            url=st.just("http://web:80/"),
            address=st.just(address),
            outcome=st.sampled_from(
                ("ok", "timeout", "tls_error", "connect_error", "protocol_error", "error")
            ),
            status=st.none() | st.integers(100, 599),
            total_ms=opt_float,
            first_byte_ms=opt_float,
            location=st.none() | st.just("https://web/"),
        ),
        liveness=st.lists(tcps(address), max_size=2).map(tuple),
    )


answers = st.builds(
    DnsServerAnswer,
    server=st.sampled_from(("10.0.0.53", "10.0.0.54")),
    qname=st.sampled_from(("db.", "db.lab.")),
    rtype=st.sampled_from(("A", "AAAA")),
    status=st.sampled_from(("ok", "nxdomain", "nodata", "servfail", "refused", "timeout", "error")),
    records=st.lists(
        st.builds(
            DnsRecord,
            name=st.just("db."),
            rtype=st.sampled_from(("A", "AAAA", "CNAME")),
            ttl=st.integers(0, 86400),
            value=st.sampled_from((*ADDRS, "other.")),
        ),
        max_size=3,
    ).map(tuple),
)
dns_evidence = st.builds(
    DnsEvidence,
    name=st.just("db"),
    source=st.sampled_from(("literal", "hosts", "dns", "nss")),
    nss=st.none()
    | st.builds(
        NssResult,
        name=st.just("db"),
        status=st.sampled_from(("ok", "nxdomain", "no_address", "again", "timeout", "error")),
        addresses=st.lists(st.sampled_from(ADDRS), max_size=3).map(tuple),
        gai_error=st.none() | st.just("EAI_AGAIN"),
    ),
    servers=st.lists(answers, max_size=4).map(tuple),
    configured_servers=st.lists(st.sampled_from(("10.0.0.53", "10.0.0.54")), max_size=2).map(tuple),
)


@st.composite
def evidences(draw: st.DrawFn) -> CheckEvidence:
    addrs = draw(st.lists(st.sampled_from(ADDRS), max_size=3, unique=True))
    return CheckEvidence(
        target_host="db",
        port=draw(st.none() | st.sampled_from((22, 80, 5432))),
        scheme=draw(st.none() | st.sampled_from(("http", "https", "postgres"))),
        dns=draw(st.none() | dns_evidence),
        addresses=tuple(draw(address_evidence(a)) for a in addrs),
        family_filter=draw(st.none() | st.sampled_from((4, 6))),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evidences())
def test_diagnose_never_breaks(ev: CheckEvidence) -> None:
    """For any mix of evidence, diagnose returns five steps in order and a cause in CAUSES."""
    steps, verdict = diagnose(ev)
    assert tuple(s.layer for s in steps) == LAYER_ORDER
    assert verdict.cause in CAUSES
    assert all(w.cause in CAUSES and w.severity == "warn" for w in verdict.warnings)
    from netdx.render.json import step_evidence

    json.dumps([step_evidence(s.evidence) for s in steps])


def test_public_api_is_exported() -> None:
    """Every name in the diagnose and render packages' __all__ is importable from them."""
    import netdx.diagnose
    import netdx.render

    for module in (netdx.diagnose, netdx.render):
        assert all(hasattr(module, name) for name in module.__all__)
    assert {"diagnose", "build_report", "CAUSES", "RULES"} <= set(netdx.diagnose.__all__)
    assert {"to_json", "to_markdown", "render_terminal"} <= set(netdx.render.__all__)
