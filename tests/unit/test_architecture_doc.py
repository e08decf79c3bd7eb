"""docs/architecture.md keeps up with the tree: every package of netdx has its row."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_described() -> None:
    """Each folder of src/netdx with an __init__.py appears as `name/` in the package table."""
    packages = sorted(p.parent.name for p in (ROOT / "src" / "netdx").glob("*/__init__.py"))
    assert packages, "no packages found under src/netdx"
    doc = (ROOT / "docs" / "architecture.md").read_text()
    assert [name for name in packages if f"| `{name}/` |" not in doc] == []
