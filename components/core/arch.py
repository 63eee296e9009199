"""CPU architectures and the instance-type table that decides a pool's architecture.

The table is Armful's own: names are never guessed with a regex (``a1`` is Graviton 1, ``x8g``,
``g5g``, ``i4g`` and ``hpc7g`` are Arm and easy to miss). At deploy time each pool's instance types
are cross-checked with EC2 so a wrong entry here fails at preview.
"""

from __future__ import annotations

from enum import StrEnum


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


GRAVITON_FAMILIES: frozenset[str] = frozenset(
    {
        # Graviton 1
        "a1",
        # Graviton 2
        "t4g", "m6g", "m6gd", "c6g", "c6gd", "c6gn", "r6g", "r6gd", "x2gd", "im4gn", "is4gen",
        "i4g", "g5g",
        # Graviton 3 / 3E
        "m7g", "m7gd", "c7g", "c7gd", "c7gn", "r7g", "r7gd", "hpc7g",
        # Graviton 4
        "m8g", "m8gd", "m8gn", "m8gb", "c8g", "c8gd", "c8gn", "r8g", "r8gd", "x8g", "i8g", "i8ge",
    }
)  # fmt: skip

X86_FAMILIES: frozenset[str] = frozenset(
    {
        # burstable
        "t2", "t3", "t3a",
        # general purpose
        "m5", "m5a", "m5d", "m5ad", "m5n", "m5dn", "m5zn", "m6i", "m6id", "m6in", "m6idn", "m6a",
        "m7i", "m7i-flex", "m7a", "m8i", "m8i-flex", "m8a",
        # compute optimised
        "c5", "c5a", "c5d", "c5ad", "c5n", "c6i", "c6id", "c6in", "c6a", "c7i", "c7i-flex", "c7a",
        "c8i", "c8i-flex", "c8a",
        # memory optimised
        "r5", "r5a", "r5d", "r5ad", "r5n", "r5dn", "r5b", "r6i", "r6id", "r6in", "r6idn", "r6a",
        "r7i", "r7iz", "r7a", "r8i", "r8i-flex", "r8a", "x2idn", "x2iedn", "x2iezn", "z1d",
        # storage optimised
        "i3", "i3en", "i4i", "i7i", "i7ie", "d3", "d3en",
        # accelerated and HPC
        "g4dn", "g4ad", "g5", "g6", "g6e", "g6f", "gr6", "p4d", "p5", "p5e", "p5en", "inf2",
        "trn1", "trn1n", "trn2", "hpc6a", "hpc6id", "hpc7a",
    }
)  # fmt: skip


def instance_family(instance_type: str) -> str:
    """``m7g.large`` → ``m7g``; ``m7i-flex.large`` → ``m7i-flex``."""
    return instance_type.split(".", 1)[0].lower()


def arch_of_instance_type(instance_type: str) -> Arch | None:
    """The architecture of an instance type from Armful's table, or None for an unknown family."""
    family = instance_family(instance_type)
    if family in GRAVITON_FAMILIES:
        return Arch.ARM64
    if family in X86_FAMILIES:
        return Arch.AMD64
    return None
