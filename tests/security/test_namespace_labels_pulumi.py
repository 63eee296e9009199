"""ClusterAddons labels the namespaces its releases create for Pod Security Admission before any release
installs into them, under Pulumi mocks (design §8). Levels are written out here by hand; that the pods meet
them is test_pod_security_levels' proof on the rendered charts."""

from __future__ import annotations

from functools import cache
from typing import Any

import pulumi_kubernetes as k8s
from pulumi_harness import RecordingMocks, run_program

from armful.cluster_addons import ClusterAddons

PATCH = "kubernetes:core/v1:NamespacePatch"
RELEASE = "kubernetes:helm.sh/v3:Release"

POOLS = [
    {"name": "system", "role": "system", "arch": "amd64", "labels": {"node.armful.dev/role": "system"}},
    {"name": "workers", "role": "workers", "arch": "arm64"},
]


def args(**addons: Any) -> dict[str, Any]:
    return {
        "cluster_name": "labelled",
        "region": "eu-west-1",
        "vpc_id": "vpc-0123456789abcdef0",
        "topology": "arm-workers",
        "pools": POOLS,
        "grafana_admin_password": "test-only",
        "addons": addons,
    }


def run(**addons: Any) -> RecordingMocks:
    def program() -> None:
        provider = k8s.Provider("theirs", kubeconfig="{}")
        ClusterAddons("addons", {**args(**addons), "kubernetes_provider": provider})

    return run_program(program)


@cache
def default_run() -> RecordingMocks:
    return run()


def labels_by_namespace(mocks: RecordingMocks) -> dict[str, dict[str, str]]:
    return {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"] for r in mocks.of_type(PATCH)}


def level(labels: dict[str, str]) -> str:
    modes = {labels[f"pod-security.kubernetes.io/{mode}"] for mode in ("enforce", "audit", "warn")}
    assert len(modes) == 1, labels
    return modes.pop()


def test_each_namespace_armful_creates_is_labelled_at_its_level() -> None:
    labelled = labels_by_namespace(default_run())
    assert {namespace: level(labels) for namespace, labels in labelled.items()} == {
        "falco": "privileged",
        "kyverno": "restricted",
        "cert-manager": "restricted",
        "monitoring": "privileged",
        "logging": "privileged",
        "opentelemetry": "restricted",
    }
    # kube-system belongs to EKS: Armful installs into it but leaves its labels alone.
    assert "kube-system" not in labelled


def test_every_release_waits_for_its_namespaces_labels() -> None:
    mocks = default_run()
    patches = {r.inputs["metadata"]["name"]: r for r in mocks.of_type(PATCH)}
    for release in mocks.of_type(RELEASE):
        namespace = release.inputs["namespace"]
        if namespace in patches:
            assert mocks.waits_for(release, patches[namespace]), release.name
        else:
            assert namespace == "kube-system", release.name
    assert all("::theirs::" in (patch.provider or "") for patch in patches.values())


def test_the_collector_as_a_node_agent_makes_its_namespace_privileged() -> None:
    agent = run(openTelemetryCollector={"mode": "agent"})
    assert level(labels_by_namespace(agent)["opentelemetry"]) == "privileged"


def test_a_disabled_add_on_leaves_no_labelled_namespace() -> None:
    without = run(falco={"enabled": False}, fluentBit={"enabled": False})
    assert set(labels_by_namespace(without)) == {"kyverno", "cert-manager", "monitoring", "opentelemetry"}
