"""The load balancer controller's IAM policy reaches this cluster's resources, not the whole account.

Judged against the policy the controller publishes for its pinned version (tests/addons/upstream/): every
action it grants is still granted, and each of its conditions is at least as narrow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from example_stacks import stack_file_config
from test_stack_program import CLUSTER_NAMES, MIXED_VPC, _program

from armful.addons import aws_load_balancer_controller as alb
from armful.addons.spec import PolicyScope

UPSTREAM = (
    Path(__file__).parents[1] / "addons" / "upstream" / "aws_load_balancer_controller_iam_policy_v3.5.0.json"
)
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
CLUSTER_TAG = "elbv2.k8s.aws/cluster"
ACCOUNT = "111122223333"
SCOPE = PolicyScope("aws", "eu-west-1", "444455556666", "shop", "vpc-0a1b2c3d4e5f60718")
VPC_ARN = "arn:aws:ec2:eu-west-1:444455556666:vpc/vpc-0a1b2c3d4e5f60718"
SG_INGRESS = {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"}


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return [resource] if isinstance(resource, str) else resource


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def _upstream() -> dict[str, Any]:
    return json.loads(UPSTREAM.read_text())


def _cluster_tag_conditions(statement: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(operator, key, value) for each condition on the cluster tag, on the request or the resource."""
    for operator, conditions in statement.get("Condition", {}).items():
        for key, value in conditions.items():
            if key.endswith(f"Tag/{CLUSTER_TAG}"):
                yield operator, key, value


def test_every_action_upstream_grants_is_still_granted() -> None:
    upstream = {action for statement in _statements(_upstream()) for action in _actions(statement)}
    scoped = {action for statement in _statements(alb.iam_policy(SCOPE)) for action in _actions(statement)}
    assert scoped == upstream


def test_every_cluster_tag_condition_names_this_cluster() -> None:
    """Upstream only asks that the tag exist (Null false); here it must equal the cluster's name. The one
    Null left says the request must *not* set the tag: no retagging a resource into another cluster."""
    seen = 0
    for statement in _statements(alb.iam_policy(SCOPE)):
        for operator, key, value in _cluster_tag_conditions(statement):
            seen += 1
            if operator == "Null":
                assert (key, value) == (f"aws:RequestTag/{CLUSTER_TAG}", "true"), statement["Sid"]
            else:
                assert (operator, value) == ("StringEquals", "shop"), statement["Sid"]
    assert seen >= 8


def test_what_upstream_grants_only_on_tagged_resources_is_granted_only_on_this_clusters() -> None:
    """An action upstream grants only where the cluster tag exists (on the request or the resource) is
    granted here only where that tag names this cluster."""
    tagged_only: set[str] = set()
    anywhere: set[str] = set()
    for statement in _statements(_upstream()):
        exists = any(value == "false" for _, _, value in _cluster_tag_conditions(statement))
        (tagged_only if exists else anywhere).update(_actions(statement))
    tagged_only -= anywhere
    assert {"ec2:DeleteSecurityGroup", "elasticloadbalancing:DeleteLoadBalancer"} <= tagged_only
    for statement in _statements(alb.iam_policy(SCOPE)):
        for action in _actions(statement) & tagged_only:
            names_this_cluster = [
                key
                for operator, key, value in _cluster_tag_conditions(statement)
                if operator == "StringEquals"
            ]
            assert names_this_cluster, (action, statement["Sid"])


def test_security_group_ingress_is_only_changed_in_this_vpc() -> None:
    """Upstream grants Authorize/RevokeSecurityGroupIngress on every security group, unconditioned."""
    granting = [s for s in _statements(alb.iam_policy(SCOPE)) if _actions(s) & SG_INGRESS]
    assert granting
    for statement in granting:
        assert _resources(statement) == ["arn:aws:ec2:eu-west-1:444455556666:security-group/*"]
        assert statement["Condition"] == {"ArnEquals": {"ec2:Vpc": VPC_ARN}}


def test_security_groups_are_created_tagged_for_this_cluster_in_this_vpc() -> None:
    granting = [s for s in _statements(alb.iam_policy(SCOPE)) if "ec2:CreateSecurityGroup" in _actions(s)]
    by_resource = {resource: s.get("Condition") for s in granting for resource in _resources(s)}
    assert by_resource == {
        "arn:aws:ec2:eu-west-1:444455556666:security-group/*": {
            "StringEquals": {f"aws:RequestTag/{CLUSTER_TAG}": "shop"}
        },
        VPC_ARN: None,
    }


def test_only_actions_without_a_narrower_resource_keep_star() -> None:
    """``*`` stays for Describe/List calls, which take no resource, and for the statements named with the
    reason; the WAF look-ups by load balancer and SetWebAcl are held to the cluster's region."""
    for statement in _statements(alb.iam_policy(SCOPE)):
        if statement["Resource"] != "*":
            continue
        actions = _actions(statement)
        names = {action.split(":", 1)[1] for action in actions}
        if all(name.startswith(("Describe", "List", "GetSubscriptionState")) for name in names):
            assert "Condition" not in statement
        elif "Condition" in statement:
            conditions = statement["Condition"]
            assert conditions == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}} or any(
                True for _ in _cluster_tag_conditions(statement)
            ), statement["Sid"]
        else:
            assert statement["Sid"] in alb.UNSCOPABLE_STATEMENTS, statement["Sid"]
            assert actions == {"shield:DescribeProtection", "shield:CreateProtection"}


def test_no_arn_names_another_region_or_account() -> None:
    for statement in _statements(alb.iam_policy(SCOPE)):
        for arn in _resources(statement):
            if arn == "*":
                continue
            _, partition, service, region, account, _ = arn.split(":", 5)
            assert partition == "aws" and account == "444455556666", arn
            assert region == ("" if service in ("iam", "shield") else "eu-west-1"), arn


@pytest.mark.parametrize("stack", ["arm-workers", "mixed"])
def test_the_programs_controller_policy_names_its_cluster_and_vpc(stack: str) -> None:
    mocks = _program(stack).mocks
    (registered,) = [p for p in mocks.of_type(ROLE_POLICY) if "aws-load-balancer-controller" in p.name]
    document = json.loads(registered.inputs["policy"])
    region = stack_file_config(stack)["aws:region"]
    vpc = MIXED_VPC if stack == "mixed" else f"{mocks.one('aws:ec2/vpc:Vpc').name}-id"
    vpc_arn = f"arn:aws:ec2:{region}:{ACCOUNT}:vpc/{vpc}"
    ingress = [s for s in _statements(document) if _actions(s) & SG_INGRESS]
    assert [s["Condition"] for s in ingress] == [{"ArnEquals": {"ec2:Vpc": vpc_arn}}]
    tag_values = {
        value for s in _statements(document) for op, _, value in _cluster_tag_conditions(s) if op != "Null"
    }
    assert tag_values == {CLUSTER_NAMES[stack]}


def test_the_policy_fits_iams_inline_limit_for_the_longest_cluster_name() -> None:
    """IAM refuses a role's inline policies past 10,240 characters, whitespace not counted."""
    longest = PolicyScope("aws-us-gov", "us-gov-west-1", "444455556666", "c" * 100, "vpc-0a1b2c3d4e5f60718")
    assert len("".join(json.dumps(alb.iam_policy(longest)).split())) <= 10_240
