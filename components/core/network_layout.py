"""Subnet layout for a VPC Armful creates: a large private subnet per AZ, a small public one per AZ."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

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
