"""NodePools on a pulumi_eks cluster of one's own, alone and feeding ClusterAddons, under Pulumi mocks."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_eks as eks
import pytest
from pulumi_harness import RecordingMocks, run_program

from armful.cluster_addons import ClusterAddons
from armful.core.errors import StackConfigError
from armful.node_pools import NodePools

NODE_GROUP = "eks:index:ManagedNodeGroup"
SUBNETS = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
ARGS: dict[str, Any] = {
    "subnet_ids": SUBNETS,
    "topology": "all-arm",
    "system_pool": {"name": "system", "instance_types": ["m7g.large"]},
    "worker_pools": [
        {
            "name": "batch",
            "instance_types": ["c8g.2xlarge"],
            "min_size": 0,
            "max_size": 8,
            "taints": [{"key": "example.com/batch", "value": "true"}],
        }
    ],
}


def _program(outputs: dict[str, Any], with_addons: bool = False) -> None:
    cluster = eks.Cluster("theirs", name="theirs", skip_default_node_group=True)
    pools = NodePools("pools", {**ARGS, "cluster": cluster})
    pulumi.Output.all(pools.pools, pools.instance_types).apply(
        lambda values: outputs.update(pools=values[0], instance_types=values[1])
    )
    if with_addons:
        addons = ClusterAddons(
            "addons",
            {
                "cluster_name": "theirs",
                "region": "us-west-2",
                "vpc_id": "vpc-0bbbbbbbbbbbbbbb0",
                "kubeconfig": cluster.kubeconfig_json,
                "topology": "all-arm",
                "pools": pools.pool_descriptions,
                "addons": {"kubePrometheusStack": {"enabled": False}},
            },
            opts=pulumi.ResourceOptions(depends_on=list(pools.node_groups.values())),
        )
        addons.placement.apply(lambda placement: outputs.update(placement=placement))


def test_node_pools_join_a_cluster_of_ones_own() -> None:
    outputs: dict[str, Any] = {}
    mocks = run_program(lambda: _program(outputs))
    groups = {group.name.removeprefix("pools-"): group.inputs for group in mocks.of_type(NODE_GROUP)}
    assert sorted(group.name for group in mocks.of_type(NODE_GROUP)) == ["pools-batch", "pools-system"]
    assert groups["system"]["taints"] == [
        {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}
    ]
    assert groups["batch"]["amiType"] == "AL2023_ARM_64_STANDARD"
    assert all(group["subnetIds"] == SUBNETS for group in groups.values())
    assert outputs["instance_types"] == {"system": ["m7g.large"], "batch": ["c8g.2xlarge"]}
    assert [(pool["name"], pool["role"], pool["arch"]) for pool in outputs["pools"]] == [
        ("system", "system", "arm64"),
        ("batch", "workers", "arm64"),
    ]


def test_node_pools_describe_themselves_for_cluster_addons() -> None:
    outputs: dict[str, Any] = {}
    run_program(lambda: _program(outputs, with_addons=True))
    assert outputs["placement"]["metrics-server/metrics-server"] == ["system"]
    assert outputs["placement"]["fluent-bit/fluent-bit"] == ["system", "batch"]


def test_a_pool_against_the_topology_registers_nothing_of_node_pools() -> None:
    mocks = RecordingMocks()
    x86_worker = {**ARGS, "worker_pools": [{"name": "x86", "instance_types": ["m7i.large"]}]}

    def program() -> None:
        cluster = eks.Cluster("theirs", name="theirs")
        NodePools("pools", {**x86_worker, "cluster": cluster})

    with pytest.raises(StackConfigError) as caught:
        run_program(program, mocks=mocks)
    assert [issue.path for issue in caught.value.issues] == ["armful:workerPools[0].instanceTypes"]
    assert [r.type for r in mocks.registrations] == ["eks:index:Cluster"]
