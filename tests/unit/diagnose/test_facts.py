"""The shared facts of diagnose/facts.py: what the rules of every layer read off the evidence."""

from __future__ import annotations

import pytest
from evidence_cases import DB, DB_IP, addr, http, tcp

from netdx.diagnose.facts import hop_distance, used_exchange
from netdx.model import CheckEvidence


@pytest.mark.parametrize(
    ("ttl", "distance"),
    [(64, 1), (63, 2), (60, 5), (128, 1), (117, 12), (255, 1), (250, 6), (0, None), (300, None)],
)
def test_hop_distance_from_reply_ttl(ttl: int, distance: int | None) -> None:
    """The distance is the smallest initial TTL (64/128/255) ≥ the reply TTL, minus it, plus 1."""
    assert hop_distance(ttl) == distance


def test_used_exchange_is_the_first_connected_address_and_its_part() -> None:
    """The address that connected (not the refused one before it) and its exchange; None when
    that address has no such exchange."""
    refused = addr("10.0.2.4", tcp=tcp("10.0.2.4", 80, "refused"), http=http("u", "10.0.2.4", 500))
    used = addr(DB_IP, tcp=tcp(DB_IP, 80, "connected"), http=http("u", DB_IP, 200))
    ev = CheckEvidence(target_host=DB, port=80, scheme="http", dns=None, addresses=(refused, used))
    assert used_exchange(ev, lambda a: a.http) == (used, used.http)
    assert used_exchange(ev, lambda a: a.handshake) is None
