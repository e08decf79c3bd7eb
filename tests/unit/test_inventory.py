"""Ansible inventories as netdx verify reads them: INI, YAML and `ansible-inventory --list`
JSON, with ranges, children, `all`/`ungrouped`, variable precedence and refused input."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdx.errors import UsageError
from netdx.verify.inventory import Inventory, load_inventory, parse_inventory

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"


def names(inventory: Inventory, group: str) -> list[str]:
    members = inventory.members(group)
    assert members is not None
    return [h.name for h in members]


def test_ini_groups_ranges_children_and_ungrouped() -> None:
    """Ranges expand in order, children's hosts belong to the parent, and a host before any
    section is in `ungrouped` and `all`."""
    inv = load_inventory(FIXTURES / "hosts.ini")
    assert names(inv, "web") == ["web01", "web02", "web03", "web-canary"]
    assert names(inv, "db") == ["db-a", "db-b", "db-c"]
    assert set(names(inv, "prod")) == {*names(inv, "web"), *names(inv, "db"), "pay01"}
    assert names(inv, "ungrouped") == ["bastion"]
    assert len(names(inv, "all")) == 9
    assert inv.members("nosuch") is None


def test_ini_precedence_host_over_child_group_over_parent_over_all() -> None:
    """A host's own var beats its groups'; a child group's (web) beats its parent's (prod);
    `all:vars` is the weakest; `host:port` sets the port."""
    inv = load_inventory(FIXTURES / "hosts.ini")
    web01, canary, db_a = inv.host("web01"), inv.host("web-canary"), inv.host("db-a")
    assert web01 is not None and canary is not None and db_a is not None
    assert web01.user == "deploy"  # host var
    assert canary.user == "www"  # [web:vars] (depth 2) over [prod:vars] (depth 1)
    assert db_a.user == "ops"  # [prod:vars]
    assert db_a.port == 22  # [all:vars]
    assert canary.port == 2222 and canary.address == "192.0.2.50"


def test_ini_host_ssh_options() -> None:
    """ansible_host, _user, _port, the key and ansible_ssh_common_args' -o options become
    one SshOptions; the interpreter is kept."""
    inv = load_inventory(FIXTURES / "hosts.ini")
    pay = inv.host("pay01")
    assert pay is not None
    assert pay.python == "/usr/bin/python3.11"
    ssh = pay.ssh_options()
    assert ssh.destination == "ops@10.0.0.10"
    assert ssh.key == "/keys/pay"
    assert ssh.options == (
        ("Port", "22"),
        ("StrictHostKeyChecking", "accept-new"),
        ("ServerAliveInterval", "5"),
    )


def test_yaml_inventory() -> None:
    """The YAML form: nested children, hosts with ranges and ports, group and host vars."""
    inv = load_inventory(FIXTURES / "hosts.yml")
    assert names(inv, "web") == ["web01", "web02", "web-canary"]
    assert names(inv, "db") == ["db-a", "db-b"]
    assert set(names(inv, "prod")) == {"web01", "web02", "web-canary", "db-a", "db-b"}
    canary, db_b, bastion = inv.host("web-canary"), inv.host("db-b"), inv.host("bastion")
    assert canary is not None and db_b is not None and bastion is not None
    assert (canary.user, canary.port, canary.address) == ("www", 2222, "192.0.2.50")
    assert (db_b.user, db_b.port) == ("admin", 2200)
    assert bastion.groups == ("ungrouped",)


def test_json_list_inventory() -> None:
    """`ansible-inventory --list`: groups with hosts lists and `_meta.hostvars`."""
    inv = load_inventory(FIXTURES / "list.json")
    assert names(inv, "web") == ["web01"]
    web01, db01 = inv.host("web01"), inv.host("db01")
    assert web01 is not None and db01 is not None
    assert web01.ssh_options().destination == "deploy@10.0.1.1"
    assert db01.ssh_options().options == (("Port", "2222"),)


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ("[a:children]\nb\n[b:children]\na\n", "h.ini", "h.ini:4: a cycle of groups: a -> b -> a"),
        ("[a:children]\nb\n", "h.ini", "h.ini:2: [a:children] names 'b', which no section defines"),
        ("[a:vars]\nx=1\n", "h.ini", "h.ini:1: [a:vars] is for a group no section defines"),
        ("[web]\nweb[3:1]\n", "h.ini", "h.ini:2: bad host range [3:1]: the range runs backwards"),
        ("[web]\nweb:99999\n", "h.ini", "h.ini:2: bad port '99999' in host 'web:99999'"),
        ("[web:host]\n", "h.ini", "h.ini:1: section [web:host] has an unknown type 'host'"),
        ("- a\n- b\n", "h.yml", "h.yml:1: a YAML inventory must be a mapping of groups"),
        (
            "all:\n  children:\n    a:\n      children:\n        b:\n"
            "          children:\n            a:\n",
            "h.yml",
            "h.yml:7: a cycle of groups: a -> b -> a",
        ),
        ("all:\n  host:\n    x:\n", "h.yml", "h.yml:2: group 'all': unexpected key 'host'"),
        (
            '{"a": {"children": ["b"]},\n "b": {"children": ["a"]}}',
            "l.json",
            "l.json:2: a cycle of groups: a -> b -> a",
        ),
        ('{"a": {"children": ["zz"]}}', "l.json", "l.json:1: group 'a' has child 'zz'"),
    ],
)
def test_bad_inventories_name_file_and_line(text: str, source: str, expected: str) -> None:
    """A bad inventory is one UsageError line that starts with FILE:LINE and says what."""
    with pytest.raises(UsageError) as info:
        parse_inventory(text, source=source)
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ("-J bastion", "only -o K=V options are accepted, not '-J'"),
        ("-o ProxyCommand='nc %h %p'", "refused: it runs a local command"),
        ("-o BatchMode=no", "refused: netdx always uses BatchMode=yes"),
        ("; rm -rf /", "only -o K=V options are accepted"),
        # one the ssh client itself refuses, in its words (`ssh -F /dev/null -G`)
        ("-o x=y", "-o 'x=y': ssh refuses it: command-line: line 0: Bad configuration option: x"),
        ("-o Port=abc", "-o 'Port=abc': ssh refuses it: command-line line 0: Bad port 'abc'"),
    ],
)
def test_common_args_other_than_o_options_are_refused(args: str, why: str) -> None:
    """ansible_ssh_common_args gives only `-o K=V` options netdx lets through; anything else
    is refused with the host and the reason, never handed to a shell."""
    text = f'[web]\nw1 ansible_ssh_common_args="{args}"\n'
    with pytest.raises(UsageError) as info:
        parse_inventory(text, source="h.ini")
    assert str(info.value).startswith("h.ini:2: host 'w1': ansible_ssh_common_args:")
    assert why in str(info.value)


def test_json_text_is_detected_without_extension() -> None:
    """JSON text in a file without an extension is read as `ansible-inventory --list`."""
    inv = parse_inventory('{"web": {"hosts": ["w1"]}}', source="inventory")
    assert names(inv, "web") == ["w1"]


def test_ungrouped_is_only_hosts_of_no_other_group() -> None:
    """A host listed before the first section and again under a group is not ungrouped."""
    inv = parse_inventory("lone\nboth\n[web]\nboth\n", source="h.ini")
    assert names(inv, "ungrouped") == ["lone"]
    assert names(inv, "web") == ["both"]


def test_sibling_groups_merge_by_priority_then_name() -> None:
    """Groups at the same depth merge by name (the later name wins) unless
    ansible_group_priority says otherwise, as Ansible documents."""
    text = "[a]\nh\n[b]\nh\n[a:vars]\nansible_user=from_a\n[b:vars]\nansible_user=from_b\n"
    plain = parse_inventory(text, source="h.ini").host("h")
    assert plain is not None and plain.user == "from_b"
    ranked = parse_inventory(text + "[a:vars]\nansible_group_priority=10\n", source="h.ini")
    host = ranked.host("h")
    assert host is not None and host.user == "from_a"
