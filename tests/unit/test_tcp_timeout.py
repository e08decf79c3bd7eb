"""The connect-timeout policy: RTT-based when a round trip is known, a budget share otherwise."""

from __future__ import annotations

import pytest

from netdx.probes.tcp import connect_timeout


def test_fast_path_still_waits_for_one_syn_retransmission() -> None:
    """A sub-millisecond RTT still gives 1.1 s: Linux retransmits a lost SYN after 1 s."""
    assert connect_timeout(0.3, 10.0) == (1.1, "rtt")


@pytest.mark.parametrize(("rtt", "expected"), [(100.0, 1.25), (200.0, 2.25), (500.0, 5.25)])
def test_slow_path_scales_with_rtt(rtt: float, expected: float) -> None:
    """Above ~85 ms the timeout is 0.25 s + 10 × RTT."""
    timeout, basis = connect_timeout(rtt, 30.0)
    assert basis == "rtt"
    assert timeout == pytest.approx(expected)


def test_rtt_timeout_never_passes_the_deadline() -> None:
    """The RTT-based timeout is capped by what is left of the budget."""
    assert connect_timeout(500.0, 0.8) == (0.8, "rtt")


@pytest.mark.parametrize(("remaining", "expected"), [(1.0, 0.6), (4.0, 2.4), (10.0, 3.5)])
def test_without_rtt_a_share_of_the_budget_capped_past_arp(remaining: float,
                                                           expected: float) -> None:
    """Without an RTT: 60 % of the remaining budget, at most 3.5 s: past the 3 s a Linux
    router takes to say host-unreachable for a dead host (its ARP failed)."""
    timeout, basis = connect_timeout(None, remaining)
    assert basis == "budget"
    assert timeout == pytest.approx(expected)


def test_expired_budget_gives_zero() -> None:
    """Nothing left (or a negative remainder) means no wait at all."""
    assert connect_timeout(None, -1.0) == (0.0, "budget")
    assert connect_timeout(5.0, 0.0) == (0.0, "rtt")
