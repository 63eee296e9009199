"""The three topologies and what each allows on its system and worker pools (design §1-2)."""

from __future__ import annotations

from enum import StrEnum

from armful.core.arch import Arch
from armful.core.pools import PoolRole


class Topology(StrEnum):
    ARM_WORKERS = "arm-workers"
    ALL_ARM = "all-arm"
    MIXED = "mixed"

    def allowed_arches(self, role: PoolRole) -> frozenset[Arch]:
        return _ALLOWED_ARCHES[(self, role)]

    @property
    def summary(self) -> str:
        return _SUMMARIES[self]


_ALLOWED_ARCHES = {
    (Topology.ARM_WORKERS, PoolRole.SYSTEM): frozenset({Arch.AMD64}),
    (Topology.ARM_WORKERS, PoolRole.WORKERS): frozenset({Arch.ARM64}),
    (Topology.ALL_ARM, PoolRole.SYSTEM): frozenset({Arch.ARM64}),
    (Topology.ALL_ARM, PoolRole.WORKERS): frozenset({Arch.ARM64}),
    (Topology.MIXED, PoolRole.SYSTEM): frozenset({Arch.AMD64, Arch.ARM64}),
    (Topology.MIXED, PoolRole.WORKERS): frozenset({Arch.AMD64, Arch.ARM64}),
}

_SUMMARIES = {
    Topology.ARM_WORKERS: "x86 system pool, Graviton worker pools",
    Topology.ALL_ARM: "Graviton system and worker pools",
    Topology.MIXED: "x86 and Graviton worker pools side by side",
}
