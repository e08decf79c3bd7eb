"""Issue 10: a local target refused by a `REJECT --reject-with tcp-reset` rule was "nothing
listens" while a listener existed. On evidence captured in the firewall-local-reset lab."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from netdx.diagnose import diagnose
from netdx.model import CheckEvidence
from netdx.model.codec import from_data

FIXTURES = Path(__file__).parent.parent / "fixtures" / "evidence"


def _captured() -> CheckEvidence:
    path = FIXTURES / "firewall-local-reset.json"
    return from_data(CheckEvidence, json.loads(path.read_text()))


def test_reset_rule_beside_a_listener_is_named() -> None:
    """The listener on 0.0.0.0:5432 and the input rule that resets are both named; the fix
    deletes the rule; "nothing listens" is not said."""
    _, verdict = diagnose(_captured())
    assert verdict.cause == "port.refused"
    assert "listens on 0.0.0.0:5432" in verdict.summary
    assert verdict.summary.endswith("this host's input rule rejects it with a TCP reset")
    assert "nothing listens" not in verdict.summary
    assert any("reject with tcp reset" in line for line in verdict.evidence)
    assert verdict.fix[0].startswith("remove or narrow the rule after review: nft delete rule "
                                     "inet filter input handle")


def test_without_the_ruleset_the_reset_is_still_not_nothing_listens() -> None:
    """The rules unread (not root): the listener is still named and a tcp-reset REJECT is
    the suspect, with the command that finds it."""
    ev = _captured()
    head = dataclasses.replace(ev.addresses[0], firewall=None)
    _, verdict = diagnose(dataclasses.replace(ev, addresses=(head,)))
    assert verdict.cause == "port.refused"
    assert "a firewall REJECT with a TCP reset is the likely cause" in verdict.summary
    assert verdict.fix[0].startswith("find the rule: nft -a list ruleset | grep -n reset")
