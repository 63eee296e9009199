"""What users of the cert-manager, Kyverno, kyverno-policies and load balancer controller add-ons rely on.

Chart-shaped facts (key paths, schema, pinned tags) are checked against the pinned charts' default
values in ARMFUL_CHARTS_DIR (default ``../shared/charts`` beside the repository); those tests skip,
naming the missing folder, where the charts are absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
import yaml
from chart_values import (
    chart_defaults,
    chart_folder,
    context_for,
)
from pydantic import ValidationError

from armful.addons import aws_load_balancer_controller as alb
from armful.addons import cert_manager, fluent_bit, kyverno, kyverno_policies, namespaces
from armful.addons.context import VPC_ID, DeployTime
from armful.addons.spec import AddonSpec, PolicyScope
from armful.core.arch import Arch
from armful.placement.workloads import WorkloadKind
from armful.planning.releases import release_values
from armful.planning.stack_plan import plan_stack

SPECS: tuple[AddonSpec, ...] = (cert_manager.SPEC, kyverno.SPEC, kyverno_policies.SPEC, alb.SPEC)
NODE_AGENT_NAMESPACES = {
    namespaces.FALCO,
    namespaces.MONITORING,
    namespaces.LOGGING,
    namespaces.OPENTELEMETRY,
}


def policies_values(action: str) -> dict[str, Any]:
    options = kyverno_policies.KyvernoPoliciesOptions.model_validate({"validationFailureAction": action})
    return kyverno_policies.SPEC.values(context_for(kyverno_policies.SPEC, options))


# --- chart key paths and schema -------------------------------------------------------------------


# --- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [kyverno.SPEC, alb.SPEC], ids=lambda spec: spec.key)
def test_image_tags_match_the_pinned_chart_app_version(spec: AddonSpec) -> None:
    chart = yaml.safe_load((chart_folder(spec.chart_dir) / "Chart.yaml").read_text())
    assert chart["version"] == spec.version
    assert {image.tag for workload in spec.workloads for image in workload.images} == {chart["appVersion"]}


def test_alb_image_is_the_chart_default() -> None:
    image = chart_defaults(alb.SPEC)["image"]
    assert [i.ref for i in alb.CONTROLLER.images] == [f"{image['repository']}:{image['tag']}"]


# --- reliability baseline (design §7) -------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_controllers_run_ha_with_a_pdb_and_per_arch_resources(spec: AddonSpec) -> None:
    for workload in spec.workloads:
        assert set(workload.resources) == set(Arch), f"{workload.name} needs a profile per arch"
        if workload.kind is WorkloadKind.DEPLOYMENT:
            assert (workload.replicas or 0) >= 2, workload.name
            assert "podDisruptionBudget" in workload.extra_values, workload.name
            assert workload.pod_labels, f"{workload.name} needs pod labels for its zone spread"
        else:
            assert workload.replicas is None, workload.name


# --- cert-manager ---------------------------------------------------------------------------------


def test_cert_manager_installs_and_keeps_its_crds() -> None:
    values = cert_manager.SPEC.values(context_for(cert_manager.SPEC))
    assert values["crds"] == {"enabled": True, "keep": True}


def test_cert_manager_priority_class_is_chart_wide() -> None:
    """The chart has only ``global.priorityClassName``; a per-component key would fail its schema."""
    rendered = release_values(cert_manager.SPEC, context_for(cert_manager.SPEC))
    assert rendered["global"]["priorityClassName"] == "system-cluster-critical"
    assert "priorityClassName" not in rendered
    for component in ("webhook", "cainjector", "startupapicheck"):
        assert "priorityClassName" not in rendered[component]


def test_cert_manager_places_every_component_on_its_own_keys() -> None:
    rendered = release_values(cert_manager.SPEC, context_for(cert_manager.SPEC))
    for tree in (rendered, rendered["webhook"], rendered["cainjector"], rendered["startupapicheck"]):
        assert tree["nodeSelector"] == {"node.armful.dev/role": "system"}
        assert any(toleration.get("key") == "CriticalAddonsOnly" for toleration in tree["tolerations"])
    assert (
        rendered["replicaCount"],
        rendered["webhook"]["replicaCount"],
        rendered["cainjector"]["replicaCount"],
    ) == (
        2,
        3,
        2,
    )
    assert "replicaCount" not in rendered["startupapicheck"]


# --- kyverno --------------------------------------------------------------------------------------


def test_kyverno_admission_controller_runs_three_replicas() -> None:
    rendered = release_values(kyverno.SPEC, context_for(kyverno.SPEC))
    admission = rendered["admissionController"]
    assert admission["replicas"] == 3
    assert admission["podDisruptionBudget"]["enabled"] is True
    assert admission["container"]["resources"]["requests"]["memory"] == "256Mi"
    assert "resources" not in admission, "the admission controller's resources live under container"


def test_kyverno_migration_job_resources_go_to_pod_resources() -> None:
    rendered = release_values(kyverno.SPEC, context_for(kyverno.SPEC))
    migration = rendered["crds"]["migration"]
    assert "requests" in migration["podResources"]
    assert "resources" not in migration, "crds.migration.resources is the list of CRDs to migrate"


def test_kyverno_sets_placement_per_component_because_global_is_replaced() -> None:
    rendered = release_values(kyverno.SPEC, context_for(kyverno.SPEC))
    assert "nodeSelector" not in rendered.get("global", {})
    for workload in kyverno.SPEC.workloads:
        assert workload.keys.node_selector and workload.keys.tolerations, workload.name
        assert workload.keys.affinity is None, f"{workload.name}: kyverno has no affinity key"
        tree: Any = rendered
        for part in workload.path:
            tree = tree[part]
        assert tree["nodeSelector"] == {"node.armful.dev/role": "system"}, workload.name


def test_kyverno_test_pod_image_is_pinned_not_latest() -> None:
    rendered = release_values(kyverno.SPEC, context_for(kyverno.SPEC))
    assert rendered["test"]["image"]["tag"] == kyverno.APP_VERSION


# --- kyverno-policies -----------------------------------------------------------------------------


def test_policies_default_to_audit_without_exclusions() -> None:
    values = kyverno_policies.SPEC.values(context_for(kyverno_policies.SPEC))
    assert values["validationFailureAction"] == "Audit"
    assert values["podSecurityStandard"] == "baseline"
    assert values["vpolExcludeByPolicy"] == {}
    assert values["failurePolicy"] == "Ignore"


def test_policies_enforce_excludes_exactly_the_node_agents_namespaces() -> None:
    values = policies_values("Enforce")
    assert values["validationFailureAction"] == "Enforce"
    assert values["failurePolicy"] == "Fail"
    exclusions = values["vpolExcludeByPolicy"]
    excluded_namespaces = {
        re.search(r"request\.namespace == '([^']+)'", condition["expression"]).group(1)
        for conditions in exclusions.values()
        for condition in conditions["matchConditions"]
    }
    assert excluded_namespaces == NODE_AGENT_NAMESPACES
    assert namespaces.KUBE_SYSTEM not in json.dumps(exclusions)


def test_policies_enforce_exclusions_are_narrow() -> None:
    """Namespace *and* pod labels, only baseline policies, never a whole namespace or subject."""
    exclusions = policies_values("Enforce")["vpolExcludeByPolicy"]
    assert set(exclusions) <= set(kyverno_policies.BASELINE_POLICIES)
    for policy, exclude in exclusions.items():
        assert set(exclude) == {"matchConditions"}, policy
        for condition in exclude["matchConditions"]:
            expression = condition["expression"]
            assert expression.startswith("!(request.namespace == '"), expression
            assert "object.metadata.labels['app.kubernetes.io/name'] == '" in expression, expression
        names = [condition["name"] for condition in exclude["matchConditions"]]
        assert len(names) == len(set(names)), policy


@pytest.mark.parametrize(
    ("policy", "agents"),
    [
        ("disallow-host-path", {"falco", "node-exporter", "fluent-bit", "opentelemetry-collector-agent"}),
        ("disallow-host-namespaces", {"node-exporter"}),
        ("disallow-host-ports", {"node-exporter", "opentelemetry-collector-agent"}),
        # Falco runs least privileged: capabilities and AppArmor unconfined, never a privileged container.
        ("disallow-privileged-containers", set()),
        ("disallow-capabilities", {"falco"}),
        ("restrict-apparmor-profiles", {"falco"}),
        ("restrict-seccomp", set()),
    ],
)
def test_policies_enforce_excludes_agents_only_from_what_they_break(policy: str, agents: set[str]) -> None:
    exclusions = policies_values("Enforce")["vpolExcludeByPolicy"]
    names = {c["name"] for c in exclusions.get(policy, {}).get("matchConditions", [])}
    assert names == {f"armful-exclude-{agent}" for agent in agents}


def test_only_enabled_add_ons_node_agents_are_excluded() -> None:
    """The exclusions follow from what each enabled add-on's node agents declare, nothing else."""
    options = kyverno_policies.KyvernoPoliciesOptions.model_validate({"validationFailureAction": "Enforce"})
    context = replace(
        context_for(kyverno_policies.SPEC, options),
        enabled_addons=(fluent_bit.SPEC, kyverno_policies.SPEC),
    )
    exclusions = kyverno_policies.SPEC.values(context)["vpolExcludeByPolicy"]
    assert exclusions == {
        "disallow-host-path": {
            "matchConditions": [
                {
                    "name": "armful-exclude-fluent-bit",
                    "expression": "!(request.namespace == 'logging' && has(object.metadata.labels) && "
                    "'app.kubernetes.io/name' in object.metadata.labels && "
                    "object.metadata.labels['app.kubernetes.io/name'] == 'fluent-bit')",
                }
            ]
        }
    }


def test_policies_option_is_camel_case_and_closed() -> None:
    options = kyverno_policies.KyvernoPoliciesOptions.model_validate({"validationFailureAction": "Enforce"})
    assert options.validation_failure_action == "Enforce"
    with pytest.raises(ValidationError):
        kyverno_policies.KyvernoPoliciesOptions.model_validate({"validationFailureAction": "Deny"})


def test_policies_wait_for_kyverno_and_run_no_pods() -> None:
    assert kyverno_policies.SPEC.needs == ("kyverno",)
    assert kyverno_policies.SPEC.workloads == ()
    assert kyverno_policies.SPEC.namespace == kyverno.SPEC.namespace


# --- aws-load-balancer-controller -----------------------------------------------------------------


def test_alb_values_carry_cluster_region_and_vpc_placeholder() -> None:
    plan = plan_stack(stack="arm-workers")
    values = alb.SPEC.values(context_for(alb.SPEC))
    assert values["clusterName"] == plan.config.cluster.name
    assert values["region"] == plan.region
    assert values["vpcId"] is VPC_ID
    assert isinstance(values["vpcId"], DeployTime)


def test_alb_service_account_is_the_pod_identity_one() -> None:
    values = alb.SPEC.values(context_for(alb.SPEC))
    assert values["serviceAccount"] == {"create": True, "name": alb.SERVICE_ACCOUNT}
    assert alb.SPEC.pod_identity is not None
    assert alb.SPEC.pod_identity.service_account == alb.SERVICE_ACCOUNT


def test_alb_keeps_default_anti_affinity_and_places_by_selector() -> None:
    rendered = release_values(alb.SPEC, context_for(alb.SPEC))
    assert "affinity" not in rendered
    assert rendered["nodeSelector"] == {"node.armful.dev/role": "system"}
    assert rendered["replicaCount"] == 2
    assert rendered["podDisruptionBudget"] == {"maxUnavailable": 1}


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_alb_iam_policy_names_the_partition_region_and_account(partition: str) -> None:
    assert alb.SPEC.pod_identity is not None and alb.SPEC.pod_identity.scoped_inline_policy is not None
    scope = PolicyScope(partition, "eu-west-1", "444455556666", "shop", "vpc-0a1b2c3d4e5f60718")
    document = alb.SPEC.pod_identity.scoped_inline_policy(scope)
    assert document["Version"] == "2012-10-17"
    assert not re.search(r"\{(partition|region|account|cluster|vpc)\}", json.dumps(document))
    for arn in _arns(document):
        assert arn.startswith(f"arn:{partition}:"), arn
        _, _, service, region, account, _ = arn.split(":", 5)
        assert region in ("eu-west-1", "") and account == "444455556666", arn
        assert service not in ("iam", "shield") or region == "", arn


@pytest.mark.parametrize(
    "field, value",
    [
        ("partition", 'aws", "Effect": "Deny'),
        ("region", "eu-west-1:*"),
        ("account_id", "*"),
        ("vpc_id", "vpc-1/*"),
        ("cluster_name", "shop/*"),
    ],
)
def test_alb_iam_policy_rejects_what_would_widen_an_arn(field: str, value: str) -> None:
    scope = replace(
        PolicyScope("aws", "eu-west-1", "444455556666", "shop", "vpc-0a1b2c3d4e5f60718"), **{field: value}
    )
    with pytest.raises(ValueError, match="not "):
        alb.iam_policy(scope)


def test_alb_iam_policy_needs_the_vpc() -> None:
    with pytest.raises(ValueError, match="VPC"):
        alb.iam_policy(PolicyScope("aws", "eu-west-1", "444455556666", "shop"))


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _arns(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        if node.startswith("arn:"):
            yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _arns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _arns(value)
