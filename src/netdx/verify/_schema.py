"""The pydantic schema of a flows file (imported only when a file is read: pydantic is
heavy). `netdx.verify.flows` turns a validated model into frozen `Flow`s."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netdx.options import TIMEOUT_MAX_S, TIMEOUT_MIN_S


def _timeout(value: float | None) -> float | None:
    if value is not None and (
        not math.isfinite(value) or not TIMEOUT_MIN_S <= value <= TIMEOUT_MAX_S
    ):
        raise ValueError(f"must be between {TIMEOUT_MIN_S:g} and {TIMEOUT_MAX_S:g} seconds")
    return value


class DefaultsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    timeout: float = 5.0

    _check_timeout = field_validator("timeout")(_timeout)


class FlowModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    source: str = Field(alias="from", min_length=1, max_length=255)
    to: str = Field(min_length=1, max_length=2048)
    expect: Literal["allow", "deny"]
    deny_by: list[str] = Field(default_factory=list)
    read_destination: bool = False
    timeout: float | None = None

    _check_timeout = field_validator("timeout")(_timeout)

    @field_validator("deny_by")
    @classmethod
    def _known_causes(cls, value: list[str]) -> list[str]:
        from netdx.diagnose import CAUSES, OTHER_CAUSES

        for cause in value:
            if cause not in CAUSES and cause not in OTHER_CAUSES:
                raise ValueError(f"unknown cause {cause!r} (see docs/causes.md)")
        return value

    @model_validator(mode="after")
    def _deny_by_needs_deny(self) -> FlowModel:
        if self.deny_by and self.expect != "deny":
            raise ValueError("deny_by is for flows that expect deny")
        if "ok" in self.deny_by:
            raise ValueError("deny_by cannot hold 'ok': an open port is not a deny")
        return self


class FlowsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    defaults: DefaultsModel = Field(default_factory=DefaultsModel)
    flows: list[FlowModel] = Field(min_length=1)
