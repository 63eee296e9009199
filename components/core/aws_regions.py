"""The AWS regions EKS runs in, with the standard AZs in each where EKS places clusters.

A region's count leaves out Local and Wavelength Zones and the AZs EKS does not use (use1-az3,
usw1-az2, cac1-az3: ``network_layout.EKS_UNSUPPORTED_ZONE_IDS``), so a VPC asking for more AZs than
the count is refused before anything is created instead of failing half-way through ``pulumi up``.
The table is EC2's regions and AZ IDs as ``moto`` ships them (tests/core/test_aws_regions.py holds it
to that copy); add a region here when AWS opens one.
"""

from __future__ import annotations

import difflib
import re

EKS_REGIONS: dict[str, int] = {
    "af-south-1": 3,
    "ap-east-1": 3,
    "ap-east-2": 3,
    "ap-northeast-1": 3,
    "ap-northeast-2": 4,
    "ap-northeast-3": 3,
    "ap-south-1": 3,
    "ap-south-2": 3,
    "ap-southeast-1": 3,
    "ap-southeast-2": 3,
    "ap-southeast-3": 3,
    "ap-southeast-4": 3,
    "ap-southeast-5": 3,
    "ap-southeast-6": 3,
    "ap-southeast-7": 3,
    "ca-central-1": 3,
    "ca-west-1": 3,
    "cn-north-1": 2,
    "cn-northwest-1": 3,
    "eu-central-1": 3,
    "eu-central-2": 3,
    "eu-north-1": 3,
    "eu-south-1": 3,
    "eu-south-2": 3,
    "eu-west-1": 3,
    "eu-west-2": 3,
    "eu-west-3": 3,
    "il-central-1": 3,
    "me-central-1": 3,
    "me-south-1": 3,
    "mx-central-1": 3,
    "sa-east-1": 3,
    "us-east-1": 5,
    "us-east-2": 3,
    "us-gov-east-1": 3,
    "us-gov-west-1": 3,
    "us-west-1": 2,
    "us-west-2": 4,
}
"""Region → how many standard AZs EKS can place a cluster's subnets in."""


def region_problem(region: str) -> tuple[str, str] | None:
    """(problem, fix) for a region EKS does not run in, or None."""
    if region in EKS_REGIONS:
        return None
    problem = f"{region!r} is not an AWS region EKS runs in (Armful's table lists {len(EKS_REGIONS)})"
    lowered = region.strip().lower()
    if lowered in EKS_REGIONS:
        return problem, f"write it as {lowered}"
    close = difflib.get_close_matches(lowered, EKS_REGIONS, n=1, cutoff=0.7)
    fix = f"did you mean {close[0]}?" if close else "use a region such as us-west-2"
    if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", lowered):
        fix += f" If AWS has opened {lowered} since, add it to components/core/aws_regions.py"
    return problem, fix


def zones_problem(region: str, wanted: int) -> tuple[str, str] | None:
    """(problem, fix) when ``region`` has fewer standard AZs EKS supports than ``wanted``."""
    available = EKS_REGIONS.get(region)
    if available is None or wanted <= available:
        return None
    return (
        f"availabilityZones asks for {wanted} AZs, but {region} has {available} standard AZs where EKS "
        "places clusters",
        f"set network.availabilityZones to {available} or fewer, or use a region with {wanted} AZs",
    )
