"""YAML with line numbers: PyYAML's C parser composes the nodes, the safe constructor makes
each value, and every value's line is kept by its path, so a schema error can name the
line the user must edit (`flows.3.to` → line 17)."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from netdx.errors import UsageError
from netdx.model.record import record

Path = tuple[str | int, ...]


@record
class Located:
    """A YAML document's data and the 1-based line of each value, by path."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of `path`, or of its nearest parent that has one (1 for the top)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1


def load(text: str, source: str) -> Located:
    """Parse `text` safely; invalid YAML is a UsageError naming `source` and the line."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        data = None if node is None else _value(loader, node, (), lines, source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{source}{where}: invalid YAML: {problem}") from exc
    finally:
        loader.dispose()
    return Located(data=data, lines=lines)


def _value(loader: Any, node: Any, path: Path, lines: dict[Path, int], source: str) -> Any:
    import yaml

    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # `<<: *anchor` merges, as the safe loader does
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise UsageError(
                    f"{source}:{key_node.start_mark.line + 1}: a mapping key must be a plain value"
                )
            child = (*path, str(key))
            out[key] = _value(loader, value_node, child, lines, source)
            lines[child] = key_node.start_mark.line + 1  # the key's line: what the user edits
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _value(loader, item, (*path, i), lines, source) for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
