"""The flows file of `netdx verify`: YAML (C parser, safe constructor) → pydantic schema →
frozen `Flow`s, each with the line it was declared on so every later error can point there.

    defaults: {timeout: 5}
    flows:
      - name: payments-to-db        # optional; default "<from> -> <to>"
        from: payments              # an inventory group or host, or "local"
        to: db-server-01:5432       # host:port, a URL, GROUP:PORT or HOST:PORT
        expect: deny                # allow | deny
        deny_by: [port.filtered]    # optional: the causes that may explain the deny
        read_destination: true      # optional: also read the destination over SSH
        timeout: 3                  # optional: this flow's own budget

A bad file is one UsageError line: `FILE:LINE: flows.2.expect: ...`, exit 2.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Literal

from netdx.errors import UsageError
from netdx.model.record import record
from netdx.target import redact
from netdx.verify import yamlnodes

Expect = Literal["allow", "deny"]
LOCAL = "local"


@record
class Flow:
    """One declared flow, before its groups are expanded."""

    name: str
    source: str  # `from:`: "local", an inventory group or host
    to: str
    expect: Expect
    deny_by: tuple[str, ...] = ()
    read_destination: bool = False
    timeout: float
    line: int


@record
class FlowsFile:
    """A validated flows file: its flows, where it came from and the sha256 of its bytes."""

    source: str
    sha256: str
    flows: tuple[Flow, ...]

    def where(self, flow: Flow) -> str:
        """`FILE:LINE` of `flow`, for error messages."""
        return f"{self.source}:{flow.line}"


def load_flows(path: str | os.PathLike[str]) -> FlowsFile:
    """Read and validate the flows file `path`."""
    from netdx.files import MIB, read_user_file

    text = read_user_file(path, what="flows file", limit=4 * MIB)
    return parse_flows(text, source=os.fspath(path))


def parse_flows(text: str, *, source: str = "<flows>") -> FlowsFile:
    """Validate flows YAML text, or raise a one-line UsageError with the file and line."""
    import pydantic

    from netdx.verify._schema import FlowsModel

    located = yamlnodes.load(text, source)
    if not isinstance(located.data, dict):
        raise UsageError(f"{source}:1: a flows file must be a mapping with a 'flows' list")
    try:
        model = FlowsModel.model_validate(located.data)
    except pydantic.ValidationError as exc:
        raise UsageError(_first_error(exc, located, source)) from None
    flows = []
    for index, item in enumerate(model.flows):
        flows.append(
            Flow(
                name=item.name or f"{item.source} -> {redact(item.to)}",
                source=item.source,
                to=item.to,
                expect=item.expect,
                deny_by=tuple(item.deny_by),
                read_destination=item.read_destination,
                timeout=item.timeout if item.timeout is not None else model.defaults.timeout,
                line=located.line_of(("flows", index)),
            )
        )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return FlowsFile(source=source, sha256=digest, flows=tuple(flows))


def _first_error(exc: Any, located: yamlnodes.Located, source: str) -> str:
    errors = exc.errors()
    first = errors[0]
    path = tuple(str(part) if isinstance(part, str) else part for part in first["loc"])
    loc = ".".join(str(part) for part in path) or "(top)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    line = located.line_of(path)
    return f"{source}:{line}: {loc}: {message}{more}".replace("\n", " ")
