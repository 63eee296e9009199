"""Karpenter's NodePools in the plan: defaults per topology, config errors by path, placement and capacity."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from chart_archives import SDK_REASON, chart_archives
from example_stacks import EXAMPLE_STACKS, stack_file_config

from armful.core.errors import StackConfigError
from armful.core.findings import Finding, FindingLevel
from armful.core.karpenter_config import NodePoolConfig
from armful.core.karpenter_pools import NodePoolPlan, plan_node_pools
from armful.core.topology import Topology
from armful.planning.capacity import PodGroup, Room, addon_pod_groups
from armful.planning.elastic_capacity import plan_elastic_capacity
from armful.planning.plan import Plan, build_plan
from armful.planning.releases import render_placeholders
from armful.planning.stack_config import parse_stack_config, strip_namespace
from armful.render.helm import render_chart

NODE_POOLS = "armful:addons.karpenter.nodePools"
TIER_TAINT = {"key": "example.com/tier", "value": "memory", "effect": "NoSchedule"}
NODE_AGENTS = (
    "falco/falco",
    "fluent-bit/fluent-bit",
    "kube-prometheus-stack/node-exporter",
    "vpc-cni/aws-node",
    "kube-proxy/kube-proxy",
    "aws-ebs-csi-driver/ebs-csi-node",
    "eks-pod-identity-agent/eks-pod-identity-agent",
)


def with_karpenter(
    stack: str, node_pools: list[dict[str, Any]] | None = None, **changes: Any
) -> dict[str, Any]:
    """An example stack with Karpenter on (its NodePools as given, else the topology's defaults)."""
    raw = copy.deepcopy(strip_namespace(stack_file_config(stack)))
    addons = raw.setdefault("addons", {})
    addons["karpenter"] = {"enabled": True, **({"nodePools": node_pools} if node_pools is not None else {})}
    if stack != "all-arm":
        # Karpenter's two controllers need a fourth system node on the 3-node examples.
        raw["systemPool"]["minSize"] = 4
    raw.update(changes)
    return raw


def plan_of(raw: dict[str, Any]) -> Plan:
    return build_plan("test", parse_stack_config(raw), region="us-west-2")


def issues_of(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(StackConfigError) as raised:
        plan_of(raw)
    return {issue.path: f"{issue.problem}. Fix: {issue.fix}" for issue in raised.value.issues}


def errors(plan: Plan) -> list[Finding]:
    return [f for f in plan.findings if f.level is FindingLevel.ERROR]


def landing(plan: Plan) -> dict[str, tuple[str, ...]]:
    return {f"{entry.release}/{entry.workload}": entry.pools for entry in plan.placement}


# --------------------------------------------------------------------------------- defaults per topology


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_default_node_pools_follow_the_topology_and_the_plan_stays_ready(stack: str) -> None:
    plan = plan_of(with_karpenter(stack))
    assert not errors(plan), errors(plan)
    pools = {pool["name"]: pool for pool in plan.to_json()["pools"] if pool["provisioner"] == "karpenter"}
    if stack == "mixed":
        # The preferred arch weighs more; the other is tainted like a non-preferred managed pool.
        assert {name: (pool["arches"], pool["weight"], pool["taints"]) for name, pool in pools.items()} == {
            "arm64-elastic": (["arm64"], 50, []),
            "amd64-elastic": (
                ["amd64"],
                10,
                [{"key": "kubernetes.io/arch", "value": "amd64", "effect": "NoSchedule"}],
            ),
        }
    else:
        assert {name: (pool["arches"], pool["weight"], pool["taints"]) for name, pool in pools.items()} == {
            "arm64-elastic": (["arm64"], None, [])
        }
    assert [release.spec.release for release in plan.releases][-1] == "karpenter"


def test_mixed_preferring_amd64_taints_the_arm64_node_pool_instead() -> None:
    plan = plan_of(with_karpenter("mixed", preferredArch="amd64"))
    taints = {pool.name: [str(t) for t in pool.taints] for pool in plan.node_pools}
    assert taints == {"amd64-elastic": [], "arm64-elastic": ["kubernetes.io/arch=arm64:NoSchedule"]}
    assert {pool.name: pool.config.weight for pool in plan.node_pools} == {
        "amd64-elastic": 50,
        "arm64-elastic": 10,
    }


# --------------------------------------------------------------------------------- config errors, by path


@pytest.mark.parametrize(
    ("stack", "node_pool", "path", "words"),
    [
        (
            "arm-workers",
            {"name": "x86", "arches": ["amd64"]},
            f"{NODE_POOLS}[0].arches",
            "needs arm64 workers",
        ),
        (
            "all-arm",
            {"name": "x86", "instanceFamilies": ["m7i"]},
            f"{NODE_POOLS}[0].instanceFamilies[0]",
            "m7i is amd64",
        ),
        (
            "all-arm",
            {"name": "new", "instanceFamilies": ["m99g"]},
            f"{NODE_POOLS}[0].instanceFamilies[0]",
            "no 'm99g'",
        ),
        (
            "all-arm",
            {"name": "typo", "instanceTypes": ["m8g.huge"]},
            f"{NODE_POOLS}[0].instanceTypes[0]",
            "no 'm8g.huge'",
        ),
        (
            "all-arm",
            {"name": "tiny", "instanceFamilies": ["m8g"], "limits": {"cpu": "500m", "memory": "64Gi"}},
            f"{NODE_POOLS}[0].limits",
            "below one node of its smallest allowed type, m8g.medium",
        ),
        ("mixed", {"name": "either"}, f"{NODE_POOLS}[0].arches", "names none"),
        ("all-arm", {"name": "general"}, f"{NODE_POOLS}[0].name", "already the name of a pool"),
        (
            "all-arm",
            {"name": "none", "instanceCategories": ["p"], "instanceSizes": ["nano"]},
            f"{NODE_POOLS}[0]",
            "could launch nothing",
        ),
    ],
)
def test_a_node_pool_that_cannot_work_is_an_error_at_its_path(
    stack: str, node_pool: dict[str, Any], path: str, words: str
) -> None:
    found = issues_of(with_karpenter(stack, [node_pool]))
    assert path in found, found
    assert words in found[path]


@pytest.mark.parametrize(
    ("node_pool", "path", "words"),
    [
        ({"name": "both", "arches": ["arm64", "amd64"]}, f"{NODE_POOLS}[0]", "each NodePool has one"),
        (
            {"name": "x", "instanceTypes": ["m8g.large"], "instanceFamilies": ["m8g"]},
            f"{NODE_POOLS}[0]",
            "either",
        ),
        (
            {"name": "x", "consolidateAfter": "five minutes"},
            f"{NODE_POOLS}[0].consolidateAfter",
            "1m, 720h or Never",
        ),
        ({"name": "x", "budgets": [{"nodes": "150%"}]}, f"{NODE_POOLS}[0].budgets[0].nodes", "10% or 2"),
        ({"name": "x", "budgets": [{"schedule": "0 9 * * *"}]}, f"{NODE_POOLS}[0].budgets[0]", "go together"),
        ({"name": "x", "capacityTypes": ["spot", "spot"]}, f"{NODE_POOLS}[0].capacityTypes", "listed twice"),
        ({"name": "x", "labels": {"karpenter.sh/nodepool": "y"}}, f"{NODE_POOLS}[0].labels", "own domain"),
        ({"name": "x", "weight": 0}, f"{NODE_POOLS}[0].weight", "greater than or equal to 1"),
        ({"name": "x", "limits": {"cpu": "lots"}}, f"{NODE_POOLS}[0].limits.cpu", "not a CPU quantity"),
    ],
)
def test_node_pool_fields_are_checked_as_the_crd_would(
    node_pool: dict[str, Any], path: str, words: str
) -> None:
    found = issues_of(with_karpenter("all-arm", [node_pool]))
    assert path in found, found
    assert words in found[path]


def test_an_empty_node_pool_list_is_an_error() -> None:
    found = issues_of(with_karpenter("all-arm", []))
    assert "would launch nothing" in found[NODE_POOLS]


def test_a_cluster_name_too_long_for_karpenters_node_role_is_an_error() -> None:
    raw = with_karpenter("all-arm")
    raw["cluster"]["name"] = "a" * 60
    found = issues_of(raw)
    assert "its node role" in found["armful:cluster.name"]
    assert "at most 49 characters" in found["armful:cluster.name"]


def test_cluster_tags_karpenter_refuses_on_its_nodes_are_an_error() -> None:
    raw = with_karpenter("all-arm")
    raw["cluster"]["tags"] = {"eks:eks-cluster-name": "other"}
    found = issues_of(raw)
    assert "eks:eks-cluster-name" in found["armful:cluster.tags"]


# --------------------------------------------------------------------------------- placement


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_node_agents_reach_every_node_pool_and_controllers_none(stack: str) -> None:
    plan = plan_of(with_karpenter(stack))
    names = {pool.name for pool in plan.node_pools}
    where = landing(plan)
    for agent in NODE_AGENTS:
        assert names <= set(where[agent]), agent
    for entry in plan.placement:
        if entry.replicas is not None:
            assert not names & set(entry.pools), f"{entry.release}/{entry.workload} may land on a NodePool"
    assert where["karpenter/controller"] == ("system",)


def test_node_agents_tolerate_a_node_pools_own_taint() -> None:
    plan = plan_of(
        with_karpenter("all-arm", [{"name": "memory", "instanceCategories": ["r"], "taints": [TIER_TAINT]}])
    )
    assert not errors(plan)
    assert "memory" in landing(plan)["falco/falco"]


def test_an_override_that_drops_a_node_pools_toleration_is_a_coverage_gap() -> None:
    raw = with_karpenter("all-arm", [{"name": "memory", "instanceCategories": ["r"], "taints": [TIER_TAINT]}])
    raw["addons"]["falco"] = {"values": {"tolerations": []}}
    gaps = [f for f in errors(plan_of(raw)) if f.code == "coverage-gap"]
    assert any("falco" in f.message and "memory" in f.message for f in gaps), gaps


def test_a_users_workload_may_land_on_the_node_pool() -> None:
    workload = {"name": "api", "images": ["ghcr.io/example/api:1"], "arches": ["arm64"]}
    plan = plan_of(with_karpenter("arm-workers", workloads=[workload]))
    (placed,) = [w for w in plan.to_json()["workloads"] if w["name"] == "api"]
    assert "arm64-elastic" in placed["pools"]


# --------------------------------------------------------------------------------- capacity


def _node_pool(**config: Any) -> NodePoolPlan:
    (plan,), issues = plan_node_pools(
        [NodePoolConfig.model_validate({"name": "burst", **config})],
        Topology.ALL_ARM,
        None,
        [],
        ("nodePools",),
    )
    assert not issues
    return plan


# Karpenter's own node agents on every node: aws-node, kube-proxy, ebs-csi-node (as on the managed pools).
AGENTS = PodGroup("agents", Room(180, 104.0, 3), 1, True, ("burst",))


def test_a_pod_larger_than_any_node_the_node_pool_may_launch_is_an_error() -> None:
    # m8g.large: 2 vCPU, 8 GiB; a 3-vCPU pod fits no node the NodePool may launch.
    pool = _node_pool(instanceFamilies=["m8g"], instanceSizes=["large"])
    big = PodGroup("workload big", Room(3000, 1024.0, 1), 1, False, ("burst",))
    _, findings = plan_elastic_capacity([pool], [AGENTS, big])
    (finding,) = findings
    assert finding.code == "insufficient-capacity"
    assert "workload big" in finding.message and "NodePool burst at most m8g.large" in finding.message
    # The same pod with another pool to go to is that pool's to hold, not the NodePool's.
    elsewhere = PodGroup("workload big", Room(3000, 1024.0, 1), 1, False, ("burst", "general"))
    assert plan_elastic_capacity([pool], [AGENTS, elsewhere])[1] == []


def test_a_pod_fits_where_any_type_the_node_pool_may_launch_holds_it() -> None:
    # 40 GiB fits no c8g.4xlarge (32 GiB) but an r8g.2xlarge (64 GiB): Karpenter launches that one.
    pool = _node_pool(instanceTypes=["c8g.4xlarge", "r8g.2xlarge"])
    memory_heavy = PodGroup("workload cache", Room(2000, 40 * 1024.0, 1), 1, False, ("burst",))
    capacities, findings = plan_elastic_capacity([pool], [AGENTS, memory_heavy])
    assert findings == []
    (capacity,) = capacities
    assert capacity.packed is not None and capacity.packed.instance_type == "r8g.2xlarge"


def test_node_pool_limits_hold_node_capacity_not_pod_requests() -> None:
    """Karpenter counts each node's vCPUs and memory against the limits: two m8g.xlarge are 32 GiB, though
    their three pods ask 15 GiB."""
    pool = _node_pool(instanceTypes=["m8g.xlarge"], limits={"cpu": "64", "memory": "20Gi"})
    pods = PodGroup("workload api", Room(500, 5 * 1024.0, 1), 3, False, ("burst",))
    capacities, findings = plan_elastic_capacity([pool], [AGENTS, pods])
    (finding,) = findings
    assert "2 x m8g.xlarge" in finding.message and "beyond its limits" in finding.message
    (capacity,) = capacities
    assert capacity.packed is not None and capacity.packed.capacity.memory == 2 * 16384


def test_node_pool_limits_below_what_its_pods_need_are_an_error() -> None:
    pool = _node_pool(instanceCategories=["m"], limits={"cpu": "16", "memory": "64Gi"})
    crunch = PodGroup("workload crunch", Room(2000, 4096.0, 1), 12, False, ("burst",))
    capacities, findings = plan_elastic_capacity([pool], [AGENTS, crunch])
    (finding,) = findings
    assert (
        "NodePool burst must take 12 pods" in finding.message
        and "beyond its limits of 16 vCPU" in finding.message
    )
    (capacity,) = capacities
    assert capacity.packed is not None
    # 24 vCPU of pods, plus 0.18 vCPU of agents on each node they need.
    assert capacity.packed.requested.cpu == 24_000 + 180 * capacity.packed.nodes
    within = PodGroup("workload crunch", Room(2000, 4096.0, 1), 3, False, ("burst",))
    assert plan_elastic_capacity([pool], [AGENTS, within])[1] == []


def test_node_agents_short_of_room_on_a_managed_pool_are_never_forgiven() -> None:
    """A DaemonSet's pod is bound to its node: a NodePool cannot take the one a managed node has no room for."""
    raw = with_karpenter("all-arm")
    raw["workerPools"][0].update(instanceTypes=["t4g.nano"], minSize=1, maxSize=2)
    found = [f.message for f in errors(plan_of(raw)) if f.code == "insufficient-capacity"]
    assert any("pool general" in m and "falco/falco" in m for m in found), found


def test_pods_the_managed_pools_cannot_hold_count_against_the_node_pools_limits() -> None:
    workload = {
        "name": "api",
        "images": ["ghcr.io/example/api:1"],
        "arches": ["arm64"],
        "requests": {"cpu": "1", "memory": "1Gi"},
        "replicas": 20,
    }
    capped = with_karpenter(
        "all-arm", [{"name": "burst", "limits": {"cpu": "8", "memory": "64Gi"}}], workloads=[workload]
    )
    capped["workerPools"][0].update(instanceTypes=["m8g.xlarge"], minSize=1, maxSize=2)
    found = [f.message for f in errors(plan_of(capped)) if f.code == "insufficient-capacity"]
    assert any("NodePool burst must take" in m and "workload api" in m for m in found), found
    roomy = copy.deepcopy(capped)
    roomy["addons"]["karpenter"]["nodePools"][0]["limits"] = {"cpu": "64", "memory": "256Gi"}
    plan = plan_of(roomy)
    assert not errors(plan), errors(plan)
    (burst,) = plan.to_json()["elastic_capacity"]
    # One m8g.xlarge holds 3 of the 20 pods beside its agents; the NodePool takes the rest.
    assert burst["nodes"] > 0 and burst["requested"]["pods"] > 0


def test_node_agents_too_large_for_every_allowed_instance_are_an_error() -> None:
    pool = _node_pool(instanceFamilies=["m8g"], instanceSizes=["medium"])
    heavy = PodGroup("falco/falco", Room(1500, 512.0, 1), 1, True, ("burst",))
    (finding,) = plan_elastic_capacity([pool], [AGENTS, heavy])[1]
    assert "its node agents request" in finding.message and "m8g.medium" in finding.message


def test_a_pod_the_managed_pools_cannot_hold_waits_for_a_node_pool_node_instead_of_failing() -> None:
    big = {
        "name": "big",
        "images": ["ghcr.io/example/big:1"],
        "arches": ["arm64"],
        "requests": {"cpu": "7", "memory": "8Gi"},
    }
    without = copy.deepcopy(strip_namespace(stack_file_config("arm-workers")))
    without["workloads"] = [big]
    # general-arm's m8g.xlarge nodes hold under 4 vCPU each: alone, the pod fits nowhere.
    assert "insufficient-capacity" in {f.code for f in errors(plan_of(without))}
    assert not errors(plan_of(with_karpenter("arm-workers", workloads=[big])))


def test_falcos_kernel_module_driver_is_refused_where_a_node_pool_boots_bottlerocket() -> None:
    raw = with_karpenter("arm-workers", [{"name": "br", "osFamily": "Bottlerocket"}])
    raw["addons"]["falco"] = {"values": {"driver": {"kind": "kmod"}}}
    found = issues_of(raw)
    assert "br (Bottlerocket)" in found["armful:addons.falco.values.driver.kind"]


def test_node_pools_may_run_every_worker_without_a_managed_worker_pool() -> None:
    raw = with_karpenter("all-arm", workerPools=[])
    plan = plan_of(raw)
    assert not errors(plan), errors(plan)
    assert [pool.name for pool in plan.managed_pools] == ["system"]
    raw["addons"]["karpenter"]["enabled"] = False
    found = issues_of(raw)
    assert "nowhere to run" in found["armful:workerPools"]
    assert "addons.karpenter" in found["armful:workerPools"]


def test_in_mixed_a_node_pool_supplies_the_arch_no_managed_pool_has() -> None:
    raw = with_karpenter("mixed", [{"name": "x86-burst", "arches": ["amd64"]}])
    raw["workerPools"] = [pool for pool in raw["workerPools"] if pool["name"] != "x86-legacy"]
    plan = plan_of(raw)
    assert not errors(plan), errors(plan)
    assert [str(t) for t in plan.node_pools[0].taints] == ["kubernetes.io/arch=amd64:NoSchedule"]
    raw["addons"]["karpenter"]["enabled"] = False
    assert "none is amd64" in issues_of(raw)["armful:workerPools"]


def test_the_controllers_affinity_is_the_charts_own_and_packs_one_replica_per_node() -> None:
    """Armful writes out the chart's default affinity so that the proof reads it: rendered, it is what the
    chart gives with none set, and the capacity proof packs the controller one replica per node."""
    pytest.importorskip("helm_python", reason=SDK_REASON)
    archive = chart_archives() / "karpenter-1.14.1.tgz"
    plan = plan_of(with_karpenter("all-arm"))
    (release,) = [r for r in plan.releases if r.spec.release == "karpenter"]
    values = render_placeholders(release.values)
    chart_default = {key: value for key, value in values.items() if key != "affinity"}

    def affinity(given: dict[str, Any]) -> Any:
        rendered = render_chart(archive, values=given, release_name="karpenter", namespace="kube-system")
        (deployment,) = [d for d in rendered if d.get("kind") == "Deployment"]
        return deployment["spec"]["template"]["spec"]["affinity"]

    assert affinity(values) == affinity(chart_default)
    groups = addon_pod_groups([(release.spec, release.values)], plan.placement, plan.pools)
    (controller,) = [g for g in groups if g.subject == "karpenter/controller"]
    assert controller.one_per_node
