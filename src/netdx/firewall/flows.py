"""Flows as the user writes them: `ADDR:PORT` endpoints and `SRC>DST:PORT[/proto]` flows."""

from __future__ import annotations

import ipaddress

from netdx.errors import UsageError
from netdx.firewall.evaluate import Direction
from netdx.firewall.model import Packet
from netdx.model.record import record
from netdx.target import port_number

_PROTOS = ("tcp", "udp")
_HOOKS: tuple[Direction, ...] = ("input", "output", "forward")


@record
class Flow:
    """A flow to evaluate; `hook` None means inferred from the local addresses."""

    packet: Packet
    hook: Direction | None = None
    spec: str = ""


def parse_address(text: str) -> str:
    """A literal IPv4/IPv6 address (brackets allowed), canonical; UsageError otherwise."""
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError as exc:
        raise UsageError(f"not an IP address: {text!r} (the firewall works on addresses)") from exc


def parse_endpoint(text: str) -> tuple[str, int]:
    """`10.0.0.20:5432` or `[2001:db8::1]:5432` → (address, port)."""
    host, sep, port_text = text.rpartition(":")
    port = port_number(port_text) if sep else None
    if port is None:
        raise UsageError(f"expected ADDRESS:PORT, got {text!r}")
    if ":" in host and not host.startswith("["):
        raise UsageError(f"write an IPv6 endpoint as [ADDRESS]:PORT, got {text!r}")
    return parse_address(host), port


def make_packet(src: str, dst: str, port: int, proto: str, iif: str | None = None) -> Packet:
    """The first packet of a flow; UsageError for mixed families or an unknown protocol."""
    if proto not in _PROTOS:
        raise UsageError(f"protocol must be tcp or udp, got {proto!r}")
    try:
        return Packet.build(saddr=parse_address(src), daddr=dst, proto=proto, dport=port, iif=iif)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def parse_flow(spec: str) -> Flow:
    """`SRC>DST:PORT[/tcp|udp][@input|output|forward]` → Flow."""
    text = spec.strip()
    hook: Direction | None = None
    if "@" in text:
        text, _, hook_text = text.rpartition("@")
        if hook_text not in _HOOKS:
            raise UsageError(f"flow {spec!r}: hook must be one of {', '.join(_HOOKS)}")
        hook = next(h for h in _HOOKS if h == hook_text)
    proto = "tcp"
    if "/" in text:
        text, _, proto = text.rpartition("/")
    src, sep, dst = text.partition(">")
    if not sep:
        raise UsageError(f"expected SRC>DST:PORT[/proto], got {spec!r}")
    address, port = parse_endpoint(dst)
    return Flow(packet=make_packet(src, address, port, proto), hook=hook, spec=spec.strip())


def parse_flow_lines(text: str) -> tuple[Flow, ...]:
    """One flow per line; blank lines and `#` comments are skipped."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(parse_flow(line) for line in lines if line)
