"""Issue 10: a DNS fix runs as written. `dig db-server-03 A` asks for `db-server-03.` (dig
applies no search list without +search), and `dig NAME @SERVER` is a placeholder; the fixes
name the full name a server was asked and the server that failed. On captured evidence."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from netdx.diagnose import diagnose
from netdx.model import CheckEvidence
from netdx.model.codec import from_data

FIXTURES = Path(__file__).parent.parent / "fixtures" / "evidence"


def _captured(name: str) -> CheckEvidence:
    return from_data(CheckEvidence, json.loads((FIXTURES / f"{name}.json").read_text()))


def test_dead_resolver_fix_names_the_server_and_the_full_name() -> None:
    """dns-resolver-unreachable: the dig asks 10.0.0.53 for db-server-01.netdx.internal."""
    _, verdict = diagnose(_captured("dns-resolver-unreachable"))
    assert verdict.cause == "dns.resolver_unreachable"
    assert "ask the server directly: dig db-server-01.netdx.internal @10.0.0.53" in verdict.fix
    assert not any("@SERVER" in line for line in verdict.fix)


def test_no_address_fix_asks_the_name_that_exists() -> None:
    """dns-no-address (db-server-03 through the search list): the dig asks the full name."""
    _, verdict = diagnose(_captured("dns-no-address"))
    assert verdict.cause == "dns.no_address"
    assert verdict.fix[0] == ("confirm: dig db-server-03.netdx.internal A and dig "
                              "db-server-03.netdx.internal AAAA")


def test_without_server_answers_a_short_name_gets_search() -> None:
    """With no per-server answer to take the full name from, the short name gets +search."""
    ev = _captured("dns-no-address")
    assert ev.dns is not None
    ev = dataclasses.replace(ev, dns=dataclasses.replace(ev.dns, servers=()))
    _, verdict = diagnose(ev)
    assert verdict.cause == "dns.no_address"
    assert verdict.fix[0] == "confirm: dig +search db-server-03 A and dig +search db-server-03 AAAA"


def test_nxdomain_trace_walks_the_first_name_tried() -> None:
    """dns-nxdomain: +trace of the search-list name, not of `db-server-02.`."""
    _, verdict = diagnose(_captured("dns-nxdomain"))
    assert verdict.cause == "dns.nxdomain"
    assert "dig +trace db-server-02.netdx.internal" in verdict.fix[1]
