"""The three topologies, and what each means as data (design §1-2): the arches each role's pools may
have, whether worker pools of both arches are required, and whether one arch is preferred, so that
pools of the other are tainted and apps without a build of the preferred arch go there.

Code asks a topology what it means; it never branches on which topology it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from armful.core.arch import Arch
from armful.core.pools import PoolRole

ARM_ONLY = frozenset({Arch.ARM64})
X86_ONLY = frozenset({Arch.AMD64})
BOTH = frozenset(Arch)


@dataclass(frozen=True)
class TopologyTraits:
    summary: str
    system_arches: frozenset[Arch]
    worker_arches: frozenset[Arch]
    workers_need_every_arch: bool
    """Worker pools of every arch in ``worker_arches`` must exist (else it is another topology)."""
    has_preferred_arch: bool
    """Apps land on the preferred arch (``preferredArch``); pools of the other arch are tainted, and an
    app without a build of the preferred arch goes to them instead of being an error."""
    default_app_arch: Arch = Arch.ARM64
    """Where apps land unless they or ``preferredArch`` say otherwise: Graviton, as Armful is for Arm."""


class Topology(StrEnum):
    ARM_WORKERS = "arm-workers"
    ALL_ARM = "all-arm"
    MIXED = "mixed"

    @property
    def traits(self) -> TopologyTraits:
        return _TRAITS[self]

    @property
    def summary(self) -> str:
        return self.traits.summary

    def allowed_arches(self, role: PoolRole) -> frozenset[Arch]:
        return self.traits.system_arches if role is PoolRole.SYSTEM else self.traits.worker_arches

    @property
    def workers_need_every_arch(self) -> bool:
        return self.traits.workers_need_every_arch

    @property
    def has_preferred_arch(self) -> bool:
        return self.traits.has_preferred_arch

    def app_arch(self, preferred: Arch | None) -> Arch:
        """The arch apps land on unless they say otherwise: the preferred one where the topology takes
        one, else its default."""
        if self.has_preferred_arch and preferred is not None:
            return preferred
        return self.traits.default_app_arch

    def tainted_arch(self, arch: Arch, preferred: Arch | None) -> bool:
        """Whether worker pools of ``arch`` carry the arch taint that makes apps opt in to them."""
        return self.has_preferred_arch and arch is not self.app_arch(preferred)


_TRAITS = {
    Topology.ARM_WORKERS: TopologyTraits(
        "x86 system pool, Graviton worker pools", X86_ONLY, ARM_ONLY, False, False
    ),
    Topology.ALL_ARM: TopologyTraits("Graviton system and worker pools", ARM_ONLY, ARM_ONLY, False, False),
    Topology.MIXED: TopologyTraits("x86 and Graviton worker pools side by side", BOTH, BOTH, True, True),
}
