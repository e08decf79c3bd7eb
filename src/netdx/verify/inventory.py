"""An Ansible inventory, resolved: which hosts each group holds (children included) and
how netdx reaches each host over SSH.

    inventory = load_inventory("hosts.ini")     # INI, YAML or `ansible-inventory --list` JSON
    inventory.members("web")                     # the hosts of web and of its child groups
    inventory.host("db-01").ssh_options()        # SshOptions from ansible_host, _port, _user...

Resolution follows Ansible's documented rules: every group without a parent is a child of
`all`; a host in no other group is in `ungrouped`; a host's variables are its groups'
merged from the shallowest (`all`) to the deepest child group, groups at the same depth by
`ansible_group_priority` and then by name, and the host's own variables win over them all.
A cycle of groups is an error (Ansible refuses it too).
"""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Any

from netdx.errors import UsageError
from netdx.model.record import record
from netdx.target import port_number
from netdx.verify.inventory_formats import RawInventory, parse_ini, parse_json, parse_yaml

if TYPE_CHECKING:
    from netdx.host.ssh import SshOptions

__all__ = ["Inventory", "InventoryHost", "load_inventory", "parse_inventory"]


@record
class InventoryHost:
    """One host and how to reach it: `address` is `ansible_host` (else the name)."""

    name: str
    address: str
    port: int | None = None
    user: str | None = None
    key: str | None = None
    ssh_options_given: tuple[tuple[str, str], ...] = ()
    python: str | None = None  # ansible_python_interpreter: kept; the ssh transport finds python3
    groups: tuple[str, ...] = ()  # every group it is in, children's parents included, but `all`

    def ssh_options(self) -> SshOptions:
        """The `SshOptions` of this host: [user@]address, -i key, -o Port= and the -o
        options of `ansible_ssh_common_args`."""
        from netdx.host.ssh import SshOptions

        options = self.ssh_options_given
        if self.port is not None:
            options = (("Port", str(self.port)), *options)
        destination = f"{self.user}@{self.address}" if self.user else self.address
        return SshOptions(destination=destination, key=self.key, options=options)


@record
class Inventory:
    """Hosts by name and each group's members (its own hosts and its children's)."""

    source: str
    hosts: tuple[InventoryHost, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...]

    def host(self, name: str) -> InventoryHost | None:
        """The host called `name`, or None."""
        return next((h for h in self.hosts if h.name == name), None)

    def members(self, group: str) -> tuple[InventoryHost, ...] | None:
        """The hosts of `group` in inventory order, or None when there is no such group."""
        for name, members in self.groups:
            if name == group:
                return tuple(h for h in self.hosts if h.name in members)
        return None


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read and resolve the inventory file `path`; a bad one is a one-line UsageError with
    the file and the line."""
    from netdx.files import read_user_file

    text = read_user_file(path, what="inventory")
    return parse_inventory(text, source=os.fspath(path))


def parse_inventory(text: str, *, source: str) -> Inventory:
    """Resolve inventory text; the format is chosen as Ansible's plugins choose it: `.yml`
    and `.yaml` are YAML, JSON text (`ansible-inventory --list`) is JSON, the rest is INI."""
    lowered = source.lower()
    if lowered.endswith((".yml", ".yaml")):
        raw = parse_yaml(text, source)
    elif lowered.endswith(".json") or text.lstrip().startswith("{"):
        raw = parse_json(text, source)
    else:
        raw = parse_ini(text, source)
    return resolve(raw)


def resolve(raw: RawInventory) -> Inventory:
    """Children, `all`, `ungrouped`, membership and variable precedence."""
    every = raw.group("all", 1)
    every.defined = True
    has_parent = {child for g in raw.groups.values() for child, _ in g.children}
    for name in raw.groups:
        if name != "all" and name not in has_parent and name not in dict(every.children):
            every.children.append((name, raw.groups[name].line))
    depth = _depths(raw)
    members = {name: _members(raw, name) for name in raw.groups}
    grouped = {
        h for name, hosts in members.items() if name not in ("all", "ungrouped") for h in hosts
    }
    # `ungrouped` holds exactly the hosts of no other group, as in Ansible: a host listed
    # before the first section and again under [web] is a web host only.
    raw.groups["ungrouped"].hosts = [h for h in raw.host_vars if h not in grouped]
    members = {name: _members(raw, name) for name in raw.groups}
    hosts = tuple(_host(raw, name, members, depth) for name in raw.host_vars)
    groups = tuple((name, tuple(sorted(m))) for name, m in sorted(members.items()))
    return Inventory(source=raw.source, hosts=hosts, groups=groups)


def _depths(raw: RawInventory) -> dict[str, int]:
    """Each group's depth below `all` (the longest path, as Ansible counts it); a cycle is
    a UsageError naming the line that closes it."""
    depth: dict[str, int] = {}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, level: int, path: list[str]) -> None:
        if state.get(name) == 1:
            loop = " -> ".join([*path[path.index(name) :], name])
            raise raw.error(_edge_line(raw, path[-1], name), f"a cycle of groups: {loop}")
        if depth.get(name, -1) >= level and state.get(name) == 2:
            return
        depth[name] = max(depth.get(name, 0), level)
        state[name] = 1
        for child, _ in raw.groups[name].children:
            visit(child, level + 1, [*path, name])
        state[name] = 2

    visit("all", 0, [])
    for name in raw.groups:  # a cycle that `all` does not reach (every member has a parent)
        if name not in depth:
            visit(name, 1, [])
    return depth


def _edge_line(raw: RawInventory, parent: str, child: str) -> int:
    return next((line for name, line in raw.groups[parent].children if name == child), 1)


def _members(raw: RawInventory, name: str) -> set[str]:
    seen: set[str] = set()
    out: set[str] = set()
    stack = [name]
    while stack:
        group = stack.pop()
        if group in seen:
            continue
        seen.add(group)
        out.update(raw.groups[group].hosts)
        stack.extend(child for child, _ in raw.groups[group].children)
    return out if name != "all" else set(raw.host_vars)


def _host(
    raw: RawInventory, name: str, members: dict[str, set[str]], depth: dict[str, int]
) -> InventoryHost:
    groups = [g for g, hosts in members.items() if name in hosts]
    order = sorted(groups, key=lambda g: (depth.get(g, 0), _priority(raw, g), g))
    merged: dict[str, Any] = {}
    for group in order:
        merged.update(raw.groups[group].vars)
    merged.update(raw.host_vars.get(name, {}))
    line = raw.host_lines.get(name, 1)

    def text(key: str) -> str | None:
        value = merged.get(key)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            raise raw.error(line, f"host {name!r}: {key} must be a plain value")
        return str(value)

    port_text = text("ansible_port") or text("ansible_ssh_port")
    port = port_number(port_text) if port_text is not None else None
    if port_text is not None and port is None:
        raise raw.error(line, f"host {name!r}: ansible_port {port_text!r} is not a port (1-65535)")
    return InventoryHost(
        name=name,
        address=text("ansible_host") or text("ansible_ssh_host") or name,
        port=port,
        user=text("ansible_user") or text("ansible_ssh_user"),
        key=text("ansible_ssh_private_key_file") or text("ansible_private_key_file"),
        ssh_options_given=_common_args(raw, name, line, text("ansible_ssh_common_args")),
        python=text("ansible_python_interpreter"),
        groups=tuple(sorted(g for g in groups if g != "all")),
    )


def _priority(raw: RawInventory, group: str) -> int:
    value = raw.groups[group].vars.get("ansible_group_priority", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _common_args(
    raw: RawInventory, host: str, line: int, args: str | None
) -> tuple[tuple[str, str], ...]:
    """`ansible_ssh_common_args` as `-o K=V` pairs. Anything else (-J, -F, a bare word)
    is refused: the text never reaches a shell, and each option is checked as --ssh-option
    is (no ProxyCommand, no BatchMode...)."""
    from netdx.host.ssh import parse_option, refused_by_ssh

    if not args:
        return ()
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise raw.error(line, f"host {host!r}: ansible_ssh_common_args: {exc}") from None
    out: list[tuple[str, str]] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-o" and index + 1 < len(words):
            option, index = words[index + 1], index + 2
        elif word.startswith("-o") and len(word) > 2:
            option, index = word[2:], index + 1
        else:
            raise raw.error(
                line,
                f"host {host!r}: ansible_ssh_common_args: only -o K=V options are accepted, "
                f"not {word!r}",
            )
        try:
            out.append(parse_option(option))
        except UsageError as exc:
            raise raw.error(line, f"host {host!r}: ansible_ssh_common_args: {exc}") from None
    # One the ssh client itself refuses is the inventory's mistake, said with its line
    # (not one ssh.error per host at the first run).
    why = refused_by_ssh(tuple(out), given_as="ansible_ssh_common_args: -o")
    if why is not None:
        raise raw.error(line, f"host {host!r}: {why}")
    return tuple(out)
