"""Subnet layout for a VPC Armful creates: a large private subnet per AZ, a small public one per AZ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

from armful.core.errors import describe_pattern

# Eighths of the VPC block: up to six go to private subnets (nodes and pods take the addresses, since
# the VPC CNI gives every pod a VPC IP); the last eighth is cut into eight public subnets for load
# balancers and NAT gateways.
_SPLIT_BITS = 3


@dataclass(frozen=True)
class SubnetLayout:
    private: tuple[IPv4Network, ...]
    public: tuple[IPv4Network, ...]


def subnet_layout(cidr: IPv4Network, availability_zones: int) -> SubnetLayout:
    eighths = list(cidr.subnets(prefixlen_diff=_SPLIT_BITS))
    public_pool = list(eighths[-1].subnets(prefixlen_diff=_SPLIT_BITS))
    return SubnetLayout(
        private=tuple(eighths[:availability_zones]), public=tuple(public_pool[:availability_zones])
    )


# AZ IDs where EKS does not place a cluster's control-plane subnets (Amazon EKS User Guide, "View Amazon
# EKS networking requirements for VPC and subnets", subnet requirements). IDs, not names: the names
# map to different zones in different accounts.
EKS_UNSUPPORTED_ZONE_IDS = ("use1-az3", "usw1-az2", "cac1-az3")
ZONE_ID = describe_pattern(
    r"^[a-z]{2,}[0-9]+-az[0-9]+$",
    "a standard AZ's ID (the region's short name, -az and a number; the same zone in every account, "
    "unlike its name)",
    "usw2-az1",
)
# Standard AZs only: Local Zones and Wavelength Zones are opt-in, and EKS places neither control-plane
# subnets nor managed node groups there.
STANDARD_ZONES_FILTER = {"name": "opt-in-status", "values": ["opt-in-not-required"]}


class NotEnoughZonesError(ValueError):
    """The region has fewer AZs that EKS supports than the network asks for."""


def choose_zones(names: Sequence[str], zone_ids: Sequence[str], wanted: int, subject: str) -> list[str]:
    """The first ``wanted`` AZ names whose IDs EKS supports, or an error that names the fix."""
    usable = [
        name for name, zone_id in zip(names, zone_ids, strict=True) if zone_id not in EKS_UNSUPPORTED_ZONE_IDS
    ]
    if len(usable) >= wanted:
        return usable[:wanted]
    found = f"{len(usable)} ({', '.join(usable)})" if usable else "none"
    fix = (
        f"set availability_zones (stack config armful:network.availabilityZones) to {len(usable)}"
        if len(usable) >= 2
        else "use a region with at least two standard AZs that EKS supports"
    )
    raise NotEnoughZonesError(
        f"{subject}: availability_zones asks for {wanted} AZs, but the region has {found} standard AZs "
        f"where EKS can run (Local Zones and AZs {', '.join(EKS_UNSUPPORTED_ZONE_IDS)} are left out). "
        f"Fix: {fix}"
    )
