"""Reading scenario files: YAML (CSafeLoader) → pydantic schema → frozen `Scenario`.

A bad file raises `UsageError` with one line naming the file, the field and the problem.
yaml and pydantic are imported inside the functions so importing `netdx.lab` stays cheap.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from netdx.errors import UsageError
from netdx.lab.model import Scenario


def scenario_files() -> tuple[Path, ...]:
    """The shipped scenario files, sorted by name."""
    folder = resources.files("netdx.lab").joinpath("scenarios")
    paths = (Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".yaml"))
    return tuple(sorted(paths))


def list_scenarios() -> tuple[Scenario, ...]:
    """Every shipped scenario, sorted by name: the files, and the families built in Python
    (the DNS hierarchy, `netdx.lab.dnstree`)."""
    from netdx.lab import dnstree

    found = [load_scenario_file(path) for path in scenario_files()]
    return tuple(sorted([*found, *dnstree.scenarios()], key=lambda s: s.name))


def load_scenario(name: str) -> Scenario:
    """The shipped scenario called `name`; `UsageError` if there is none."""
    from netdx.lab import dnstree

    for path in scenario_files():
        if path.stem == name:
            return load_scenario_file(path)
    if name in dnstree.NAMES:
        return dnstree.scenario()
    known = ", ".join([*(path.stem for path in scenario_files()), *dnstree.NAMES])
    raise UsageError(f"unknown lab scenario {name!r} (known: {known})")


def load_scenario_file(path: Path) -> Scenario:
    """Load and validate one scenario file; its name must match the file name."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc
    scenario = parse_scenario(text, source=str(path))
    if scenario.name != path.stem:
        raise UsageError(f"{path}: name {scenario.name!r} does not match the file name")
    return scenario


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text into a `Scenario`, or raise a one-line `UsageError`."""
    import pydantic

    from netdx.lab._schema import ScenarioModel, to_scenario

    data = _parse_yaml(text, source)
    try:
        return to_scenario(ScenarioModel.model_validate(data))
    except pydantic.ValidationError as exc:
        raise UsageError(f"{source}: {_first_error(exc)}") from exc
    except ValueError as exc:
        raise UsageError(f"{source}: {exc}") from exc


def _parse_yaml(text: str, source: str) -> Any:
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
        raise UsageError(f"{source}: a scenario file must be a mapping")
    return data


def _first_error(exc: Any) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(part) for part in first["loc"]) or "(top)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {first['msg']}{more}".replace("\n", " ")
