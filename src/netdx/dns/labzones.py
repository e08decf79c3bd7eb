"""The lab DNS hierarchy as data: servers, addresses and zone texts. Pure, no I/O.

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
"""

from __future__ import annotations

from dataclasses import dataclass

SUBNET = "10.53.0"
RESOLVER = f"{SUBNET}.53"
CLIENT = f"{SUBNET}.100"
REFUSER = f"{SUBNET}.31"
DEAD = (f"{SUBNET}.41", f"{SUBNET}.42", f"{SUBNET}.43", f"{SUBNET}.44", f"{SUBNET}.45")
MOVED_OLD, MOVED_NEW = "10.53.1.20", "10.53.1.21"
PINNED_DNS, PINNED_HOSTS = "10.53.1.30", "10.53.1.99"
LONG_TTL = 3600


@dataclass(frozen=True, slots=True, kw_only=True)
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


def root_zone(*, dead_per_level: bool) -> str:
    """The lab root zone: the root servers, and the delegations of lab. and 10.in-addr.arpa."""
    roots = [("a.root.lab.", f"{SUBNET}.1"), ("b.root.lab.", f"{SUBNET}.2")]
    tlds = [("ns1.nic.lab.", f"{SUBNET}.11"), ("ns2.nic.lab.", f"{SUBNET}.12")]
    if dead_per_level:
        roots.insert(0, ("c.root.lab.", DEAD[0]))
        tlds.insert(0, ("ns3.nic.lab.", DEAD[1]))
    lines = [_soa(".", roots[0][0])]
    lines += [f". 518400 IN NS {n}\n" for n, _ in roots]
    lines += [f"lab. 172800 IN NS {n}\n" for n, _ in tlds]
    lines += [f"{n} 172800 IN A {a}\n" for n, a in roots + tlds]
    lines.append("10.in-addr.arpa. 172800 IN NS ns1.example.lab.\n")
    return "".join(lines)


def root_hints(*, dead_per_level: bool) -> str:
    """A root hints file for the lab (what unbound and `netdx dns --trace` start from)."""
    roots = [("a.root.lab.", f"{SUBNET}.1"), ("b.root.lab.", f"{SUBNET}.2")]
    if dead_per_level:
        roots.insert(0, ("c.root.lab.", DEAD[0]))
    text = "".join(f".  3600000  NS  {n}\n" for n, _ in roots)
    return text + "".join(f"{n}  3600000  A  {a}\n" for n, a in roots)


def tld_zone(*, dead_per_level: bool) -> str:
    """The lab. zone: delegations with glue, a lame one, a broken one, a glueless one."""
    nic = [("ns1.nic.lab.", f"{SUBNET}.11"), ("ns2.nic.lab.", f"{SUBNET}.12")]
    example = [("ns1.example.lab.", f"{SUBNET}.21"), ("ns2.example.lab.", f"{SUBNET}.22")]
    if dead_per_level:
        nic.insert(0, ("ns3.nic.lab.", DEAD[1]))
        example.insert(0, ("ns3.example.lab.", DEAD[2]))
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
    lines += [f"{n} 3600 IN A {a}\n" for n, a in
              (("a.root.lab.", f"{SUBNET}.1"), ("b.root.lab.", f"{SUBNET}.2"))]
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


def nsd_conf(*, address: str, workdir: str, zones: tuple[str, ...]) -> str:
    """An nsd.conf for one lab server: foreground, no chroot, no database, files in workdir."""
    head = (
        "server:\n"
        f"  ip-address: {address}\n  port: 53\n  username: \"\"\n  chroot: \"\"\n"
        f"  database: \"\"\n  zonesdir: \"{workdir}\"\n  pidfile: \"{workdir}/nsd.pid\"\n"
        f"  zonelistfile: \"{workdir}/zone.list\"\n  xfrdfile: \"{workdir}/xfrd.state\"\n"
        "  server-count: 1\n  verbosity: 0\n  hide-version: yes\n"
        # Response rate limiting would drop answers to a benchmark's burst of queries.
        "  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n"
        "remote-control:\n  control-enable: no\n"
    )
    return head + "".join(
        f"zone:\n  name: \"{z}\"\n  zonefile: \"{_file(z)}\"\n" for z in zones
    )


def _file(zone: str) -> str:
    return "root.zone" if zone == "." else zone.rstrip(".") + ".zone"


def zone_file(zone: str) -> str:
    """The file name a zone is written to in a server's workdir."""
    return _file(zone)


def unbound_conf(*, workdir: str, hints: str) -> str:
    """An unbound.conf for the lab resolver: iterator only, lab root hints, no DNSSEC."""
    return (
        "server:\n"
        f"  interface: {RESOLVER}\n  port: 53\n  access-control: {SUBNET}.0/24 allow\n"
        f"  chroot: \"\"\n  username: \"\"\n  directory: \"{workdir}\"\n"
        f"  pidfile: \"{workdir}/unbound.pid\"\n  root-hints: \"{hints}\"\n"
        "  module-config: \"iterator\"\n  do-not-query-localhost: no\n"
        "  do-ip6: no\n  num-threads: 1\n  verbosity: 1\n  use-syslog: no\n  logfile: \"\"\n"
        # 10/8 is a private range: unbound answers its reverse zone itself unless told not to.
        "  unblock-lan-zones: yes\n  insecure-lan-zones: yes\n"
        "  qname-minimisation: no\n  infra-cache-max-rtt: 1000\n  outbound-msg-retry: 2\n"
        "remote-control:\n  control-enable: no\n"
    )
