"""Reading scenario files: YAML (CSafeLoader) → pydantic schema → frozen `Scenario`.

A bad file raises `UsageError` with one line naming the file, the field and the problem.
yaml and pydantic are imported inside the functions so importing `netdx.lab` stays cheap.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from netdx.config_text import first_error, yaml_mapping
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
        return dnstree.named(name)
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

    data = yaml_mapping(text, source, what="a scenario file")
    try:
        return to_scenario(ScenarioModel.model_validate(data))
    except pydantic.ValidationError as exc:
        raise UsageError(f"{source}: {first_error(exc)}") from exc
    except ValueError as exc:
        raise UsageError(f"{source}: {exc}") from exc
