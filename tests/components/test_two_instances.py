"""Two instances of each component in one program, under Pulumi mocks: every resource keeps its own URN.

The engine rejects a second registration of a URN; the mock monitor does not, so these tests read the
URN of every registration (tests/pulumi_harness.py) and look for repeats.
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
from example_stacks import stack_file_config
from pulumi_harness import RecordingMocks, run_program

from armful.arm_cluster import ArmCluster
from armful.cluster_addons import ClusterAddons
from armful.eks_managed_addons import EksManagedAddons
from armful.network import Network
from armful.node_pools import NodePools

RELEASE = "kubernetes:helm.sh/v3:Release"
POOLS = [
    {"name": "system", "role": "system", "arch": "arm64", "labels": {"node.armful.dev/role": "system"}},
    {"name": "apps", "role": "workers", "arch": "arm64"},
]
POOL_ARGS: dict[str, Any] = {
    "subnet_ids": ["subnet-0ccccccccccccccc1", "subnet-0ccccccccccccccc2"],
    "topology": "all-arm",
    "system_pool": {"name": "system", "instance_types": ["m7g.large"]},
    "worker_pools": [{"name": "apps", "instance_types": ["m8g.xlarge"]}],
}


def _addons(name: str, cluster_name: str) -> ClusterAddons:
    return ClusterAddons(
        name,
        {
            "cluster_name": cluster_name,
            "region": "us-west-2",
            "vpc_id": "vpc-0ccccccccccccccc0",
            "kubernetes_provider": k8s.Provider(f"{name}-provider", kubeconfig="{}"),
            "topology": "all-arm",
            "pools": copy.deepcopy(POOLS),
            "grafana_admin_password": "two-instances-password",
        },
    )


def _assert_unique(mocks: RecordingMocks) -> None:
    assert all(r.urn for r in mocks.registrations), "every registration has its URN recorded"
    assert mocks.duplicate_urns() == []


def test_two_cluster_addons_in_one_program() -> None:
    mocks = run_program(lambda: (_addons("blue", "blue-cluster"), _addons("green", "green-cluster")))
    _assert_unique(mocks)
    releases = mocks.of_type(RELEASE)
    # Each release keeps its Helm name; the resource's name carries the component's.
    assert sorted(r.inputs["name"] for r in releases if r.name.startswith("blue-")) == sorted(
        r.inputs["name"] for r in releases if r.name.startswith("green-")
    )
    assert all(r.name == f"{r.parent.rsplit('::', 1)[-1]}-{r.inputs['name']}" for r in releases)


def test_two_node_pools_and_managed_addons_in_one_program() -> None:
    def program() -> None:
        for name in ("blue", "green"):
            cluster = eks.Cluster(f"{name}-eks", name=f"{name}-cluster", skip_default_node_group=True)
            pools = NodePools(f"{name}-pools", {**POOL_ARGS, "cluster": cluster})
            EksManagedAddons(
                f"{name}-managed",
                {
                    "cluster_name": f"{name}-cluster",
                    "kubernetes_version": "1.35",
                    "pools": pools.pool_descriptions,
                },
                opts=pulumi.ResourceOptions(depends_on=list(pools.node_groups.values())),
            )

    mocks = run_program(program)
    _assert_unique(mocks)
    assert len(mocks.of_type("eks:index:ManagedNodeGroup")) == 4
    assert len(mocks.of_type("aws:eks/addon:Addon")) == 6


def test_two_networks_in_one_program() -> None:
    mocks = run_program(
        lambda: [Network(name, {"cluster_name": f"{name}-cluster"}) for name in ("blue", "green")],
        {"aws:region": "us-west-2"},
    )
    _assert_unique(mocks)
    assert len(mocks.of_type("aws:ec2/vpc:Vpc")) == 2


def test_two_arm_clusters_in_one_program() -> None:
    def args(stack: str, cluster_name: str) -> dict[str, Any]:
        config = stack_file_config(stack)
        fields = {
            key.removeprefix("armful:"): value for key, value in config.items() if key.startswith("armful:")
        }
        fields["cluster"] = {**fields["cluster"], "name": cluster_name}
        return {**fields, "region": config["aws:region"], "grafana_admin_password": "two-clusters"}

    mocks = run_program(
        lambda: (
            ArmCluster("blue", args("arm-workers", "blue-cluster")),
            ArmCluster("green", args("all-arm", "green-cluster")),
        ),
        stack="two-clusters",
    )
    _assert_unique(mocks)
    assert len(mocks.of_type("eks:index:Cluster")) == 2


def test_the_check_finds_a_repeated_urn() -> None:
    """The mock monitor accepts a repeat that the engine would reject; the harness reports it."""

    def program() -> None:
        aws.iam.Role("twin", assume_role_policy="{}")
        aws.iam.Role("twin", assume_role_policy="{}")

    mocks = run_program(program)
    (urn,) = mocks.duplicate_urns()
    assert urn.endswith("aws:iam/role:Role::twin")
