"""The NodePools and EC2NodeClasses Armful applies, held to the CRDs of the pinned Karpenter chart."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from example_stacks import EXAMPLE_STACKS, stack_file_config
from karpenter_crds import archive, crd_problems

from armful.core.karpenter_objects import ami_alias, node_class_object, node_pool_object
from armful.core.pools import OsFamily
from armful.planning.plan import Plan, build_plan
from armful.planning.stack_config import parse_stack_config, strip_namespace

pytestmark = pytest.mark.skipif(
    archive() is None,
    reason="the pinned Karpenter chart (../shared/chart-archives/karpenter-1.14.1.tgz) is absent; set "
    "ARMFUL_CHART_ARCHIVES_DIR to the chart-archives folder",
)

VARIANTS: dict[str, list[dict[str, Any]] | None] = {
    "defaults": None,
    "every-field": [
        {
            "name": "batch",
            "osFamily": "Bottlerocket",
            "instanceFamilies": ["c8g", "c7g"],
            "instanceSizes": ["xlarge", "2xlarge"],
            "capacityTypes": ["spot", "on-demand"],
            "labels": {"example.com/lane": "batch"},
            "taints": [
                {"key": "example.com/lane", "value": "batch", "effect": "NoExecute"},
                {"key": "example.com/dedicated", "effect": "NoSchedule"},
            ],
            "consolidationPolicy": "WhenEmpty",
            "consolidateAfter": "5m",
            "expireAfter": "Never",
            "budgets": [
                {"nodes": "20%", "reasons": ["Empty", "Drifted"]},
                {"nodes": "0", "schedule": "0 9 * * mon-fri", "duration": "8h"},
            ],
            "weight": 30,
        },
        {
            "name": "listed",
            "instanceTypes": ["m8g.xlarge", "m7g.xlarge"],
            "limits": {"cpu": "8", "memory": "32Gi"},
        },
    ],
}


def plan_with(stack: str, node_pools: list[dict[str, Any]] | None) -> Plan:
    raw = copy.deepcopy(strip_namespace(stack_file_config(stack)))
    raw.setdefault("addons", {})["karpenter"] = {
        "enabled": True,
        **({"nodePools": node_pools} if node_pools else {}),
    }
    raw["systemPool"]["minSize"] = 4
    return build_plan(stack, parse_stack_config(raw), "us-west-2")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_node_pool_and_node_class_passes_the_crds(stack: str, variant: str) -> None:
    plan = plan_with(stack, VARIANTS[variant])
    assert plan.node_pools
    for pool in plan.node_pools:
        assert crd_problems(node_pool_object(pool)) == [], pool.name
    for family in {pool.os_family for pool in plan.node_pools}:
        node_class = node_class_object(
            next(pool.node_class for pool in plan.node_pools if pool.os_family is family),
            family,
            role="payments-mixed-karpenter-node",
            alias=ami_alias(family, "1.35.0-20260401" if family is OsFamily.AL2023 else "1.55.0-d93bb1b1"),
            cluster_name=plan.config.cluster.name,
            disk_size_gib=80,
            tags={"team": "platform"},
        )
        assert crd_problems(node_class) == [], family


def test_the_crd_check_refuses_what_the_api_server_would() -> None:
    """The checker itself: schema errors and CEL rules each catch what Karpenter refuses."""
    pool = node_pool_object(plan_with("all-arm", None).node_pools[0])
    bad_pool = copy.deepcopy(pool)
    bad_pool["spec"]["disruption"]["budgets"] = [{"nodes": "10%", "schedule": "@daily"}]
    bad_pool["spec"]["template"]["metadata"]["labels"]["karpenter.sh/nodepool"] = "other"
    problems = crd_problems(bad_pool)
    assert any("budgets" in problem and "schedule" in problem for problem in problems), problems
    assert any("karpenter.sh/nodepool" in problem for problem in problems), problems
    node_class = node_class_object(
        "al2023",
        OsFamily.AL2023,
        role="r",
        alias="al2023@v20260401",
        cluster_name="c",
        disk_size_gib=50,
        tags={},
    )
    unsized = copy.deepcopy(node_class)
    del unsized["spec"]["blockDeviceMappings"][0]["ebs"]["volumeSize"]
    assert crd_problems(unsized), "a mapping with no size and no snapshot is refused"
    hops = copy.deepcopy(node_class)
    hops["spec"]["metadataOptions"]["httpTokens"] = "maybe"
    assert crd_problems(hops)


def test_node_classes_require_imdsv2_one_hop_away_and_encrypt_their_volumes() -> None:
    for family in OsFamily:
        spec = node_class_object(
            "x",
            family,
            role="r",
            alias=ami_alias(family, "1.35.0-20260401"),
            cluster_name="c",
            disk_size_gib=60,
            tags={},
        )["spec"]
        assert spec["metadataOptions"]["httpTokens"] == "required"
        assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
        assert spec["associatePublicIPAddress"] is False
        assert all(
            device["ebs"]["encrypted"] and device["ebs"]["volumeType"] == "gp3"
            for device in spec["blockDeviceMappings"]
        )
        assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "c"}}]
        assert spec["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "c"}}]


def test_ami_aliases_are_pinned_to_the_dated_release_eks_publishes() -> None:
    assert ami_alias(OsFamily.AL2023, "1.35.0-20260401") == "al2023@v20260401"
    assert ami_alias(OsFamily.BOTTLEROCKET, "1.55.0-d93bb1b1") == "bottlerocket@v1.55.0"
    with pytest.raises(ValueError, match="not an AMI release"):
        ami_alias(OsFamily.AL2023, "latest")
