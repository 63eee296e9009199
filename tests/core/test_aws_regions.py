"""Armful's table of regions and their AZs, held to EC2's as moto ships it and to botocore's EKS regions."""

from __future__ import annotations

import botocore.session
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

from armful.core.aws_regions import EKS_REGIONS, region_problem, zones_problem
from armful.core.network_layout import EKS_UNSUPPORTED_ZONE_IDS


def test_every_region_with_its_zones_where_eks_places_clusters() -> None:
    moto = {
        region: len([zone for zone in zones if zone.zone_id not in EKS_UNSUPPORTED_ZONE_IDS])
        for region, zones in RegionsAndZonesBackend.zones.items()
    }
    assert moto == EKS_REGIONS


def test_the_table_is_botocores_eks_regions() -> None:
    session = botocore.session.get_session()
    eks = {
        region
        for partition in ("aws", "aws-cn", "aws-us-gov")
        for region in session.get_available_regions("eks", partition)
    }
    assert set(EKS_REGIONS) == eks | {"cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1"}


def test_a_region_that_does_not_exist_is_named_with_the_closest() -> None:
    problem, fix = region_problem("us-west-9") or ("", "")
    assert "'us-west-9' is not an AWS region" in problem
    assert fix.startswith("did you mean us-west-2?")
    assert region_problem("US-EAST-1") == (
        "'US-EAST-1' is not an AWS region EKS runs in (Armful's table lists 38)",
        "write it as us-east-1",
    )
    assert region_problem("us-west-2") is None


def test_zones_beyond_the_region() -> None:
    assert zones_problem("us-west-1", 2) is None
    problem, fix = zones_problem("us-west-1", 3) or ("", "")
    assert "us-west-1 has 2" in problem and "availabilityZones to 2 or fewer" in fix
    assert zones_problem("eu-west-1", 6) is not None and zones_problem("us-east-1", 5) is None
