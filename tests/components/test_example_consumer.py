"""examples/own-eks-cluster: a program of one's own that uses Armful as a package, under Pulumi mocks.

The program makes its pulumi_eks cluster and node groups itself; the test reads the pools from what the
program asked EKS for (each node group's AMI type, labels and taints) and checks, with the scheduler
model, that every add-on workload ClusterAddons released lands where it should on those pools.
"""

from __future__ import annotations

import ast
import runpy
from functools import cache
from typing import Any

from example_stacks import ROOT
from pulumi_harness import RecordingMocks, Registration, reveal, run_program

from armful.addons.registry import BY_RELEASE
from armful.core.arch import Arch
from armful.core.taints import Taint, TaintEffect
from armful.placement.scheduler import NodeProfile, evaluate
from armful.planning.releases import pod_spec_at

EXAMPLE = ROOT / "examples" / "own-eks-cluster"
PROGRAM = EXAMPLE / "__main__.py"
NODE_GROUP = "eks:index:ManagedNodeGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
VPC = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
# What `pulumi config set` gives the example (the mocks run every program as project "armful").
CONFIG = {"aws:region": "us-west-2", "armful:vpcId": VPC, "armful:privateSubnetIds": SUBNETS}
ARCH_OF_AMI = {"AL2023_x86_64_STANDARD": Arch.AMD64, "AL2023_ARM_64_STANDARD": Arch.ARM64}
EFFECT_OF_EKS = {effect.eks_name: effect for effect in TaintEffect}


@cache
def example_run() -> tuple[RecordingMocks, dict[str, Any]]:
    """The example run once: what it registered, and its globals plus ``placement``, its exported output."""
    namespace: dict[str, Any] = {}

    def program() -> None:
        namespace.update(runpy.run_path(str(PROGRAM)))
        namespace["addons"].placement.apply(lambda placement: namespace.update(placement=placement))

    return run_program(program, CONFIG), namespace


def node_profile(group: Registration) -> NodeProfile:
    """A pool as the consumer's node group will make it: EKS labels and taints, arch from the AMI type."""
    arch = ARCH_OF_AMI[group.inputs["amiType"]]
    return NodeProfile(
        name=group.name,
        arch=arch,
        labels={
            **group.inputs.get("labels", {}),
            "kubernetes.io/arch": arch.value,
            "kubernetes.io/os": "linux",
        },
        taints=tuple(
            Taint(t["key"], t.get("value", ""), EFFECT_OF_EKS[t["effect"]])
            for t in group.inputs.get("taints", [])
        ),
    )


def their_pools() -> dict[str, NodeProfile]:
    mocks, _ = example_run()
    return {group.name: node_profile(group) for group in mocks.of_type(NODE_GROUP)}


def test_the_example_imports_armful_as_an_installed_package() -> None:
    tree = ast.parse(PROGRAM.read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert "armful.cluster_addons" in imported
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "sys" not in names, "no sys.path changes: Armful comes from `pip install -e`"
    assert "-e ../.." in (EXAMPLE / "requirements.txt").read_text().split("\n")
    assert (EXAMPLE / "Pulumi.yaml").is_file()


def test_the_example_makes_its_own_cluster_node_groups_and_provider() -> None:
    mocks, _ = example_run()
    (cluster,) = mocks.of_type("eks:index:Cluster")
    assert cluster.inputs["name"] == "shop"
    assert cluster.inputs["skipDefaultNodeGroup"] is True
    assert sorted(their_pools()) == ["apps", "platform"]
    (provider,) = mocks.of_type("pulumi:providers:kubernetes")
    assert provider.name == "shop", "ClusterAddons used the program's provider and made none"


def test_every_release_goes_through_the_programs_provider() -> None:
    mocks, _ = example_run()
    releases = mocks.of_type(RELEASE)
    assert releases
    assert all(release.provider and "::shop::" in release.provider for release in releases)
    assert "kube-prometheus-stack" not in {release.inputs["name"] for release in releases}, "disabled"


def test_node_groups_and_descriptions_agree() -> None:
    """The node groups' EKS-form taints come from the same descriptions ClusterAddons was given."""
    _, namespace = example_run()
    pools = their_pools()
    for description in (namespace["PLATFORM"], namespace["APPS"]):
        node = pools[description["name"]]
        assert node.arch.value == description["arch"]
        assert {k: v for k, v in node.labels.items() if not k.startswith("kubernetes.io/")} == description[
            "labels"
        ]
        assert [t.to_kubernetes() for t in node.taints] == description["taints"]


def test_each_release_is_placed_for_the_programs_pools() -> None:
    mocks, _ = example_run()
    pools = their_pools()
    platform, apps = pools["platform"], pools["apps"]
    every_taint = {(t.key, t.value, t.effect.value) for node in pools.values() for t in node.taints}
    checked = 0
    for release in mocks.of_type(RELEASE):
        values = reveal(release.inputs["values"])
        for workload in BY_RELEASE[release.inputs["name"]].workloads:
            if not workload.runs(values):
                continue
            pod = pod_spec_at(workload, values)
            subject = f"{release.name} {workload.name} ({workload.kind.value})"
            landing = [node.name for node in pools.values() if evaluate(pod, node).schedulable]
            tolerated = {(t["key"], t.get("value", ""), t["effect"]) for t in pod.get("tolerations", [])}
            if workload.kind.is_node_agent:
                assert sorted(landing) == ["apps", "platform"], subject
                assert every_taint <= tolerated, subject
            else:
                assert landing == ["platform"], subject
                assert pod["nodeSelector"].items() <= platform.labels.items(), subject
                assert not pod["nodeSelector"].items() <= apps.labels.items(), subject
                assert {(t.key, t.value, t.effect.value) for t in platform.taints} <= tolerated, subject
            checked += 1
    assert checked >= 10


def test_the_example_exports_where_each_add_on_runs() -> None:
    _, namespace = example_run()
    assert namespace["placement"]["metrics-server/metrics-server"] == ["platform"]
    assert namespace["placement"]["falco/falco"] == ["platform", "apps"]


def test_the_example_waits_for_node_policies_and_the_pod_identity_agent() -> None:
    mocks, _ = example_run()
    attachments = [
        a
        for a in mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("shop-nodes-")
    ]
    assert len(attachments) == 3
    for group in mocks.of_type(NODE_GROUP):
        assert {a.urn for a in attachments} <= set(group.dependencies), group.name
    agent = mocks.one("aws:eks/addon:Addon")
    releases = mocks.of_type(RELEASE)
    assert releases and all(mocks.waits_for(release, agent) for release in releases)
