"""CPU architectures, and the architecture of an instance type by its family.

The family tables are Armful's own and live with the instance catalog's data
(``instance_catalog_data``), so one definition says which families exist and of which arch. Names
are never guessed with a regex (``a1`` is Graviton 1, ``x8g``, ``g5g``, ``i4g`` and ``hpc7g`` are
Arm and easy to miss). At deploy time each pool's instance types are cross-checked with EC2 so a
wrong entry fails at preview.
"""

from __future__ import annotations

from enum import StrEnum

from armful.core.instance_catalog_data import GRAVITON_FAMILIES, X86_FAMILIES

__all__ = ["GRAVITON_FAMILIES", "X86_FAMILIES", "Arch", "arch_of_instance_type", "instance_family"]


class Arch(StrEnum):
    """Kubernetes' names for the architectures (the values of the ``kubernetes.io/arch`` label)."""

    AMD64 = "amd64"
    ARM64 = "arm64"

    @property
    def ec2_name(self) -> str:
        """The name EC2 uses in ``processorInfo.supportedArchitectures``."""
        return {Arch.AMD64: "x86_64", Arch.ARM64: "arm64"}[self]

    @property
    def platform(self) -> str:
        """The OCI platform string an image index lists for this architecture."""
        return f"linux/{self.value}"


def instance_family(instance_type: str) -> str:
    """``m7g.large`` → ``m7g``; ``m7i-flex.large`` → ``m7i-flex``."""
    return instance_type.split(".", 1)[0].lower()


def arch_of_instance_type(instance_type: str) -> Arch | None:
    """The architecture of an instance type's family, or None for a family Armful does not accept.

    Answered per family: a size that the catalog lacks is still of its family's arch.
    """
    family = instance_family(instance_type)
    if family in GRAVITON_FAMILIES:
        return Arch.ARM64
    if family in X86_FAMILIES:
        return Arch.AMD64
    return None
