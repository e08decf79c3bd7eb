"""The vantage point: which host (or namespace on it) observed a piece of evidence.

One check can join evidence seen from several places (the client, the server over SSH, a
namespace in the lab); each top-level evidence container says where it was taken, so a rule
or a reader never mistakes the server's view for the client's.
"""

from __future__ import annotations

from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record

VantageKind = Literal["local", "netns", "ssh"]


@record
class Vantage:
    """Where evidence was observed: this host (`local`), a named network namespace on this
    host (`netns`, `name` is the namespace), or an SSH destination (`ssh`, `name` is the
    destination as given)."""

    kind: VantageKind = "local"
    name: str | None = None


THIS_HOST = Vantage()


def in_netns(name: str) -> Vantage:
    """The vantage of a named network namespace on this host."""
    return Vantage(kind="netns", name=name)


def vantage_data(vantage: Vantage) -> dict[str, str]:
    """A vantage as `netdx check --json` writes it (`model.codec.to_data(v, omit_none=True)`),
    without importing the codec: the top-level `observed_on` of every command's JSON."""
    if vantage.name is None:
        return {"kind": vantage.kind}
    return {"kind": vantage.kind, "name": vantage.name}
