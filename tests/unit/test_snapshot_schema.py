"""A hostile or damaged snapshot file is refused at the boundary, exit 2 with the path of the
bad field, instead of an internal error deep in the parsers (each case below crashed
`firewall diff` before the schema)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netdx.cli import main

GOOD_CAPTURE: dict[str, Any] = {
    "nft_json": '{"nftables": [{"metainfo": {}}]}',
    "nft_text": "",
    "saves": [],
    "addresses_json": "[]",
    "errors": [],
}


def _doc(**capture: Any) -> dict[str, Any]:
    return {"schema": "netdx.firewall.snapshot/1", "capture": {**GOOD_CAPTURE, **capture}}


CASES: dict[str, tuple[Any, str]] = {
    "no capture": ({"schema": "netdx.firewall.snapshot/1"}, "capture: Field required"),
    "capture not an object": (
        {"schema": "netdx.firewall.snapshot/1", "capture": [1]},
        "capture: Input should be",
    ),
    "a save of the wrong shape": (_doc(saves=[{"x": None}]), "capture.saves.0.version"),
    "a save not an object": (_doc(saves=[7]), "capture.saves.0"),
    "errors not strings": (_doc(errors=[1, 2]), "capture.errors.0"),
    "iptables text not a string": (
        _doc(saves=[{"version": 4, "source": "iptables-nft", "text": 5}]),
        "capture.saves.0.text",
    ),
    "nft_text not a string": (_doc(nft_text=["x"]), "capture.nft_text"),
    "addresses_json not a string": (_doc(addresses_json={"a": 1}), "capture.addresses_json"),
    # Found by make fuzz: a mutated nft JSON text was "a ruleset that could not be read"
    # (exit 3, as for a capture taken without root) where the file itself is damaged.
    "nft_json not JSON": (_doc(nft_json='{"nftables": [1,'), "capture.nft_json: not JSON"),
    "nft_json not an nft document": (_doc(nft_json='{"x": []}'), "capture.nft_json: no top"),
    "nft_json nested too deep": (_doc(nft_json="[" * 200_000), "capture.nft_json: not JSON"),
    "addresses_json not JSON": (_doc(addresses_json="[{"), "capture.addresses_json: not JSON"),
    "a bad version": (
        _doc(saves=[{"version": 5, "source": "iptables-nft", "text": ""}]),
        "capture.saves.0.version",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_snapshot_is_refused_with_the_field(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each damaged document: exit 2, one line naming the field."""
    doc, field = CASES[name]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_doc()))
    assert main(["firewall", "diff", str(bad), str(good)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" not in err, err
    assert field in err, err


def test_deeply_nested_json_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """200,000 nested brackets: a usage error, not a RecursionError."""
    bad = tmp_path / "deep.json"
    bad.write_text("[" * 200_000 + "]" * 200_000)
    assert main(["firewall", "diff", str(bad), str(bad)]) == 2
    assert "internal error" not in capsys.readouterr().err


def test_a_good_snapshot_still_diffs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The schema takes what `firewall snapshot` writes: two equal snapshots, exit 0."""
    good = tmp_path / "good.json"
    good.write_text(json.dumps({**_doc(), "taken_at": "2026-12-03T10:00:00+00:00", "host": "h"}))
    assert main(["firewall", "diff", str(good), str(good)]) == 0
    assert "internal error" not in capsys.readouterr().err
