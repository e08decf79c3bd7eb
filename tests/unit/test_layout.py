"""Test modules outside a package must have unique basenames: pytest imports them by
basename (rootdir mode), so tests/unit/test_x.py beside tests/lab/test_x.py stops the whole
run at collection (it did once, in CI, with test_capture.py)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_test_module_basenames_are_unique() -> None:
    """No two test modules that are not inside a package share a file name."""
    seen: defaultdict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        if not (path.parent / "__init__.py").exists():
            seen[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: places for name, places in seen.items() if len(places) > 1}
    assert clashes == {}
