"""UDP rules: what a datagram to a udp:// port, or a DNS question to a dns:// server, got.

UDP has no handshake: a port answers only if its service replies to what was sent. So a
closed port (ICMP port-unreachable from the target) is a finding that fails, but silence is
only a warning, `open|filtered`, unless the datagram was a question the service must answer
(a DNS query: a DNS server that runs answers every query, so its silence fails). The DNS
rcodes that mean "the server runs but will not or cannot answer" get their own causes.
"""

from __future__ import annotations

# The dns rules' wording of the delegated servers, shared so both SERVFAILs read alike.
from netdx.diagnose.dns import _SERVED as SERVED
from netdx.diagnose.dns import _delegated_evidence as delegated_evidence
from netdx.diagnose.dns import _delegated_text as delegated_text
from netdx.diagnose.facts import (
    PROHIBITED_KINDS,
    endpoint,
    failure,
    first,
    icmp_text,
    ms,
    sender_role,
)
from netdx.diagnose.shell import quote
from netdx.model import CheckEvidence, Finding
from netdx.model.evidence import DnsServerAnswer, UdpExchange
from netdx.model.report import StepStatus
from netdx.model.target import DATAGRAM_SCHEMES

# The DNS statuses of a working service: it answered the question, whatever the name holds.
ANSWERED = ("ok", "nodata", "nxdomain")


def _udp(ev: CheckEvidence) -> UdpExchange | None:
    head = first(ev)
    return head.udp if head is not None and ev.scheme in DATAGRAM_SCHEMES else None


def is_datagram(ev: CheckEvidence) -> bool:
    """A udp:// or dns:// check: its port answers with datagrams, not a handshake."""
    return ev.scheme in DATAGRAM_SCHEMES


def succeeded(ev: CheckEvidence) -> bool:
    """The port replied (and, for dns://, the server answered the question)."""
    udp = _udp(ev)
    if udp is None or udp.outcome != "reply":
        return False
    return udp.dns is None or udp.dns.status in ANSWERED


def udp_text(udp: UdpExchange) -> str:
    """One line quoting the exchange: what was sent, what came back, when."""
    where = f"{endpoint(udp.address, udp.port)}/udp"
    what = "DNS query" if udp.dns is not None else "datagram"
    sent = f" ({udp.sent} sent)" if udp.sent and udp.sent > 1 else ""
    if udp.outcome == "reply":
        size = f" of {udp.reply_bytes} bytes" if udp.reply_bytes is not None else ""
        return f"{what} to {where}: a reply{size} in {ms(udp.elapsed_ms)}"
    if udp.outcome in ("closed", "icmp_error") and udp.icmp is not None:
        return f"{what} to {where}: {icmp_text(udp.icmp)} after {ms(udp.elapsed_ms)}{sent}"
    if udp.outcome == "closed":
        return f"{what} to {where}: ICMP port unreachable after {ms(udp.elapsed_ms)}"
    if udp.outcome == "open_filtered":
        return f"{what} to {where}: no answer in {ms(udp.budget_ms)}{sent}"
    why = udp.errno or (udp.dns.error if udp.dns is not None else None) or "local error"
    return f"{what} to {where}: not sent ({why})"


def dns_text(ans: DnsServerAnswer) -> str:
    """One line quoting a dns:// answer: rcode, the records of the type asked, flags."""
    head = f"DNS server {ans.server}: {ans.rtype} {ans.qname} → "
    message = ans.message
    if ans.status in ANSWERED and message is not None:
        values = [f"{r.value} (TTL {r.ttl})" for r in ans.records if r.rtype == ans.rtype]
        body = ", ".join(values) or f"{message.rcode}, no {ans.rtype} record"
        flags = " ".join(message.flags)
        extra = [f"flags {flags}"] if flags else []
        if ans.exchange is not None and ans.exchange.transport == "tcp":
            extra.append("over TCP after a truncated UDP answer")
        return f"{head}{body} in {ms(ans.elapsed_ms)} ({'; '.join(extra)})"
    err = f" ({ans.error})" if ans.error else ""
    return f"{head}{ans.status.upper()}{err} in {ms(ans.elapsed_ms)}"


def _where(ev: CheckEvidence, udp: UdpExchange) -> str:
    return f"{ev.target_host}:{udp.port}/udp"


def _socket_fix(udp: UdpExchange, look_for: str = "") -> str:
    """The server's sockets on the port (`look_for` says what settles it)."""
    note = f" ({look_for})" if look_for else ""
    return f"on the server: ss -ulnp 'sport = :{udp.port}'{note}"


def _rules_fix(udp: UdpExchange, look_for: str = "") -> str:
    """The server's firewall rules that name the port."""
    note = f" ({look_for})" if look_for else ""
    return f"on the server: nft -a list ruleset | grep -w {udp.port}{note}"


def closed(ev: CheckEvidence) -> Finding | None:
    """port.udp_closed: ICMP port-unreachable from the target itself."""
    udp = _udp(ev)
    if udp is None or udp.outcome != "closed":
        return None
    return failure(
        cause="port.udp_closed",
        summary=(
            f"{_where(ev, udp)} is closed: {udp.address} answered ICMP port unreachable "
            "(nothing listens on that UDP port, or a firewall rejects it with the same ICMP)"
        ),
        evidence=(udp_text(udp),),
        fix=(_socket_fix(udp, "expect no socket"), _rules_fix(udp, "a reject rule?")),
    )


def rejected(ev: CheckEvidence) -> Finding | None:
    """firewall.reject_admin for a datagram: an admin-prohibited ICMP error (a REJECT rule);
    port unreachable from a router rather than the target is firewall.reject_port_unreachable
    (its REJECT rule); any other ICMP error (a router with no path) is
    reach.host_unreachable, with its sender."""
    udp = _udp(ev)
    if udp is None or udp.outcome != "icmp_error" or udp.icmp is None:
        return None
    icmp, where = udp.icmp, _where(ev, udp)
    role = sender_role(icmp, udp.address)
    if icmp.kind in PROHIBITED_KINDS:
        cause = "firewall.reject_admin"
        summary = f"a firewall at {role} rejects {where} ({icmp.kind})"
    elif icmp.kind == "port-unreachable":
        # Not from the target (that is `closed`): a router's REJECT rule answers for it.
        cause = "firewall.reject_port_unreachable"
        summary = (f"{role} rejects {where} with ICMP port unreachable: a firewall REJECT "
                   "rule there, not the target's closed port")  # fmt: skip
    else:
        return failure(
            cause="reach.host_unreachable",
            summary=f"{role} cannot deliver to {udp.address}: {icmp.kind}",
            evidence=(udp_text(udp),),
            fix=(f"ip route get {quote(udp.address)}",
                 f"traceroute -U -p {udp.port} -n {quote(udp.address)}"),
        )
    # Either way a REJECT rule at the sender answered: the fix is to find that rule.
    return failure(
        cause=cause,
        step="port",
        summary=summary,
        evidence=(udp_text(udp),),
        fix=(f"on {icmp.sender or 'the sender'}: nft -a list ruleset (a reject rule for "
             f"udp dport {udp.port})",),
    )


def open_filtered(ev: CheckEvidence) -> Finding | None:
    """port.udp_open_filtered (warn): silence to a plain datagram. Not proof of anything: an
    open port whose service ignores an empty datagram looks the same as a firewall drop."""
    udp = _udp(ev)
    if udp is None or udp.outcome != "open_filtered" or udp.dns is not None:
        return None
    return Finding(
        cause="port.udp_open_filtered",
        severity="warn",
        step="port",
        summary=(
            f"{_where(ev, udp)} is open|filtered: no answer and no ICMP error in "
            f"{ms(udp.budget_ms)} — UDP has no handshake, so an open port whose service "
            "ignores this datagram and a firewall that drops it look the same"
        ),
        evidence=(udp_text(udp),),
        fix=(
            _socket_fix(udp, "a socket there: open"),
            f"send what the service expects: nc -u {quote(udp.address)} {udp.port}",
        ),
    )


def dns_no_answer(ev: CheckEvidence) -> Finding | None:
    """service.dns_no_answer: a dns:// server sent nothing back to a real query."""
    udp = _udp(ev)
    if udp is None or udp.outcome != "open_filtered" or udp.dns is None:
        return None
    return failure(
        cause="service.dns_no_answer",
        summary=(
            f"no DNS answer from {_where(ev, udp)} in {ms(udp.budget_ms)} and no ICMP error: "
            "a DNS server that runs answers every query, so a firewall drops port "
            f"{udp.port} or the server is hung"
        ),
        evidence=(udp_text(udp), dns_text(udp.dns)),
        fix=(_socket_fix(udp), _rules_fix(udp)),
    )


def dns_servfail(ev: CheckEvidence) -> Finding | None:
    """service.dns_servfail: the server answered SERVFAIL. When the delegation walk through
    it found the zone's servers that refuse, are silent or not authoritative, they are
    named; else a recursive resolver (RA set) could not resolve the name from the zone's
    servers (a lame or broken delegation, DNSSEC), and an authoritative-only server cannot
    serve the zone it was asked (it failed to load)."""
    udp = _udp(ev)
    ans = udp.dns if udp is not None else None
    if udp is None or ans is None or ans.status != "servfail":
        return None
    message = ans.message
    recursive = message is not None and "ra" in message.flags
    fix: tuple[str, ...]
    server = ans.server.split("#", 1)[0]
    lame = _lame_text(udp)
    if lame is not None:
        why, first_lame = lame
        fix = (
            f"ask the server directly: dig @{quote(first_lame)} {quote(ans.qname)} +norecurse",
            "fix that server, or remove it from the zone's NS records and from the parent "
            "zone's delegation",
        )
    elif recursive:
        why = (
            "it is a recursive resolver that could not get an answer from the zone's "
            "servers: a lame or broken delegation (the parent's NS set points at servers "
            "that refuse, do not answer or are not authoritative), or a DNSSEC failure"
        )
        fix = (
            f"walk the delegation: netdx dns --trace {quote(ans.qname)}",
            f"ask the zone's servers directly: dig @NS {quote(ans.qname)} +norecurse",
            f"unbound-control -s {quote(server)} lookup {quote(ans.qname)} "
            "(what the resolver knows)",
        )
    else:
        why = (
            "it answers without recursion: an authoritative server that cannot serve this "
            "zone (the zone failed to load, or a secondary whose zone expired)"
        )
        fix = ("on the server: its log and zone check (nsd-checkzone, named-checkzone)",
               f"dig @{quote(server)} {quote(ans.qname)} SOA +norecurse")
    asked = tuple(delegated_evidence(s) for s in udp.delegation or () if s.zone != ".")
    return failure(
        cause="service.dns_servfail",
        summary=f"{ans.server} answered SERVFAIL for {ans.qname} {ans.rtype}: {why}",
        evidence=(udp_text(udp), dns_text(ans), *asked),
        fix=fix,
    )


def _lame_text(udp: UdpExchange) -> tuple[str, str] | None:
    """Why, when the delegation walk found the zone's servers that do not serve it, and
    the first of them to ask; None when it found none (or did not run)."""
    servers = [s for s in udp.delegation or () if s.zone != "."]
    lame = [s for s in servers if s.lame]
    if not lame:
        return None
    zone = lame[0].zone
    who = ", ".join(delegated_text(s) for s in lame)
    broken = not any(s.outcome in SERVED for s in servers)
    what = (f"no server of {zone} serves it ({who})" if broken else
            f"{len(lame)} of {len(servers)} servers of {zone} do not serve it ({who})")
    return f"a lame delegation: {what}", lame[0].address or lame[0].ns_name.rstrip(".")


def dns_refused(ev: CheckEvidence) -> Finding | None:
    """service.dns_refused: the server answered REFUSED (an ACL, or not its zone)."""
    udp = _udp(ev)
    ans = udp.dns if udp is not None else None
    if udp is None or ans is None or ans.status != "refused":
        return None
    return failure(
        cause="service.dns_refused",
        summary=(
            f"{ans.server} refuses to answer {ans.qname} {ans.rtype}: it is not authoritative "
            "for the zone and does not recurse for this client (an access-control or "
            "allow-recursion list)"
        ),
        evidence=(udp_text(udp), dns_text(ans)),
        fix=(
            "on the server: its access-control (unbound) or allow-query/allow-recursion "
            "(bind) for this client's address",
        ),
    )


def dns_other(ev: CheckEvidence) -> Finding | None:
    """service.dns_bad_answer: bytes back that are no answer to the question (malformed, a
    wrong ID, an rcode such as NOTIMP or FORMERR)."""
    udp = _udp(ev)
    ans = udp.dns if udp is not None else None
    if udp is None or ans is None or udp.outcome != "reply":
        return None
    if ans.status in (*ANSWERED, "servfail", "refused"):
        return None
    return failure(
        cause="service.dns_bad_answer",
        summary=f"{_where(ev, udp)} sent back no usable answer to {ans.qname} {ans.rtype}: "
        f"{ans.error or ans.status}",
        evidence=(udp_text(udp), dns_text(ans)),
        fix=(f"dig @{quote(ans.server.split('#', 1)[0])} -p {udp.port} {quote(ans.qname)} "
             f"{quote(ans.rtype)}",),
    )


def ok_text(ev: CheckEvidence) -> tuple[str, tuple[str, ...]]:
    """The ok verdict's summary and evidence of a datagram check that succeeded."""
    udp = _udp(ev)
    assert udp is not None  # succeeded() holds
    where = _where(ev, udp)
    if udp.dns is None:
        return f"{where} answers ({udp.address})", (udp_text(udp),)
    ans = udp.dns
    values = [r.value for r in ans.records if r.rtype == ans.rtype]
    rcode = ans.message.rcode if ans.message is not None else ans.status.upper()
    said = ", ".join(values) if values else rcode
    return (f"{where} answers DNS: {ans.qname} {ans.rtype} → {said} ({udp.address})",
            (udp_text(udp), dns_text(ans)))


def port_base(udp: UdpExchange) -> tuple[StepStatus, str]:
    """The port step's status and summary without a finding."""
    if udp.outcome == "reply":
        return "pass", udp_text(udp)
    if udp.outcome == "open_filtered":
        return "warn", udp_text(udp)
    return "fail", udp_text(udp)


def service_base(ev: CheckEvidence) -> tuple[StepStatus, str]:
    """The service step's status and summary without a finding."""
    udp = _udp(ev)
    if udp is None or udp.outcome != "reply":
        return "skip", "no reply from the port: no service check"
    if udp.dns is None:
        return "skip", "no protocol check for udp://"
    return ("pass" if udp.dns.status in ANSWERED else "fail"), dns_text(udp.dns)
