"""Which targets `netdx serve` may probe: CIDRs and names from its config, judged without
sending anything.

An exporter that probes whatever it is asked is an open proxy into the network it sits in.
So a target is judged on the `Target` that `netdx.target.parse_target` made of it, the very
value the check would probe (one parser: no second reading of the string can disagree with
it), before any packet or DNS query:

- an IP address is allowed only inside a listed CIDR. An IPv4-mapped IPv6 address
  (`::ffff:10.0.0.1`) is judged as the IPv4 address its packets go to, so it can pass
  neither an IPv6 CIDR that happens to cover `::ffff:0:0/96` nor miss the IPv4 one that
  names its real destination. Decimal (`167772161`) and octal-looking (`012.0.0.1`) forms
  never get here: the target parser refuses them, as it refuses `10.0.0.1@evil`;
- a name is allowed only when it is listed by name, case aside (`db.` and `db` are two
  names to a resolver with search domains). It is never resolved to be compared with the
  CIDRs: that lookup would itself be traffic the asker chose, and its answer is the
  asker's to control.
"""

from __future__ import annotations

import ipaddress

from netdx.errors import TargetError, UsageError
from netdx.model.record import record
from netdx.model.target import Target

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK: tuple[Network, ...] = (
    ipaddress.IPv4Network("127.0.0.0/8"),
    ipaddress.IPv6Network("::1/128"),
)


@record
class Allowlist:
    """The CIDRs and names a probe may target."""

    networks: tuple[Network, ...] = ()
    names: frozenset[str] = frozenset()

    def allows(self, target: Target) -> bool:
        """True when `target` (as parsed for the check) is inside a CIDR or listed by name."""
        if target.ip_literal:
            address = effective_address(target.host)
            return any(
                address.version == net.version and address in net for net in self.networks
            )
        return _name_key(target.host) in self.names

    def describe(self) -> str:
        """The list as one line, for the start message."""
        items = [str(net) for net in self.networks] + sorted(self.names)
        return ", ".join(items) if items else "nothing"


def effective_address(host: str) -> Address:
    """The address packets for the literal `host` go to: without an IPv6 zone, an
    IPv4-mapped IPv6 address as its IPv4 address."""
    address = ipaddress.ip_address(host.partition("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_allowlist(entries: list[str] | tuple[str, ...]) -> Allowlist:
    """The allowlist of config entries: a CIDR, a single address (a /32 or /128), or a host
    name. UsageError (naming the entry) for anything else."""
    networks: list[Network] = []
    names: set[str] = set()
    for entry in entries:
        parsed = parse_entry(entry)
        if isinstance(parsed, str):
            names.add(parsed)
        else:
            networks.append(parsed)
    return Allowlist(networks=tuple(networks), names=frozenset(names))


def parse_entry(entry: str) -> Network | str:
    """One allow_targets entry: a network, or a name in the form the target parser gives."""
    if not entry or entry != entry.strip():
        raise UsageError(f"{entry!r}: empty or surrounded by spaces")
    if "://" in entry:
        return _name_entry(entry)  # refused there, with the reason
    if "/" not in entry and not _looks_numeric(entry):
        try:
            return ipaddress.ip_network(entry)  # an IPv6 address alone: its /128
        except ValueError:
            return _name_entry(entry)
    try:
        network = ipaddress.ip_network(entry, strict=True)
    except ValueError as exc:
        raise UsageError(f"{entry!r} is not a CIDR: {exc}") from None
    mapped = isinstance(network, ipaddress.IPv6Network) and (
        network.network_address.ipv4_mapped is not None
    )
    if mapped:
        # Mapped addresses are judged as IPv4: a mapped CIDR would never match.
        raise UsageError(f"{entry!r}: write IPv4-mapped networks as IPv4 CIDRs")
    return network


def _name_entry(entry: str) -> str:
    from netdx.target import parse_target

    try:
        target = parse_target(entry)
    except TargetError as exc:
        raise UsageError(f"{entry!r} is not a host name or CIDR ({exc})") from None
    if target.port is not None or target.scheme is not None:
        raise UsageError(f"{entry!r}: list a host name or CIDR, without port or scheme")
    return _name_key(target.host)


def _looks_numeric(entry: str) -> bool:
    """Digits and dots are for the address parser alone: `012.0.0.1` must be refused as a
    bad address, not taken as a name."""
    return all(c.isdigit() or c == "." for c in entry)


def _name_key(name: str) -> str:
    return name.lower()
