"""The capacity proof: requests against allocatable on every pool, before anything exists.

Expected figures are worked out by hand from the published formulas (design §5) and the catalog, not
recomputed with the code under test.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from example_stacks import EXAMPLE_STACKS, stack_file_config

from armful.core.findings import FindingLevel
from armful.planning.plan import Plan, build_plan
from armful.planning.stack_config import parse_stack_config, strip_namespace

NO_ADDONS = {
    key: {"enabled": False}
    for key in (
        "awsLoadBalancerController",
        "falco",
        "kyverno",
        "kyvernoPolicies",
        "certManager",
        "kubePrometheusStack",
        "fluentBit",
        "openTelemetryCollector",
        "metricsServer",
    )
}


def plan_of(raw: dict[str, Any]) -> Plan:
    return build_plan("test", parse_stack_config(raw), region="us-west-2")


def small_cluster(**changes: Any) -> dict[str, Any]:
    """all-arm, no Helm add-ons: only EKS's own pods, so each case below controls what else runs."""
    raw: dict[str, Any] = {
        "topology": "all-arm",
        "cluster": {
            "name": "capacity",
            "adminPrincipalArns": ["arn:aws:iam::111122223333:role/platform-admin"],
        },
        "systemPool": {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 2, "maxSize": 4},
        "workerPools": [{"name": "apps", "instanceTypes": ["m7g.xlarge"], "minSize": 2, "maxSize": 6}],
        "addons": copy.deepcopy(NO_ADDONS),
    }
    raw.update(changes)
    return raw


def example(stack: str, **changes: Any) -> dict[str, Any]:
    raw = strip_namespace(stack_file_config(stack))
    raw.update(changes)
    return raw


def codes(plan: Plan) -> list[str]:
    return [f.code for f in plan.findings if f.level is FindingLevel.ERROR]


def capacity_of(plan: Plan, pool: str) -> dict[str, Any]:
    return next(entry for entry in plan.to_json()["capacity"] if entry["pool"] == pool)


def test_a_pools_allocatable_is_its_smallest_nodes_times_its_minimum() -> None:
    entry = capacity_of(plan_of(small_cluster()), "system")
    # m7g.large: 2 vCPU less 60m + 10m kube-reserved; 8192 MiB less the 7.5% (615 MiB) the kernel keeps,
    # 11 MiB x 29 pods + 255 MiB reserved and the 100 MiB eviction threshold: 6903 MiB;
    # 3 ENIs x (10 - 1) + 2 = 29 pods.
    assert entry["instance_type"] == "m7g.large"
    assert entry["nodes"] == 2
    assert entry["allocatable"] == {"cpu": 3.86, "memory_mib": 13806.0, "pods": 58}


def test_node_agents_are_counted_on_every_node_of_every_pool() -> None:
    entry = capacity_of(plan_of(small_cluster()), "apps")
    # aws-node 50m, kube-proxy 100m, ebs-csi-node 30m / 104Mi, the pod identity agent nothing.
    assert entry["per_node"] == {"cpu": 0.18, "memory_mib": 104.0, "pods": 4}
    assert entry["requested"] == {"cpu": 0.36, "memory_mib": 208.0, "pods": 8}
    # m7g.xlarge: 4000m - 60 - 10 - 10 = 3920m; 16384 - 1229 (7.5%) - (11 x 58 + 255) - 100 = 14162 MiB.
    assert entry["room_for_apps_per_node"] == {"cpu": 3.74, "memory_mib": 14058.0, "pods": 54}


def test_user_workloads_with_requests_fill_the_pools_they_land_on() -> None:
    web = {"name": "web", "images": ["web:1"], "arches": ["arm64"], "requests": {"cpu": "3", "memory": "4Gi"}}
    fits = plan_of(small_cluster(workloads=[{**web, "replicas": 2}]))
    assert codes(fits) == []
    assert capacity_of(fits, "apps")["requested"]["cpu"] == 6.36

    too_many = plan_of(small_cluster(workloads=[{**web, "replicas": 3}]))
    (finding,) = [f for f in too_many.findings if f.code == "insufficient-capacity"]
    assert finding.message.startswith(
        "pool apps (2 x m7g.xlarge at minSize 2) has no room for 1 pod: workload web x1"
    )
    assert finding.message.endswith("Fix: minSize 3, or instance types of at least m7g.2xlarge")


def test_the_fix_it_names_works_one_node_larger() -> None:
    web = {"name": "web", "images": ["web:1"], "arches": ["arm64"], "requests": {"cpu": "3", "memory": "4Gi"}}
    pools = small_cluster()["workerPools"]
    pools[0]["minSize"] = 3
    assert codes(plan_of(small_cluster(workerPools=pools, workloads=[{**web, "replicas": 3}]))) == []


def test_an_override_that_raises_requests_past_the_pools_room_is_an_error() -> None:
    prometheus = {
        "prometheus": {"prometheusSpec": {"resources": {"requests": {"cpu": "500m", "memory": "24Gi"}}}}
    }
    raw = example("all-arm", addons={"kubePrometheusStack": {"values": prometheus}})
    finding = next(f for f in plan_of(raw).findings if f.code == "insufficient-capacity")
    assert "pool system (4 x m7g.large at minSize 4)" in finding.message
    assert "kube-prometheus-stack/prometheus x2" in finding.message
    assert "of memory" in finding.message
    assert "instance types of at least" in finding.message


def test_a_request_that_is_not_a_quantity_is_a_config_error_at_its_path() -> None:
    from armful.core.errors import StackConfigError

    bad = {"resources": {"requests": {"cpu": "lots"}}}
    with pytest.raises(StackConfigError) as raised:
        plan_of(example("all-arm", addons={"metricsServer": {"values": bad}}))
    (issue,) = raised.value.issues
    assert issue.path == "armful:addons.metricsServer.values.resources.requests"
    assert "'lots' is not a CPU quantity such as 250m or 2" in issue.problem


@pytest.mark.parametrize(("min_size", "code"), [(1, "single-node-system-pool")])
def test_a_system_pool_too_small_to_drain_or_run_anything_is_an_error(min_size: int, code: str) -> None:
    # minSize 0 is a config error before any plan (tests/test_hostile_stacks.py).
    system = {"name": "system", "instanceTypes": ["m7g.2xlarge"], "minSize": min_size, "maxSize": 4}
    assert code in codes(plan_of(small_cluster(systemPool=system)))


def test_a_job_needs_room_on_one_node_while_it_runs() -> None:
    """Hook Jobs keep no room, but one larger than any node's free room never starts (and hangs helm)."""
    hog = {"webhooksCleanup": {"resources": {"requests": {"cpu": "3"}}}}
    addons = {**copy.deepcopy(NO_ADDONS), "kyverno": {"values": hog}, "kyvernoPolicies": {"enabled": False}}
    finding = next(
        f for f in plan_of(small_cluster(addons=addons)).findings if f.code == "insufficient-capacity"
    )
    assert "kyverno/rm-webhooks x1" in finding.message


def test_required_anti_affinity_puts_each_replica_on_its_own_node() -> None:
    spread = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "metrics-server"}},
                }
            ]
        }
    }
    addons = {**copy.deepcopy(NO_ADDONS), "metricsServer": {"values": {"replicas": 3, "affinity": spread}}}
    finding = next(
        f for f in plan_of(small_cluster(addons=addons)).findings if f.code == "insufficient-capacity"
    )
    assert "metrics-server/metrics-server x1" in finding.message
    assert "metrics-server/metrics-server must spread over more nodes" in finding.message
    assert finding.message.endswith("Fix: minSize 3")


def _metrics_server(values: dict[str, Any]) -> list[str]:
    addons = {**copy.deepcopy(NO_ADDONS), "metricsServer": {"values": {"replicas": 3, **values}}}
    return codes(plan_of(small_cluster(addons=addons)))


def test_spreading_counts_only_rules_that_select_the_workloads_own_pods() -> None:
    others = {"matchLabels": {"team": "other"}}
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": others}
    ]}}  # fmt: skip
    assert _metrics_server({"affinity": anti}) == []


@pytest.mark.parametrize(("max_skew", "fits"), [(1, True), (0, False)])
def test_a_hostname_spread_allows_as_much_skew_as_it_says(max_skew: int, fits: bool) -> None:
    """Three replicas on two nodes: 2 + 1 is a skew of 1."""
    own = {"matchLabels": {"app.kubernetes.io/name": "metrics-server"}}
    spread = [{"maxSkew": max_skew, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": own}]  # fmt: skip
    assert (_metrics_server({"topologySpreadConstraints": spread}) == []) is fits


def test_a_container_with_limits_and_no_requests_asks_for_its_limits() -> None:
    big = {"resources": {"requests": None, "limits": {"cpu": "3", "memory": "1Gi"}}}
    plan = plan_of(small_cluster(addons={**copy.deepcopy(NO_ADDONS), "metricsServer": {"values": big}}))
    # Two replicas of 3 vCPU on two m7g.large (1.93 vCPU each): neither fits.
    (finding,) = [f for f in plan.findings if f.code == "insufficient-capacity"]
    assert "metrics-server/metrics-server x2" in finding.message


def test_a_pool_of_min_size_zero_must_fit_its_node_agents_on_a_first_node() -> None:
    workers = [{"name": "tiny", "instanceTypes": ["t4g.nano"], "minSize": 0, "maxSize": 3}]
    addons = {key: {"enabled": False} for key in NO_ADDONS if key != "falco"}
    finding = next(
        f
        for f in plan_of(small_cluster(workerPools=workers, addons=addons)).findings
        if f.code == "insufficient-capacity"
    )
    assert finding.message.startswith(
        "pool tiny has minSize 0, but one t4g.nano node has no room for its node agents"
    )
    assert "falco/falco" in finding.message and "Fix: instance types of at least t4g." in finding.message


def test_the_fix_can_be_a_larger_type_when_more_nodes_cannot_help() -> None:
    """A pod larger than any node of the type: only a larger type makes room, and the fix says which."""
    web = {"name": "web", "images": ["web:1"], "arches": ["arm64"], "requests": {"cpu": "5", "memory": "1Gi"}}
    (finding,) = [
        f for f in plan_of(small_cluster(workloads=[web])).findings if f.code == "insufficient-capacity"
    ]
    assert finding.message.endswith("Fix: instance types of at least m7g.2xlarge")


def test_sidecars_count_with_their_pods() -> None:
    """Prometheus 500m / 2Gi with its config reloader, Grafana with its two k8s-sidecars."""
    from armful.planning.capacity import addon_pod_groups

    plan = plan_of(example("all-arm"))
    addons = [(release.spec, release.values) for release in plan.releases]
    groups = {g.subject: g.request for g in addon_pod_groups(addons, plan.placement, plan.pools)}
    reloader = plan.releases[[r.spec.release for r in plan.releases].index("kube-prometheus-stack")].values[
        "prometheusOperator"]["prometheusConfigReloader"]["resources"]["requests"]  # fmt: skip
    assert reloader == {"cpu": "10m", "memory": "32Mi"}
    assert (
        groups["kube-prometheus-stack/prometheus"].cpu,
        groups["kube-prometheus-stack/prometheus"].memory,
    ) == (510, 2080.0)
    assert (groups["kube-prometheus-stack/grafana"].cpu, groups["kube-prometheus-stack/grafana"].memory) == (
        140,
        448.0,
    )


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_example_stacks_fit_with_headroom(stack: str) -> None:
    plan = plan_of(example(stack))
    assert not [f for f in plan.findings if f.code in {"insufficient-capacity", "low-headroom"}]
    for entry in plan.to_json()["capacity"]:
        assert entry["fits_at_min_size"] and entry["fits_at_desired_size"], entry["pool"]
        assert set(entry) >= {"pool", "instance_type", "nodes", "allocatable", "requested", "per_node"}
        assert set(entry["allocatable"]) == {"cpu", "memory_mib", "pods"}


def test_low_headroom_is_a_warning() -> None:
    web = {
        "name": "web",
        "images": ["web:1"],
        "arches": ["arm64"],
        "requests": {"cpu": "3600m", "memory": "1Gi"},
    }
    plan = plan_of(small_cluster(workloads=[{**web, "replicas": 2}]))
    (warning,) = [f for f in plan.findings if f.code == "low-headroom"]
    assert warning.level is FindingLevel.WARNING and "pool apps" in warning.message


def test_requests_set_for_the_eks_add_ons_are_counted() -> None:
    """CoreDNS and the EBS CSI driver take resources through their configuration values too."""
    coredns = {"coredns": {"values": {"resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}}}}
    plan = plan_of(small_cluster(addons={**copy.deepcopy(NO_ADDONS), **coredns}))
    # Two CoreDNS replicas of 1.5 vCPU, with the EBS CSI controller's two 60m pods, on two 1.93 vCPU nodes.
    assert capacity_of(plan, "system")["requested"]["cpu"] == 3.48  # 2 x 1.5 + 2 x 0.06 + 2 nodes x 0.18
    ebs = {
        "awsEbsCsiDriver": {"values": {"node": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}}}
    }
    entry = capacity_of(plan_of(small_cluster(addons={**copy.deepcopy(NO_ADDONS), **ebs})), "apps")
    # The plugin's 1 vCPU and 1 GiB, and the registrar's and liveness probe's 10m / 32Mi each.
    assert entry["per_node"] == {"cpu": 1.17, "memory_mib": 1088.0, "pods": 4}
