"""Taints, in the one place that maps Kubernetes' effect names to the EKS API's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"

    @property
    def eks_name(self) -> str:
        """EKS's managed node group API spells effects ``NO_SCHEDULE`` and so on."""
        return _EKS_EFFECT_NAMES[self]

    @property
    def filters_scheduling(self) -> bool:
        """NoSchedule and NoExecute keep untolerating pods off a node; PreferNoSchedule only steers."""
        return self is not TaintEffect.PREFER_NO_SCHEDULE


_EKS_EFFECT_NAMES = {
    TaintEffect.NO_SCHEDULE: "NO_SCHEDULE",
    TaintEffect.PREFER_NO_SCHEDULE: "PREFER_NO_SCHEDULE",
    TaintEffect.NO_EXECUTE: "NO_EXECUTE",
}


@dataclass(frozen=True, order=True)
class Taint:
    key: str
    value: str
    effect: TaintEffect

    @classmethod
    def from_kubernetes(cls, taint: Mapping[str, str]) -> Taint:
        """``{"key", "value"?, "effect"?: "NoSchedule"}``, the form users write; effect defaults to NoSchedule."""
        return cls(
            taint["key"], taint.get("value", ""), TaintEffect(taint.get("effect", TaintEffect.NO_SCHEDULE))
        )

    def to_kubernetes(self) -> dict[str, str]:
        """The form users see and nodes carry: ``{"key", "value", "effect": "NoSchedule"}``."""
        return {"key": self.key, "value": self.value, "effect": self.effect.value}

    def to_eks(self) -> dict[str, str]:
        """The form ``aws.eks.NodeGroup`` takes: ``{"key", "value", "effect": "NO_SCHEDULE"}``."""
        return {"key": self.key, "value": self.value, "effect": self.effect.eks_name}

    def toleration(self) -> dict[str, str]:
        """A toleration that matches exactly this taint."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect.value}

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect.value}"
