"""The one reader of the YAML files a user writes (lab scenarios, the serve config) and the
one wording of a pydantic validation error (those files and firewall snapshots): one line,
the file, where, what is wrong. yaml and pydantic are imported by the callers' paths only."""

from __future__ import annotations

from typing import Any

from netdx.errors import UsageError


def yaml_mapping(text: str, source: str, *, what: str) -> dict[str, Any]:
    """The mapping `text` holds (CSafeLoader); UsageError naming `source` and the line for
    invalid YAML, and saying `what` must be a mapping otherwise."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{source}: invalid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{source}: {what} must be a mapping")
    return data


def first_error(exc: Any) -> str:
    """'capture.saves.0.version: Input should be 4 or 6 (and 2 more)' of a pydantic
    ValidationError: the first error's path and message, on one line."""
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(part) for part in first["loc"]) or "(top)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {first['msg']}{more}".replace("\n", " ")
