"""The NetworkPolicies Armful plans are objects Kubernetes and the VPC CNI accept, for every example stack.

Checked with ``kubernetes-validate`` (Kubernetes' own OpenAPI schemas, strict: an unknown field is an
error) at the stack's Kubernetes version, and against the VPC CNI's limit of 24 port and protocol pairs
per rule. No chart rendering is needed: these are the plan's objects.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from ipaddress import IPv4Network

import kubernetes_validate
import pytest
from example_stacks import EXAMPLE_STACKS

from armful.addons.network_policies import MAX_PORTS_PER_RULE, VPC_CIDRS
from armful.core.kubernetes_names import dns_label_problem
from armful.planning.network_policies_plan import needs_vpc_cidrs, with_vpc_cidrs
from armful.planning.stack_plan import plan_stack

# A VPC with a secondary block, as the component may read one.
BLOCKS = ["10.20.0.0/16", "100.64.0.0/16"]


def test_every_policy_is_a_valid_network_policy() -> None:
    checked: set[str] = set()
    for stack in EXAMPLE_STACKS:
        plan = plan_stack(stack=stack)
        assert plan.network_policies, (
            f"{stack}: the switch is on by default, so every example stack has policies"
        )
        version = plan.config.cluster.kubernetes_version
        for policy in plan.network_policies:
            manifest = with_vpc_cidrs(policy.manifest, BLOCKS)
            key = f"{version} {json.dumps(manifest, sort_keys=True)}"
            if key not in checked:
                # Loading a schema is the slow part: a manifest the stacks share is checked once.
                kubernetes_validate.validate(manifest, version, strict=True)
                checked.add(key)
            assert dns_label_problem(policy.name, "policy name") is None
            for direction, peers in (("ingress", "from"), ("egress", "to")):
                for rule in manifest["spec"].get(direction, ()):
                    pairs = Counter(port["protocol"] for port in rule.get("ports", ()))
                    assert all(count <= MAX_PORTS_PER_RULE for count in pairs.values()), policy.name
                    for peer in rule[peers]:
                        if "ipBlock" in peer:
                            IPv4Network(peer["ipBlock"]["cidr"])
        names = Counter((policy.namespace, policy.name) for policy in plan.network_policies)
        assert max(names.values()) == 1, stack


def test_the_validator_refuses_what_kubernetes_would() -> None:
    """The check above can fail: a misspelt field or a wrong type is refused."""
    plan = plan_stack(stack="arm-workers")
    manifest = with_vpc_cidrs(plan.network_policies[0].manifest, BLOCKS)
    misspelt = copy.deepcopy(manifest)
    misspelt["spec"]["egress"][0]["too"] = misspelt["spec"]["egress"][0].pop("to")
    wrong_type = copy.deepcopy(manifest)
    wrong_type["spec"]["egress"][0]["ports"][0]["port"] = [53]
    for bad in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(bad, plan.config.cluster.kubernetes_version, strict=True)


def test_the_vpc_placeholder_becomes_one_peer_per_block() -> None:
    plan = plan_stack(stack="mixed")
    assert needs_vpc_cidrs(plan.network_policies)
    webhook = next(p for p in plan.network_policies if p.name == "armful-cert-manager-webhook")
    assert webhook.manifest["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": VPC_CIDRS}}]
    filled = with_vpc_cidrs(webhook.manifest, BLOCKS)
    assert filled["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": block}} for block in BLOCKS]
    assert webhook.manifest["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": VPC_CIDRS}}], "not changed"
    with pytest.raises(ValueError, match="no IPv4 CIDR block"):
        with_vpc_cidrs(webhook.manifest, [])
