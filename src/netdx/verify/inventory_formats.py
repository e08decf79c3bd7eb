"""The three inventory formats Ansible users have, read into one raw form: the INI file,
the YAML file, and the JSON that `ansible-inventory --list` prints (so vaults and dynamic
inventory plugins are handled by Ansible itself). `netdx.verify.inventory` resolves the
raw form (children, `all`, `ungrouped`, variable precedence) the same way for all three.

What these parsers follow is Ansible's own inventory plugins (`ini`, `yaml`, `script`):
`[g:vars]` of a group no section defines and a child group that is never defined are
errors; host lines take `key=value` pairs whose values are Python literals when they parse
as one; `host:port` sets `ansible_port`.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from netdx.errors import UsageError
from netdx.target import port_number
from netdx.verify import ranges, yamlnodes


@dataclass(slots=True)
class RawGroup:
    """One group as a file declares it (a builder, private to reading an inventory)."""

    name: str
    line: int
    hosts: list[str] = field(default_factory=list)
    children: list[tuple[str, int]] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    defined: bool = False


@dataclass(slots=True)
class RawInventory:
    """Groups and host variables as declared, with the line of each, before resolution."""

    source: str
    groups: dict[str, RawGroup] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    host_lines: dict[str, int] = field(default_factory=dict)

    def group(self, name: str, line: int) -> RawGroup:
        found = self.groups.get(name)
        if found is None:
            found = self.groups[name] = RawGroup(name=name, line=line)
        return found

    def add_host(self, name: str, group: str, line: int, variables: dict[str, Any]) -> None:
        members = self.group(group, line).hosts
        if name not in members:
            members.append(name)
        self.host_vars.setdefault(name, {}).update(variables)
        self.host_lines.setdefault(name, line)

    def error(self, line: int | None, what: str) -> UsageError:
        where = f":{line}" if line is not None else ""
        return UsageError(f"{self.source}{where}: {what}")


_SECTION = re.compile(r"\[([^\[\]:\s]+)(?::([A-Za-z]+))?\]")
_NAME = re.compile(r"[^\s\[\]:=,]+")
_RANGES = re.compile(r"\[[^\[\]]*\]")


def parse_ini(text: str, source: str) -> RawInventory:
    """An Ansible INI inventory."""
    raw = RawInventory(source=source)
    for implicit in (
        "all",
        "ungrouped",
    ):  # defined by Ansible itself: `[all:vars]` needs no section
        raw.group(implicit, 1).defined = True
    group, kind = "ungrouped", "hosts"
    referenced: dict[str, tuple[int, str]] = {}
    for number, text_line in enumerate(text.splitlines(), start=1):
        line = text_line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            match = _SECTION.match(line)
            rest = line[match.end() :].strip() if match else ""
            if match is None or (rest and rest[0] not in "#;"):
                raise raw.error(number, f"bad section header {line!r}")
            group, kind = match.group(1), (match.group(2) or "hosts")
            if kind not in ("hosts", "vars", "children"):
                raise raw.error(number, f"section [{group}:{kind}] has an unknown type {kind!r}")
            if kind == "vars":
                raw.group(group, number)
                referenced.setdefault(
                    group, (number, f"[{group}:vars] is for a group no section defines")
                )
            else:
                raw.group(group, number).defined = True
            continue
        if kind == "hosts":
            _ini_host(raw, group, line, number)
        elif kind == "vars":
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise raw.error(number, f"expected key=value in [{group}:vars], got {line!r}")
            raw.group(group, number).vars[key.strip()] = _literal(value.strip())
        else:
            child = line.split()[0]
            if not _NAME.fullmatch(child):
                raise raw.error(number, f"bad group name {child!r} in [{group}:children]")
            raw.group(group, number).children.append((child, number))
            raw.group(child, number)
            referenced.setdefault(
                child, (number, f"[{group}:children] names {child!r}, which no section defines")
            )
    for name, (number, why) in referenced.items():
        if not raw.groups[name].defined:
            raise raw.error(number, why)
    raw.group("ungrouped", 1).defined = True
    return raw


def _ini_host(raw: RawInventory, group: str, line: str, number: int) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise raw.error(number, f"cannot split the host line: {exc}") from None
    variables: dict[str, Any] = {}
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise raw.error(number, f"expected key=value after the host name, got {token!r}")
        variables[key] = _literal(value)
    for name, port in _host_pattern(raw, tokens[0], number):
        more = dict(variables)
        if port is not None:
            more.setdefault("ansible_port", port)
        raw.add_host(name, group, number, more)


def _host_pattern(raw: RawInventory, pattern: str, line: int) -> list[tuple[str, int | None]]:
    """The hosts of `web[01:03]` or `db:2222` with their port (None when not given)."""
    port: int | None = None
    outside = _RANGES.sub("", pattern)  # a range's own ':' is not a port separator
    if outside.count(":") == 1:
        head, _, tail = pattern.rpartition(":")
        found = port_number(tail)
        if found is None:
            raise raw.error(line, f"bad port {tail!r} in host {pattern!r}")
        pattern, port = head, found
    try:
        names = ranges.expand(pattern)
    except ranges.RangeError as exc:
        raise raw.error(line, f"bad host range {exc}") from None
    for name in names:
        if not _NAME.fullmatch(name):
            raise raw.error(line, f"bad host name {name!r}")
    return [(name, port) for name in names]


def _literal(value: str) -> Any:
    """A variable's value as Ansible's INI plugin reads it: a Python literal when it is one
    (`22`, `"a b"`, `True`), else the text."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def parse_yaml(text: str, source: str) -> RawInventory:
    """An Ansible YAML inventory: groups with `hosts`, `vars` and `children`."""
    located = yamlnodes.load(text, source)
    raw = RawInventory(source=source)
    if not isinstance(located.data, dict):
        raise raw.error(1, "a YAML inventory must be a mapping of groups")
    for name, body in located.data.items():
        _yaml_group(raw, located, str(name), body, (str(name),))
    raw.group("ungrouped", 1).defined = True
    return raw


_GROUP_KEYS = frozenset({"hosts", "vars", "children"})


def _yaml_group(
    raw: RawInventory, located: yamlnodes.Located, name: str, body: Any, path: yamlnodes.Path
) -> None:
    line = located.line_of(path)
    if not _NAME.fullmatch(name):
        raise raw.error(line, f"bad group name {name!r}")
    group = raw.group(name, line)
    group.defined = True
    if body is None:
        return
    if not isinstance(body, dict):
        raise raw.error(line, f"group {name!r} must be a mapping of hosts, vars and children")
    for key in body:
        if key not in _GROUP_KEYS:
            raise raw.error(
                located.line_of((*path, str(key))),
                f"group {name!r}: unexpected key {key!r} (hosts, vars, children)",
            )
    for key, want in (("hosts", "host names"), ("vars", "variables"), ("children", "groups")):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise raw.error(
                located.line_of((*path, key)), f"group {name!r}: {key} must be a mapping of {want}"
            )
    for pattern, variables in (body.get("hosts") or {}).items():
        where = located.line_of((*path, "hosts", str(pattern)))
        if variables is not None and not isinstance(variables, dict):
            raise raw.error(where, f"host {pattern!r}: its variables must be a mapping")
        for host, port in _host_pattern(raw, str(pattern), where):
            more = dict(variables or {})
            if port is not None:
                more.setdefault("ansible_port", port)
            raw.add_host(host, name, where, more)
    group.vars.update({str(k): v for k, v in (body.get("vars") or {}).items()})
    for child, child_body in (body.get("children") or {}).items():
        child_path = (*path, "children", str(child))
        group.children.append((str(child), located.line_of(child_path)))
        _yaml_group(raw, located, str(child), child_body, child_path)


def parse_json(text: str, source: str) -> RawInventory:
    """The JSON of `ansible-inventory --list` (or an inventory script's `--list`)."""
    raw = RawInventory(source=source)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise raw.error(getattr(exc, "lineno", None), f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise raw.error(1, "the inventory JSON must be an object of groups")
    meta = data.get("_meta") or {}
    hostvars = meta.get("hostvars") if isinstance(meta, dict) else None
    if hostvars is not None and not isinstance(hostvars, dict):
        raise raw.error(_json_line(text, "hostvars"), "_meta.hostvars must be an object")
    for name, body in data.items():
        if name == "_meta":
            continue
        line = _json_line(text, name)
        group = raw.group(name, line)
        group.defined = True
        if isinstance(body, list):
            body = {"hosts": body}
        if not isinstance(body, dict):
            raise raw.error(line, f"group {name!r} must be an object or a list of hosts")
        hosts, children, variables = (
            body.get("hosts", []),
            body.get("children", []),
            body.get("vars", {}),
        )
        if (
            not isinstance(hosts, list)
            or not isinstance(children, list)
            or not isinstance(variables, dict)
        ):
            raise raw.error(
                line, f"group {name!r}: hosts and children must be lists, vars an object"
            )
        for host in hosts:
            raw.add_host(str(host), name, line, {})
        for child in children:
            group.children.append((str(child), line))
        group.vars.update(variables)
    for host, variables in (hostvars or {}).items():
        if not isinstance(variables, dict):
            raise raw.error(_json_line(text, host), f"hostvars of {host!r} must be an object")
        raw.host_vars.setdefault(str(host), {}).update(variables)
        raw.host_lines.setdefault(str(host), _json_line(text, host))
    for group in list(raw.groups.values()):
        for child, line in group.children:
            if child not in raw.groups:
                raise raw.error(
                    line, f"group {group.name!r} has child {child!r}, which is not defined"
                )
    raw.group("ungrouped", 1).defined = True
    return raw


def _json_line(text: str, key: str) -> int:
    """The line of the first `"key"` in the text: JSON parsers keep no positions, and an
    error without a line leaves the user searching."""
    found = re.search(re.escape(json.dumps(key)) + r"\s*:", text)
    return text.count("\n", 0, found.start()) + 1 if found is not None else 1
