"""One host's captured firewall state, and the single ruleset built from it.

A `Capture` holds the raw text of each tool (nft JSON and text, each iptables-save variant,
`ip -j addr`): it is what `netdx firewall snapshot` stores, and what tests feed from fixtures.
`build_ruleset` merges it: native nft tables from the JSON; tables iptables-nft manages from
iptables-nft-save (nft -j cannot print their xt matches' parameters); legacy tables beside them.

Legacy iptables tables and nftables tables are different kernel objects even when they share a
family and a name (a legacy `filter` left by Docker beside a native `table ip filter`): each
stays its own `Table`, told apart by `source`, and both hook in.

iptables-nft-save is not the truth about which nft chains exist: for a table it cannot print
whole ("contains incompatible base-chains") it still prints the built-in chains with policy
ACCEPT, chains that do not exist, and leaves out the native base chains that do. So the nft
JSON says which chains exist (with their hook, priority and policy); iptables-nft-save only
gives the rules of the chains it printed.
"""

from __future__ import annotations

import re

from netdx.collect.firewall import ADDRESSES
from netdx.firewall.model import Ruleset, Source, Table, Verdict
from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# What iptables-nft-save says of a table with base chains it cannot print (it prints the rest).
_INCOMPATIBLE = re.compile(r"^# Table `(?P<name>[^']+)' contains incompatible base-chains", re.M)

# What `nft -j list ruleset` holds when the namespace has no nft table, as the check's lean
# read records it without running nft (`live.capture(present=...)`): nothing to parse, so
# neither json nor the nft parser is loaded for it (~3 ms of a refused local check).
NO_NFT_TABLES = '{"nftables": []}'

# How the host's addresses are read (the collector's command): a failure here hides no
# rule, unlike the other sources.
ADDRESSES_COMMAND = ADDRESSES


@record
class SaveCapture:
    """One iptables-save variant's output: `version` 4 (iptables) or 6 (ip6tables)."""

    version: Literal[4, 6]
    source: Literal["iptables-nft", "iptables-legacy"]
    text: str


@record
class Capture:
    """Raw tool output; None where a tool was missing or failed (`errors` says why)."""

    nft_json: str | None = None
    nft_text: str | None = None
    saves: tuple[SaveCapture, ...] = ()
    addresses_json: str | None = None
    errors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (the body of a snapshot)."""
        return {
            "nft_json": self.nft_json,
            "nft_text": self.nft_text,
            "saves": [
                {"version": s.version, "source": s.source, "text": s.text} for s in self.saves
            ],
            "addresses_json": self.addresses_json,
            "errors": list(self.errors),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Capture:
        """The inverse of `to_json`."""
        return cls(
            nft_json=data.get("nft_json"),
            nft_text=data.get("nft_text"),
            saves=tuple(
                SaveCapture(version=s["version"], source=s["source"], text=s["text"])
                for s in data.get("saves", [])
            ),
            addresses_json=data.get("addresses_json"),
            errors=tuple(data.get("errors", [])),
        )


def build_ruleset(capture: Capture) -> Ruleset:
    """The merged ruleset of a capture; parse failures become notes, not exceptions."""
    notes = list(capture.errors)
    unreadable: list[str] = []
    saved: list[Table] = []
    if capture.saves:  # the iptables-save parser only for a capture that holds one
        from netdx.firewall.iptables_save import IptablesSaveError, parse_save
    for save in capture.saves:
        try:
            saved.extend(parse_save(save.text, version=save.version, source=save.source).tables)
        except (IptablesSaveError, ValueError) as exc:
            notes.append(f"{save.source}-save (IPv{save.version}) could not be read: {exc}")
            unreadable.append(notes[-1])
    native: list[Table] | None = None
    if capture.nft_json is None and not any(e.startswith("nft") for e in capture.errors):
        # No nft output and no reason (a snapshot older netdx wrote without root): the
        # capture cannot say which rules the kernel enforces, so it is no empty ruleset.
        notes.append("the capture holds no nft ruleset and no error saying why")
        unreadable.append(notes[-1])
    if capture.nft_json == NO_NFT_TABLES:
        native = []
    elif capture.nft_json:
        from netdx.firewall.nft_json import NftJsonError, parse_rule_texts, parse_ruleset

        try:
            texts = parse_rule_texts(capture.nft_text or "")
            native = list(parse_ruleset(capture.nft_json, texts).tables)
        except (NftJsonError, ValueError, KeyError, TypeError) as exc:
            notes.append(f"nft -j list ruleset could not be read: {exc}")
            unreadable.append(notes[-1])
    unreadable[:0] = [
        f"ruleset not readable: {error} (run as root: reading netfilter needs CAP_NET_ADMIN)"
        for error in capture.errors
        if not _harmless(error, nft_read=native is not None)
    ]
    mixed = frozenset(
        ("ip" if save.version == 4 else "ip6", found["name"])
        for save in capture.saves
        if save.source == "iptables-nft"
        for found in _INCOMPATIBLE.finditer(save.text)
    )
    printed = [t for t in saved if t.source == "iptables-nft"]
    nft_tables = _join_iptables_nft(native, printed, mixed)
    notes.extend(
        f"{t.family} {t.name}: xt expressions without iptables-nft-save output"
        for t in nft_tables
        if t.source == "nft" and _has_xt(t)
    )
    local, broadcast = addresses(capture.addresses_json)
    return Ruleset(
        # nft's own listing order (creation order, which breaks priority ties), then legacy.
        tables=(*nft_tables, *(t for t in saved if t.source == "iptables-legacy")),
        notes=tuple(notes),
        unreadable=tuple(unreadable),
        local_addresses=local if capture.addresses_json else None,
        broadcast_addresses=broadcast,
    )


def _harmless(error: str, *, nft_read: bool) -> bool:
    """An error that hides no rule: the addresses, or iptables-nft-save failing on a native
    rule it cannot parse ("unsupported layer 4 protocol value") when nft's JSON was read:
    every nft table is in the JSON then, and the xt matches only iptables-nft-save could
    print stay unknown (a note says so) instead of making every answer unknown."""
    if error.startswith(" ".join(ADDRESSES_COMMAND)):
        return True
    return nft_read and error.startswith(("iptables-nft-save", "ip6tables-nft-save"))


def _join_iptables_nft(
    native: list[Table] | None, printed: list[Table], mixed: frozenset[tuple[str, str]]
) -> list[Table]:
    """The nft tables in nft's order, those iptables-nft-save printed taking its rules.

    A chain iptables-nft-save printed but nft does not list is one of the built-in chains it
    always prints (dropped: it does not exist, it hooks nothing); a chain nft lists but
    iptables-nft-save left out is a native chain it cannot print (kept from the JSON). The
    hook, priority and policy are nft's: the kernel's own. In a table with base chains it
    cannot print (`mixed`), only iptables' own chains are taken from it (see `_iptables_chains`).
    """
    by_key = {(t.family, t.name): t for t in printed}
    out: list[Table] = []
    for table in native or ():
        save = by_key.pop((table.family, table.name), None)
        taken = _iptables_chains(save, table, (table.family, table.name) in mixed) if save else ()
        if not taken:
            out.append(table)  # native: iptables-nft-save printed only its phantom chains
            continue
        chains = {
            name: chain.with_rules(save.chains[name].rules) if save and name in taken else chain
            for name, chain in table.chains.items()
        }
        out.append(
            Table(
                family=table.family,
                name=table.name,
                chains=chains,
                sets=table.sets,
                source="iptables-nft",
            )
        )
    # Printed by iptables-nft-save but absent from the JSON: trust the save only when there is
    # no JSON to check it against (nft missing); otherwise such a table does not exist.
    return out + (list(by_key.values()) if native is None else [])


def _iptables_chains(save: Table, kernel: Table, mixed: bool) -> frozenset[str]:
    """The chains of `kernel` whose rules iptables-nft-save's `save` gives.

    Those it printed that exist; in a mixed table (native base chains beside iptables'
    ones), only the built-in chains on their own hook and the user chains they reach: a
    regular chain of native nft rules would be printed as iptables-nft-save's translation,
    which drops what iptables cannot say (a set of ports, a verdict map)."""
    both = save.chains.keys() & kernel.chains.keys()
    if not mixed:
        return frozenset(both)
    from netdx.firewall.iptables_save import BUILTIN_CHAINS

    todo = [
        n for n in both if kernel.chains[n].hook and BUILTIN_CHAINS.get(n) == kernel.chains[n].hook
    ]
    seen = set(todo)
    while todo:
        for rule in save.chains[todo.pop()].rules:
            for expr in rule.exprs:
                target = expr.target if isinstance(expr, Verdict) else None
                if target in both and target not in seen:
                    seen.add(target)
                    todo.append(target)
    return frozenset(seen)


def _has_xt(table: Table) -> bool:
    from netdx.firewall.model import Unknown

    return any(
        isinstance(e, Unknown) and e.construct.startswith("xt ")
        for c in table.chains.values()
        for r in c.rules
        for e in r.exprs
    )


def addresses(addresses_json: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """(local addresses, broadcast addresses) in `ip -j addr show` output."""
    if not addresses_json:
        return frozenset(), frozenset()
    import json

    try:
        links = json.loads(addresses_json)
    except ValueError:
        return frozenset(), frozenset()
    infos = [
        info
        for link in links
        if isinstance(link, dict)
        for info in link.get("addr_info", [])
        if isinstance(info, dict)
    ]
    local = frozenset(str(i["local"]) for i in infos if "local" in i)
    return local, frozenset(str(i["broadcast"]) for i in infos if "broadcast" in i)


def local_addresses(addresses_json: str | None) -> frozenset[str]:
    """The addresses in `ip -j addr show` output (empty when not captured)."""
    return addresses(addresses_json)[0]


def table_sources(ruleset: Ruleset) -> dict[Source, int]:
    """How many tables each source contributed (for the terminal summary)."""
    counts: dict[Source, int] = {}
    for t in ruleset.tables:
        counts[t.source] = counts.get(t.source, 0) + 1
    return counts
