"""Armful's NetworkPolicies admit every flow the add-ons need, and each rule they hold is needed by one.

The flows come from the real pinned charts rendered with each example stack's planned values
(``netpol_flows``); the policies are the ones the plan gives ``pulumi up``, with the VPC's blocks filled
in as the component fills them; they are judged by Kubernetes' rules and the VPC CNI agent's
(``netpol_semantics``). A flow refused is a cluster that breaks on its first ``pulumi up``, so a
missing rule fails here.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
from example_stacks import EXAMPLE_STACKS
from netpol_flows import APPLICATION, INTERNET, Need, Needs, World, build_world
from netpol_render import EVERY_OPTION, RenderedStack, rendered_stack
from netpol_semantics import Cluster, Flow

from armful.planning.network_policies_plan import with_vpc_cidrs


@pytest.fixture(params=[*EXAMPLE_STACKS, EVERY_OPTION])
def rendered(request: pytest.FixtureRequest) -> RenderedStack:
    return rendered_stack(request.param)


def policies_in_force(stack: RenderedStack, world: World) -> list[dict[str, Any]]:
    return [with_vpc_cidrs(policy.manifest, [str(world.vpc)]) for policy in stack.plan.network_policies]


def refused(cluster: Cluster, needs: list[Need]) -> list[str]:
    return [
        f"{need.flow}: {'; '.join(problems)}"
        for need in needs
        if (problems := cluster.denials(need.flow, need.backends))
    ]


def proof(stack: RenderedStack) -> tuple[World, list[Need], list[dict[str, Any]]]:
    world = build_world(stack.plan, stack.fresh_manifests())
    needs = Needs(stack.plan, world).all()
    return world, needs, policies_in_force(stack, world)


def test_every_flow_an_add_on_needs_is_allowed(rendered: RenderedStack) -> None:
    world, needs, policies = proof(rendered)
    namespaces = {pod.namespace for _, pod in world.pods}
    assert refused(Cluster(policies, namespaces), needs) == []
    # Each add-on that runs pods needs flows of its own, hook Jobs included, and all are judged.
    per_addon = Counter(need.flow.addon for need in needs)
    running = {
        release.spec.release for release in rendered.plan.releases if world.release_pods(release.spec.release)
    }
    assert running <= set(per_addon), running - set(per_addon)
    hooks = [need for need in needs if need.flow.source.what.startswith("Job ")]
    assert {need.flow.addon for need in hooks} >= {"cert-manager", "kyverno", "kube-prometheus-stack"}


def test_without_the_policies_nothing_is_isolated_and_with_them_the_rest_is_refused(
    rendered: RenderedStack,
) -> None:
    world, needs, policies = proof(rendered)
    namespaces = {pod.namespace for _, pod in world.pods}
    assert refused(Cluster([], namespaces), needs) == []
    cluster = Cluster(policies, namespaces)
    grafana = next(pod for _, pod in world.pods if pod.what.endswith("kube-prometheus-stack-grafana"))
    cert_manager_webhook = next(pod for _, pod in world.pods if pod.what.endswith("/cert-manager-webhook"))
    kyverno = next(pod for _, pod in world.pods if pod.what.endswith("/kyverno-admission-controller"))
    unwanted = [
        Flow("kube-prometheus-stack", "an application opens Grafana", APPLICATION, grafana, 3000),
        Flow("cert-manager", "an application calls the webhook", APPLICATION, cert_manager_webhook, 10250),
        Flow("kyverno", "Kyverno sends on a port no add-on uses", kyverno, INTERNET, 8080),
        Flow("kyverno", "Grafana calls Kyverno's metrics", grafana, kyverno, 8000),
    ]
    assert all(cluster.denials(flow) for flow in unwanted)


def test_every_rule_is_needed_by_a_flow(rendered: RenderedStack) -> None:
    """Removing any one rule refuses some flow: no rule is there for nothing."""
    world, needs, policies = proof(rendered)
    namespaces = {pod.namespace for _, pod in world.pods}
    unneeded: list[str] = []
    for index, policy in enumerate(policies):
        for direction in ("ingress", "egress"):
            for number, _ in enumerate(policy["spec"].get(direction) or ()):
                mutated = copy.deepcopy(policies)
                del mutated[index]["spec"][direction][number]
                if not refused(Cluster(mutated, namespaces), needs):
                    unneeded.append(
                        f"{policy['metadata']['namespace']}/{policy['metadata']['name']} {direction}[{number}]"
                    )
    assert unneeded == []


@pytest.mark.parametrize("removed", ["webhook", "dns", "datasource"])
def test_a_missing_rule_fails_the_proof(removed: str) -> None:
    """The proof can fail: take out a rule a flow needs and it names the flow refused."""
    stack = rendered_stack("arm-workers")
    world, needs, policies = proof(stack)
    namespaces = {pod.namespace for _, pod in world.pods}
    target = {
        "webhook": ("cert-manager", "armful-cert-manager-webhook", "ingress", "from", "ipBlock"),
        "dns": ("kyverno", "armful-baseline", "egress", "to", "podSelector"),
        "datasource": ("monitoring", "armful-kube-prometheus-stack-grafana", "egress", "to", "podSelector"),
    }[removed]
    namespace, name, direction, key, peer_kind = target
    policy = next(
        p for p in policies if (p["metadata"]["namespace"], p["metadata"]["name"]) == (namespace, name)
    )
    policy["spec"][direction] = [rule for rule in policy["spec"][direction] if peer_kind not in rule[key][0]]
    problems = refused(Cluster(policies, namespaces), needs)
    assert problems, removed
    assert all(f"{namespace}/" in problem for problem in problems), problems
