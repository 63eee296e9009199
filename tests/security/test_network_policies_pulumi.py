"""What ``pulumi up`` registers for network policies, under Pulumi mocks (design §8).

The example stack program with the switch on (its default) and off, and ClusterAddons on a cluster of
someone else's: each NetworkPolicy goes through the cluster's Kubernetes provider, is a child of
ClusterAddons, waits for the release that creates its namespace, and admits the VPC's blocks as EC2
describes the VPC; the VPC CNI is told to enforce them.
"""

from __future__ import annotations

import copy
import json
import runpy
from typing import Any

import pulumi_kubernetes as k8s
import pytest
from example_stacks import GRAFANA_PASSWORD, ROOT, SECRET_KEYS, run_stack_program, stack_file_config
from pulumi_harness import RecordingMocks, reveal, run_program

from armful.addons.eks_managed import MANAGED_ADDONS
from armful.addons.registry import BY_RELEASE
from armful.cluster_addons import ClusterAddons
from armful.core.errors import StackConfigError
from armful.planning.stack_plan import plan_stack

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
BY_RELEASE_MANAGED = {spec.name: spec for spec in MANAGED_ADDONS}
RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER = "eks:index:Cluster"
GET_VPC = "aws:ec2/getVpc:getVpc"


def test_the_stack_program_applies_every_planned_policy_through_the_cluster_provider() -> None:
    mocks = run_stack_program("mixed")
    plan = plan_stack(stack="mixed")
    registered = mocks.of_type(NETWORK_POLICY)
    assert sorted(
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]) for r in registered
    ) == sorted((p.namespace, p.name) for p in plan.network_policies)
    (provider,) = [r for r in mocks.of_type("pulumi:providers:kubernetes")]
    (addons,) = mocks.of_type("armful:index:ClusterAddons")
    releases = {r.inputs["name"]: r for r in mocks.of_type(RELEASE)}
    for policy in plan.network_policies:
        resource = next(
            r
            for r in registered
            if (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
            == (policy.namespace, policy.name)
        )
        assert resource.provider is not None and resource.provider.startswith(provider.urn), resource.name
        assert resource.parent == addons.urn
        # The release that creates the namespace comes first (Helm creates it).
        assert mocks.waits_for(resource, releases[policy.release]), resource.name
        assert BY_RELEASE[policy.release].namespace == policy.namespace
    # The existing VPC is read once, and both of its blocks admit the control plane.
    vpcs = [args for token, args in mocks.calls if token == GET_VPC]
    assert [args["id"] for args in vpcs] == [stack_file_config("mixed")["armful:network"]["vpcId"]]
    webhook = next(r for r in registered if r.inputs["metadata"]["name"] == "armful-cert-manager-webhook")
    assert reveal(webhook.inputs["spec"])["ingress"][0]["from"] == [
        {"ipBlock": {"cidr": block}} for block in RecordingMocks().vpc_cidr_blocks
    ]
    assert mocks.one(CLUSTER).inputs["vpcCniOptions"]["configurationValues"] == {
        "enableNetworkPolicy": "true"
    }


def test_switched_off_there_is_no_policy_and_the_vpc_cni_is_left_as_it_was() -> None:
    config = {
        **copy.deepcopy(stack_file_config("arm-workers")),
        "armful:addons": {"networkPolicies": {"enabled": False}},
        "armful:grafanaAdminPassword": GRAFANA_PASSWORD,
    }
    mocks = run_program(
        lambda: runpy.run_path(str(ROOT / "__main__.py")),
        config,
        stack="arm-workers",
        secret_keys=SECRET_KEYS,
    )
    assert mocks.of_type(NETWORK_POLICY) == []
    assert "configurationValues" not in mocks.one(CLUSTER).inputs["vpcCniOptions"]
    assert all(token != GET_VPC for token, _ in mocks.calls)
    assert mocks.of_type(RELEASE), "the add-ons are still installed"


def _their_cluster(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "cluster_name": "theirs",
        "region": "us-east-2",
        "vpc_id": "vpc-0fedcba9876543210",
        "topology": "arm-workers",
        "pools": [
            {"name": "core", "role": "system", "arch": "amd64", "labels": {"node.armful.dev/role": "system"}},
            {"name": "apps", "role": "workers", "arch": "arm64"},
        ],
        "grafana_admin_password": "test-password",
    }
    args.update(changes)
    return args


def _cluster_addons(args: dict[str, Any]) -> RecordingMocks:
    def program() -> None:
        ClusterAddons("addons", {**args, "kubernetes_provider": k8s.Provider("theirs", kubeconfig="{}")})

    return run_program(program)


def test_cluster_addons_on_their_cluster_reads_their_vpc() -> None:
    mocks = _cluster_addons(_their_cluster())
    assert [args["id"] for token, args in mocks.calls if token == GET_VPC] == ["vpc-0fedcba9876543210"]
    policies = mocks.of_type(NETWORK_POLICY)
    assert {r.inputs["metadata"]["namespace"] for r in policies} >= {"kube-system", "monitoring", "kyverno"}
    assert all(r.provider is not None and "::theirs::" in r.provider for r in policies)
    # Names carry the component's name, so two ClusterAddons in one program do not collide.
    assert all(r.name.startswith("addons-") for r in policies)


def test_without_a_vpc_the_policies_cannot_name_the_control_plane() -> None:
    args = _their_cluster(addons={"awsLoadBalancerController": {"enabled": False}})
    del args["vpc_id"]
    mocks = RecordingMocks()
    with pytest.raises(StackConfigError) as raised:
        run_program(lambda: ClusterAddons("addons", {**args, "kubeconfig": "{}"}), mocks=mocks)
    (issue,) = raised.value.issues
    assert issue.path == "vpc_id" and "networkPolicies.enabled: false" in issue.fix
    assert mocks.registrations == []
    off = _cluster_addons({**args, "addons": {**args["addons"], "networkPolicies": {"enabled": False}}})
    assert off.of_type(NETWORK_POLICY) == [] and off.of_type(RELEASE)


def test_a_mistyped_switch_is_refused_with_its_path() -> None:
    with pytest.raises(StackConfigError) as raised:
        run_program(
            lambda: ClusterAddons(
                "addons",
                {**_their_cluster(addons={"networkPolicies": {"enable": False}}), "kubeconfig": "{}"},
            )
        )
    assert [issue.path for issue in raised.value.issues] == ["addons.networkPolicies.enable"]


def test_the_plan_json_shows_the_switch_in_its_network_object() -> None:
    plan = plan_stack(stack="all-arm")
    network = json.loads(json.dumps(plan.to_json()))["network"]["network_policies"]
    assert network["enabled"] is True and network["vpc_cni_enforces"] is True
    assert len(network["policies"]) == len(plan.network_policies)
    assert "kube-system" in network["namespaces"]
    rendered = json.dumps(network)
    assert "<deploy-time: vpc_cidrs>" in rendered


def test_eks_managed_addons_refuses_the_switch_it_would_ignore() -> None:
    from armful.planning.eks_managed_addons_plan import plan_eks_managed_addons

    pools = [
        {"name": "core", "role": "system", "arch": "arm64", "labels": {"node.armful.dev/role": "system"}}
    ]
    with pytest.raises(StackConfigError) as raised:
        plan_eks_managed_addons({"pools": pools, "addons": {"networkPolicies": {"enabled": False}}})
    (issue,) = raised.value.issues
    assert issue.path == "addons.networkPolicies" and "ClusterAddons" in issue.fix


@pytest.mark.parametrize("version", ["v1.13.4-eksbuild.1", "v1.14.0-eksbuild.2"])
def test_a_vpc_cni_too_old_to_enforce_them_is_refused_before_anything_exists(version: str) -> None:
    from armful.planning.stack_config import parse_stack_config

    config = {
        key.removeprefix("armful:"): value
        for key, value in stack_file_config("all-arm").items()
        if key.startswith("armful:")
    }
    with pytest.raises(StackConfigError) as raised:
        parse_stack_config({**config, "addons": {"vpcCni": {"version": version}}})
    (issue,) = raised.value.issues
    assert issue.path == "armful:addons" and version in issue.problem and "v1.14.0-eksbuild.3" in issue.fix
    allowed = {**config, "addons": {"vpcCni": {"version": version}, "networkPolicies": {"enabled": False}}}
    assert parse_stack_config(allowed).addons.managed_version(BY_RELEASE_MANAGED["vpc-cni"]) == version
