"""ClusterAddons on its own, on a cluster Armful did not create, under Pulumi mocks (design §3, §5, §8).

The pools are written out by hand as a program of one's own would describe them; every expectation
about placement is checked against those descriptions with the scheduler model, not against the plan.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi_harness import RecordingMocks, is_secret, reveal, run_program

from armful.addons.registry import ADDONS, BY_RELEASE
from armful.cluster_addons import ClusterAddons, eks_taints
from armful.core.arch import Arch
from armful.core.errors import StackConfigError
from armful.core.taints import Taint, TaintEffect
from armful.placement.scheduler import NodeProfile, evaluate
from armful.planning.cluster_addons_plan import describe_pools, release_order
from armful.planning.plan import PlanError
from armful.planning.releases import ReleasePlan, pod_spec_at

RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER = "pulumi:providers:kubernetes"
VPC = "vpc-0fedcba9876543210"
PASSWORD = "grafana-test-password"

# A mixed cluster of someone else's: Graviton system pool, Graviton and x86 worker pools, taints of their own.
CORE = {
    "name": "core",
    "role": "system",
    "arch": "arm64",
    "labels": {"node.armful.dev/role": "system", "team.example.com/pool": "core"},
    "taints": [{"key": "team.example.com/platform", "value": "true", "effect": "NoSchedule"}],
}
GENERAL = {
    "name": "general",
    "role": "workers",
    "arch": "arm64",
    "labels": {"team.example.com/pool": "general"},
}
LEGACY = {
    "name": "legacy",
    "role": "workers",
    "arch": "amd64",
    "labels": {"team.example.com/pool": "legacy"},
    "taints": [
        {"key": "kubernetes.io/arch", "value": "amd64", "effect": "NoSchedule"},
        {"key": "team.example.com/batch", "value": "", "effect": "NoExecute"},
    ],
}
POOLS = [CORE, GENERAL, LEGACY]


def base_args(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "cluster_name": "theirs",
        "region": "us-east-2",
        "vpc_id": VPC,
        "topology": "mixed",
        "pools": copy.deepcopy(POOLS),
        "grafana_admin_password": PASSWORD,
    }
    args.update(changes)
    return args


def node_profiles(descriptions: list[dict[str, Any]]) -> list[NodeProfile]:
    """What the scheduler sees on each described pool, built here without Armful's planner."""
    return [
        NodeProfile(
            name=pool["name"],
            arch=Arch(pool["arch"]),
            labels={
                **pool.get("labels", {}),
                "kubernetes.io/arch": pool["arch"],
                "kubernetes.io/os": "linux",
            },
            taints=tuple(
                Taint(t["key"], t.get("value", ""), TaintEffect(t.get("effect", "NoSchedule")))
                for t in pool.get("taints", [])
            ),
        )
        for pool in descriptions
    ]


def run_with_their_provider(args: dict[str, Any]) -> tuple[RecordingMocks, dict[str, Any]]:
    outputs: dict[str, Any] = {}

    def program() -> None:
        theirs = k8s.Provider("theirs", kubeconfig="{}")
        addons = ClusterAddons("addons", {**args, "kubernetes_provider": theirs})
        pulumi.Output.all(addons.release_names, addons.placement).apply(
            lambda values: outputs.update(releases=values[0], placement=values[1])
        )

    return run_program(program), outputs


_RUN: dict[str, Any] = {}


def default_run() -> tuple[RecordingMocks, dict[str, Any]]:
    if not _RUN:
        _RUN["run"] = run_with_their_provider(base_args())
    return _RUN["run"]


def released_values() -> dict[str, dict[str, Any]]:
    """Each release's values by its Helm release name (resource names carry the component's name)."""
    mocks, _ = default_run()
    return {r.inputs["name"]: reveal(r.inputs["values"]) for r in mocks.of_type(RELEASE)}


# --- what it registers, and with which provider ----------------------------------------------------


def test_every_default_add_on_is_released_with_the_provider_it_was_given() -> None:
    mocks, outputs = default_run()
    (provider,) = mocks.of_type(PROVIDER)
    assert provider.name == "theirs", "ClusterAddons makes no provider of its own when given one"
    releases = mocks.of_type(RELEASE)
    expected = sorted(s.release for s in ADDONS if s.enabled_by_default)
    assert sorted(r.inputs["name"] for r in releases) == expected
    assert sorted(r.name for r in releases) == [f"addons-{release}" for release in expected]
    assert sorted(outputs["releases"]) == expected
    for release in releases:
        assert release.provider is not None and "::theirs::" in release.provider, release.name


def test_cluster_facts_reach_the_charts_and_pod_identity() -> None:
    mocks, _ = default_run()
    alb = released_values()["aws-load-balancer-controller"]
    assert (alb["clusterName"], alb["region"], alb["vpcId"]) == ("theirs", "us-east-2", VPC)
    associations = mocks.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert associations and all(a.inputs["clusterName"] == "theirs" for a in associations)


def test_grafana_password_is_given_as_a_secret() -> None:
    mocks, _ = default_run()
    values = mocks.one(RELEASE, "addons-kube-prometheus-stack").inputs["values"]
    assert is_secret(values)
    assert reveal(values)["grafana"]["adminPassword"] == PASSWORD


def test_a_kubeconfig_gets_a_provider_of_its_own() -> None:
    def program() -> None:
        ClusterAddons("addons", base_args(kubeconfig='{"clusters": []}'))

    mocks = run_program(program)
    (provider,) = mocks.of_type(PROVIDER)
    assert provider.name == "addons-k8s"
    assert reveal(provider.inputs["kubeconfig"]) == '{"clusters": []}'
    assert all("::addons-k8s::" in (r.provider or "") for r in mocks.of_type(RELEASE))


def test_a_provider_in_the_resource_options_is_used_as_is() -> None:
    def program() -> None:
        theirs = k8s.Provider("inherited", kubeconfig="{}")
        ClusterAddons("addons", base_args(), opts=pulumi.ResourceOptions(providers=[theirs]))

    mocks = run_program(program)
    assert [p.name for p in mocks.of_type(PROVIDER)] == ["inherited"]
    assert all("::inherited::" in (r.provider or "") for r in mocks.of_type(RELEASE))


# --- placement for the described pools --------------------------------------------------------------


def _pods() -> list[tuple[str, Any, dict[str, Any]]]:
    pods = []
    for release, values in released_values().items():
        for workload in BY_RELEASE[release].workloads:
            if workload.runs(values):
                pods.append((release, workload, pod_spec_at(workload, values)))
    assert pods
    return pods


def test_controllers_land_only_on_their_system_pool_and_agents_on_every_pool() -> None:
    nodes = node_profiles(POOLS)
    for release, workload, pod in _pods():
        landing = [verdict.pool for verdict in (evaluate(pod, node) for node in nodes) if verdict.schedulable]
        expected = [pool["name"] for pool in POOLS] if workload.kind.is_node_agent else ["core"]
        assert landing == expected, f"{release} {workload.name} ({workload.kind.value}) lands on {landing}"


def test_controllers_select_their_system_labels_and_tolerate_its_taints() -> None:
    system_taints = {(t["key"], t["value"], t["effect"]) for t in CORE["taints"]}
    for release, workload, pod in _pods():
        if workload.kind.is_node_agent:
            continue
        assert pod["nodeSelector"].items() <= CORE["labels"].items(), (release, workload.name)
        tolerated = {(t["key"], t.get("value", ""), t["effect"]) for t in pod["tolerations"]}
        assert system_taints <= tolerated, (release, workload.name)


def test_node_agents_tolerate_every_described_taint() -> None:
    every_taint = {
        (t["key"], t.get("value", ""), t["effect"]) for pool in POOLS for t in pool.get("taints", [])
    }
    agents = [(release, workload, pod) for release, workload, pod in _pods() if workload.kind.is_node_agent]
    assert {release for release, _, _ in agents} >= {"falco", "fluent-bit"}
    for release, workload, pod in agents:
        tolerated = {(t["key"], t.get("value", ""), t["effect"]) for t in pod["tolerations"]}
        assert every_taint <= tolerated, (release, workload.name)


def test_placement_output_names_the_described_pools() -> None:
    _, outputs = default_run()
    placement = outputs["placement"]
    assert placement["metrics-server/metrics-server"] == ["core"]
    assert placement["fluent-bit/fluent-bit"] == ["core", "general", "legacy"]


# --- errors, before anything is registered ----------------------------------------------------------


def _second_system_pool(args: dict[str, Any]) -> None:
    args["pools"][2]["role"] = "system"
    args["pools"][2]["labels"]["node.armful.dev/role"] = "system"


def _no_system_pool(args: dict[str, Any]) -> None:
    args["pools"][0]["role"] = "workers"
    del args["pools"][0]["labels"]["node.armful.dev/role"]


def _system_pool_without_role_label(args: dict[str, Any]) -> None:
    del args["pools"][0]["labels"]["node.armful.dev/role"]


def _worker_labelled_system(args: dict[str, Any]) -> None:
    args["pools"][1]["labels"]["node.armful.dev/role"] = "system"


def _eks_spelling_of_an_effect(args: dict[str, Any]) -> None:
    args["pools"][2]["taints"][0]["effect"] = "NO_SCHEDULE"


def _arch_label_contradicts_arch(args: dict[str, Any]) -> None:
    args["pools"][1]["labels"]["kubernetes.io/arch"] = "amd64"


def _duplicate_name(args: dict[str, Any]) -> None:
    args["pools"][2]["name"] = "general"


def _x86_worker_in_all_arm(args: dict[str, Any]) -> None:
    args["topology"] = "all-arm"


def _unknown_topology(args: dict[str, Any]) -> None:
    args["topology"] = "arm-only"


def _mixed_without_x86_workers(args: dict[str, Any]) -> None:
    del args["pools"][2]


def _typo_in_an_add_on_key(args: dict[str, Any]) -> None:
    args["addons"] = {"certManagr": {"enabled": False}}


def _no_way_to_the_cluster(args: dict[str, Any]) -> None:
    del args["kubernetes_provider"]


def _provider_and_kubeconfig(args: dict[str, Any]) -> None:
    args["kubeconfig"] = "{}"


def _no_grafana_password(args: dict[str, Any]) -> None:
    del args["grafana_admin_password"]


def _no_vpc(args: dict[str, Any]) -> None:
    del args["vpc_id"]


def _not_a_provider(args: dict[str, Any]) -> None:
    args["kubernetes_provider"] = "kubeconfig.json"


def _camel_case_arg(args: dict[str, Any]) -> None:
    args["clusterName"] = args.pop("cluster_name")


@pytest.mark.parametrize(
    ("change", "paths"),
    [
        (_second_system_pool, ["pools[2].role"]),
        (_no_system_pool, ["pools"]),
        (_system_pool_without_role_label, ["pools[0].labels"]),
        (_worker_labelled_system, ["pools[1].labels"]),
        (_eks_spelling_of_an_effect, ["pools[2].taints[0].effect"]),
        (_arch_label_contradicts_arch, ["pools[1].labels"]),
        (_duplicate_name, ["pools[2].name"]),
        (_x86_worker_in_all_arm, ["pools[2].arch"]),
        (_unknown_topology, ["topology"]),
        (_mixed_without_x86_workers, ["pools"]),
        (_typo_in_an_add_on_key, ["addons.certManagr"]),
        (_no_way_to_the_cluster, ["kubernetes_provider"]),
        (_provider_and_kubeconfig, ["kubeconfig"]),
        (_no_grafana_password, ["grafana_admin_password"]),
        (_no_vpc, ["vpc_id"]),
        (_camel_case_arg, ["clusterName", "cluster_name"]),
        (_not_a_provider, ["kubernetes_provider"]),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_a_wrong_arg_registers_nothing_and_names_the_field(change: Any, paths: list[str]) -> None:
    mocks = RecordingMocks()
    failure: list[BaseException] = []

    def program() -> None:
        args = {**base_args(), "kubernetes_provider": "given"}
        change(args)
        if args.get("kubernetes_provider") == "given":
            # Made here, so that the only registration before the error can be this provider.
            args["kubernetes_provider"] = k8s.Provider("theirs", kubeconfig="{}")
        try:
            ClusterAddons("addons", args)
        except StackConfigError as error:
            failure.append(error)

    run_program(program, mocks=mocks)
    (error,) = failure
    assert [issue.path for issue in error.issues] == paths, str(error)
    assert all(issue.fix for issue in error.issues)
    assert [r.type for r in mocks.registrations] in ([], [PROVIDER]), "nothing of ClusterAddons' own"


def test_an_override_that_strands_a_controller_stops_before_anything_is_registered() -> None:
    mocks = RecordingMocks()
    stranding = {"metricsServer": {"values": {"nodeSelector": {"team.example.com/pool": "nowhere"}}}}

    with pytest.raises(PlanError) as caught:
        run_program(
            lambda: ClusterAddons("addons", base_args(kubeconfig="{}", addons=stranding)), mocks=mocks
        )
    assert [(f.code, "metrics-server" in f.message) for f in caught.value.findings] == [("stranded", True)]
    assert "mixed" in str(caught.value)
    assert mocks.registrations == []


def test_an_override_that_narrows_a_node_agent_is_a_coverage_gap() -> None:
    mocks = RecordingMocks()
    narrowing = {"fluentBit": {"values": {"tolerations": []}}}
    with pytest.raises(PlanError) as caught:
        run_program(
            lambda: ClusterAddons("addons", base_args(kubeconfig="{}", addons=narrowing)), mocks=mocks
        )
    (finding,) = caught.value.findings
    assert finding.code == "coverage-gap" and "core" in finding.message and "legacy" in finding.message
    assert mocks.registrations == []


# --- the pure helpers ---------------------------------------------------------------------------------


def test_descriptions_become_pools_the_scheduler_model_agrees_with() -> None:
    pools = describe_pools(POOLS)
    assert [NodeProfile.of_pool(pool) for pool in pools] == node_profiles(POOLS)
    assert [pool.role.value for pool in pools] == ["system", "workers", "workers"]


def test_eks_taints_use_the_eks_spelling_of_effects() -> None:
    assert eks_taints(LEGACY) == [
        {"key": "kubernetes.io/arch", "value": "amd64", "effect": "NO_SCHEDULE"},
        {"key": "team.example.com/batch", "value": "", "effect": "NO_EXECUTE"},
    ]
    assert eks_taints(GENERAL) == []


# --- the order releases install in --------------------------------------------------------------------


def _release_plans(*changes: tuple[str, dict[str, Any]]) -> list[ReleasePlan]:
    specs = {spec.release: spec for spec in ADDONS if spec.enabled_by_default}
    for release, fields in changes:
        specs[release] = dataclasses.replace(specs[release], **fields)
    return [ReleasePlan(spec, {}) for spec in specs.values()]


def test_release_order_puts_gates_first_and_needs_before_what_needs_them() -> None:
    # Listed with kyverno-policies before kyverno and the gate last: the order must not depend on that.
    plans = sorted(_release_plans(), key=lambda plan: plan.spec.release, reverse=True)
    order = [plan.spec.release for plan in release_order(plans)]
    gates = [spec.release for spec in ADDONS if spec.gates_other_releases]
    assert gates == ["aws-load-balancer-controller"]
    assert order[0] == "aws-load-balancer-controller"
    assert order.index("kyverno") < order.index("kyverno-policies")
    assert sorted(order) == sorted(plan.spec.release for plan in plans)


def test_a_need_that_is_not_installed_is_an_error_not_dropped() -> None:
    plans = [plan for plan in _release_plans() if plan.spec.release != "kyverno"]
    with pytest.raises(ValueError, match=r"kyverno-policies needs kyverno, which is not among the releases"):
        release_order(plans)


def test_releases_that_wait_for_each_other_are_an_error() -> None:
    plans = _release_plans(("kyverno", {"needs": ("kyverno-policies",)}))
    with pytest.raises(ValueError, match="wait for each other"):
        release_order(plans)


def test_the_collector_exporting_to_otlp_gets_no_aws_role() -> None:
    addons = {"openTelemetryCollector": {"tracesExporter": "otlp", "otlpEndpoint": "tempo.tracing:4317"}}
    mocks, _ = run_with_their_provider(base_args(addons=addons))
    accounts = {
        r.inputs["serviceAccount"]
        for r in mocks.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    assert "opentelemetry-collector" not in accounts
    assert "aws-load-balancer-controller" in accounts and "fluent-bit" in accounts


def test_an_eks_managed_add_on_given_to_cluster_addons_says_where_it_belongs() -> None:
    mocks = RecordingMocks()
    with pytest.raises(StackConfigError) as raised:
        run_program(
            lambda: ClusterAddons("addons", base_args(kubeconfig="{}", addons={"coredns": {"values": {}}})),
            mocks=mocks,
        )
    (issue,) = raised.value.issues
    assert issue.path == "addons.coredns"
    assert "EKS managed add-on" in issue.problem and "EksManagedAddons" in issue.fix
    assert mocks.registrations == []
