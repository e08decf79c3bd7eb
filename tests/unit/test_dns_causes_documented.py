"""Every cause `netdx dns` can emit is in the public vocabulary of docs/causes.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_dns_command_cause_is_documented() -> None:
    """Cause codes written in the DNS rules (src/netdx/diagnose/dns*.py) and anywhere in
    src/netdx/dns/ each have a heading in docs/causes.md."""
    codes: set[str] = set()
    src = ROOT / "src" / "netdx"
    for module in [*(src / "dns").glob("*.py"), *(src / "diagnose").glob("dns*.py")]:
        codes |= set(re.findall(r'"(dns\.[a-z_]+)"', module.read_text()))
    assert codes, "no cause codes found: the pattern no longer matches the sources"
    docs = (ROOT / "docs" / "causes.md").read_text()
    missing = sorted(c for c in codes if f"### `{c}`" not in docs)
    assert missing == []
