"""The `probe` collector's flows, read back where netdx runs: a source host's raw facts →
the check's evidence → the normal report (`netdx.diagnose.engine.build_report`).

The source (`netdx verify`'s `from: HOST`) ran getaddrinfo, the route lookup, the TCP
connect, the echoes and, for a URL, the HTTP(S) GET (`netdx.collect.probe`,
`netdx.remote.probe_http` reads that one back); the judgement runs here, on the same model
values and through the same parsers the local probes use: the error queue through
`probes.recverr`, the connect through `probes.tcp.classify_connect` (and the raw-SYN
egress test as `probes.egress` words it), the echo socket's
packets through `probes.icmp`, the route through `remote.checks.route_lookup`. So a flow
checked from a source host and one checked here cannot drift.

The document came over the network from a host that may be broken or hostile: anything of
the wrong shape raises `DocumentError` (one line saying where), never another exception.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from netdx.model.record import record
from netdx.remote import checks as c
from netdx.remote.checks import DocumentError
from netdx.remote.probe_http import http_exchange

if TYPE_CHECKING:
    from netdx.model import CheckEvidence, EgressCheck, IcmpEcho, Report, Target, TcpConnect
    from netdx.model.evidence import AddressSource, Family, NssResult
    from netdx.model.route import RouteLookup
    from netdx.model.vantage import Vantage

__all__ = ["DocumentError", "FlowProbe", "probe_request", "read_flows", "report_of"]

COLLECTOR = "probe"
_CMSGS = 16


@record
class FlowProbe:
    """One flow to probe from the source: its target and its own timeout."""

    target: Target
    timeout: float
    family: Family | None = None


def unsupported(target: Target) -> str | None:
    """Why a source host cannot probe `target` yet (None: it can)."""
    if target.port is None:
        return "a remote source probes TCP flows: give the destination a port"
    return None


def probe_request(flows: Sequence[FlowProbe], timeout: float) -> dict[str, Any]:
    """The collect request that probes every flow of one source host at once."""
    probes = []
    for f in flows:
        probe = {"host": f.target.host, "port": f.target.port, "family": f.family,
                 "timeout": round(min(f.timeout, timeout), 3)}  # fmt: skip
        if f.target.url is not None:
            probe["url"] = f.target.url  # the GET once the port answers, as check does
        probes.append(probe)
    return {"collectors": [COLLECTOR], "probes": probes, "timeout": round(timeout, 3)}


def read_flows(document: object) -> tuple[Mapping[str, Any], str | None]:
    """The `probe` entry's data of a document and its /etc/hosts text; DocumentError when
    the document is not one or the collector failed."""
    from netdx.remote.document import CollectDocument

    doc = CollectDocument.from_json(document)
    why = doc.error_of(COLLECTOR)
    if why is not None:
        raise DocumentError(f"the probes did not run on the source: {why}")
    data = doc.entries[COLLECTOR].data
    hosts = c.opt_text(data.get("hosts_file"), "probe.hosts_file", limit=1 << 20)
    return data, hosts


def report_of(
    data: Mapping[str, Any],
    index: int,
    flow: FlowProbe,
    *,
    hosts_text: str | None,
    observed_on: Vantage,
) -> Report:
    """The report of flow `index` of the probe data (`read_flows`), diagnosed here."""
    from netdx.diagnose.engine import build_report

    try:
        evidence, elapsed = _evidence(data, index, flow, hosts_text, observed_on)
    except DocumentError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError,
            RecursionError, OverflowError) as exc:  # fmt: skip
        raise DocumentError(f"malformed probe data: {type(exc).__name__}: {exc}") from exc
    return build_report(flow.target, evidence, elapsed)


def _evidence(
    data: Mapping[str, Any],
    index: int,
    flow: FlowProbe,
    hosts_text: str | None,
    observed_on: Vantage,
) -> tuple[CheckEvidence, float]:
    from netdx.model import AddressEvidence, CheckEvidence, DnsEvidence

    flows = c.item_list(data.get("flows"), "probe.flows", limit=1024)
    if index >= len(flows):
        raise DocumentError(f"probe.flows: no answer for flow {index + 1}")
    entry = c.mapping(flows[index], "probe.flows[]")
    target = flow.target
    if entry.get("host") != target.host or entry.get("port") != target.port:
        raise DocumentError(f"probe.flows[{index}]: answers another flow")
    failed = c.opt_text(entry.get("error"), "probe.flows[].error", limit=512)
    if failed is not None:
        raise DocumentError(f"on the source: {failed}")
    dns = None
    elapsed = 0.0
    if not target.ip_literal:
        nss = _nss(target.host, entry.get("resolve"), flow.family, hosts_text)
        elapsed += nss.elapsed_ms
        servers, search = _resolv_conf(data)
        dns = DnsEvidence(name=target.host, source=_source(nss), nss=nss,
                          configured_servers=servers, search=search,
                          observed_on=observed_on)  # fmt: skip
    addresses: tuple[AddressEvidence, ...] = ()
    address = c.opt_address(entry.get("address"), "probe.flows[].address")
    if address is not None:
        family: Family = 6 if ":" in address else 4
        route = _route(address, entry)
        tcp = _tcp(entry.get("tcp"), address, target.port or 0)
        echo = _echo(entry.get("echo"), address, family)
        egress = _egress(entry.get("egress"), address, target.port or 0)
        http = None
        if target.url is not None:
            http = http_exchange(entry.get("http"), url=target.url, host=target.host,
                                 address=address)  # fmt: skip
        elapsed += tcp.elapsed_ms if tcp is not None else 0.0
        elapsed += (http.total_ms or 0.0) if http is not None else 0.0
        addresses = (
            AddressEvidence(address=address, family=family, route=route, echo=echo, tcp=tcp,
                            egress=egress, http=http, observed_on=observed_on),
        )  # fmt: skip
    evidence = CheckEvidence(
        target_host=target.host, port=target.port, scheme=target.scheme, dns=dns,
        addresses=addresses, family_filter=flow.family, observed_on=observed_on,
    )  # fmt: skip
    return evidence, round(elapsed, 2)


def _nss(name: str, raw: object, family: Family | None, hosts_text: str | None) -> NssResult:
    from netdx.model import NssResult
    from netdx.probes.dns import _GAI_STATUS
    from netdx.probes.hostsfile import lookup

    answer = c.mapping(raw, "probe.resolve")
    status = answer.get("status")
    elapsed = c.number(answer.get("elapsed_ms", 0.0), "probe.resolve.elapsed_ms")
    hosts = lookup(hosts_text, name, family=family) if hosts_text else ()
    if status == "timeout":
        return NssResult(name=name, status="timeout", hosts_addresses=hosts, elapsed_ms=elapsed)
    if status == "ok":
        listed = c.item_list(answer.get("addresses"), "probe.resolve.addresses", limit=256)
        found = [c.address(a, "probe.resolve.addresses[]") for a in listed]
        return NssResult(name=name, status="ok", addresses=tuple(found), hosts_addresses=hosts,
                         elapsed_ms=elapsed)  # fmt: skip
    if status != "error":
        raise DocumentError(f"probe.resolve.status: {c.short(status)}")
    gai = c.opt_text(answer.get("gai_error"), "probe.resolve.gai_error", limit=64)
    if gai is None:
        err = c.opt_text(answer.get("errno"), "probe.resolve.errno", limit=64)
        gai = f"EAI_SYSTEM ({err})" if err else "error"
    return NssResult(name=name, status=_GAI_STATUS.get(gai, "error"), hosts_addresses=hosts,
                     gai_error=gai, elapsed_ms=elapsed)  # fmt: skip


def _resolv_conf(data: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The source's nameservers and search list, read from its resolv.conf by the one
    parser (`dns.resolvconf`); an unreadable file is an empty one, as for glibc. Nothing
    when the collector sent no such file (it does not read it)."""
    from netdx.dns.resolvconf import parse_resolv_conf

    if "resolv_conf" not in data:
        return (), ()
    text = c.opt_text(data.get("resolv_conf"), "probe.resolv_conf", limit=1 << 20) or ""
    hostname = c.opt_text(data.get("hostname"), "probe.hostname", limit=255) or ""
    conf = parse_resolv_conf(text, hostname=hostname)
    return conf.nameservers, conf.search


def _source(nss: NssResult) -> AddressSource:
    """Where the first address came from: /etc/hosts when it pinned it, else NSS (the
    source asks no DNS server of its own yet); `dns` when nothing came (a DNS failure)."""
    if not nss.addresses:
        return "dns"
    return "hosts" if nss.addresses[0] in nss.hosts_addresses else "nss"


def _route(address: str, entry: Mapping[str, Any]) -> RouteLookup | None:
    raw = entry.get("route")
    if raw is None:
        return None
    names: dict[int, str] = {}
    for key, name in c.mapping(entry.get("interfaces", {}), "probe.interfaces", limit=8).items():
        names[int(key)] = c.text(name, "probe.interfaces[]", limit=64)
    return c.route_lookup(address, raw, names)


def _cmsgs(raw: object, where: str) -> list[tuple[int, int, bytes]]:
    out = []
    for item in c.item_list(raw, where, limit=_CMSGS):
        level, kind, data = c.item_list(item, where, limit=3)
        out.append((c.integer(level, where, hi=c.U32), c.integer(kind, where, hi=c.U32),
                    bytes.fromhex(c.text(data, where, limit=4096))))  # fmt: skip
    return out


def _errqueue(raw: object, where: str) -> tuple[Any, ...]:
    from netdx.probes.recverr import extended_err_from_cmsgs

    entries = []
    for item in c.item_list(raw, where, limit=_CMSGS):
        one = c.mapping(item, where)
        found = extended_err_from_cmsgs(_cmsgs(one.get("cmsgs", []), f"{where}.cmsgs"))
        if found is not None:
            payload = bytes.fromhex(c.text(one.get("payload", ""), f"{where}.payload", limit=256))
            entries.append(dataclasses.replace(found, payload=payload))
    return tuple(entries)


def _tcp(raw: object, address: str, port: int) -> TcpConnect | None:
    from netdx.model import TcpConnect
    from netdx.probes.tcp import ConnectResult, classify_connect

    if raw is None:
        return None
    tcp = c.mapping(raw, "probe.tcp")
    timeout_ms = c.number(tcp.get("timeout_ms", 0.0), "probe.tcp.timeout_ms")
    elapsed = c.number(tcp.get("elapsed_ms", 0.0), "probe.tcp.elapsed_ms")
    opened = c.opt_text(tcp.get("open_error"), "probe.tcp.open_error", limit=64)
    if opened is not None:
        return TcpConnect(address=address, port=port, outcome="error", elapsed_ms=elapsed,
                          timeout_ms=timeout_ms, errno=opened)  # fmt: skip
    local_raw = tcp.get("local")
    local = None
    if local_raw is not None:
        host, lport = c.item_list(local_raw, "probe.tcp.local", limit=2)
        local = (c.address(host, "probe.tcp.local"), c.integer(lport, "probe.tcp.local", hi=65535))
    if not c.boolean(tcp.get("ended"), "probe.tcp.ended"):
        result = ConnectResult(outcome="timeout")
    else:
        so_error = c.integer(tcp.get("so_error"), "probe.tcp.so_error", hi=4095)
        entries = _errqueue(tcp.get("errqueue", []), "probe.tcp.errqueue")
        result = classify_connect(so_error, entries, local[0] if local else None)
    connected = result.outcome == "connected" and local is not None
    shown = None
    if connected and local is not None:
        shown = f"[{local[0]}]:{local[1]}" if ":" in local[0] else f"{local[0]}:{local[1]}"
    return TcpConnect(
        address=address, port=port, outcome=result.outcome, elapsed_ms=elapsed,
        timeout_ms=timeout_ms, timeout_basis="budget", errno=result.errno, icmp=result.icmp,
        local=shown,
    )  # fmt: skip


def _egress(raw: object, address: str, port: int) -> EgressCheck | None:
    """The source's raw-SYN test as `probes.egress` words it: EPERM at send is blocked, a
    SYN that left is clear, a raw socket refused is unknown (root needed)."""
    from netdx.model import EgressCheck

    if raw is None:
        return None
    test = c.mapping(raw, "probe.egress")
    sent = c.boolean(test.get("sent"), "probe.egress.sent")
    code = c.opt_text(test.get("errno"), "probe.egress.errno", limit=32) or None
    stage = test.get("stage")
    if stage not in ("open", "send"):
        raise DocumentError(f"probe.egress.stage: {c.short(stage)}")
    if sent:
        return EgressCheck(address=address, port=port, status="clear")
    if stage == "send" and code in ("EPERM", "EACCES"):
        return EgressCheck(address=address, port=port, status="blocked", errno=code,
                           reason="the source's netfilter OUTPUT rules drop the SYN")  # fmt: skip
    why = ("needs root on the source to rule out its egress filtering"
           if stage == "open" and code in ("EPERM", "EACCES")
           else f"the test SYN could not be sent: {code or 'error'}")  # fmt: skip
    return EgressCheck(address=address, port=port, status="unknown", errno=code, reason=why)


def _echo(raw: object, address: str, family: Family) -> IcmpEcho | None:
    from netdx.model import IcmpEcho

    if raw is None:
        return None
    echo = c.mapping(raw, "probe.echo")
    method = echo.get("method")
    if method is None:
        why = c.opt_text(echo.get("reason"), "probe.echo.reason", limit=512)
        return IcmpEcho(address=address, status="unknown", reason=why)
    if method not in ("dgram", "raw"):
        raise DocumentError(f"probe.echo.method: {c.short(method)}")
    ident = c.integer(echo.get("ident"), "probe.echo.ident", hi=0xFFFF)
    sent_at: dict[int, float] = {}
    for item in c.item_list(echo.get("sent", []), "probe.echo.sent", limit=_CMSGS):
        seq, at = c.item_list(item, "probe.echo.sent[]", limit=2)
        if at is not None:
            sent_at[c.integer(seq, "probe.echo.sent[]", hi=0xFFFF)] = c.number(at, "probe.echo")
    rtts, errors, ttl = _echo_answers(echo, method, family, address, ident, sent_at)
    send_error = c.opt_text(echo.get("send_error"), "probe.echo.send_error", limit=64)
    received = len(rtts)
    error = next(iter(errors.values()), None)
    status: Any = "reply" if received else "icmp_error" if error else "timeout"
    if not received and error is None and send_error is not None:
        status = "unknown"
    failed = send_error is not None and status == "unknown"
    reason = f"sending the echo failed: {send_error}" if failed else None
    return IcmpEcho(
        address=address, status=status, sent=len(sent_at), received=received,
        rtt_ms=round(min(rtts.values()), 3) if received else None,
        reply_ttl=ttl if received else None, method=method,
        error=None if received else error, reason=reason,
    )  # fmt: skip


def _echo_answers(
    echo: Mapping[str, Any],
    method: str,
    family: Family,
    address: str,
    ident: int,
    sent_at: dict[int, float],
) -> tuple[dict[int, float], dict[int, Any], int | None]:
    """The round trips by seq, the ICMP errors by seq and the reply TTL, matched to our
    echoes by `probes.icmp`'s parsers."""
    from netdx.probes.icmp import (
        errqueue_echo_seq,
        parse_dgram_reply,
        parse_raw_packet,
        reply_ttl,
    )
    from netdx.probes.recverr import to_icmp_error

    rtts: dict[int, float] = {}
    errors: dict[int, Any] = {}
    ttl = None
    for item in c.item_list(echo.get("packets", []), "probe.echo.packets", limit=_CMSGS):
        p = c.mapping(item, "probe.echo.packets[]")
        data = bytes.fromhex(c.text(p.get("data"), "probe.echo.packets[].data", limit=4096))
        anc = _cmsgs(p.get("cmsgs", []), "probe.echo.packets[].cmsgs")
        at = c.number(p.get("at_ms"), "probe.echo.packets[].at_ms")
        if method == "dgram":
            seq = parse_dgram_reply(family, data)
            packet_ttl, error = reply_ttl(anc), None
        else:
            sender = c.address(p.get("sender"), "probe.echo.packets[].sender")
            packet = parse_raw_packet(family, data, sender, address, ident)
            if packet is None:
                continue
            seq, error = packet.seq, packet.error
            packet_ttl = packet.ttl if packet.ttl is not None else reply_ttl(anc)
        if seq is None or seq not in sent_at:
            continue
        if error is not None:
            errors.setdefault(seq, error)
        elif seq not in rtts:
            rtts[seq] = max(0.0, at - sent_at[seq])
            ttl = packet_ttl if packet_ttl is not None else ttl
    for entry in _errqueue(echo.get("errqueue", []), "probe.echo.errqueue"):
        found = to_icmp_error(entry)
        seq = errqueue_echo_seq(family, entry.payload)
        if found is not None and seq is not None and seq in sent_at:
            errors.setdefault(seq, found)
    return rtts, errors, ttl
