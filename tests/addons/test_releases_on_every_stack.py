"""Every release of every example stack: keys the chart reads, schemas, and where each workload lands."""

from __future__ import annotations

import copy
from functools import cache

import pytest
from chart_values import chart_defaults, schema_errors, unknown_paths
from example_stacks import EXAMPLE_STACKS, GRAFANA_PASSWORD, run_stack_program, stack_file_config
from pulumi_harness import RecordingMocks, is_secret, reveal

from armful.addons.registry import ADDONS, BY_RELEASE
from armful.core.errors import StackConfigError
from armful.core.pools import PoolRole
from armful.planning.plan import Plan, build_plan
from armful.planning.releases import ReleasePlan, render_placeholders
from armful.planning.stack_config import parse_stack_config, strip_namespace
from armful.planning.stack_plan import plan_stack

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


@cache
def example_plan(stack: str) -> Plan:
    return plan_stack(stack=stack)


def plan_with(stack: str, addons: dict) -> Plan:
    raw = strip_namespace(stack_file_config(stack))
    raw["addons"] = addons
    return build_plan(stack, parse_stack_config(raw), region="us-west-2")


def releases_of_examples() -> list[tuple[str, ReleasePlan]]:
    return [(stack, release) for stack in EXAMPLE_STACKS for release in example_plan(stack).releases]


RELEASES = releases_of_examples()
RELEASE_IDS = [f"{stack}-{release.spec.release}" for stack, release in RELEASES]


def test_every_add_on_is_installed_by_default_and_karpenter_where_a_stack_enables_it() -> None:
    for stack in EXAMPLE_STACKS:
        enabled = (stack_file_config(stack).get("armful:addons") or {}).get("karpenter", {}).get("enabled")
        assert [release.spec.release for release in example_plan(stack).releases] == [
            spec.release
            for spec in ADDONS
            if spec.enabled_by_default or (spec.release == "karpenter" and enabled)
        ]


@pytest.mark.parametrize(("stack", "release"), RELEASES, ids=RELEASE_IDS)
def test_every_values_path_is_a_key_the_chart_reads(stack: str, release: ReleasePlan) -> None:
    unknown = unknown_paths(release.spec, chart_defaults(release.spec), release.values)
    assert not unknown, (
        f"{release.spec.release} sets keys its chart {release.spec.chart_dir} does not have: {unknown}"
    )


@pytest.mark.parametrize(("stack", "release"), RELEASES, ids=RELEASE_IDS)
def test_values_pass_the_chart_schema_where_it_has_one(stack: str, release: ReleasePlan) -> None:
    assert not schema_errors(release.spec, render_placeholders(release.values))


def test_an_unknown_key_in_a_schema_chart_is_caught() -> None:
    """The schema check above can fail: cert-manager refuses a key it does not define."""
    errors = schema_errors(BY_RELEASE["cert-manager"], {"webhook": {"nodeSelectr": {"a": "b"}}})
    assert len(errors) == 1 and "nodeSelectr" in errors[0]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_controllers_and_hooks_land_only_on_the_system_pool_and_agents_everywhere(stack: str) -> None:
    plan = example_plan(stack)
    system = [pool.name for pool in plan.pools if pool.role is PoolRole.SYSTEM]
    every_pool = [pool.name for pool in plan.pools]
    assert plan.placement, "the plan places nothing"
    for entry in plan.placement:
        expected = every_pool if entry.kind == "DaemonSet" else system
        assert list(entry.pools) == expected, (
            f"{entry.release} {entry.workload} ({entry.kind}) lands on {entry.pools}"
        )
    # The example stacks' own workloads may warn (an app without an arm64 build in mixed); add-ons never.
    add_on_findings = [f for f in plan.findings if f.code not in {"other-arch", "arch-unknown"}]
    assert not add_on_findings, [finding.message for finding in add_on_findings]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_workload_an_add_on_runs_is_placed(stack: str) -> None:
    plan = example_plan(stack)
    placed = {(entry.release, entry.workload) for entry in plan.placement}
    running = {
        (addon.spec.release, workload.name)
        for addon, values in (
            *((release, release.values) for release in plan.releases),
            *((managed, managed.configuration_values) for managed in plan.managed_addons),
        )
        for workload in addon.spec.workloads
        if workload.runs(values)
    }
    assert placed == running
    # EKS's own: CoreDNS and the EBS CSI controller on the system pool, its agents on every pool.
    eks = {(entry.workload, entry.pools) for entry in plan.placement if entry.eks_managed}
    every_pool = tuple(pool.name for pool in plan.pools)
    assert eks == {
        ("coredns", ("system",)),
        ("ebs-csi-controller", ("system",)),
        *(
            (agent, every_pool)
            for agent in ("aws-node", "kube-proxy", "eks-pod-identity-agent", "ebs-csi-node")
        ),
    }


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_node_agents_tolerate_every_pool_taint(stack: str) -> None:
    plan = example_plan(stack)
    taints = {(t.key, t.value, t.effect.value) for pool in plan.pools for t in pool.taints}
    agents = [
        (r, w) for r in plan.releases for w in r.spec.workloads if w.kind.is_node_agent and w.runs(r.values)
    ]
    assert agents
    for release, workload in agents:
        tolerations = release.values
        for part in (*workload.path, workload.keys.tolerations):
            tolerations = tolerations[part]
        tolerated = {(t["key"], t["value"], t["effect"]) for t in tolerations}
        assert taints <= tolerated, f"{release.spec.release} {workload.name} misses {taints - tolerated}"


def test_an_override_that_strands_a_controller_is_an_error() -> None:
    plan = plan_with(
        "all-arm", {"metricsServer": {"values": {"nodeSelector": {"kubernetes.io/arch": "amd64"}}}}
    )
    assert [(f.level.value, f.code) for f in plan.findings] == [("error", "stranded")]
    assert "metrics-server" in plan.findings[0].message and "all-arm" in plan.findings[0].message


def test_an_override_that_drops_a_node_agents_tolerations_is_a_coverage_gap() -> None:
    plan = plan_with("arm-workers", {"fluentBit": {"values": {"tolerations": []}}})
    gaps = [f for f in plan.findings if f.code == "coverage-gap"]
    assert len(gaps) == 1 and "fluent-bit" in gaps[0].message
    assert "system" in gaps[0].message and "batch-arm-spot" in gaps[0].message


def test_an_override_that_lets_a_controller_onto_workers_is_an_error() -> None:
    # As in Helm, a null removes a key: here the role selector Armful set.
    values = {"nodeSelector": {"node.armful.dev/role": None}, "tolerations": [{"operator": "Exists"}]}
    plan = plan_with("arm-workers", {"awsLoadBalancerController": {"values": values}})
    assert [f.code for f in plan.findings] == ["off-system"]


def test_an_add_on_can_be_disabled_and_its_dependants_must_follow() -> None:
    plan = plan_with("mixed", {"falco": {"enabled": False}})
    assert "falco" not in [release.spec.release for release in plan.releases]
    with pytest.raises(StackConfigError, match=r"armful:addons: kyvernoPolicies needs kyverno"):
        plan_with("mixed", {"kyverno": {"enabled": False}})


def test_an_unknown_add_on_key_is_rejected_with_its_path() -> None:
    with pytest.raises(StackConfigError, match=r"armful:addons\.certManagr"):
        plan_with("mixed", {"certManagr": {"enabled": False}})


@cache
def stack_run(stack: str) -> RecordingMocks:
    return run_stack_program(stack)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_program_installs_each_planned_release_as_planned(stack: str) -> None:
    mocks = stack_run(stack)
    plan = example_plan(stack)
    provider = mocks.one("pulumi:providers:kubernetes")
    registered = {r.inputs["name"]: r for r in mocks.of_type(RELEASE_TYPE)}
    assert sorted(registered) == sorted(release.spec.release for release in plan.releases)
    vpc_id = "armful-network-vpc-id" if plan.config.network.vpc_id is None else plan.config.network.vpc_id
    known = {"<deploy-time: vpc_id>": vpc_id, "<deploy-time: grafana_admin_password>": GRAFANA_PASSWORD}
    for release in plan.releases:
        inputs = registered[release.spec.release].inputs
        assert inputs["version"] == release.spec.version
        assert inputs["namespace"] == release.spec.namespace
        assert release.spec.chart in inputs["chart"]
        assert registered[release.spec.release].provider.split("::")[-2].endswith(provider.name)
        assert reveal(inputs["values"]) == substitute(render_placeholders(release.values), known)
        assert is_secret(inputs["values"]) == (release.spec.release == "kube-prometheus-stack")


def substitute(tree: object, known: dict[str, str]) -> object:
    if isinstance(tree, str):
        return known.get(tree, tree)
    if isinstance(tree, dict):
        return {key: substitute(value, known) for key, value in tree.items()}
    if isinstance(tree, list):
        return [substitute(value, known) for value in tree]
    return copy.deepcopy(tree)


@pytest.mark.parametrize(
    "collector",
    [{"mode": "agent"}, {"values": {"mode": "daemonset"}}],
    ids=["agent-option", "mode-override"],
)
def test_the_collector_as_an_agent_is_placed_as_a_node_agent(collector: dict) -> None:
    plan = plan_with("mixed", {"openTelemetryCollector": collector})
    (entry,) = [e for e in plan.placement if e.release == "opentelemetry-collector"]
    assert (entry.kind, list(entry.pools)) == ("DaemonSet", [pool.name for pool in plan.pools])
    (release,) = [r for r in plan.releases if r.spec.release == "opentelemetry-collector"]
    # No Deployment-only settings linger: a DaemonSet has no replicas, PDB or system-pool selector.
    assert {"replicaCount", "podDisruptionBudget", "nodeSelector"}.isdisjoint(release.values)
    assert not schema_errors(release.spec, render_placeholders(release.values))
    assert not plan.findings or all(f.level.value == "warning" for f in plan.findings)


def test_the_collector_gets_aws_access_only_to_export_to_xray() -> None:
    def identity(addons: dict) -> object:
        plan = plan_with("mixed", addons)
        return next(r for r in plan.releases if r.spec.release == "opentelemetry-collector").pod_identity

    assert identity({}) is not None
    assert (
        identity({"openTelemetryCollector": {"tracesExporter": "otlp", "otlpEndpoint": "tempo:4317"}}) is None
    )
