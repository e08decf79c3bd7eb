"""The egress check's source follows --source: the address its crafted SYN carries (and its
raw socket binds) is the bound one, not the kernel's unbound choice (loopback only)."""

from __future__ import annotations

from netdx.probes.bind import Binding, apply_binding, current_binding
from netdx.probes.egress import source_for


def test_source_for_follows_the_binding() -> None:
    """To 127.0.0.1 the kernel picks 127.0.0.1; bound to 127.0.0.2 (also this host's, on
    lo) the route lookup answers 127.0.0.2; a source of the other family is left out."""
    assert source_for(4, "127.0.0.1", 9) == "127.0.0.1"
    assert source_for(4, "127.0.0.1", 9, Binding(source="127.0.0.2")) == "127.0.0.2"
    assert source_for(4, "127.0.0.1", 9, Binding(source="::1")) == "127.0.0.1"


def test_source_for_without_a_binding_ignores_the_runs_binding() -> None:
    """The binding is passed, not read: `egress_check` reads the run's once and hands it
    on, so source_for(binding=None) is the kernel's own choice."""
    with apply_binding(Binding(source="127.0.0.2")):
        assert current_binding() is not None
        assert source_for(4, "127.0.0.1", 9) == "127.0.0.1"
