"""What each instance type Armful accepts brings to a node: vCPUs, memory, and the network interfaces
that bound how many pods the VPC CNI can give an address.

The figures are EC2's own (``DescribeInstanceTypes``), as moto 5.2.5 ships them; the table lives in
``instance_catalog_data`` and tests/core/test_instance_catalog.py holds it against moto's file.
At deploy time ``aws.ec2.get_instance_type`` answers the same fields for the cross-check.

A type of an accepted family that the catalog lacks (EC2 adds sizes between moto releases) gets
None from ``instance_type``; its architecture still comes from its family (``arch``).
"""

# Families not in moto 5.2.5, and where their figures come from:
# - g4ad (AMD Radeon Pro V520, x86): moto 5.2.5's catalog no longer lists it. Its five types come
#   from EC2's DescribeInstanceTypes as moto 5.2.3 shipped it (getmoto/moto at tag 5.2.3,
#   moto/ec2/resources/instance_types.json). Their ENIs and IPv4 per ENI agree with
#   awslabs/amazon-eks-ami nodeadm/internal/kubelet/instance-info.jsonl (July 2026), and their max
#   pods with eni-max-pods.txt (g4ad.xlarge 8, .2xlarge 8, .4xlarge 29, .8xlarge 58, .16xlarge 234).
# Every other accepted family, the newest Graviton ones (m9g, m9gd, c9g, c9gd, r9g, r9gd, c8gb,
# r8gb, r8gn) included, is in moto 5.2.5.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from armful.core.arch import Arch, arch_of_instance_type, instance_family
from armful.core.instance_catalog_data import INSTANCE_TYPE_FIGURES


@dataclass(frozen=True)
class InstanceType:
    """One EC2 instance type as the scheduler's capacity model needs it."""

    name: str
    arch: Arch
    vcpus: int
    memory_mib: int
    # Over all network cards (EC2's ``MaximumNetworkInterfaces``). Only the default card's ENIs
    # carry pod addresses: the VPC CNI and nodeadm count ``default_card_max_enis``.
    max_enis: int
    default_card_max_enis: int
    ipv4_per_eni: int
    bare_metal: bool
    # The VPC CNI hands out /28 prefixes only on Nitro instances and bare metal; Xen ones
    # (t2, i3, ...) keep one address per secondary IP slot.
    nitro: bool

    @property
    def family(self) -> str:
        return instance_family(self.name)

    @property
    def supports_prefix_delegation(self) -> bool:
        return self.nitro or self.bare_metal


def _build_catalog() -> Mapping[str, InstanceType]:
    catalog = {}
    for name, (vcpus, memory, enis, default_card_enis, ipv4, metal, nitro) in INSTANCE_TYPE_FIGURES.items():
        arch = arch_of_instance_type(name)
        if arch is None:
            raise ValueError(f"instance type {name!r} is in the catalog but its family is in no arch table")
        catalog[name] = InstanceType(name, arch, vcpus, memory, enis, default_card_enis, ipv4, metal, nitro)
    return MappingProxyType(catalog)


CATALOG: Mapping[str, InstanceType] = _build_catalog()


def instance_type(name: str) -> InstanceType | None:
    """The catalog's entry for ``name`` (EC2 names are lower case; ``M7G.LARGE`` finds ``m7g.large``)."""
    return CATALOG.get(name.lower())


def family_sizes(family: str) -> list[InstanceType]:
    """Every type of a family the catalog has, smallest first."""
    return sorted(
        (known for known in CATALOG.values() if known.family == family),
        key=lambda known: (known.vcpus, known.memory_mib),
    )
