"""The pydantic schema of a `netdx.firewall.snapshot/1` document: a snapshot file is user
input, checked at the boundary so a hostile or damaged one is refused with the path of the
bad field instead of failing deep in the parsers (imported lazily: pydantic is heavy)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netdx.config_text import first_error
from netdx.errors import UsageError
from netdx.firewall.diff import SNAPSHOT_SCHEMA
from netdx.firewall.sources import Capture, SaveCapture
from netdx.model.vantage import THIS_HOST, Vantage


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class SaveModel(_Strict):
    version: Literal[4, 6]
    source: Literal["iptables-nft", "iptables-legacy"]
    text: str


class CaptureModel(_Strict):
    nft_json: str | None = None
    nft_text: str | None = None
    saves: list[SaveModel] = Field(default_factory=list)
    addresses_json: str | None = None
    errors: list[str] = Field(default_factory=list)


class VantageModel(_Strict):
    kind: Literal["local", "netns", "ssh"]
    name: str | None = None


class SnapshotModel(_Strict):
    schema_: Literal["netdx.firewall.snapshot/1"] = Field(alias="schema")  # SNAPSHOT_SCHEMA
    observed_on: VantageModel | None = None  # absent in snapshots of earlier versions
    taken_at: str | None = None
    host: str | None = None
    capture: CaptureModel


def validated_capture(data: Any) -> tuple[Capture, str, str, Vantage]:
    """(capture, taken_at, host, where it was read: this host when the document does not
    say) of a snapshot document; UsageError naming the first bad field
    ("capture.saves.0.version: Input should be 4 or 6") otherwise."""
    if not isinstance(data, dict) or data.get("schema") != SNAPSHOT_SCHEMA:
        raise UsageError(f"not a {SNAPSHOT_SCHEMA} document")
    try:
        model = SnapshotModel.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"not a valid {SNAPSHOT_SCHEMA} document: {first_error(exc)}") from None
    cap = model.capture
    for field, text in (("nft_json", cap.nft_json), ("addresses_json", cap.addresses_json)):
        damage = _json_damage(text, nft=field == "nft_json")
        if damage is not None:
            raise UsageError(f"not a valid {SNAPSHOT_SCHEMA} document: capture.{field}: {damage}")
    capture = Capture(
        nft_json=cap.nft_json,
        nft_text=cap.nft_text,
        saves=tuple(
            SaveCapture(version=s.version, source=s.source, text=s.text) for s in cap.saves
        ),
        addresses_json=cap.addresses_json,
        errors=tuple(cap.errors),
    )
    where = model.observed_on
    vantage = THIS_HOST if where is None else Vantage(kind=where.kind, name=where.name)
    return capture, str(model.taken_at), str(model.host), vantage


def _json_damage(text: str | None, *, nft: bool) -> str | None:
    """Why an embedded JSON text of the capture is damaged (not JSON, or for nft not an
    `nft -j` document), or None. The kernel never writes such text, so the file was damaged
    or made by hand: bad input, not a ruleset netdx could not read."""
    if text is None:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return f"not JSON ({str(exc)[:80]})"
    if nft and not (isinstance(data, dict) and isinstance(data.get("nftables"), list)):
        return "no top-level 'nftables' list"
    return None
