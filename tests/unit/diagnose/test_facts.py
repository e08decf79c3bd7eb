"""The shared facts of diagnose/facts.py: what the rules of every layer read off the evidence."""

from __future__ import annotations

import pytest

from netdx.diagnose.facts import hop_distance


@pytest.mark.parametrize(
    ("ttl", "distance"),
    [(64, 1), (63, 2), (60, 5), (128, 1), (117, 12), (255, 1), (250, 6), (0, None), (300, None)],
)
def test_hop_distance_from_reply_ttl(ttl: int, distance: int | None) -> None:
    """The distance is the smallest initial TTL (64/128/255) ≥ the reply TTL, minus it, plus 1."""
    assert hop_distance(ttl) == distance
