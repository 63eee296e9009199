"""Findings: what ``plan`` reports about a stack, errors making its exit status non-zero."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FindingLevel(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    level: FindingLevel
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"level": self.level.value, "code": self.code, "message": self.message}
