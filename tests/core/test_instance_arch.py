"""An instance type's architecture comes from Armful's own table, never from a guess at its name.

A wrong answer here builds a pool whose nodes cannot run what is scheduled on them (exec format
error at run time), so every Graviton family the design names is checked, along with x86 families
whose names look Arm-ish to a regex (``g5``, ``g4dn``) and names that only look like real families.
"""

from __future__ import annotations

import pytest

from armful.core.arch import (
    GRAVITON_FAMILIES,
    X86_FAMILIES,
    Arch,
    arch_of_instance_type,
    instance_family,
)

# One instance type per Graviton family (design §1 and the issue), by generation.
GRAVITON_INSTANCE_TYPES = [
    # Graviton 1: easy to miss, no "g" in the name.
    "a1.medium",
    "a1.metal",
    # Graviton 2
    "t4g.nano",
    "t4g.2xlarge",
    "m6g.large",
    "m6gd.xlarge",
    "c6g.large",
    "c6gd.2xlarge",
    "c6gn.16xlarge",
    "r6g.large",
    "r6gd.4xlarge",
    "x2gd.xlarge",
    "im4gn.large",
    "is4gen.medium",
    "i4g.large",
    "g5g.xlarge",
    # Graviton 3 / 3E
    "m7g.large",
    "m7gd.metal",
    "c7g.large",
    "c7gd.xlarge",
    "c7gn.2xlarge",
    "r7g.large",
    "r7gd.12xlarge",
    "hpc7g.16xlarge",
    # Graviton 4
    "m8g.large",
    "m8gd.48xlarge",
    "m8gn.xlarge",
    "m8gb.xlarge",
    "c8g.large",
    "c8gd.xlarge",
    "c8gn.2xlarge",
    "r8g.large",
    "r8gd.metal-24xl",
    "x8g.large",
]

X86_INSTANCE_TYPES = [
    "m7i.large",
    "m7i-flex.large",
    "c7a.xlarge",
    "r6i.2xlarge",
    "t3.medium",
    "t3a.small",
    "m5.large",
    "m6i.large",
    "c5.large",
    # GPU families whose names a "contains g" guess would call Arm.
    "g5.xlarge",
    "g4dn.xlarge",
    "g6.xlarge",
    "gr6.4xlarge",
    "p5.48xlarge",
]

# Names shaped like real families but not in the table: Armful must say "unknown", not guess.
UNKNOWN_INSTANCE_TYPES = [
    "zz9.large",
    "m99g.large",  # ends in "g" like Graviton families
    "q7i.large",  # ends in "i" like Intel families
    "m7.large",
    "graviton.large",
]


@pytest.mark.parametrize("instance_type", GRAVITON_INSTANCE_TYPES, ids=str)
def test_graviton_families_are_arm64(instance_type: str) -> None:
    assert arch_of_instance_type(instance_type) is Arch.ARM64


@pytest.mark.parametrize("instance_type", X86_INSTANCE_TYPES, ids=str)
def test_common_x86_families_are_amd64(instance_type: str) -> None:
    assert arch_of_instance_type(instance_type) is Arch.AMD64


@pytest.mark.parametrize("instance_type", UNKNOWN_INSTANCE_TYPES, ids=str)
def test_unknown_family_has_no_arch(instance_type: str) -> None:
    assert arch_of_instance_type(instance_type) is None


@pytest.mark.parametrize(
    ("instance_type", "family"),
    [
        ("m7g.large", "m7g"),
        ("m7i-flex.large", "m7i-flex"),
        ("r8gd.metal-24xl", "r8gd"),
        ("M7G.LARGE", "m7g"),
    ],
    ids=["plain", "hyphenated-family", "metal-size", "upper-case"],
)
def test_instance_family_is_the_part_before_the_size(instance_type: str, family: str) -> None:
    assert instance_family(instance_type) == family


def test_no_family_is_listed_as_both_architectures() -> None:
    assert GRAVITON_FAMILIES.isdisjoint(X86_FAMILIES)


@pytest.mark.parametrize(
    ("arch", "ec2_name", "platform"),
    [(Arch.AMD64, "x86_64", "linux/amd64"), (Arch.ARM64, "arm64", "linux/arm64")],
    ids=["amd64", "arm64"],
)
def test_arch_names_for_ec2_and_image_platforms(arch: Arch, ec2_name: str, platform: str) -> None:
    """EC2's supportedArchitectures and OCI platforms spell the arches differently from Kubernetes."""
    assert arch.ec2_name == ec2_name
    assert arch.platform == platform
