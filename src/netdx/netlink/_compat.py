"""Frozen dataclasses that also import on Python 3.9, the oldest python3 a server may have.

`slots=` and `kw_only=` (3.10+) keep their meaning where they exist; on 3.9 the classes are
plain frozen dataclasses (a little more memory, positional construction not refused), which
is all a shipped collector needs. mypy sees the 3.10+ behaviour through dataclass_transform.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    from typing_extensions import dataclass_transform

    T = TypeVar("T")

    @dataclass_transform(frozen_default=True, kw_only_default=True)
    def value(cls: type[T]) -> type[T]:
        """A frozen, slotted, keyword-only dataclass."""
        ...

    @dataclass_transform(frozen_default=True)
    def record(cls: type[T]) -> type[T]:
        """A frozen, slotted dataclass."""
        ...

elif hasattr(dataclasses, "KW_ONLY"):  # 3.10+ (a version test that linters keep)
    value = dataclass(frozen=True, slots=True, kw_only=True)
    record = dataclass(frozen=True, slots=True)
else:  # pragma: no cover - exercised by the 3.9 check of the collector bundle
    value = dataclass(frozen=True)
    record = dataclass(frozen=True)
