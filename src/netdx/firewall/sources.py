"""One host's captured firewall state, and the single ruleset built from it.

A `Capture` holds the raw text of each tool (nft JSON and text, each iptables-save variant,
`ip -j addr`): it is what `netdx firewall snapshot` stores, and what tests feed from fixtures.
`build_ruleset` merges it: native nft tables from the JSON; tables iptables-nft manages from
iptables-nft-save (nft -j cannot print their xt matches' parameters); legacy tables beside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from netdx.collect.firewall import ADDRESSES
from netdx.firewall.iptables_save import IptablesSaveError, parse_save
from netdx.firewall.model import Ruleset, Source, Table
from netdx.firewall.nft_json import NftJsonError, parse_rule_texts, parse_ruleset

# How the host's addresses are read (the collector's command): a failure here hides no
# rule, unlike the other sources.
ADDRESSES_COMMAND = ADDRESSES


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveCapture:
    """One iptables-save variant's output: `version` 4 (iptables) or 6 (ip6tables)."""

    version: Literal[4, 6]
    source: Literal["iptables-nft", "iptables-legacy"]
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
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
    unreadable = [
        f"ruleset not readable: {error} (run as root: reading netfilter needs CAP_NET_ADMIN)"
        for error in capture.errors
        if not error.startswith(" ".join(ADDRESSES_COMMAND))
    ]
    saved: list[Table] = []
    for save in capture.saves:
        try:
            saved.extend(parse_save(save.text, version=save.version, source=save.source).tables)
        except (IptablesSaveError, ValueError) as exc:
            notes.append(f"{save.source}-save (IPv{save.version}) could not be read: {exc}")
            unreadable.append(notes[-1])
    from_iptables_nft = frozenset((t.family, t.name) for t in saved if t.source == "iptables-nft")
    kept: list[Table] = []
    if capture.nft_json:
        try:
            texts = parse_rule_texts(capture.nft_text or "")
            kept = list(parse_ruleset(capture.nft_json, texts, skip=from_iptables_nft).tables)
        except (NftJsonError, ValueError, KeyError, TypeError) as exc:
            notes.append(f"nft -j list ruleset could not be read: {exc}")
            unreadable.append(notes[-1])
    notes.extend(
        f"{t.family} {t.name}: xt expressions without iptables-nft-save output"
        for t in kept
        if _has_xt(t)
    )
    local, broadcast = addresses(capture.addresses_json)
    return Ruleset(
        tables=(*kept, *saved),
        notes=tuple(notes),
        unreadable=tuple(unreadable),
        local_addresses=local if capture.addresses_json else None,
        broadcast_addresses=broadcast,
    )


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
