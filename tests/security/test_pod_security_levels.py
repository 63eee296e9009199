"""The Pod Security level each namespace Armful creates is labelled with is one its pods really meet:
proven on the real charts rendered with each example stack's planned values (issue #14).

A label stricter than its pods would have Pod Security Admission refuse them at ``pulumi up``; a node
agent's kyverno exclusions that do not match what its rendered pod does would either refuse it under
Enforce or exclude it from more than it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from example_stacks import EXAMPLE_STACKS
from pod_security_standards import baseline_violations, restricted_violations, violations
from rendered_stacks import RenderedObject, rendered_stack

from armful.addons import kyverno_policies, namespaces
from armful.placement.workloads import PodSecurityLevel
from armful.planning.pod_security import plan_namespaces

TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
# The prometheus-operator makes these resources' pods; their containers' contexts are the operator's.
OPERATOR_KINDS = frozenset({"Prometheus", "Alertmanager", "PrometheusAgent", "ThanosRuler"})

PRIVILEGED = PodSecurityLevel.PRIVILEGED
RESTRICTED = PodSecurityLevel.RESTRICTED
EXPECTED_LEVELS = {
    namespaces.FALCO: PRIVILEGED,
    namespaces.KYVERNO: RESTRICTED,
    namespaces.CERT_MANAGER: RESTRICTED,
    namespaces.MONITORING: PRIVILEGED,
    namespaces.LOGGING: PRIVILEGED,
    namespaces.OPENTELEMETRY: RESTRICTED,
}


def pods(
    objects: tuple[RenderedObject, ...],
) -> Iterator[tuple[RenderedObject, dict[str, Any], dict[str, Any]]]:
    """Each rendered pod template (helm test pods and hooks included): object, pod metadata, pod spec."""
    for obj in objects:
        if obj.kind in TEMPLATE_KINDS:
            template = obj.body["spec"]["template"]
            yield obj, template.get("metadata") or {}, template["spec"]
        elif obj.kind == "CronJob":
            template = obj.body["spec"]["jobTemplate"]["spec"]["template"]
            yield obj, template.get("metadata") or {}, template["spec"]
        elif obj.kind == "Pod":
            yield obj, obj.body.get("metadata") or {}, obj.body["spec"]


@pytest.fixture(params=EXAMPLE_STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_armfuls_namespaces_get_the_strictest_level_their_add_ons_allow(stack: str) -> None:
    planned = {ns.name: ns for ns in plan_namespaces(rendered_stack(stack).plan.releases)}
    assert {name: ns.pod_security for name, ns in planned.items()} == EXPECTED_LEVELS
    # Privileged only for the node agents that need host access, and each is named.
    assert {name: ns.needs_host_access for name, ns in planned.items() if ns.pod_security is PRIVILEGED} == {
        namespaces.FALCO: ("falco/falco",),
        namespaces.MONITORING: ("kube-prometheus-stack/node-exporter",),
        namespaces.LOGGING: ("fluent-bit/fluent-bit",),
    }
    assert namespaces.KUBE_SYSTEM not in planned, "kube-system is EKS's namespace"
    for ns in planned.values():
        assert ns.labels == {
            "pod-security.kubernetes.io/enforce": ns.pod_security.value,
            "pod-security.kubernetes.io/audit": ns.pod_security.value,
            "pod-security.kubernetes.io/warn": ns.pod_security.value,
        }


def test_every_rendered_pod_meets_its_namespaces_label(stack: str) -> None:
    rendered = rendered_stack(stack)
    levels = {ns.name: ns.pod_security for ns in plan_namespaces(rendered.plan.releases)}
    judged = 0
    for obj, metadata, spec in pods(rendered.objects):
        level = levels.get(obj.namespace)
        if level is None:
            continue  # kube-system: not Armful's to label
        assert not violations(level, spec, metadata), (
            f"{obj.release.spec.release} {obj.kind}/{obj.name} in {obj.namespace} ({level.value}): "
            f"{sorted(violations(level, spec, metadata))}"
        )
        judged += 1
    assert judged >= 20, "the restricted namespaces' pods were not all found"
    # Pods the prometheus-operator makes are not rendered, so their namespace must not claim restricted.
    for obj in rendered.objects:
        if obj.kind in OPERATOR_KINDS:
            assert levels[obj.namespace] is PRIVILEGED, f"{obj.kind}/{obj.name}'s pods are unproven"


def test_restricted_namespaces_hold_pods_that_meet_restricted_and_no_more(stack: str) -> None:
    """The restricted label is not an accident of an empty namespace: each has pods, all restricted."""
    rendered = rendered_stack(stack)
    restricted = [ns.name for ns in plan_namespaces(rendered.plan.releases) if ns.pod_security is RESTRICTED]
    for namespace in restricted:
        inside = [
            (obj, metadata, spec)
            for obj, metadata, spec in pods(rendered.objects)
            if obj.namespace == namespace
        ]
        assert inside, namespace
        assert all(not restricted_violations(spec, metadata) for _, metadata, spec in inside), namespace


def test_each_node_agent_breaks_exactly_the_baseline_policies_it_is_excluded_from(stack: str) -> None:
    """kyverno-policies' Enforce exclusions, from each agent's declared host access, against its render."""
    rendered = rendered_stack(stack)
    exclusions = kyverno_policies.node_agent_exclusions([release.spec for release in rendered.plan.releases])
    excluded: dict[str, set[str]] = {}
    for policy, exclude in exclusions.items():
        for condition in exclude["matchConditions"]:
            excluded.setdefault(condition["name"].removeprefix("armful-exclude-"), set()).add(policy)
    agents = {
        (release.spec.release, workload.name): workload
        for release in rendered.plan.releases
        for workload in release.spec.workloads
        if workload.kind.is_node_agent and workload.host_access
    }
    seen = set()
    for obj, metadata, spec in pods(rendered.objects):
        if obj.kind != "DaemonSet":
            continue
        labels = metadata.get("labels") or {}
        for (release, name), workload in agents.items():
            if obj.release.spec.release == release and workload.pod_labels.items() <= labels.items():
                assert baseline_violations(spec, metadata) == excluded.get(name, set()), (release, name)
                seen.add(name)
    assert seen == {"falco", "node-exporter", "fluent-bit"}


def test_the_checker_refuses_what_the_standards_refuse() -> None:
    """Each control the levels rest on, on a minimal restricted pod changed one field at a time."""
    container = {
        "name": "app",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    good: dict[str, Any] = {"containers": [container], "volumes": [{"name": "tmp", "emptyDir": {}}]}
    assert restricted_violations(good) == set()
    cases = {
        "disallow-host-namespaces": {**good, "hostPID": True},
        "disallow-host-path": {**good, "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]},
        "disallow-host-ports": {
            **good,
            "hostNetwork": True,
            "containers": [{**container, "ports": [{"containerPort": 9100}]}],
        },
        "disallow-privileged-containers": {
            **good,
            "containers": [
                {**container, "securityContext": {**container["securityContext"], "privileged": True}}
            ],
        },
        "disallow-capabilities": {
            **good,
            "containers": [
                {
                    **container,
                    "securityContext": {**container["securityContext"], "capabilities": {"add": ["BPF"]}},
                }
            ],
        },
        "restrict-seccomp": {**good, "securityContext": {"seccompProfile": {"type": "Unconfined"}}},
    }
    for control, pod in cases.items():
        assert control in baseline_violations(pod), control
    assert baseline_violations(
        good, {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}}
    ) == {"restrict-apparmor-profiles"}
    escalating = {**good, "containers": [{**container, "securityContext": {"runAsNonRoot": True}}]}
    assert {"disallow-privilege-escalation", "restrict-capabilities-strict", "restrict-seccomp-strict"} <= (
        restricted_violations(escalating)
    )
    assert baseline_violations(escalating) == set()
    as_root = {
        **good,
        "containers": [{**container, "securityContext": {**container["securityContext"], "runAsUser": 0}}],
    }
    assert "require-non-root-user" in restricted_violations(as_root)
