"""The network ``pulumi up`` builds or uses, as the plan shows it before anything exists."""

from __future__ import annotations

from typing import Any

from armful.core.config import NetworkConfig
from armful.core.network_layout import subnet_layout


def network_description(network: NetworkConfig) -> dict[str, Any]:
    """A VPC Armful creates (its block, how many zones, each zone's subnets, the NAT gateways) or the
    existing VPC and subnets given. Zones are the IDs given (``zone_ids``) or, without them, chosen at
    deploy time from the region's standard zones that EKS supports, so the plan lists zones by position."""
    if not network.creates_vpc:
        return {
            "creates_vpc": False,
            "vpc_id": network.vpc_id,
            "private_subnet_ids": list(network.private_subnet_ids),
            "public_subnet_ids": list(network.public_subnet_ids),
        }
    layout = subnet_layout(network.cidr, network.availability_zones)
    return {
        "creates_vpc": True,
        "cidr": str(network.cidr),
        "availability_zones": network.availability_zones,
        "subnets": [
            {"zone": number, "private": str(private), "public": str(public)}
            for number, (private, public) in enumerate(
                zip(layout.private, layout.public, strict=True), start=1
            )
        ],
        "nat_gateways": 1 if network.single_nat_gateway else network.availability_zones,
        "zone_ids": list(network.zone_ids) or None,
    }


def network_lines(description: dict[str, Any]) -> list[str]:
    """The same for people."""
    if not description["creates_vpc"]:
        public = ", ".join(description["public_subnet_ids"]) or "none given"
        return [
            f"  existing VPC {description['vpc_id']}: nodes in private subnets "
            f"{', '.join(description['private_subnet_ids'])}; public subnets {public}"
        ]
    nat = description["nat_gateways"]
    zone_ids = description.get("zone_ids")
    chosen = (
        f"zones {', '.join(zone_ids)}"
        if zone_ids
        else "standard zones EKS supports, picked at deploy time by name whatever their state"
    )
    lines = [
        f"  new VPC {description['cidr']} over {description['availability_zones']} availability zones "
        f"({chosen}), "
        + ("one NAT gateway for all zones" if nat == 1 else f"a NAT gateway in each zone ({nat})")
    ]
    lines += [
        f"  zone {zone_ids[subnet['zone'] - 1] if zone_ids else subnet['zone']}: private {subnet['private']} "
        f"(nodes and pods), public {subnet['public']} (load balancers, NAT)"
        for subnet in description["subnets"]
    ]
    return lines
