"""The values Armful writes for one workload: priority, replicas, zone spread, per-arch resources, arch
selectors, and the findings when an image lacks an arch the cluster has."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from armful.addons.context import AddonContext
from armful.addons.spec import AddonOptions, AddonSpec
from armful.core.arch import Arch
from armful.core.pools import PoolPlan
from armful.core.topology import Topology
from armful.placement.values import (
    SYSTEM_CLUSTER_CRITICAL,
    SYSTEM_NODE_CRITICAL,
    ZONE_LABEL,
    placement_values,
)
from armful.placement.workloads import Image, PlacementKeys, Resources, Workload, WorkloadKind
from armful.planning.releases import place_release, release_values
from armful.planning.stack_plan import plan_stack

X86 = Resources(cpu="100m", memory="100Mi", memory_limit="300Mi")
ARM = Resources(cpu="250m", memory="80Mi", memory_limit="200Mi", cpu_limit="1")
PER_ARCH = {Arch.AMD64: X86, Arch.ARM64: ARM}
BOTH = Image("example.com/both", "1")
X86_ONLY = Image("example.com/x86-only", "1", frozenset({Arch.AMD64}))


@cache
def pools(stack: str) -> tuple[PoolPlan, ...]:
    return plan_stack(stack=stack).pools


def controller(**fields: Any) -> Workload:
    return Workload(
        **{"name": "ctl", "kind": WorkloadKind.DEPLOYMENT, "images": (BOTH,), "resources": PER_ARCH, **fields}
    )


def agent(**fields: Any) -> Workload:
    return Workload(
        **{
            "name": "agent",
            "kind": WorkloadKind.DAEMONSET,
            "images": (BOTH,),
            "keys": PlacementKeys(replicas=None, topology_spread=None),
            "resources": PER_ARCH,
            **fields,
        }
    )


def test_a_controller_is_cluster_critical_with_replicas_and_a_zone_spread() -> None:
    values = placement_values(controller(replicas=2, pod_labels={"app": "ctl"}), pools("arm-workers"))
    assert values["priorityClassName"] == SYSTEM_CLUSTER_CRITICAL
    assert values["replicaCount"] == 2
    assert values["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": ZONE_LABEL,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app": "ctl"}},
        }
    ]


def test_a_single_replica_gets_no_zone_spread() -> None:
    assert "topologySpreadConstraints" not in placement_values(
        controller(pod_labels={"app": "x"}), pools("all-arm")
    )


@pytest.mark.parametrize(("stack", "profile"), [("arm-workers", X86), ("all-arm", ARM)])
def test_a_controller_gets_the_profile_of_the_system_pools_arch(stack: str, profile: Resources) -> None:
    assert placement_values(controller(), pools(stack))["resources"] == profile.to_values()


def test_a_node_agent_is_node_critical_and_sized_for_the_hungrier_arch_per_field() -> None:
    values = placement_values(agent(), pools("arm-workers"))
    assert values["priorityClassName"] == SYSTEM_NODE_CRITICAL
    assert values["resources"] == {
        "requests": {"cpu": "250m", "memory": "100Mi"},
        "limits": {"memory": "300Mi", "cpu": "1"},
    }


def test_a_node_agent_on_an_all_arm_cluster_is_sized_for_arm_only() -> None:
    assert placement_values(agent(), pools("all-arm"))["resources"] == ARM.to_values()


def test_a_node_agent_whose_image_lacks_an_arch_is_pinned_to_the_other_and_misses_pools() -> None:
    workload = agent(images=(X86_ONLY,))
    stack_pools = pools("arm-workers")
    assert placement_values(workload, stack_pools)["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    spec = _spec(workload)
    context = AddonContext(stack_pools, "c", "us-west-2", AddonOptions())
    entries, findings = place_release(spec, release_values(spec, context), stack_pools, Topology.ARM_WORKERS)
    assert list(entries[0].pools) == ["system"]
    (finding,) = findings
    assert finding.code == "coverage-gap" and "example.com/x86-only:1 (no arm64 build)" in finding.message


def test_a_controller_whose_image_lacks_every_arch_of_the_cluster_is_wrong_arch_naming_the_image() -> None:
    workload = controller(images=(X86_ONLY,))
    stack_pools = pools("all-arm")
    spec = _spec(workload)
    context = AddonContext(stack_pools, "c", "eu-west-1", AddonOptions())
    _, findings = place_release(spec, release_values(spec, context), stack_pools, Topology.ALL_ARM)
    (finding,) = findings
    # The system pool takes the pod, but its image would die there with exec format error.
    assert finding.code == "wrong-arch"
    assert (
        "example.com/x86-only:1" in finding.message
        and "all-arm" in finding.message
        and "Fix:" in finding.message
    )


def _spec(workload: Workload) -> AddonSpec:
    return AddonSpec(
        key="example",
        release="example",
        namespace="example",
        chart="example",
        repository="https://charts.example.com",
        version="1.0.0",
        workloads=(workload,),
        values=lambda context: {},
    )
