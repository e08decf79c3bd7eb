"""`netdx self --ssh DEST`: the same walk on a server. The server's `self` collector
(`collect.selfcheck`) gathers the facts (interfaces, default routes, echoes as raw packets,
neighbour states, the DNS servers' answers as bytes); here they become the same
`SelfEvidence` a local run gathers, judged by the same `diagnose.selfcheck.judge`.

The echoes are matched by `remote.probe`'s reader (the parsers of `probes.icmp`), the DNS
answers parsed by `dns.message`: a walk read over SSH and one read here cannot drift. The
document came over the network: anything of the wrong shape is a DocumentError (one line,
exit 3), never another exception.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from netdx.model.evidence import DnsExchange, DnsQuestion, DnsServerAnswer, IcmpEcho
from netdx.remote import checks as c
from netdx.remote.checks import DocumentError
from netdx.selfcheck.evidence import Beyond, Gateway, SelfEvidence
from netdx.selfcheck.gather import interfaces_of

if TYPE_CHECKING:
    from netdx.budget import Deadline
    from netdx.host.ssh import SshOptions

COLLECTOR = "self"


def question_of(resolve: str) -> DnsQuestion:
    """The one DNS question `netdx self --resolve NAME` asks (as a local run does)."""
    return DnsQuestion(name=resolve.rstrip(".") + ".", rtype="A")


def request(named: tuple[str, ...], resolve: str | None, *, msg_id: int,
            timeout: float) -> dict[str, Any]:
    """The collect request of one walk: the named hosts, the DNS query as bytes (built
    here: the server encodes no DNS)."""
    from netdx.dns.message import build_query

    wire = None
    if resolve is not None:
        wire = build_query(question_of(resolve), msg_id=msg_id, recursion_desired=True,
                           edns=True).hex()
    return {"collectors": [COLLECTOR], "self": {"named": list(named), "dns_query": wire},
            "timeout": round(timeout, 3)}


def walk_budget(remaining: float) -> float:
    """The server's share of the budget: its walk waits the whole of it for an echo that
    never comes (a deaf gateway), and the answer must still cross back before the deadline;
    ssh's connect and the collector's start take the rest (at least 1 s, or 30 %)."""
    return max(0.5, remaining - max(1.0, 0.3 * remaining))


def read_over_ssh(ssh: SshOptions, *, named: tuple[str, ...], resolve: str | None,
                  deadline: Deadline) -> SelfEvidence:
    """The server's walk as evidence; CannotRun (exit 3) when it could not be read."""
    from netdx.errors import CannotRun
    from netdx.remote.fetch import fetch_document, unusable_as_cannot_run

    msg_id = secrets.randbelow(0x10000)
    doc = fetch_document(ssh, request(named, resolve, msg_id=msg_id,
                                      timeout=walk_budget(deadline.remaining())), deadline)
    why = doc.error_of(COLLECTOR)
    if why is not None:
        raise CannotRun(f"{ssh.destination}: self not read: {why}")
    with unusable_as_cannot_run(ssh.destination):
        return evidence_of(doc.entries[COLLECTOR].data, named=named, resolve=resolve,
                           msg_id=msg_id)


def evidence_of(data: Mapping[str, Any], *, named: tuple[str, ...], resolve: str | None,
                msg_id: int) -> SelfEvidence:
    """The `self` collector's data as the evidence of a local run; DocumentError when it
    is not of the right shape."""
    try:
        return _evidence(data, named, resolve, msg_id)
    except DocumentError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError,
            RecursionError, OverflowError) as exc:  # fmt: skip
        raise DocumentError(f"malformed self data: {type(exc).__name__}: {exc}") from exc


def _evidence(data: Mapping[str, Any], named: tuple[str, ...], resolve: str | None,
              msg_id: int) -> SelfEvidence:
    raw_ifaces = c.item_list(data.get("interfaces"), "self.interfaces", limit=4096)
    interfaces = interfaces_of([_interface(i) for i in raw_ifaces])
    family = c.integer(data.get("family"), "self.family", lo=4, hi=6)
    if family not in (4, 6):
        raise DocumentError(f"self.family: {family}")
    gateways = c.item_list(data.get("gateways"), "self.gateways", limit=2)
    walked = [_gateway(g) for g in gateways] + [(None, None)] * (2 - len(gateways))
    beyond = tuple(_beyond(b) for b in c.item_list(data.get("beyond"), "self.beyond",
                                                   limit=64))
    dns: tuple[DnsServerAnswer, ...] = ()
    if resolve is not None:
        dns = tuple(_answer(a, question_of(resolve), msg_id)
                    for a in c.item_list(data.get("dns"), "self.dns", limit=16))
    local = tuple(c.address(s, "self.local_servers")
                  for s in c.item_list(data.get("local_servers", []), "self.local_servers"))
    return SelfEvidence(
        loopback_echo=_echo(data.get("loopback_echo"), "127.0.0.1"),
        interfaces=interfaces,
        gateway=walked[0][0],
        onlink_default=walked[0][1],
        family=6 if family == 6 else 4,
        other_gateway=walked[1][0],
        other_onlink_default=walked[1][1],
        beyond=beyond,
        skipped_servers=local if not named else (),
        dns_name=resolve,
        dns=dns,
    )


def _interface(raw: object) -> dict[str, Any]:
    i = c.mapping(raw, "self.interfaces[]")
    return {"name": c.text(i.get("name"), "self.interfaces[].name", limit=64),
            "index": c.integer(i.get("index"), "self.interfaces[].index", hi=c.U32),
            "up": c.boolean(i.get("up"), "self.interfaces[].up"),
            "carrier": c.boolean(i.get("carrier"), "self.interfaces[].carrier"),
            "operstate": c.text(i.get("operstate"), "self.interfaces[].operstate", limit=32),
            "loopback": c.boolean(i.get("loopback"), "self.interfaces[].loopback"),
            "addresses": c.text_list(i.get("addresses"), "self.interfaces[].addresses")}


def _echo(raw: object, address: str) -> IcmpEcho:
    """A raw echo of the server matched by `remote.probe`'s reader; one that did not
    finish is unknown, with why."""
    from netdx.remote.probe import _echo as echo_of  # the one reader of collect.probe's echo

    if raw is None:
        return IcmpEcho(address=address, status="unknown", reason="the echo did not finish")
    echo = c.mapping(raw, "self.echo")
    failed = echo.get("error")
    if failed is not None and "method" not in echo:
        return IcmpEcho(address=address, status="unknown",
                        reason=c.text(failed, "self.echo.error", limit=512))
    target = c.text(echo.get("address", address), "self.echo.address", limit=80)
    found = echo_of(echo, target, 6 if ":" in target else 4)
    assert found is not None
    return found


def _gateway(raw: object) -> tuple[Gateway | None, str | None]:
    """(the gateway with its echo, or None; the interface of an on-link default)."""
    if raw is None:
        return None, None
    gw = c.mapping(raw, "self.gateways[]")
    route = c.route_answer(gw.get("route"), "self.gateways[].route")
    name = c.opt_text(gw.get("interface"), "self.gateways[].interface", limit=64)
    if not hasattr(route, "next_hop"):
        raise DocumentError("self.gateways[].route: not a route")
    hop = getattr(route, "next_hop", None)
    if not hop:
        return None, name or "?"
    neighbour = c.opt_text(gw.get("neighbour"), "self.gateways[].neighbour", limit=64)
    return Gateway(address=hop, interface=name, neighbour=neighbour,
                   echo=_echo(gw.get("echo"), hop)), None


def _beyond(raw: object) -> Beyond:
    b = c.mapping(raw, "self.beyond[]")
    addr = c.address(b.get("address"), "self.beyond[].address")
    role = b.get("role")
    if role not in ("named", "dns_server"):
        raise DocumentError(f"self.beyond[].role: {c.short(role)}")
    names = {int(k): c.text(v, "self.beyond[].interfaces", limit=64)
             for k, v in c.mapping(b.get("interfaces", {}), "self.beyond[].interfaces",
                                   limit=8).items()}
    route = c.route_lookup(addr, b.get("lookup"), names)
    echo = b.get("echo")
    return Beyond(address=addr, role="named" if role == "named" else "dns_server",
                  route=route, echo=None if echo is None else _echo(echo, addr))


def _answer(raw: object, question: DnsQuestion, msg_id: int) -> DnsServerAnswer:
    """One server's answer to the query, judged as `dns.query` judges a datagram, or a
    TCP exchange when the datagram was truncated (the same words as `dns.query`'s)."""
    from netdx.dns.message import WireError, answers_question, parse_response, status_of
    from netdx.dns.query import os_error_text

    a = c.mapping(raw, "self.dns[]")
    transport = a.get("transport", "udp")
    if transport not in ("udp", "tcp"):
        raise DocumentError(f"self.dns[].transport: {c.short(transport)}")
    tcp = transport == "tcp"
    exchange = (DnsExchange(port=53, transport="tcp", notes=(_RETRIED_OVER_TCP,))
                if tcp else None)
    base = DnsServerAnswer(server=c.address(a.get("server"), "self.dns[].server"),
                           qname=question.name, rtype=question.rtype, status="timeout",
                           elapsed_ms=c.number(a.get("elapsed_ms", 0.0), "self.dns[].elapsed_ms"),
                           error="no answer over TCP before the deadline" if tcp else None,
                           exchange=exchange)
    hexed = c.opt_text(a.get("response"), "self.dns[].response", limit=2 * 65535)
    if hexed is None:
        code = c.opt_text(a.get("error"), "self.dns[].error", limit=64)
        closed = a.get("closed_after")
        if tcp and closed is not None:
            got = int(c.number(closed, "self.dns[].closed_after"))
            if not 0 <= got <= 0xFFFF:
                raise DocumentError(f"self.dns[].closed_after: {got}")
            return dataclasses.replace(base, status="malformed",
                                       error=f"TCP stream closed after {got} bytes")
        if code is None:
            return base
        number = getattr(errno, code, None)
        why = os_error_text(OSError(number, os.strerror(number))) if number else code
        return dataclasses.replace(base, status="error", error=f"TCP: {why}" if tcp else why)
    wire = bytes.fromhex(hexed)
    try:
        message = parse_response(wire)
    except WireError as exc:
        return dataclasses.replace(base, status="malformed",
                                   error=f"{len(wire)} bytes that do not parse: {exc}")
    mismatch = answers_question(message, question, msg_id)
    if mismatch is not None:
        return dataclasses.replace(base, status="bad_id", error=mismatch)
    status, error = status_of(message, question.rtype)
    return dataclasses.replace(base, status=status, records=message.answer, error=error,
                               exchange=DnsExchange(port=53, transport=transport,
                                                    message=message,
                                                    notes=exchange.notes if exchange else ()))


_RETRIED_OVER_TCP = "truncated (TC) over UDP: retried over TCP"  # dns.query's words
