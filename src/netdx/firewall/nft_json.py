"""Parse `nft -j list ruleset` (libnftables JSON schema 1) into the ruleset model.

Each rule expression becomes a typed `Expr`; anything outside the modelled subset becomes
`Unknown` named after the construct (`fib daddr type`, `limit`, `xt match multiport`), so the
evaluator can answer "unknown" instead of guessing. Rule text comes from `nft -a list ruleset`
when it is given (`rule_texts`), else a compact rendering of the JSON expression.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from netdx.firewall.atoms import AtomError, default_reject, range_atom, scalar_atom
from netdx.firewall.model import (
    FIELDS,
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
    NamedSet,
    Rule,
    Ruleset,
    SetRef,
    Table,
    TableFamily,
    Unknown,
    Verdict,
    VerdictMap,
)
from netdx.netlink._compat import cast

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a check 5-10 ms: for mypy only
    from typing import Any, Literal

_IGNORED = frozenset({"counter", "log", "nflog", "comment"})
_VERDICTS = ("accept", "drop", "reject", "jump", "goto", "return", "continue")
_SET_TYPES: dict[str, FieldKind] = {
    "ipv4_addr": "addr4",
    "ipv6_addr": "addr6",
    "inet_service": "int",
    "inet_proto": "int",
    "nf_proto": "int",
    "ifname": "ifname",
    "ct_state": "flags",
    "ct_status": "flags",
}
_HANDLE_LINE = re.compile(r"^(?P<text>.*?)\s*# handle (?P<handle>\d+)$")
_TABLE_LINE = re.compile(r"^table (?P<family>\S+) (?P<name>\S+) \{")

if TYPE_CHECKING:
    Json = Any  # decoded JSON: the parser checks shapes itself


class NftJsonError(ValueError):
    """The input is not `nft -j list ruleset` output."""


def parse_rule_texts(text: str) -> dict[tuple[str, str, int], str]:
    """Map (family, table, handle) → rule text from `nft -a list ruleset` output."""
    texts: dict[tuple[str, str, int], str] = {}
    table: tuple[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        header = _TABLE_LINE.match(line)
        if header:
            table = (header["family"], header["name"])
            continue
        found = _HANDLE_LINE.match(line)
        if table and found and not line.startswith(("chain ", "set ", "map ", "table ")):
            texts[(table[0], table[1], int(found["handle"]))] = found["text"]
    return texts


def parse_ruleset(
    document: str | Json,
    rule_texts: Mapping[tuple[str, str, int], str] | None = None,
) -> Ruleset:
    """The model of one `nft -j list ruleset` document (text or already decoded), every
    table of it: which of them iptables-nft manages is `sources.build_ruleset`'s business."""
    data = json.loads(document) if isinstance(document, str) else document
    if not isinstance(data, dict) or not isinstance(data.get("nftables"), list):
        raise NftJsonError("no top-level 'nftables' list")
    texts = rule_texts or {}
    order: list[tuple[str, str]] = []
    chains: dict[tuple[str, str], dict[str, Chain]] = {}
    sets: dict[tuple[str, str], dict[str, NamedSet]] = {}
    rules: dict[tuple[str, str, str], list[Rule]] = {}
    for item in data["nftables"]:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        ((kind, body),) = item.items()
        if kind == "table":
            key = (body["family"], body["name"])
            order.append(key)
            chains.setdefault(key, {})
            sets.setdefault(key, {})
        elif kind == "chain":
            chains.setdefault((body["family"], body["table"]), {})[body["name"]] = _chain(body)
        elif kind in ("set", "map"):
            named = _named_set(body, is_map=kind == "map")
            sets.setdefault((body["family"], body["table"]), {})[named.name] = named
        elif kind == "rule":
            bucket = rules.setdefault((body["family"], body["table"], body["chain"]), [])
            bucket.append(_rule(body, len(bucket) + 1, texts))
    tables = []
    for family, name in order:
        table_chains = {
            cname: chain.with_rules(rules.get((family, name, cname), ()))
            for cname, chain in chains.get((family, name), {}).items()
        }
        tables.append(
            Table(
                family=cast(TableFamily, family),
                name=name,
                chains=table_chains,
                sets=sets.get((family, name), {}),
            )
        )
    return Ruleset(tables=tuple(tables))


def _chain(body: Json) -> Chain:
    prio = body.get("prio", 0)
    if isinstance(prio, str):  # nft prints numbers in JSON, but accept names for safety
        prio = PRIORITIES.get(prio, 0)
    hook = body.get("hook")
    return Chain(
        name=body["name"],
        hook=cast(Hook, hook) if hook else None,
        priority=int(prio),
        policy=body.get("policy", "accept") if hook else None,
        type=body.get("type", "filter"),
        handle=body.get("handle"),
    )


def _named_set(body: Json, *, is_map: bool) -> NamedSet:
    raw_type = body.get("type")
    type_names = raw_type if isinstance(raw_type, list) else [raw_type]
    kinds = tuple(_SET_TYPES.get(str(t)) for t in type_names)
    name = body["name"]
    if any(k is None for k in kinds):
        return NamedSet(name=name, key_kinds=(), is_map=is_map, unknown=f"set type {raw_type}")
    key_kinds = cast(tuple[FieldKind, ...], kinds)
    if is_map and body.get("map") != "verdict":
        return NamedSet(
            name=name, key_kinds=key_kinds, is_map=True, unknown=f"map to {body.get('map')}"
        )
    elements: list[Element] = []
    verdicts: list[Verdict] = []
    try:
        for raw in body.get("elem", []):
            if is_map:
                elements.append(_element(key_kinds, raw[0]))
                verdicts.append(_verdict(raw[1], str(body["family"])))
            else:
                elements.append(_element(key_kinds, raw))
    except (AtomError, KeyError, TypeError, IndexError) as exc:
        return NamedSet(
            name=name, key_kinds=key_kinds, is_map=is_map, unknown=f"set element ({exc})"
        )
    return NamedSet(
        name=name,
        key_kinds=key_kinds,
        elements=tuple(elements),
        verdicts=tuple(verdicts),
        is_map=is_map,
    )


def _rule(body: Json, position: int, texts: Mapping[tuple[str, str, int], str]) -> Rule:
    family = str(body["family"])
    exprs = tuple(_expr(e, family) for e in body.get("expr", []))
    handle = body.get("handle")
    text = texts.get((family, body["table"], handle)) if handle is not None else None
    return Rule(
        exprs=exprs,
        text=text or render_exprs(body.get("expr", [])),
        position=position,
        handle=handle,
        comment=body.get("comment"),
    )


def render_exprs(exprs: list[Json]) -> str:
    """A compact, readable rendering of JSON expressions (when no `nft -a` text is at hand)."""
    parts = []
    for e in exprs:
        if isinstance(e, dict) and "match" in e:
            m = e["match"]
            op = "" if m["op"] == "==" else f"{m['op']} "
            parts.append(f"{_render_value(m['left'])} {op}{_render_value(m['right'])}")
        elif isinstance(e, dict) and len(e) == 1:
            ((k, v),) = e.items()
            parts.append(k if v is None else f"{k} {_render_value(v)}")
    return " ".join(parts)


def _render_value(v: Json) -> str:
    if isinstance(v, dict) and len(v) == 1:
        ((k, body),) = v.items()
        if k == "payload" and isinstance(body, dict):
            return f"{body.get('protocol', 'th')} {body.get('field')}"
        if k in ("meta", "ct") and isinstance(body, dict):
            return f"{k} {body.get('key')}"
        if k == "prefix" and isinstance(body, dict) and "addr" in body:
            return f"{body['addr']}/{body.get('len')}"
        if k == "range" and isinstance(body, list) and len(body) == 2:
            return f"{body[0]}-{body[1]}"
        if k == "set":
            return "{ " + ", ".join(_render_value(x) for x in body) + " }"
        if k == "concat":
            return " . ".join(_render_value(x) for x in body)
        if k in ("jump", "goto") and isinstance(body, dict):
            return f"{k} {body.get('target')}"
    if isinstance(v, list):
        return ", ".join(_render_value(x) for x in v)
    return json.dumps(v) if isinstance(v, dict) else str(v)


def _expr(e: Json, family: str) -> Expr:
    if not isinstance(e, dict) or len(e) != 1:
        return Unknown(construct=f"expression {json.dumps(e)[:60]}", is_match=False)
    ((key, body),) = e.items()
    if key == "match":
        return _match(body)
    if key in _VERDICTS:
        return _verdict(e, family)
    if key == "vmap":
        return _vmap(body, family)
    if key in _IGNORED:
        return Ignored(name=key)
    if key == "xt":
        return Unknown(
            construct=f"xt {body.get('type')} {body.get('name')}",
            is_match=body.get("type") == "match",
        )
    # limit and quota only decide whether the rule applies; everything else (nat, mangle,
    # notrack, set updates, queue) changes the packet or its fate in ways not modelled.
    return Unknown(construct=key, is_match=key in ("limit", "quota"))


def _field_name(left: Json) -> str | None:
    if not isinstance(left, dict) or len(left) != 1:
        return None
    ((k, body),) = left.items()
    if k == "payload" and "protocol" in body:
        return f"{body['protocol']} {body['field']}"
    if k in ("meta", "ct") and "dir" not in body:
        return f"{k} {body['key']}"
    flags = body.get("flags") if isinstance(body, dict) else None
    if k == "fib" and body.get("result") == "type" and flags in (["daddr"], ["saddr"]):
        return f"fib {flags[0]} type"
    return None


_PROTO_HEADERS = frozenset({"tcp", "udp", "icmp", "icmpv6", "sctp", "dccp", "udplite", "esp", "ah"})


def _needs(left: Json) -> tuple[str | None, Literal[4, 6] | None]:
    """The header an unknown payload match reads, which nft checks implicitly."""
    parts = left["concat"] if isinstance(left, dict) and "concat" in left else [left]
    for part in parts:
        body = part.get("payload") if isinstance(part, dict) else None
        if isinstance(body, dict):
            proto = body.get("protocol")
            if proto in _PROTO_HEADERS:
                return str(proto), None
            if proto in ("ip", "ip6"):
                return None, 4 if proto == "ip" else 6
    return None, None


def _fields(left: Json) -> tuple[str, ...] | str:
    """The field names of a match's left side, or the name of the unknown construct."""
    parts = left["concat"] if isinstance(left, dict) and "concat" in left else [left]
    names = []
    for part in parts:
        name = _field_name(part)
        if name is None or name not in FIELDS:
            return name or _describe(part)
        names.append(name)
    return tuple(names)


def _describe(left: Json) -> str:
    if isinstance(left, dict) and len(left) == 1:
        ((k, body),) = left.items()
        if isinstance(body, dict):
            inner = body.get("result") or body.get("key") or body.get("field") or ""
            flags = " ".join(body.get("flags", [])) if isinstance(body.get("flags"), list) else ""
            return " ".join(p for p in (str(k), flags, str(inner)) if p)
        return str(k)
    return json.dumps(left)[:40]


def _flag_names(raw: Json) -> frozenset[str]:
    names = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(n, str) for n in names):
        raise AtomError(f"flags {raw!r}")
    return frozenset(names)


def _masked_flags(body: Json) -> Expr:
    """`tcp flags & (mask) ==/!= value`: the one bitwise form the model knows."""
    field, mask = body["left"]["&"]
    if _field_name(field) != "tcp flags" or body["op"] not in ("==", "!="):
        return Unknown(construct=f"{_describe(field)} & mask")
    try:
        value = _flag_names(body["right"])
        elements = (tuple(Name(text=n) for n in sorted(value)),)
        return Match(
            fields=("tcp flags",), op=body["op"], elements=elements, mask=_flag_names(mask)
        )
    except (AtomError, ValueError, TypeError) as exc:
        return Unknown(construct=f"tcp flags value ({exc})")


def _match(body: Json) -> Expr:
    if isinstance(body["left"], dict) and "&" in body["left"]:
        return _masked_flags(body)
    fields = _fields(body["left"])
    if isinstance(fields, str):
        proto, family = _needs(body["left"])
        return Unknown(construct=fields, needs_proto=proto, needs_family=family)
    kinds = tuple(FIELDS[f] for f in fields)
    op, right = body["op"], body["right"]
    try:
        if isinstance(right, str) and right.startswith("@"):
            if op not in ("==", "!="):
                return Unknown(construct=f"set lookup with {op}")
            return Match(fields=fields, op=op, elements=SetRef(name=right[1:]))
        if op in ("<", ">", "<=", ">="):
            return Match(fields=fields, op="==", elements=(_comparison(kinds, op, right),))
        if op not in ("==", "!=", "in"):
            return Unknown(construct=f"operator {op}")
        elements = _elements(kinds, right)
    except (AtomError, KeyError, TypeError, IndexError) as exc:
        return Unknown(construct=f"{' . '.join(fields)} value ({exc})")
    if op == "in" and kinds != ("flags",):
        op = "=="  # `in` on a non-flag field is nft's own spelling of a set lookup
    return Match(fields=fields, op=cast(MatchOp, op), elements=elements)


def _comparison(kinds: tuple[FieldKind, ...], op: str, right: Json) -> Element:
    if kinds != ("int",):
        raise AtomError(f"{op} on {kinds}")
    value = int(right)
    top = 0xFFFFFFFF
    bounds = {"<": (0, value - 1), "<=": (0, value), ">": (value + 1, top), ">=": (value, top)}
    lo, hi = bounds[op]
    return (range_atom("int", lo, hi),)


def _elements(kinds: tuple[FieldKind, ...], right: Json) -> tuple[Element, ...]:
    if isinstance(right, dict) and "set" in right:
        return tuple(_element(kinds, item) for item in right["set"])
    if isinstance(right, list):  # a flag list: `ct state established,related`
        return tuple(_element(kinds, item) for item in right)
    return (_element(kinds, right),)


def _element(kinds: tuple[FieldKind, ...], raw: Json) -> Element:
    if isinstance(raw, dict) and "elem" in raw:
        raw = raw["elem"]["val"]
    if len(kinds) > 1:
        if not (isinstance(raw, dict) and "concat" in raw) or len(raw["concat"]) != len(kinds):
            raise AtomError(f"element {raw!r} does not fit a {len(kinds)}-field key")
        return tuple(_atom(k, part) for k, part in zip(kinds, raw["concat"], strict=True))
    return (_atom(kinds[0], raw),)


def _atom(kind: FieldKind, raw: Json) -> Atom:
    if isinstance(raw, dict) and "prefix" in raw:
        prefix = raw["prefix"]
        return scalar_atom(kind, f"{prefix['addr']}/{prefix['len']}")
    if isinstance(raw, dict) and "range" in raw:
        lo, hi = raw["range"]
        return range_atom(kind, lo, hi)
    if isinstance(raw, str | int) and not isinstance(raw, bool):
        return scalar_atom(kind, raw)
    raise AtomError(f"value {json.dumps(raw)[:40]}")


def _verdict(e: Json, family: str) -> Verdict:
    ((key, body),) = e.items()
    if key in ("jump", "goto"):
        return Verdict(kind=key, target=body["target"])
    if key == "reject":
        return Verdict(kind="reject", reject_with=_reject_with(body, family))
    return Verdict(kind=key)


def _reject_with(body: Json, family: str) -> str:
    if not body:
        return default_reject(family)
    kind = body.get("type", "icmpx")
    if kind == "tcp reset":
        return "tcp reset"
    return f"{kind} {body.get('expr', 'port-unreachable')}"


def _vmap(body: Json, family: str) -> Expr:
    fields = _fields(body["key"])
    if isinstance(fields, str):
        return Unknown(construct=f"vmap on {fields}", is_match=False)
    data = body["data"]
    if isinstance(data, str) and data.startswith("@"):
        return VerdictMap(fields=fields, entries=SetRef(name=data[1:]))
    kinds = tuple(FIELDS[f] for f in fields)
    try:
        entries = tuple(
            (_element(kinds, key), _verdict(verdict, family)) for key, verdict in data["set"]
        )
    except (AtomError, KeyError, TypeError, ValueError) as exc:
        return Unknown(construct=f"vmap element ({exc})", is_match=False)
    return VerdictMap(fields=fields, entries=entries)
