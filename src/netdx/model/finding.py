"""A rule's conclusion: one cause from the public vocabulary (docs/causes.md).

Its own module so that evidence (which still carries the server-side findings of a local
target) and the report (which carries the step payloads) can both import it.
"""

from __future__ import annotations

from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record

Severity = Literal["fail", "warn"]


@record
class Finding:
    """One rule's conclusion: a cause from the public vocabulary (docs/causes.md).

    `step` is the walk step the finding belongs to (dns, route, reach, port, service);
    `evidence` lines quote what proves it; `fix` lines say what fixes or confirms it.
    """

    cause: str
    severity: Severity
    step: str
    summary: str
    evidence: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()

    @property
    def layer(self) -> str:
        return self.cause.split(".", 1)[0]
