"""EKS managed add-ons in the model: listed, placed and proven like any add-on, overrides included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from example_stacks import stack_file_config

from armful.addons.eks_managed import EBS_CSI_DRIVER, POD_IDENTITY
from armful.cli.main import main
from armful.core.errors import StackConfigError
from armful.planning.eks_managed_addons_plan import install_order
from armful.planning.plan import Plan, build_plan
from armful.planning.releases import ManagedAddonPlan
from armful.planning.stack_config import parse_stack_config, strip_namespace


def plan_with(stack: str, addons: dict[str, Any]) -> Plan:
    raw = strip_namespace(stack_file_config(stack))
    raw["addons"] = {**raw.get("addons", {}), **addons}
    return build_plan(stack, parse_stack_config(raw), region="us-east-1")


def errors(plan: Plan) -> list[tuple[str, str]]:
    return [(f.code, f.message) for f in plan.findings if f.level.value == "error"]


def test_a_coredns_override_that_strands_it_is_an_error(example_stack: str) -> None:
    plan = plan_with(example_stack, {"coredns": {"values": {"nodeSelector": {"example.com/dns": "yes"}}}})
    ((code, message),) = errors(plan)
    assert code == "stranded"
    assert message.startswith("coredns Deployment coredns can run on no pool")
    assert "nodeSelector example.com/dns=yes does not match" in message


def test_an_ebs_node_override_that_skips_tainted_pools_is_a_coverage_gap() -> None:
    plan = plan_with("arm-workers", {"awsEbsCsiDriver": {"values": {"node": {"tolerateAllTaints": False}}}})
    ((code, message),) = errors(plan)
    assert code == "coverage-gap"
    assert "ebs-csi-node" in message and "system" in message and "batch-arm-spot" in message


def test_a_coredns_override_reaches_its_configuration_values() -> None:
    plan = plan_with("all-arm", {"coredns": {"values": {"replicaCount": 3}}})
    (coredns,) = [addon for addon in plan.managed_addons if addon.spec.name == "coredns"]
    assert coredns.configuration_values["replicaCount"] == 3
    assert coredns.configuration_values["nodeSelector"] == {"node.armful.dev/role": "system"}
    assert not errors(plan)


def test_a_managed_add_on_cannot_be_turned_off() -> None:
    with pytest.raises(StackConfigError) as raised:
        plan_with("all-arm", {"coredns": {"enabled": False}})
    (issue,) = raised.value.issues
    assert issue.path == "armful:addons.coredns.enabled"


def test_plan_lists_every_eks_add_on_and_places_its_workloads(
    capsys: pytest.CaptureFixture[str], example_stack: str
) -> None:
    assert main(["plan", "--stack", example_stack, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(a["name"], a["installed_by"]) for a in document["managed_addons"]] == [
        ("vpc-cni", "pulumi-eks"),
        ("kube-proxy", "pulumi-eks"),
        ("eks-pod-identity-agent", "armful"),
        ("coredns", "armful"),
        ("aws-ebs-csi-driver", "armful"),
    ]
    managed = {(e["release"], e["workload"]): e["pools"] for e in document["placement"] if e["eks_managed"]}
    every_pool = [pool["name"] for pool in document["pools"]]
    assert managed[("coredns", "coredns")] == ["system"]
    assert managed[("aws-ebs-csi-driver", "ebs-csi-controller")] == ["system"]
    for agent in [
        ("vpc-cni", "aws-node"),
        ("kube-proxy", "kube-proxy"),
        ("aws-ebs-csi-driver", "ebs-csi-node"),
    ]:
        assert managed[agent] == every_pool, agent


def test_the_table_shows_eks_add_ons_beside_the_helm_releases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "mixed"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("  coredns ")]
    assert rows == [
        [
            "coredns",
            "EKS",
            "managed",
            "add-on",
            "EKS",
            "default",
            "kube-system",
            "coredns",
            "Deployment",
            "2",
            "system",
        ]
    ]


def test_the_ebs_node_tolerations_a_user_gives_are_read_too() -> None:
    every_taint = [{"operator": "Exists"}]
    plan = plan_with(
        "arm-workers",
        {"awsEbsCsiDriver": {"values": {"node": {"tolerateAllTaints": False, "tolerations": every_taint}}}},
    )
    assert not errors(plan)


def test_an_add_on_listed_before_what_it_needs_stops_the_install_order() -> None:
    agent, ebs = ManagedAddonPlan(POD_IDENTITY, {}), ManagedAddonPlan(EBS_CSI_DRIVER, {})
    assert install_order([agent, ebs]) == [agent, ebs]
    with pytest.raises(ValueError, match="aws-ebs-csi-driver needs eks-pod-identity-agent"):
        install_order([ebs, agent])
