"""Lets the diagnose tests import the shared evidence literals of tests/unit.

pytest puts only this folder on sys.path for the test modules here (the tests have no
__init__.py), and `evidence_cases` lives one level up, beside the other unit tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

_UNIT = str(Path(__file__).resolve().parents[1])
if _UNIT not in sys.path:
    sys.path.insert(0, _UNIT)
