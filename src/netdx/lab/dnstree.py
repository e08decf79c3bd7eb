"""The `dns-tree` scenario family: a whole DNS hierarchy (nsd root, TLD and zone servers,
an unbound resolver, a client) as one lab scenario, built by the one lab runner
(`netdx.lab.build.Lab`). Pure: servers, addresses and zone texts, no I/O.

    .              a.root.lab 10.53.0.1, b.root.lab 10.53.0.2      (+ c.root.lab, dead)
    lab.           ns1/ns2.nic.lab 10.53.0.11/.12                  (+ ns3.nic.lab, dead)
    example.lab.   ns1/ns2.example.lab 10.53.0.21/.22              (+ ns3.example.lab, dead)
    partial.lab.   ns1 answers, ns2 refuses, ns3 is silent          -> lame, warning
    gone.lab.      ns1 is silent, ns2 refuses                       -> lame, broken
    refused.lab.   its only server refuses                           -> SERVFAIL at once
    outside.lab.   ns-out.example.lab, no glue                      -> resolved on the way
    loop.lab.      delegated to the lab. server itself                -> referral loop
    chain0.example.lab  a 50-step CNAME chain inside one zone
    10.in-addr.arpa. on ns1.example.lab                             -> PTR

With `dead_per_level` every level also lists one server that drops every packet (the
benchmark's "one dead server per level"), first in its NS set: the primary that died.

Every host hangs off one switched link; nothing links to the root namespace. The dead
addresses live on a host whose nftables drop everything (silent, not refusing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from netdx.lab.model import Host, Interface, Link, Scenario, Service
from netdx.model.record import record

SUBNET = "10.53.0"
RESOLVER = f"{SUBNET}.53"
CLIENT = f"{SUBNET}.100"
REFUSER = f"{SUBNET}.31"
DEAD = (f"{SUBNET}.41", f"{SUBNET}.42", f"{SUBNET}.43", f"{SUBNET}.44", f"{SUBNET}.45")
MOVED_OLD, MOVED_NEW = "10.53.1.20", "10.53.1.21"
PINNED_DNS, PINNED_HOSTS = "10.53.1.30", "10.53.1.99"
LONG_TTL = 3600


@record
class LabServer:
    """One nsd: its namespace tag, its address and the zones it serves."""

    tag: str
    address: str
    zones: tuple[str, ...]


def servers() -> tuple[LabServer, ...]:
    """Every nsd of the hierarchy (the refuser serves a zone nobody delegates to it)."""
    return (
        LabServer(tag="root1", address=f"{SUBNET}.1", zones=(".",)),
        LabServer(tag="root2", address=f"{SUBNET}.2", zones=(".",)),
        LabServer(tag="tld1", address=f"{SUBNET}.11", zones=("lab.",)),
        LabServer(tag="tld2", address=f"{SUBNET}.12", zones=("lab.",)),
        LabServer(tag="ex1", address=f"{SUBNET}.21",
                  zones=("example.lab.", "partial.lab.", "outside.lab.", "10.in-addr.arpa.")),
        LabServer(tag="ex2", address=f"{SUBNET}.22", zones=("example.lab.",)),
        LabServer(tag="refuse", address=REFUSER, zones=("refuser.invalid.",)),
    )


def _soa(zone: str, ns: str) -> str:
    return f"$TTL 300\n{zone} 300 IN SOA {ns} hostmaster.lab. 1 3600 600 86400 300\n"


# The live name servers (name, address) of the zones whose NS set gets a dead server with
# `dead_per_level`, and that dead server: it goes first, the primary that died.
_LIVE_NS = {
    ".": (("a.root.lab.", f"{SUBNET}.1"), ("b.root.lab.", f"{SUBNET}.2")),
    "lab.": (("ns1.nic.lab.", f"{SUBNET}.11"), ("ns2.nic.lab.", f"{SUBNET}.12")),
    "example.lab.": (("ns1.example.lab.", f"{SUBNET}.21"), ("ns2.example.lab.", f"{SUBNET}.22")),
}
_DEAD_NS = {
    ".": ("c.root.lab.", DEAD[0]),
    "lab.": ("ns3.nic.lab.", DEAD[1]),
    "example.lab.": ("ns3.example.lab.", DEAD[2]),
}


def _name_servers(zone: str, *, dead_per_level: bool) -> list[tuple[str, str]]:
    """The (name, address) of the servers of `zone`, the dead one first with `dead_per_level`."""
    live = list(_LIVE_NS[zone])
    return [_DEAD_NS[zone], *live] if dead_per_level else live


def root_zone(*, dead_per_level: bool) -> str:
    """The lab root zone: the root servers, and the delegations of lab. and 10.in-addr.arpa."""
    roots = _name_servers(".", dead_per_level=dead_per_level)
    tlds = _name_servers("lab.", dead_per_level=dead_per_level)
    lines = [_soa(".", roots[0][0])]
    lines += [f". 518400 IN NS {n}\n" for n, _ in roots]
    lines += [f"lab. 172800 IN NS {n}\n" for n, _ in tlds]
    lines += [f"{n} 172800 IN A {a}\n" for n, a in roots + tlds]
    lines.append("10.in-addr.arpa. 172800 IN NS ns1.example.lab.\n")
    return "".join(lines)


def root_hints(*, dead_per_level: bool) -> str:
    """A root hints file for the lab (what unbound and `netdx dns --trace` start from)."""
    roots = _name_servers(".", dead_per_level=dead_per_level)
    text = "".join(f".  3600000  NS  {n}\n" for n, _ in roots)
    return text + "".join(f"{n}  3600000  A  {a}\n" for n, a in roots)


def tld_zone(*, dead_per_level: bool) -> str:
    """The lab. zone: delegations with glue, a lame one, a broken one, a glueless one."""
    nic = _name_servers("lab.", dead_per_level=dead_per_level)
    example = _name_servers("example.lab.", dead_per_level=dead_per_level)
    partial = [("ns1.partial.lab.", f"{SUBNET}.21"), ("ns2.partial.lab.", REFUSER),
               ("ns3.partial.lab.", DEAD[3])]
    gone = [("ns1.gone.lab.", DEAD[4]), ("ns2.gone.lab.", REFUSER)]
    refused = [("ns1.refused.lab.", REFUSER)]
    lines = [_soa("lab.", nic[0][0])]
    for zone, ns in (("lab.", nic), ("example.lab.", example), ("partial.lab.", partial),
                     ("gone.lab.", gone), ("refused.lab.", refused)):
        lines += [f"{zone} 172800 IN NS {n}\n" for n, _ in ns]
        lines += [f"{n} 172800 IN A {a}\n" for n, a in ns]
    lines.append("outside.lab. 172800 IN NS ns-out.example.lab.\n")
    # Delegated to the TLD's own server, which only refers back to itself: a referral loop.
    lines.append("loop.lab. 172800 IN NS ns1.nic.lab.\n")
    lines += [f"{n} 3600 IN A {a}\n" for n, a in _LIVE_NS["."]]
    return "".join(lines)


def example_zone(*, dead_per_level: bool, moved: str = MOVED_OLD) -> str:
    """example.lab.: the records the scenarios ask about (`moved` changes for the stale one)."""
    ns = (["ns3.example.lab."] if dead_per_level else []) + ["ns1.example.lab.", "ns2.example.lab."]
    big = " ".join('"' + chr(ord("a") + i) * 250 + '"' for i in range(6))
    body = [
        *(f"example.lab. 300 IN NS {n}\n" for n in ns),
        f"ns1 300 IN A {SUBNET}.21\n",
        f"ns2 300 IN A {SUBNET}.22\n",
        *([f"ns3 300 IN A {DEAD[2]}\n"] if dead_per_level else []),
        f"ns-out 300 IN A {SUBNET}.21\n",
        "www 300 IN A 10.53.1.10\n",
        "www 300 IN AAAA fd53::10\n",
        "alias 300 IN CNAME www\n",
        "dangling 300 IN CNAME nothere.example.lab.\n",
        "loop1 300 IN CNAME loop2\n",
        "loop2 300 IN CNAME loop1\n",
        f"moved {LONG_TTL} IN A {moved}\n",
        f"pinned 300 IN A {PINNED_DNS}\n",
        "example.lab. 300 IN MX 10 mail.example.lab.\n",
        "mail 300 IN A 10.53.1.25\n",
        'example.lab. 300 IN TXT "v=spf1 -all"\n',
        "_ldap._tcp 300 IN SRV 0 5 389 www.example.lab.\n",
        f"big 300 IN TXT {big}\n",
        "db.corp 300 IN A 10.53.1.40\n",
        *(f"chain{i} 300 IN CNAME chain{i + 1}\n" for i in range(50)),
        "chain50 300 IN A 10.53.1.50\n",
    ]
    return _soa("example.lab.", "ns1.example.lab.") + "$ORIGIN example.lab.\n" + "".join(body)


def small_zone(zone: str, address: str) -> str:
    """A zone with a www record (partial.lab., outside.lab.)."""
    return _soa(zone, "ns1.example.lab.") + (
        f"{zone} 300 IN NS ns1.example.lab.\nwww.{zone} 300 IN A {address}\n"
    )


def reverse_zone() -> str:
    """10.in-addr.arpa.: the PTR of www.example.lab."""
    return _soa("10.in-addr.arpa.", "ns1.example.lab.") + (
        "10.in-addr.arpa. 300 IN NS ns1.example.lab.\n"
        "10.1.53.10.in-addr.arpa. 300 IN PTR www.example.lab.\n"
    )


def zone_text(zone: str, *, dead_per_level: bool, moved: str = MOVED_OLD) -> str:
    """The text of any lab zone by name."""
    if zone == ".":
        return root_zone(dead_per_level=dead_per_level)
    if zone == "lab.":
        return tld_zone(dead_per_level=dead_per_level)
    if zone == "example.lab.":
        return example_zone(dead_per_level=dead_per_level, moved=moved)
    if zone == "10.in-addr.arpa.":
        return reverse_zone()
    if zone == "partial.lab.":
        return small_zone(zone, "10.53.2.10")
    if zone == "outside.lab.":
        return small_zone(zone, "10.53.3.10")
    return _soa(zone, "ns.refuser.invalid.") + f"{zone} 300 IN NS ns.refuser.invalid.\n"


# --- the scenario ------------------------------------------------------------------------

LINK = "dnshub"
CLIENT_HOST, RESOLVER_HOST, DEAD_HOST = "dns-client", "dns-resolver", "dns-dead"
NAMES = ("dns-tree", "dns-service-servfail")  # the scenarios `netdx lab` lists and runs
_DROP_ALL = (
    "table inet ndx {\n chain input {\n  type filter hook input priority 0; policy drop;\n }\n}\n"
)


def host_name(server: LabServer) -> str:
    """The lab host (namespace ndx-<name>) of one nsd."""
    return f"dns-{server.tag}"


def nsd_service(server: LabServer, *, dead_per_level: bool, moved: str = MOVED_OLD) -> Service:
    """The nsd of `server`, serving its zones (moved.example.lab at `moved`)."""
    zones = tuple((zone, zone_text(zone, dead_per_level=dead_per_level, moved=moved))
                  for zone in server.zones)
    return Service(host=host_name(server), kind="dns", listen=server.address, zone_files=zones)


def scenario(*, dead_per_level: bool = False) -> Scenario:
    """The hierarchy as a lab scenario: `dns-tree`, whose own check asks the client's
    resolver for a missing name. With `dead_per_level` (`dns-tree-dead`, for the trace
    tests and the benchmark) one silent server sits at every level; it is not listed, as
    how long unbound takes to get past them depends on which server it happens to try."""
    dead = dead_per_level
    name = "dns-tree-dead" if dead else "dns-tree"
    hub: list[tuple[str, tuple[str, ...]]] = [(host_name(s), (s.address,)) for s in servers()]
    hub += [(DEAD_HOST, DEAD), (RESOLVER_HOST, (RESOLVER,)), (CLIENT_HOST, (CLIENT,))]
    hosts = [Host(name=h, interfaces=(Interface(link=LINK,
                                                addresses=tuple(f"{a}/24" for a in addrs)),))
             for h, addrs in hub]
    hosts = [_client(h) if h.name == CLIENT_HOST else h for h in hosts]
    hosts = [dataclasses.replace(h, nftables=_DROP_ALL) if h.name == DEAD_HOST else h
             for h in hosts]
    services = [nsd_service(s, dead_per_level=dead) for s in servers()]
    services.append(Service(host=RESOLVER_HOST, kind="resolver", listen=RESOLVER,
                            hints=root_hints(dead_per_level=dead)))
    what = "one silent server at every level, root included" if dead else "every server up"
    return Scenario(
        name=name,
        topology="dns-tree",
        description=(f"A DNS hierarchy in namespaces ({what}): nsd for the root, lab. and "
                     "example.lab. (with lame, broken, looping and glueless delegations), "
                     "unbound as the client's resolver. The client asks for a name the "
                     "zone does not have."),
        fault="nothere.example.lab does not exist in example.lab.",
        hosts=tuple(hosts),
        links=(Link(name=LINK, hosts=tuple(h for h, _ in hub)),),
        services=tuple(services),
        client=CLIENT_HOST,
        check=("nothere.example.lab:80",),
        expect="dns.nxdomain",
        max_seconds=4.0,
    )


def servfail_scenario() -> Scenario:
    """`dns-service-servfail`: the same hierarchy, checked as a DNS service (`dns://`): the
    client asks the resolver for www.refused.lab, whose only name server refuses the zone,
    so unbound answers SERVFAIL at once."""
    tree = scenario()
    return dataclasses.replace(
        tree,
        name="dns-service-servfail",
        description=("The DNS hierarchy of dns-tree, checked as a service: the client asks "
                     "the unbound resolver directly (dns://) for a name in refused.lab., "
                     "whose only delegated server refuses the zone (a lame delegation)."),
        fault="refused.lab.'s only name server (10.53.0.31) refuses the zone: SERVFAIL",
        check=(f"dns://{RESOLVER}/www.refused.lab",),
        expect="service.dns_servfail",
    )


def named(name: str) -> Scenario:
    """The family's scenario called `name` (one of `NAMES`)."""
    return servfail_scenario() if name == "dns-service-servfail" else scenario()


def scenarios() -> tuple[Scenario, ...]:
    """Every scenario of the family that `netdx lab` lists."""
    return (scenario(), servfail_scenario())


def moved_services(running: Sequence[Service], address: str, *,
                   dead_per_level: bool) -> list[tuple[Service, Service]]:
    """(running, changed) nsd services of example.lab. once moved.example.lab moves to
    `address`: what `Lab.replace_service` swaps for the stale-cache case."""
    by_host = {host_name(s): s for s in servers() if "example.lab." in s.zones}
    return [(service, nsd_service(by_host[service.host], dead_per_level=dead_per_level,
                                  moved=address))
            for service in running if service.host in by_host and service.kind == "dns"]


def _client(host: Host) -> Host:
    return dataclasses.replace(
        host,
        resolv=(f"nameserver {RESOLVER}", "search example.lab", "options timeout:1 attempts:1"),
        hosts=(f"{PINNED_HOSTS} pinned.example.lab",),
    )
