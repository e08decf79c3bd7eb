"""The evidence codec: exact round trips, and a clear error for data that does not fit."""

from __future__ import annotations

import json

import evidence_cases as cases
import pytest

from netdx.model import CheckEvidence, TcpConnect
from netdx.model.codec import CodecError, from_data, to_data

ALL_CASES = [v for v in vars(cases).values() if isinstance(v, CheckEvidence)]


@pytest.mark.parametrize("evidence", ALL_CASES)
def test_round_trip_through_json(evidence: CheckEvidence) -> None:
    """Every evidence literal survives to_data → JSON → from_data unchanged."""
    assert from_data(CheckEvidence, json.loads(json.dumps(to_data(evidence)))) == evidence


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "address": "10.0.0.1",
                "port": 1,
                "outcome": "maybe",
                "elapsed_ms": 1,
                "timeout_ms": 1,
            },
            "not one of",
        ),
        (
            {
                "address": "10.0.0.1",
                "port": "1",
                "outcome": "timeout",
                "elapsed_ms": 1,
                "timeout_ms": 1,
            },
            "expected int",
        ),
        (
            {
                "address": "10.0.0.1",
                "port": 1,
                "outcome": "timeout",
                "elapsed_ms": 1,
                "timeout_ms": 1,
                "colour": "red",
            },
            "unknown field",
        ),
        ({"address": "10.0.0.1"}, "missing"),
        ([], "expected an object"),
    ],
)
def test_bad_data_raises_codec_error(data: object, message: str) -> None:
    """Data of the wrong shape raises CodecError naming the problem, nothing else."""
    with pytest.raises(CodecError, match=message):
        from_data(TcpConnect, data)
