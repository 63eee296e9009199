"""Armful's instance catalog against EC2's own figures, as moto ships DescribeInstanceTypes.

A wrong vCPU, memory or ENI figure makes the capacity proof say a pod fits where it stays Pending
(or the reverse), and a wrong arch builds pools whose nodes cannot run their pods. So every type
the catalog shares with moto is held field by field against moto's file, every type moto lists for
an accepted family must be in the catalog, and the few types moto lacks are named here with where
their figures come from.
"""

from __future__ import annotations

from typing import Any

import pytest
from ec2_catalog import ec2_instance_types

from armful.core.arch import GRAVITON_FAMILIES, X86_FAMILIES, Arch, arch_of_instance_type
from armful.core.instance_catalog import CATALOG, InstanceType, instance_type

ACCEPTED_FAMILIES = GRAVITON_FAMILIES | X86_FAMILIES

# In the catalog but not in moto 5.2.5 (requirements-dev.txt's pin): moto 5.2.5 dropped g4ad, whose
# figures come from moto 5.2.3's DescribeInstanceTypes snapshot, checked by hand below.
TYPES_NOT_IN_MOTO = {"g4ad.xlarge", "g4ad.2xlarge", "g4ad.4xlarge", "g4ad.8xlarge", "g4ad.16xlarge"}

# Families of the arch tables that have no type in the catalog, each with the reason. None today:
# an entry here is how a family whose figures cannot be found stays accepted by arch.
FAMILIES_WITHOUT_TYPES: dict[str, str] = {}


def _moto_types() -> dict[str, Any]:
    described = ec2_instance_types()
    if described is None:
        pytest.skip("moto is not installed: pip install -r requirements-dev.txt (it pins moto)")
    return described


def _family(name: str) -> str:
    return name.split(".", 1)[0]


def _figures_from_ec2(described: dict[str, Any]) -> dict[str, Any]:
    """The catalog's fields as EC2's DescribeInstanceTypes states them."""
    network = described["NetworkInfo"]
    default_card = next(
        card
        for card in network["NetworkCards"]
        if card["NetworkCardIndex"] == network["DefaultNetworkCardIndex"]
    )
    architectures = described["ProcessorInfo"]["SupportedArchitectures"]
    arches = [arch for arch in Arch if arch.ec2_name in architectures]
    return {
        "arch": arches[0] if len(arches) == 1 else tuple(architectures),
        "vcpus": described["VCpuInfo"]["DefaultVCpus"],
        "memory_mib": described["MemoryInfo"]["SizeInMiB"],
        "max_enis": network["MaximumNetworkInterfaces"],
        "default_card_max_enis": default_card["MaximumNetworkInterfaces"],
        "ipv4_per_eni": network["Ipv4AddressesPerInterface"],
        "bare_metal": described["BareMetal"],
        "nitro": described.get("Hypervisor") == "nitro",
    }


def test_every_shared_type_matches_ec2_field_by_field() -> None:
    moto = _moto_types()
    mismatches = []
    for name, entry in CATALOG.items():
        if name in moto:
            mismatches += [
                f"{name}.{field}: catalog {getattr(entry, field)!r}, EC2 {figure!r}"
                for field, figure in _figures_from_ec2(moto[name]).items()
                if getattr(entry, field) != figure
            ]
    assert not mismatches, "\n".join(mismatches)


def test_every_type_moto_lists_for_an_accepted_family_is_in_the_catalog() -> None:
    missing = sorted(
        name for name in _moto_types() if _family(name) in ACCEPTED_FAMILIES and name not in CATALOG
    )
    assert not missing


def test_the_types_moto_lacks_are_exactly_the_named_ones() -> None:
    assert {name for name in CATALOG if name not in _moto_types()} == TYPES_NOT_IN_MOTO


@pytest.mark.parametrize(
    ("name", "vcpus", "memory_mib", "enis", "ipv4_per_eni"),
    [
        # moto 5.2.3's DescribeInstanceTypes; ENIs and IPv4 per ENI as nodeadm's instance-info.jsonl has them.
        ("g4ad.xlarge", 4, 16384, 2, 4),
        ("g4ad.2xlarge", 8, 32768, 2, 4),
        ("g4ad.4xlarge", 16, 65536, 3, 10),
        ("g4ad.8xlarge", 32, 131072, 4, 15),
        ("g4ad.16xlarge", 64, 262144, 8, 30),
    ],
)
def test_types_not_in_moto_carry_their_published_figures(
    name: str, vcpus: int, memory_mib: int, enis: int, ipv4_per_eni: int
) -> None:
    assert CATALOG[name] == InstanceType(
        name, Arch.AMD64, vcpus, memory_mib, enis, enis, ipv4_per_eni, bare_metal=False, nitro=True
    )


def test_every_family_has_types_or_a_reason_it_has_none() -> None:
    families_with_types = {entry.family for entry in CATALOG.values()}
    assert ACCEPTED_FAMILIES - families_with_types == set(FAMILIES_WITHOUT_TYPES)


def test_every_catalog_type_belongs_to_an_accepted_family() -> None:
    assert {entry.family for entry in CATALOG.values()} <= ACCEPTED_FAMILIES


@pytest.mark.parametrize(
    "instance_type_name",
    ["m9g.large", "m9gd.xlarge", "c9g.medium", "c9gd.2xlarge", "r9g.metal-48xl", "r9gd.large",
     "c8gb.large", "r8gb.xlarge", "r8gn.medium"],
)  # fmt: skip
def test_newest_graviton_families_are_arm64_in_arch_and_catalog(instance_type_name: str) -> None:
    assert arch_of_instance_type(instance_type_name) is Arch.ARM64
    entry = instance_type(instance_type_name)
    assert entry is not None
    assert entry.arch is Arch.ARM64


def test_a_size_the_catalog_lacks_still_has_its_familys_arch() -> None:
    assert instance_type("m7g.96xlarge") is None
    assert arch_of_instance_type("m7g.96xlarge") is Arch.ARM64


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("m7g.large", InstanceType("m7g.large", Arch.ARM64, 2, 8192, 3, 3, 10, bare_metal=False, nitro=True)),
        # Two network cards: only card 0's eight ENIs carry pod addresses.
        ("c6in.32xlarge", InstanceType("c6in.32xlarge", Arch.AMD64, 128, 262144, 16, 8, 50, False, True)),
        # Bare metal runs no hypervisor.
        ("a1.metal", InstanceType("a1.metal", Arch.ARM64, 16, 32768, 8, 8, 30, bare_metal=True, nitro=False)),
        # Xen: no prefix delegation.
        ("t2.micro", InstanceType("t2.micro", Arch.AMD64, 1, 1024, 2, 2, 2, bare_metal=False, nitro=False)),
    ],
)
def test_known_types_by_hand(name: str, expected: InstanceType) -> None:
    assert instance_type(name) == expected


def test_lookup_ignores_case_and_answers_none_for_unknown_names() -> None:
    assert instance_type("M7G.LARGE") == instance_type("m7g.large")
    assert instance_type("m7g.large") is not None
    assert instance_type("zz9.large") is None
    assert instance_type("m5.large") is not None
    assert instance_type("m4.large") is None  # a real EC2 type, of a family Armful does not accept
