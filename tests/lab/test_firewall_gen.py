"""Hypothesis strategies (no tests here) for the firewall differential test: rulesets built from the
constructs the evaluator models, as nft scripts and iptables-restore input, and both at once:
legacy iptables tables (with rules, or empty as Docker or an old package leaves them) beside
native nft tables of the same family and name, two kernel objects that both hook in.

Addresses and ports come from small pools around the lab's addresses so that rules match
often; pools used inside sets are disjoint, because nft refuses overlapping intervals.
"""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import strategies as st

V4_POOL = (
    "10.89.0.1",
    "10.89.0.2-10.89.0.3",
    "10.89.0.4/30",
    "10.89.0.100/31",
    "10.0.0.0/16",
    "192.168.0.0/16",
)
V4_WIDE = (*V4_POOL, "10.89.0.0/24", "10.89.0.0/30", "10.0.0.0/8", "10.89.0.101", "10.89.0.3")
V6_POOL = ("fd89::1", "fd89::2-fd89::3", "fd89::4/126", "fd89::100/127", "2001:db8::/32")
V6_WIDE = (*V6_POOL, "fd89::/64", "fd89::/126", "fd89::101", "fd89::3")
PORT_POOL = ("1-21", "22", "80", "400-500", "5432", "8000-9000")
PORT_WIDE = (*PORT_POOL, "1-1024", "80-8080", "443", "8080")
SPORT_WIDE = ("1024-65535", "20000-40000", "1-1023", "40001-65535")
IFNAMES = ('"ndxh-fwb0"', '"lo"', '"ndxh*"', '"eth*"')
REJECTS = {
    "ip": (
        "net-unreachable",
        "host-unreachable",
        "prot-unreachable",
        "port-unreachable",
        "net-prohibited",
        "host-prohibited",
        "admin-prohibited",
    ),
    "ip6": (
        "no-route",
        "admin-prohibited",
        "addr-unreachable",
        "port-unreachable",
        "policy-fail",
        "reject-route",
    ),
    "inet": ("port-unreachable", "admin-prohibited", "no-route", "host-unreachable"),
}
CONCAT4 = "type ipv4_addr . inet_service; flags interval;"
CONCAT6 = "type ipv6_addr . inet_service; flags interval;"
_REJECT_KIND = {"ip": "icmp", "ip6": "icmpv6", "inet": "icmpx"}


def _versions(family: str) -> tuple[int, ...]:
    return {"ip": (4,), "ip6": (6,), "inet": (4, 6)}[family]


def _set_of(draw: st.DrawFn, pool: tuple[str, ...]) -> str:
    items = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    return "{ " + ", ".join(items) + " }"


@st.composite
def address_match(draw: st.DrawFn, version: int) -> str:
    """`ip saddr 10.89.0.0/24`, `ip6 daddr != { ... }`, `ip saddr @a4`."""
    proto, wide, pool = ("ip", V4_WIDE, V4_POOL) if version == 4 else ("ip6", V6_WIDE, V6_POOL)
    field = f"{proto} {draw(st.sampled_from(('saddr', 'daddr')))}"
    op = draw(st.sampled_from(("", "", "!= ")))
    kind = draw(st.sampled_from(("single", "set", "named")))
    if kind == "single":
        value = draw(st.sampled_from(wide))
    elif kind == "set":
        value = _set_of(draw, pool)
    else:
        value = f"@a{version}"
    return f"{field} {op}{value}"


@st.composite
def port_match(draw: st.DrawFn, l4: str) -> str:
    """`tcp dport 22`, `th dport { 80, 400-500 }`, `udp sport 1024-65535`, `th dport @ports`."""
    proto = draw(st.sampled_from((l4, "th")))
    if draw(st.integers(0, 5)) == 0:
        op = draw(st.sampled_from(("", "!= ")))
        return f"{proto} sport {op}{draw(st.sampled_from(SPORT_WIDE))}"
    op = draw(st.sampled_from(("", "", "!= ")))
    kind = draw(st.sampled_from(("single", "set", "named", "compare")))
    if kind == "single":
        value = draw(st.sampled_from(PORT_WIDE))
    elif kind == "set":
        value = _set_of(draw, PORT_POOL)
    elif kind == "named":
        value = "@ports"
    else:
        op = draw(st.sampled_from(("< ", "> ", "<= ", ">= ")))
        value = str(draw(st.sampled_from((80, 443, 5432))))
    return f"{proto} dport {op}{value}"


@st.composite
def other_match(draw: st.DrawFn, family: str, version: int, l4: str) -> str:
    """Protocols, interfaces, conntrack state, tcp flags, nfproto, concatenations, all
    consistent with the rule's IP version and transport protocol (nft refuses conflicts)."""
    choices = [
        *(f"iifname {n}" for n in IFNAMES),
        'iifname != "ndxh-fwb0"',
        "ct state new",
        "ct state established,related",
        "ct state { new, established }",
        "ct state != new",
        "ct state invalid",
        "ct status dnat",
    ]
    if l4 == "th":
        choices += ["meta l4proto { tcp, udp }", "meta l4proto != tcp", "meta l4proto != udp"]
    else:
        choices += [f"meta l4proto {l4}"]
    if l4 == "tcp":
        choices += ["tcp flags & (syn | ack) == syn", "tcp flags & (fin | syn | rst | ack) != syn"]
    if version == 4:
        choices += ["ip saddr . th dport @c4"]
        choices += [f"ip protocol {l4}"] if l4 != "th" else []
        choices += (
            ["ip saddr . tcp dport { 10.89.0.1 . 22, 10.89.0.2 . 80, 10.89.0.3 . 5432 }"]
            if l4 == "tcp"
            else []
        )
    else:
        choices += ["ip6 saddr . th dport @c6"]
        choices += [f"ip6 nexthdr {l4}"] if l4 != "th" else []
    if family == "inet":
        choices += [f"meta nfproto ipv{version}"]
    return draw(st.sampled_from(choices))


@st.composite
def verdict(draw: st.DrawFn, family: str, targets: tuple[str, ...]) -> str:
    """The rule's end: a verdict, a jump/goto to a later chain, a verdict map, or nothing."""
    options = [
        "accept",
        "drop",
        "drop",
        "drop",
        "reject",
        "reject-type",
        "reject-type",
        "tcp-reset",
        "return",
        "continue",
        "counter",
        "vmap",
        "named-vmap",
    ]
    if targets:
        options += ["jump", "goto"]
    kind = draw(st.sampled_from(options))
    if kind == "reject-type":
        return f"reject with {_REJECT_KIND[family]} type {draw(st.sampled_from(REJECTS[family]))}"
    if kind == "tcp-reset":
        return "meta l4proto tcp reject with tcp reset"
    if kind in ("jump", "goto"):
        return f"{kind} {draw(st.sampled_from(targets))}"
    if kind == "vmap":
        ports = draw(st.lists(st.sampled_from(PORT_POOL), min_size=1, max_size=3, unique=True))
        verdicts = ["accept", "drop", "return", "continue", *(f"jump {t}" for t in targets)]
        pairs = ", ".join(f"{p} : {draw(st.sampled_from(verdicts))}" for p in ports)
        return f"th dport vmap {{ {pairs} }}"
    if kind == "named-vmap":
        return "th dport vmap @vm"
    return "counter" if kind == "counter" else kind


@st.composite
def rule(draw: st.DrawFn, family: str, targets: tuple[str, ...]) -> str:
    """Zero to two matches and an end."""
    version = draw(st.sampled_from(_versions(family)))
    l4 = draw(st.sampled_from(("tcp", "udp", "th")))
    parts = draw(
        st.lists(
            st.one_of(address_match(version), port_match(l4), other_match(family, version, l4)),
            max_size=2,
        )
    )
    end = draw(verdict(family, targets))
    if end.startswith("meta l4proto tcp reject") and l4 == "udp":
        end = "drop"
    return " ".join([*parts, end])


# Beside legacy iptables tables (raw -300, mangle -150, filter 0 on prerouting/input): nft
# priorities next to theirs but never equal, since the order of equal priorities across the
# two kernel objects is their registration order, which the evaluator cannot know.
COEXIST_PRIORITIES = {"input": (-151, -149, -1, 1, 10), "prerouting": (-301, -299, -151, -149, 1)}
# Legacy priorities, for the assertion that the generator never ties with them.
LEGACY_PRIORITIES = frozenset({-300, -150, 0, 50})


@st.composite
def table(
    draw: st.DrawFn,
    index: int,
    named: tuple[str, str] | None = None,
    priorities: Mapping[str, tuple[int, ...]] | None = None,
) -> str:
    """One table: sets, 1-2 base chains (input or prerouting) and 0-2 regular chains.
    `named` gives its (family, name), e.g. ("ip", "filter") beside a legacy `filter`."""
    family = named[0] if named else draw(st.sampled_from(("ip", "ip6", "inet")))
    regular = tuple(f"c{i}" for i in range(draw(st.integers(0, 2))))
    lines = [f"table {family} {named[1] if named else f't{index}'} {{"]
    if 4 in _versions(family):
        lines.append(
            f"  set a4 {{ type ipv4_addr; flags interval; elements = {_set_of(draw, V4_POOL)} }}"
        )
        pairs = draw(st.lists(st.sampled_from(V4_POOL), min_size=1, max_size=3, unique=True))
        elems = ", ".join(f"{a} . {draw(st.sampled_from(PORT_POOL))}" for a in pairs)
        lines.append(f"  set c4 {{ {CONCAT4} elements = {{ {elems} }} }}")
    if 6 in _versions(family):
        lines.append(
            f"  set a6 {{ type ipv6_addr; flags interval; elements = {_set_of(draw, V6_POOL)} }}"
        )
        pairs = draw(st.lists(st.sampled_from(V6_POOL), min_size=1, max_size=3, unique=True))
        elems = ", ".join(f"{a} . {draw(st.sampled_from(PORT_POOL))}" for a in pairs)
        lines.append(f"  set c6 {{ {CONCAT6} elements = {{ {elems} }} }}")
    ports_set = _set_of(draw, PORT_POOL)
    lines.append(f"  set ports {{ type inet_service; flags interval; elements = {ports_set} }}")
    ports = draw(
        st.lists(
            st.sampled_from(("22", "80", "443", "5432", "8080")),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    vm = ", ".join(f"{p} : {draw(st.sampled_from(('accept', 'drop', 'continue')))}" for p in ports)
    lines.append(f"  map vm {{ type inet_service : verdict; elements = {{ {vm} }} }}")
    for b in range(draw(st.integers(1, 2))):
        hook = draw(st.sampled_from(("input", "input", "prerouting")))
        # Distinct across tables; -300 runs before conntrack (ct state reads invalid there).
        if priorities is None:
            prio = draw(st.sampled_from((-10, 0, 10) if hook == "input" else (-300, -10, 10)))
        else:
            prio = draw(st.sampled_from(priorities[hook]))
        prio += index
        policy = draw(st.sampled_from(("accept", "accept", "drop")))
        body = draw(st.lists(rule(family, regular), max_size=5))
        lines.append(f"  chain b{b} {{ type filter hook {hook} priority {prio}; policy {policy};")
        lines.extend(f"    {r}" for r in body)
        lines.append("  }")
    for i, name in enumerate(regular):
        body = draw(st.lists(rule(family, regular[i + 1 :]), max_size=4))
        lines.append(f"  chain {name} {{")
        lines.extend(f"    {r}" for r in body)
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


@st.composite
def nft_cases(draw: st.DrawFn) -> str:
    """A whole nft script: one to three tables."""
    count = draw(st.integers(1, 3))
    return "\n".join(draw(table(i * 3)) for i in range(count)) + "\n"


Load = tuple[tuple[str, ...], str]  # (argv run in the namespace, its stdin)

# Tables a legacy iptables-restore may leave behind, each with its built-in chains.
LEGACY_TABLES = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
}


def empty_legacy(tables: tuple[str, ...] = tuple(LEGACY_TABLES)) -> str:
    """An iptables-restore script for empty legacy tables (what Docker or an old package
    leaves behind): built-in chains with policy ACCEPT and no rule."""
    return "".join(
        f"*{name}\n" + "".join(f":{c} ACCEPT [0:0]\n" for c in LEGACY_TABLES[name]) + "COMMIT\n"
        for name in tables
    )


@st.composite
def leftover_legacy(draw: st.DrawFn) -> list[Load]:
    """Empty legacy tables for IPv4, IPv6 or both: a subset of raw, mangle and filter."""
    names = draw(st.lists(st.sampled_from(tuple(LEGACY_TABLES)), min_size=1, unique=True))
    script = empty_legacy(tuple(n for n in LEGACY_TABLES if n in names))
    commands = draw(
        st.sampled_from(
            (
                ("iptables-legacy-restore",),
                ("ip6tables-legacy-restore",),
                ("iptables-legacy-restore", "ip6tables-legacy-restore"),
            )
        )
    )
    return [((command,), script) for command in commands]


@st.composite
def native_beside_legacy(draw: st.DrawFn) -> str:
    """One or two nft tables named as iptables names its tables (`table ip filter`, `table
    ip6 mangle`, `table inet raw`...), at priorities next to the legacy ones."""
    names = draw(
        st.lists(
            st.tuples(
                st.sampled_from(("ip", "ip6", "inet")), st.sampled_from(("filter", "mangle", "raw"))
            ),
            min_size=1,
            max_size=2,
            unique=True,
        )
    )
    return (
        "\n".join(
            draw(table(i * 3, named=n, priorities=COEXIST_PRIORITIES)) for i, n in enumerate(names)
        )
        + "\n"
    )


@st.composite
def nft_loads(draw: st.DrawFn) -> list[Load]:
    """An nft script (one to three tables); in one case of three, empty legacy tables are
    there first and the nft tables take iptables' table names."""
    if draw(st.integers(0, 2)) != 0:
        return [(("nft", "-f", "-"), draw(nft_cases()))]
    return [*draw(leftover_legacy()), (("nft", "-f", "-"), draw(native_beside_legacy()))]


# --- iptables --------------------------------------------------------------------------------

IPT_REJECT = {
    4: (
        "icmp-net-unreachable",
        "icmp-host-unreachable",
        "icmp-port-unreachable",
        "icmp-proto-unreachable",
        "icmp-net-prohibited",
        "icmp-host-prohibited",
        "icmp-admin-prohibited",
    ),
    6: (
        "icmp6-no-route",
        "icmp6-adm-prohibited",
        "icmp6-addr-unreachable",
        "icmp6-port-unreachable",
    ),
}
IPT_V4 = (
    "10.89.0.1",
    "10.89.0.2/31",
    "10.89.0.0/30",
    "10.89.0.0/24",
    "10.0.0.0/8",
    "10.89.0.100",
    "192.168.0.0/16",
)
IPT_V6 = ("fd89::1", "fd89::2/127", "fd89::/126", "fd89::/64", "fd89::100", "2001:db8::/32")
IPT_PORTS = ("22", "80", "443", "5432", "8080", "1:1024", "80:8080", "8000:9000")


@st.composite
def ipt_match(draw: st.DrawFn, version: int) -> str:
    """One iptables match group."""
    addrs = IPT_V4 if version == 4 else IPT_V6
    neg = draw(st.sampled_from(("", "", "! ")))
    kind = draw(
        st.sampled_from(
            (
                "src",
                "dst",
                "proto",
                "port",
                "multiport",
                "state",
                "iface",
                "comment",
                "iprange",
                "syn",
            )
        )
    )
    proto = draw(st.sampled_from(("tcp", "udp")))
    if kind in ("src", "dst"):
        return f"{neg}-{kind[0]} {draw(st.sampled_from(addrs))}"
    if kind == "proto":
        return f"{neg}-p {proto}"
    if kind == "port":
        which = draw(st.sampled_from(("dport", "dport", "sport")))
        value = draw(st.sampled_from(IPT_PORTS if which == "dport" else ("1024:65535", "1:1023")))
        return f"-p {proto} -m {proto} {neg}--{which} {value}"
    if kind == "multiport":
        ports = ",".join(
            draw(
                st.lists(
                    st.sampled_from((*IPT_PORTS[:5], "8000:9000")),
                    min_size=1,
                    max_size=4,
                    unique=True,
                )
            )
        )
        return f"-p {proto} -m multiport {neg}--dports {ports}"
    if kind == "state":
        states = ",".join(
            draw(
                st.lists(
                    st.sampled_from(("NEW", "ESTABLISHED", "RELATED", "INVALID")),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            )
        )
        return f"-m conntrack {neg}--ctstate {states}"
    if kind == "iface":
        return f"{neg}-i {draw(st.sampled_from(('ndxh-fwb0', 'lo', 'ndxh+', 'eth+')))}"
    if kind == "iprange":
        lo, hi = ("10.89.0.2", "10.89.0.3") if version == 4 else ("fd89::2", "fd89::3")
        return f"-m iprange {neg}--src-range {lo}-{hi}"
    if kind == "syn":
        return f"-p tcp -m tcp {neg}--syn"
    return '-m comment --comment "netdx generated rule"'


@st.composite
def ipt_rule(
    draw: st.DrawFn, chain: str, version: int, targets: tuple[str, ...], table: str = "filter"
) -> str:
    """`-A CHAIN matches -j TARGET`, at most one -p (iptables allows only one)."""
    groups = draw(st.lists(ipt_match(version), max_size=3))
    seen, kept = set(), []
    for g in groups:
        # One of each option (iptables refuses `-s` twice), and one `-p`.
        kind = "-p" if "-p " in g else g.lstrip("! ").split(" ", 2)[:2][-1 if "-m" in g else 0]
        if kind in seen:
            continue
        seen.add(kind)
        kept.append(g)
    options = ["ACCEPT", "DROP", "RETURN", "LOG", *targets]
    options += ["REJECT", "REJECT"] if table == "filter" else []  # REJECT is filter-only
    target = draw(st.sampled_from(options))
    if target == "REJECT":
        choices = IPT_REJECT[version] + (
            ("tcp-reset",)
            if any("-p tcp" in g for g in kept) and not any("! -p tcp" in g for g in kept)
            else ()
        )
        target = f"REJECT --reject-with {draw(st.sampled_from(choices))}"
    elif target in targets and draw(st.booleans()):
        return " ".join(["-A", chain, *kept, "-g", target])
    return " ".join(["-A", chain, *kept, "-j", target])


@st.composite
def ipt_table(draw: st.DrawFn, version: int) -> str:
    """A restore script: raw, mangle and filter with INPUT/PREROUTING rules and user chains."""
    out = []
    users = tuple(f"U{i}" for i in range(draw(st.integers(0, 2))))
    for name, hooks in (
        ("raw", ("PREROUTING",)),
        ("mangle", ("PREROUTING", "INPUT")),
        ("filter", ("INPUT",)),
    ):
        lines = [f"*{name}"]
        lines += [
            f":{h} {draw(st.sampled_from(('ACCEPT', 'ACCEPT', 'DROP')))} [0:0]" for h in hooks
        ]
        table_users = users if name == "filter" else ()
        lines += [f":{u} - [0:0]" for u in table_users]
        size = 4 if name == "filter" else 2
        for h in hooks:
            lines += draw(st.lists(ipt_rule(h, version, table_users, name), max_size=size))
        for i, u in enumerate(table_users):
            lines += draw(st.lists(ipt_rule(u, version, table_users[i + 1 :]), max_size=3))
        lines.append("COMMIT")
        out += lines
    return "\n".join(out) + "\n"


@st.composite
def iptables_cases(draw: st.DrawFn) -> tuple[str, str, str]:
    """(variant nft|legacy, iptables-restore input, ip6tables-restore input)."""
    return draw(st.sampled_from(("nft", "legacy"))), draw(ipt_table(4)), draw(ipt_table(6))


@st.composite
def iptables_loads(draw: st.DrawFn) -> list[Load]:
    """iptables-restore and ip6tables-restore (nft or legacy variant); half of the legacy
    ones get nft tables of the same names beside them, loaded before or after."""
    variant, v4, v6 = draw(iptables_cases())
    loads: list[Load] = [
        ((f"iptables-{variant}-restore",), v4),
        ((f"ip6tables-{variant}-restore",), v6),
    ]
    if variant == "legacy" and draw(st.booleans()):
        native = (("nft", "-f", "-"), draw(native_beside_legacy()))
        loads = [native, *loads] if draw(st.booleans()) else [*loads, native]
    return loads
