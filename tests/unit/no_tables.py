"""A child process's start that shows it this host's firewall as one without tables.

Tests that record what a whole `netdx check` imports run it in a child that first executes
NO_TABLES. Whatever the machine holds at the time (in CI an earlier lab test's iptables
module can leave an empty legacy `filter` table in the root namespace), the check's firewall
probe then finds no table and takes the shortcut of a host without one, as on a fresh
machine: a ruleset to read would bring `subprocess` (with socket, signal and selectors) and
the firewall parsers, whose imports are not these tests' subject. Each test that uses it
still fails when a table is read: making `no_tables` raise fails them.
"""

NO_TABLES = """import builtins, sys
_import_before_no_tables = builtins.__import__
def _no_tables(timeout):
    return sys.modules["netdx.firewall.present"].Present(nft=frozenset(), legacy=frozenset())
def _import_without_tables(name, *args, **kwargs):
    module = _import_before_no_tables(name, *args, **kwargs)
    present = sys.modules.get("netdx.firewall.present")
    if present is not None:
        present.present = _no_tables
    return module
builtins.__import__ = _import_without_tables
"""
