"""Parse `iptables-save` / `ip6tables-save` output (nft and legacy variants) into the model.

iptables-nft keeps its rules in nftables, but `nft -j` prints its xt matches and targets
without their parameters, so those tables are read here instead. Built-in chains become base
chains on their netfilter hook at the table's classic priority (raw -300, mangle -150,
nat -100/100, filter 0, security 50); user chains are regular chains. Matches the model does
not know become `Unknown` with their module and options, e.g. `-m limit --limit 3/min`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from netdx.firewall.atoms import AtomError, iptables_reject, range_atom, scalar_atom
from netdx.firewall.model import (
    PRIORITIES,
    Atom,
    Chain,
    Element,
    Expr,
    FieldKind,
    Hook,
    Ignored,
    Match,
    MatchOp,
    Name,
    Rule,
    Ruleset,
    Source,
    Table,
    Unknown,
    Verdict,
)
from netdx.model.literal import Literal
from netdx.netlink._compat import cast, dataclass, field

# The built-in chains of iptables and the hook each is on.
BUILTIN_CHAINS: dict[str, Hook] = {
    "PREROUTING": "prerouting",
    "INPUT": "input",
    "FORWARD": "forward",
    "OUTPUT": "output",
    "POSTROUTING": "postrouting",
}
_IGNORED_TARGETS = frozenset({"LOG", "NFLOG", "ULOG", "TRACE"})
_KNOWN_MODULES = frozenset(
    {"tcp", "udp", "multiport", "conntrack", "state", "comment", "iprange", "addrtype"}
)


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_ESCAPE = re.compile(r"\\(.)")


def _split(line: str) -> list[str]:
    """Words of an iptables-save line: only double quotes (with backslash escapes) group
    words there, so a regex does what shlex does, ten times faster."""
    return [word or _ESCAPE.sub(r"\1", quoted) for quoted, word in _TOKEN.findall(line)]


class IptablesSaveError(ValueError):
    """The input is not iptables-save output."""


@dataclass(slots=True)
class _TableBuild:
    name: str
    policies: dict[str, str] = field(default_factory=dict)
    rules: dict[str, list[Rule]] = field(default_factory=dict)


def detect_source(text: str) -> Source:
    """`iptables-nft` or `iptables-legacy`, from the header iptables-save writes."""
    head = text[:300]
    return "iptables-nft" if "nf_tables" in head or "-nft-save" in head else "iptables-legacy"


def parse_save(text: str, *, version: Literal[4, 6], source: Source | None = None) -> Ruleset:
    """The model of one iptables-save (`version` 4) or ip6tables-save (6) output."""
    src = source or detect_source(text)
    family: Literal["ip", "ip6"] = "ip" if version == 4 else "ip6"
    tables: list[Table] = []
    current: _TableBuild | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            current = _TableBuild(name=line[1:])
        elif current is None:
            raise IptablesSaveError(f"line {lineno}: {line[:40]!r} outside a table")
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            current.policies[name] = policy
            current.rules.setdefault(name, [])
        elif line == "COMMIT":
            tables.append(_finish(current, family, src))
            current = None
        elif line.startswith("-A "):
            chain_name, rule = _rule(line, version, family, current)
            current.rules.setdefault(chain_name, []).append(rule)
        else:
            raise IptablesSaveError(f"line {lineno}: unexpected {line[:40]!r}")
    return Ruleset(tables=tuple(tables))


def _finish(build: _TableBuild, family: Literal["ip", "ip6"], source: Source) -> Table:
    chains = {}
    for name, rules in build.rules.items():
        hook = BUILTIN_CHAINS.get(name) if build.policies.get(name, "-") != "-" else None
        policy = build.policies.get(name, "-").lower()
        chains[name] = Chain(
            name=name,
            rules=tuple(rules),
            hook=hook,
            priority=_priority(build.name, hook),
            policy=cast(Literal["accept", "drop"], policy) if hook else None,
            type=_chain_type(build.name, hook),
        )
    return Table(family=family, name=build.name, chains=chains, source=source)


def _priority(table: str, hook: Hook | None) -> int:
    if table == "nat":
        table = "dstnat" if hook in ("prerouting", "output") else "srcnat"
    return PRIORITIES.get(table, 0)


def _chain_type(table: str, hook: Hook | None) -> str:
    if table == "nat":
        return "nat"
    return "route" if table == "mangle" and hook == "output" else "filter"


class _Tokens:
    def __init__(self, words: list[str]) -> None:
        self.words, self.i = words, 0

    def next(self) -> str:
        word = self.words[self.i]
        self.i += 1
        return word

    def peek(self) -> str | None:
        return self.words[self.i] if self.i < len(self.words) else None

    def module_options(self) -> Iterator[tuple[bool, str, str | None]]:
        """(negated, --option, value) until the next short option (-m, -j, -s, ...)."""
        while (word := self.peek()) is not None:
            negated = word == "!"
            probe = self.words[self.i + 1] if negated and self.i + 1 < len(self.words) else word
            if not probe.startswith("--"):
                return
            self.i += 2 if negated else 1
            value = self.peek()
            if value is not None and ((value.startswith("-") and value != "-") or value == "!"):
                value = None if not _is_value(value) else self.next()
            elif value is not None:
                self.next()
            yield negated, probe, value


def _is_value(word: str) -> bool:
    return word.lstrip("-").replace(":", "").isdigit()  # a negative-looking number


def _rule(line: str, version: int, family: str, build: _TableBuild) -> tuple[str, Rule]:
    words = _split(line)
    tokens = _Tokens(words[1:])
    chain = tokens.next()
    exprs: list[Expr] = []
    comment: str | None = None
    proto: str | None = None
    negate = False
    while (word := tokens.peek()) is not None:
        tokens.next()
        if word == "!":
            negate = True
            continue
        op: MatchOp = "!=" if negate else "=="
        negate = False
        if word in ("-s", "--source", "-d", "--destination"):
            which = "saddr" if word in ("-s", "--source") else "daddr"
            exprs.append(
                _single(
                    f"{family} {which}", "addr4" if version == 4 else "addr6", tokens.next(), op
                )
            )
        elif word in ("-p", "--protocol"):
            proto = tokens.next().lower()
            if proto not in ("all", "0"):
                exprs.append(_single("meta l4proto", "int", proto, op))
        elif word in ("-i", "--in-interface", "-o", "--out-interface"):
            field_name = "meta iifname" if word in ("-i", "--in-interface") else "meta oifname"
            exprs.append(_single(field_name, "ifname", tokens.next(), op))
        elif word in ("-m", "--match"):
            module = tokens.next()
            found = _module(module, tokens, proto)
            comment = found[1] or comment
            exprs.extend(found[0])
        elif word in ("-j", "--jump", "-g", "--goto"):
            exprs.append(_target(word, tokens, version, build))
        elif word == "-f" or word == "--fragment":
            exprs.append(Unknown(construct="-f (fragments)"))
        else:
            exprs.append(Unknown(construct=f"option {word}"))
    position = len(build.rules.get(chain, [])) + 1
    return chain, Rule(exprs=tuple(exprs), text=line, position=position, comment=comment)


def _single(field_name: str, kind: FieldKind, value: str, op: MatchOp) -> Expr:
    try:
        return Match(fields=(field_name,), op=op, elements=((scalar_atom(kind, value),),))
    except AtomError as exc:
        return Unknown(construct=f"{field_name} {value} ({exc})")


def _match(
    field_name: str,
    negated: bool,
    elements: tuple[Element, ...],
    mask: frozenset[str] | None = None,
) -> Match:
    """`FIELD [!] ELEMENTS`: a match of one field, `!=` when the option was negated."""
    return Match(fields=(field_name,), op="!=" if negated else "==", elements=elements, mask=mask)


def _port_atom(spec: str) -> Atom:
    if ":" in spec:
        lo, hi = spec.split(":", 1)
        return range_atom("int", int(lo or 0), int(hi or 65535))
    return scalar_atom("int", spec)


def _ports(field_name: str, spec: str, negated: bool) -> Expr:
    try:
        elements: tuple[Element, ...] = tuple((_port_atom(p),) for p in spec.split(","))
    except (AtomError, ValueError) as exc:
        return Unknown(construct=f"{field_name} {spec} ({exc})")
    return _match(field_name, negated, elements)


def _flags(field_name: str, spec: str, negated: bool) -> Expr:
    return _match(field_name, negated, tuple((Name(text=s.lower()),) for s in spec.split(",")))


def _tcp_flags(negated: bool, value: str | None, tokens: _Tokens) -> Expr:
    if value is None:
        return Unknown(construct="--tcp-flags")
    mask = frozenset(f.lower() for f in value.split(","))
    wanted = tokens.next().lower()
    names = frozenset() if wanted == "none" else frozenset(wanted.split(","))
    if "all" in mask:
        mask = frozenset({"fin", "syn", "rst", "psh", "ack", "urg"})
    return _match("tcp flags", negated, (tuple(Name(text=n) for n in sorted(names)),), mask)


def _module(module: str, tokens: _Tokens, proto: str | None) -> tuple[list[Expr], str | None]:
    """The expressions of one `-m module --options...` group, and a comment if it is one."""
    exprs: list[Expr] = []
    comment = None
    port_proto = module if module in ("tcp", "udp") else "th"
    for negated, option, value in tokens.module_options():
        if module == "comment" and option == "--comment":
            comment = value
        elif (
            module in ("tcp", "udp", "multiport")
            and option
            in (
                "--dport",
                "--destination-port",
                "--dports",
                "--destination-ports",
                "--sport",
                "--source-port",
                "--sports",
                "--source-ports",
            )
            and value is not None
        ):
            which = "dport" if option.startswith(("--d", "--destination")) else "sport"
            exprs.append(_ports(f"{port_proto} {which}", value, negated))
        elif module == "tcp" and option == "--syn":
            syn_mask = frozenset({"fin", "syn", "rst", "ack"})
            exprs.append(_match("tcp flags", negated, ((Name(text="syn"),),), syn_mask))
        elif module == "tcp" and option == "--tcp-flags":
            exprs.append(_tcp_flags(negated, value, tokens))
        elif (module, option) in (("conntrack", "--ctstate"), ("state", "--state")) and value:
            exprs.append(_flags("ct state", value, negated))
        elif module == "conntrack" and option == "--ctstatus" and value:
            exprs.append(
                Match(
                    fields=("ct status",),
                    op="!=" if negated else "in",
                    elements=tuple((Name(text=s.lower()),) for s in value.split(",")),
                )
            )
        elif module == "addrtype" and option in ("--dst-type", "--src-type") and value:
            field_name = f"fib {'daddr' if option == '--dst-type' else 'saddr'} type"
            exprs.append(_flags(field_name, value, negated))
        elif module == "iprange" and option in ("--src-range", "--dst-range") and value:
            exprs.append(_iprange(option, value, negated, proto))
        else:
            bang = "! " if negated else ""
            exprs.append(Unknown(construct=f"-m {module} {bang}{option} {value or ''}".strip()))
    if module not in _KNOWN_MODULES and not exprs:
        exprs.append(Unknown(construct=f"-m {module}"))
    return exprs, comment


def _iprange(option: str, value: str, negated: bool, _proto: str | None) -> Expr:
    version = 6 if ":" in value else 4
    field_name = (
        f"{'ip' if version == 4 else 'ip6'} {'saddr' if option == '--src-range' else 'daddr'}"
    )
    lo, _, hi = value.partition("-")
    try:
        atom = range_atom("addr4" if version == 4 else "addr6", lo, hi or lo)
    except AtomError as exc:
        return Unknown(construct=f"-m iprange {option} {value} ({exc})")
    return _match(field_name, negated, ((atom,),))


def _target(word: str, tokens: _Tokens, version: int, build: _TableBuild) -> Expr:
    target = tokens.next()
    options = list(tokens.module_options())
    if word in ("-g", "--goto"):
        return Verdict(kind="goto", target=target)
    if target in ("ACCEPT", "DROP", "RETURN"):
        return Verdict(kind=cast(Literal["accept", "drop", "return"], target.lower()))
    if target == "REJECT":
        with_ = next((v for _n, o, v in options if o == "--reject-with" and v), None)
        default = "icmp-port-unreachable" if version == 4 else "icmp6-port-unreachable"
        try:
            return Verdict(kind="reject", reject_with=iptables_reject(with_ or default, version))
        except AtomError as exc:
            return Unknown(construct=str(exc), is_match=False)
    if target in _IGNORED_TARGETS:
        return Ignored(name=target)
    if target in build.policies or target in build.rules:
        return Verdict(kind="jump", target=target)
    return Unknown(construct=f"-j {target}", is_match=False)
