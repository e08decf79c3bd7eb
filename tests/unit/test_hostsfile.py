"""The /etc/hosts parser, checked against what glibc 2.36's getaddrinfo really returned.

`fixtures/dns/hosts.tricky` was bind-mounted as /etc/hosts in a network namespace and
`fixtures/dns/capture_gai.py` recorded getaddrinfo's answers for each name and family in
`hosts.tricky.glibc-2.36.json` (an "error:EAI_*" string where the file gave nothing).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netdx.model.evidence import Family
from netdx.probes.hostsfile import lookup, parse

FIXTURES = Path(__file__).parent / "fixtures" / "dns"
TRICKY = (FIXTURES / "hosts.tricky").read_text()
GLIBC: dict[str, dict[str, list[str] | str]] = json.loads(
    (FIXTURES / "hosts.tricky.glibc-2.36.json").read_text()
)
CASES = [(name, fam) for name, by_family in GLIBC.items() for fam in by_family]


def _family(key: str) -> Family | None:
    families: dict[str, Family | None] = {"any": None, "4": 4, "6": 6}
    return families[key]


@pytest.mark.parametrize(("name", "fam"), CASES)
def test_lookup_matches_glibc(name: str, fam: str) -> None:
    """For every name and family, lookup() gives the addresses glibc gave (same order for
    one family; as a set for AF_UNSPEC, which getaddrinfo re-sorts by RFC 6724)."""
    glibc = GLIBC[name][fam]
    expected = [] if isinstance(glibc, str) else list(dict.fromkeys(glibc))
    got = lookup(TRICKY, name, family=_family(fam))
    if fam == "any":
        assert set(got) == set(expected)
    else:
        assert list(got) == expected


def test_every_matching_line_counts_in_file_order() -> None:
    """A name on several lines gets all their addresses, first line first, deduplicated."""
    assert lookup(TRICKY, "db-server-01", family=4) == ("10.20.0.5", "10.20.0.6")
    assert lookup(TRICKY, "db-server-01") == ("10.20.0.5", "10.20.0.6", "2001:db8::5")


def test_names_compare_case_insensitively_ascii_only() -> None:
    """Names match like strcasecmp: ASCII letters fold, other characters must be equal."""
    text = "10.0.0.1 Bücher.Example\n10.0.0.2 BÜCHER.example\n"
    assert lookup(text, "bücher.example") == ("10.0.0.1",)


def test_comments_and_bad_addresses_are_skipped() -> None:
    """`#` ends a line anywhere; lines whose address inet_pton rejects are ignored whole."""
    entries = parse(TRICKY)
    names = {n for e in entries for n in e.names}
    assert "cache2" not in names and "cache.corp.example" not in names
    assert "cache" in names
    assert not {"shortform", "leadingzero", "scoped", "badoctet"} & names
    assert all(e.address != "10.20.0.9" for e in entries)  # an address without a name


def test_parse_keeps_line_numbers_and_families() -> None:
    """Entries carry their 1-based line, canonical address and family."""
    first = parse(TRICKY)[0]
    assert (first.line, first.address, first.family, first.names) == (
        2,
        "127.0.0.1",
        4,
        ("localhost",),
    )
    mapped = next(e for e in parse(TRICKY) if "mapped" in e.names)
    assert (mapped.address, mapped.family) == ("::ffff:10.20.0.10", 6)


def test_ipv4_lookup_maps_loopback_and_v4_mapped() -> None:
    """An AF_INET lookup turns ::1 into 127.0.0.1 and ::ffff:a.b.c.d into a.b.c.d."""
    assert lookup(TRICKY, "ip6-localhost", family=4) == ("127.0.0.1",)
    assert lookup(TRICKY, "mapped", family=4) == ("10.20.0.10",)
    assert lookup(TRICKY, "v6only", family=4) == ()


def test_trailing_dot_is_not_removed() -> None:
    """`name.` and `name` are different strings to nss_files."""
    assert lookup(TRICKY, "trailing.dot.example.") == ("10.20.0.13",)
    assert lookup(TRICKY, "trailing.dot.example") == ()


def test_empty_and_whitespace_only_text() -> None:
    """No usable line: no entries and no addresses."""
    assert parse("") == ()
    assert lookup(" \n\t\n# only a comment\n", "localhost") == ()
