"""The security baseline: what Grafana may read, where Fluent Bit may write, who may assume a pod role."""

from __future__ import annotations

import fnmatch
import json

import pytest
from example_stacks import stack_file_config
from render.test_real_charts import SDK_REASON, chart_archives
from test_stack_program import CLUSTER_NAMES, _program

from armful.addons import fluent_bit, kube_prometheus_stack
from armful.addons.namespaces import MONITORING
from armful.addons.spec import PolicyScope
from armful.planning.releases import render_placeholders
from armful.planning.stack_plan import plan_stack

# --- Grafana reads no Secret outside its namespace --------------------------------------------------


def test_grafana_values_confine_its_sidecars_to_configmaps_in_its_namespace() -> None:
    plan = plan_stack(stack="arm-workers")
    (release,) = [r for r in plan.releases if r.spec is kube_prometheus_stack.SPEC]
    grafana = release.values["grafana"]
    assert grafana["rbac"]["namespaced"] is True
    assert grafana["sidecar"]["dashboards"]["resource"] == "configmap"
    assert grafana["sidecar"]["dashboards"]["searchNamespace"] == MONITORING
    assert grafana["sidecar"]["datasources"]["resource"] == "configmap"


def test_grafana_renders_no_cluster_role_and_a_role_only_in_monitoring() -> None:
    pytest.importorskip("helm_python", reason=SDK_REASON)
    from armful.render.helm import helm_sdk, parse_rendered

    archives = chart_archives()
    plan = plan_stack(stack="arm-workers")
    (release,) = [r for r in plan.releases if r.spec is kube_prometheus_stack.SPEC]
    archive = archives / f"{release.spec.chart}-{release.spec.version}.tgz"
    with helm_sdk().Chart.load(archive) as chart:
        files = chart.render(
            render_placeholders(release.values),
            name=release.spec.release,
            namespace=release.spec.namespace,
            is_install=True,
        )
    grafana = {path: text for path, text in files.items() if "/charts/grafana/" in path}
    objects = [m.body for m in parse_rendered(grafana)]
    kinds = {body["kind"] for body in objects}
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds
    roles = [body for body in objects if body["kind"] in ("Role", "RoleBinding")]
    assert sorted(body["kind"] for body in roles) == ["Role", "RoleBinding"]
    assert {body["metadata"]["namespace"] for body in roles} == {MONITORING}
    # What stays: the chart's Role still names secrets, in Grafana's own namespace only.
    (role,) = [body for body in roles if body["kind"] == "Role"]
    assert role["rules"][0]["resources"] == ["configmaps", "secrets"]

    (deployment,) = [body for body in objects if body["kind"] == "Deployment"]
    containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    env = {
        name: {e["name"]: e.get("value") for e in container.get("env", [])}
        for name, container in containers.items()
        if name.startswith("grafana-sc-")
    }
    assert set(env) == {"grafana-sc-dashboard", "grafana-sc-datasources"}, set(env)
    assert all(variables["RESOURCE"] == "configmap" for variables in env.values()), env
    assert env["grafana-sc-dashboard"]["NAMESPACE"] == MONITORING
    assert "NAMESPACE" not in env["grafana-sc-datasources"]


# --- Fluent Bit writes only to its own cluster's log group ------------------------------------------

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ACCOUNT = "111122223333"


def _region(stack: str) -> str:
    return stack_file_config(stack)["aws:region"]


@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
def test_fluent_bit_policy_names_one_log_group_by_its_full_arn(partition: str) -> None:
    assert fluent_bit.SPEC.pod_identity is not None
    policy = fluent_bit.SPEC.pod_identity.scoped_inline_policy
    assert policy is not None
    (statement,) = policy(PolicyScope(partition, "eu-west-1", "444455556666", "shop"))["Statement"]
    group = f"arn:{partition}:logs:eu-west-1:444455556666:log-group:/aws/eks/shop/containers"
    assert statement["Resource"] == [group, f"{group}:*"]
    for elsewhere in (
        f"arn:{partition}:logs:us-east-1:444455556666:log-group:/aws/eks/shop/containers:*",
        f"arn:{partition}:logs:eu-west-1:777788889999:log-group:/aws/eks/shop/containers:*",
        f"arn:{partition}:logs:eu-west-1:444455556666:log-group:/aws/eks/other/containers:*",
    ):
        assert not any(fnmatch.fnmatchcase(elsewhere, pattern) for pattern in statement["Resource"])


def test_fluent_bit_role_policy_in_the_program_is_this_stacks_log_group(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    # Every example stack runs Fluent Bit: a stack without its policy is the bug this test is for.
    (registered,) = [p for p in mocks.of_type(ROLE_POLICY) if "fluent-bit" in p.name]
    (statement,) = json.loads(registered.inputs["policy"])["Statement"]
    group = f"/aws/eks/{CLUSTER_NAMES[example_stack]}/containers"
    arn = f"arn:aws:logs:{_region(example_stack)}:{ACCOUNT}:log-group:{group}"
    assert statement["Resource"] == [arn, f"{arn}:*"]


# --- Pod Identity roles trust this account's cluster in this region -------------------------------


def test_policy_scope_names_the_cluster_arn_in_its_partition() -> None:
    scope = PolicyScope("aws-cn", "cn-north-1", "444455556666", "shop")
    assert scope.cluster_arn == "arn:aws-cn:eks:cn-north-1:444455556666:cluster/shop"


def test_every_pod_identity_role_trusts_only_the_cluster_arn_of_this_account_and_region(
    example_stack: str,
) -> None:
    mocks = _program(example_stack).mocks
    cluster = CLUSTER_NAMES[example_stack]
    wanted = f"arn:aws:eks:{_region(example_stack)}:{ACCOUNT}:cluster/{cluster}"
    trusts = [json.loads(role.inputs["assumeRolePolicy"])["Statement"] for role in mocks.of_type(ROLE)]
    pod_trusts = [s for (s,) in trusts if s["Principal"] == {"Service": "pods.eks.amazonaws.com"}]
    # The EBS CSI driver's (an EKS managed add-on) and every Helm add-on's with AWS access.
    assert len(pod_trusts) >= 4
    for statement in pod_trusts:
        condition = statement["Condition"]["StringEquals"]
        assert condition["aws:RequestTag/eks-cluster-arn"] == wanted
        assert condition["aws:RequestTag/eks-cluster-name"] == cluster
    # The account comes from the caller's identity, not from config.
    assert any(token == "aws:index/getCallerIdentity:getCallerIdentity" for token, _ in mocks.calls)
