"""Overrides of every kind, planned and then rendered from the REAL pinned charts: the plan's view of which
workloads exist, which images their pods pull and where they land must be what Helm renders.

Kinds: workloads turned off, variants a value switches to (a StatefulSet collector, a Deployment of
fluent-bit or Falco, ...), optional containers turned on, images moved to other registries, repositories,
tags and digests, containers added through the values, workloads Armful does not declare, and values the
charts themselves refuse (their schemas, their templates' ``fail``).

Charts come from ``../shared/chart-archives`` (ARMFUL_CHART_ARCHIVES_DIR); without them, or without
helm-python-sdk, these tests skip and say why. Each case renders one release (0.01 to 1.2 s).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from chart_archives import SDK_REASON, chart_archives
from example_stacks import GRAFANA_PASSWORD
from override_plans import overrides, plan_with, satisfying
from render_compare import Comparison, compare, release_of, render_release
from stack_variants import example_config, write_stack_file

from armful.addons.cert_manager import CertManagerImage
from armful.addons.registry import ADDONS
from armful.addons.spec import AddonSpec, ChartRefusal, UndeclaredWorkload
from armful.core.findings import FindingLevel
from armful.core.values_tree import deep_merge, set_path
from armful.placement.workloads import ImageKeys, Workload
from armful.planning.plan import Plan
from armful.planning.releases import UNDECLARED, render_placeholders
from armful.planning.stack_plan import plan_stack
from armful.render.helm import RenderFailed, render_manifests

BY_KEY = {spec.key: spec for spec in ADDONS}


def planned_and_rendered(
    stack: str, key: str, values: Mapping[str, Any], **options: Any
) -> tuple[Plan, Comparison]:
    plan = plan_with(stack, overrides(key, values, **options))
    release = BY_KEY[key].release
    return plan, compare(plan, release, render_release(plan, release))


# --- the plan's view is the render's ---------------------------------------------------------------

CASES: list[tuple[str, str, dict[str, Any]]] = [
    # Workloads turned off, by the chart's own conditions (subchart conditions included).
    ("all-arm", "kubePrometheusStack", {"grafana": {"enabled": False}, "nodeExporter": {"enabled": False}}),
    (
        "mixed",
        "kubePrometheusStack",
        {"kubeStateMetrics": {"enabled": False}, "alertmanager": {"enabled": False}},
    ),
    (
        "arm-workers",
        "kubePrometheusStack",
        {"prometheusOperator": {"admissionWebhooks": {"certManager": {"enabled": True}}}},
    ),
    ("mixed", "certManager", {"cainjector": {"enabled": False}, "startupapicheck": {"enabled": False}}),
    # Variants a value switches to, each declared and placed.
    ("mixed", "openTelemetryCollector", {"mode": "statefulset"}),
    ("all-arm", "fluentBit", {"kind": "Deployment"}),
    ("arm-workers", "falco", {"controller": {"kind": "deployment"}}),
    ("mixed", "kubePrometheusStack", {"kube-state-metrics": {"autosharding": {"enabled": True}}}),
    ("all-arm", "kubePrometheusStack", {"grafana": {"useStatefulSet": True}}),
    ("mixed", "kubePrometheusStack", {"grafana": {"persistence": {"enabled": True, "type": "sts"}}}),
    # Optional containers, each with its own image.
    (
        "mixed",
        "kubePrometheusStack",
        {"grafana": {"persistence": {"enabled": True}, "sidecar": {"alerts": {"enabled": True}}}},
    ),
    (
        "arm-workers",
        "kubePrometheusStack",
        {
            "kube-state-metrics": {"kubeRBACProxy": {"enabled": True}},
            "prometheus-node-exporter": {
                "kubeRBACProxy": {"enabled": True},
                "permissionInitContainer": {"fixes": {"rapl": True}},
            },
            "grafana": {"dashboards": {"default": {"node": {"gnetId": 1860, "datasource": "Prometheus"}}}},
        },
    ),
    ("arm-workers", "falco", {"driver": {"kind": "kmod"}}),
    (
        "mixed",
        "falco",
        {"falcoctl": {"artifact": {"install": {"enabled": False}, "follow": {"enabled": False}}}},
    ),
    ("mixed", "fluentBit", {"hotReload": {"enabled": True}}),
    ("all-arm", "metricsServer", {"addonResizer": {"enabled": True}}),
    # One registry for every image of a release.
    ("all-arm", "kubePrometheusStack", {"global": {"imageRegistry": "mirror.example.com"}}),
    (
        "mixed",
        "kyverno",
        {
            "cleanupController": {"enabled": False},
            "webhooksCleanup": {"enabled": False},
            "global": {"image": {"registry": "mirror.example.com"}},
        },
    ),
    ("arm-workers", "certManager", {"imageRegistry": "mirror.example.com", "imageNamespace": "cm"}),
    (
        "mixed",
        "openTelemetryCollector",
        {"global": {"imageRegistry": "mirror.example.com"}, "image": {"tag": ""}},
    ),
]


@pytest.mark.parametrize(
    ("stack", "key", "values"), CASES, ids=[f"{s}-{k}-{i}" for i, (s, k, _) in enumerate(CASES)]
)
def test_the_plan_sees_the_workloads_images_and_pools_the_chart_renders(
    stack: str, key: str, values: dict[str, Any]
) -> None:
    plan, seen = planned_and_rendered(stack, key, values)
    assert seen.mismatches == []
    assert seen.undeclared == []
    assert not plan.has_errors, [f.message for f in plan.findings if f.level is FindingLevel.ERROR]


def test_the_agent_option_places_the_collector_daemonset_the_chart_renders() -> None:
    plan, seen = planned_and_rendered("mixed", "openTelemetryCollector", {}, mode="agent")
    assert seen.mismatches == [] and not plan.has_errors
    assert [e.workload for e in plan.placement if e.release == "opentelemetry-collector"] == [
        "opentelemetry-collector-agent"
    ]


# --- every image key, moved at once --------------------------------------------------------------------


def moved_images(spec: AddonSpec) -> dict[str, Any]:
    """Values that give every image of the add-on its own registry, repository, tag and digest."""
    values: dict[str, Any] = {}
    # One entry per set of keys: two images at the same default (kube-rbac-proxy) are moved apart.
    sources = {image.keys: image for workload in spec.workloads for image in workload.images}
    for number, keys in enumerate(sources):
        digest = f"{number:x}" * 64
        if isinstance(keys, CertManagerImage):
            base = keys.base
            set_path(values, (*base, "repository"), f"mirror{number}.example.com/armful/image{number}")
            set_path(values, (*base, "tag"), f"9.{number}")
            set_path(values, (*base, "digest"), f"sha256:{digest[:64]}")
            continue
        assert isinstance(keys, ImageKeys)
        own_registry = [path for path in keys.registries if path[0] != "global"]
        if own_registry:
            set_path(values, own_registry[0], f"mirror{number}.example.com")
        set_path(values, keys.repository, f"armful/image{number}")
        if keys.tag is not None:
            set_path(values, keys.tag, f"9.{number}")
        if keys.digest is not None:
            sha = digest[:64]
            set_path(values, keys.digest, sha if keys.digest_prefix.endswith(":") else f"sha256:{sha}")
    return values


# The sidecars and init containers that run only when switched on: switched on here, so their keys count.
OPTIONAL_ON: dict[str, dict[str, Any]] = {
    "kubePrometheusStack": {
        "kube-state-metrics": {"kubeRBACProxy": {"enabled": True}},
        "prometheus-node-exporter": {"kubeRBACProxy": {"enabled": True}},
        "grafana": {"persistence": {"enabled": True}},
    },
    "metricsServer": {"addonResizer": {"enabled": True}},
    "fluentBit": {"hotReload": {"enabled": True}},
}
IMAGE_SPECS = [spec for spec in ADDONS if spec.workloads]


@pytest.mark.parametrize("spec", IMAGE_SPECS, ids=[spec.key for spec in IMAGE_SPECS])
def test_every_image_key_moves_the_image_the_chart_renders(spec: AddonSpec) -> None:
    values = deep_merge(OPTIONAL_ON.get(spec.key, {}), moved_images(spec))
    # all-arm runs Karpenter; every other add-on is on in every stack.
    stack = "mixed" if spec.enabled_by_default else "all-arm"
    plan, seen = planned_and_rendered(stack, spec.key, values)
    assert seen.mismatches == []
    entries = [e for e in plan.placement if e.release == spec.release]
    # Every image really moved: none is still at its declared default.
    declared = {image.ref for workload in spec.workloads for image in workload.images}
    assert not {image for entry in entries for image in entry.images} & declared
    # Their arches are unread: each is a warning, never a silent pass.
    unread = [f for f in plan.findings if f.code == "arch-unknown"]
    assert {f.message.split(" ")[0] for f in unread} == {spec.release}
    assert len(unread) == sum(len(entry.images) for entry in entries)


CONTAINER_LISTS = [
    (spec, workload) for spec in ADDONS for workload in spec.workloads if workload.extra_containers
]


@pytest.mark.parametrize(("spec", "workload"), CONTAINER_LISTS, ids=[w.name for _, w in CONTAINER_LISTS])
def test_containers_added_through_the_values_are_images_the_workload_runs(
    spec: AddonSpec, workload: Workload
) -> None:
    values = satisfying(workload.enabled_if)
    added = []
    for number, path in enumerate(workload.extra_containers):
        image = f"registry.example.com/armful/added{number}:1.0"
        set_path(values, path, [{"name": f"added{number}", "image": image}])
        added.append(image)
    plan, seen = planned_and_rendered("mixed", spec.key, values)
    assert seen.mismatches == []
    (entry,) = [e for e in plan.placement if e.release == spec.release and e.workload == workload.name]
    assert set(added) <= set(entry.images)


# --- what Armful does not declare ---------------------------------------------------------------------

UNDECLARED_CASES = [(spec, u) for spec in ADDONS for u in spec.undeclared if u.templates]


@pytest.mark.parametrize(("spec", "undeclared"), UNDECLARED_CASES, ids=[u.keys for _, u in UNDECLARED_CASES])
def test_an_undeclared_workload_the_values_turn_on_renders_unplaced_and_plan_says_so(
    spec: AddonSpec, undeclared: UndeclaredWorkload
) -> None:
    plan, seen = planned_and_rendered("mixed", spec.key, satisfying(undeclared.enabled_if))
    assert seen.mismatches == []
    rendered = [placement for found, placement in seen.undeclared if found is undeclared]
    assert rendered, f"the chart renders nothing for {undeclared.what}"
    # As the issue saw it: the chart gives it no placement of Armful's pools.
    assert all(any(f.level is FindingLevel.ERROR for f in placement.findings) for placement in rendered), [
        placement.pools for placement in rendered
    ]
    assert [f.code for f in plan.findings if f.level is FindingLevel.ERROR] == [UNDECLARED]


def test_plan_render_proves_an_undeclared_workload_placed_by_its_own_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("helm_python", reason=SDK_REASON)
    from armful.cli.main import main

    archives = chart_archives()
    system = {"node.armful.dev/role": "system"}
    toleration = {"key": "CriticalAddonsOnly", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ruler = {"enabled": True, "thanosRulerSpec": {"nodeSelector": system, "tolerations": [toleration]}}
    config = example_config("arm-workers")
    # Only the add-on it is about, so the render is of one chart.
    others = {spec.key: {"enabled": False} for spec in ADDONS if spec.key != "kubePrometheusStack"}
    config["armful:addons"] = {**others, "kubePrometheusStack": {"values": {"thanosRuler": ruler}}}
    stack = write_stack_file(tmp_path, "arm-workers", config)

    assert main(["plan", "--stack-file", str(stack)]) == 1
    assert "[undeclared-workload]" in capsys.readouterr().out
    assert main(["plan", "--stack-file", str(stack), "--render", "--charts-from", str(archives)]) == 0
    out = capsys.readouterr().out
    assert "ThanosRuler/kube-prometheus-stack-thanos-ruler [controller] -> system" in out
    assert "warning: [undeclared-workload]" in out and "capacity does not count" in out

    # Without its own placement the render shows where it would land, and the plan stays refused.
    config["armful:addons"] = {
        **others,
        "kubePrometheusStack": {"values": {"thanosRuler": {"enabled": True}}},
    }
    stack = write_stack_file(tmp_path, "arm-workers", config)
    assert main(["plan", "--stack-file", str(stack), "--render", "--charts-from", str(archives)]) == 1
    out = capsys.readouterr().out
    assert "error: [undeclared-workload]" in out and "off-system" in out
    assert GRAFANA_PASSWORD not in out


# --- values the charts refuse --------------------------------------------------------------------------


def render_refused(stack: str, key: str, values: Mapping[str, Any]) -> str:
    """Helm's reason for refusing the example release with these values merged over Armful's."""
    pytest.importorskip("helm_python", reason=SDK_REASON)
    spec = BY_KEY[key]
    release = release_of(plan_stack(stack=stack), spec.release)
    with pytest.raises(RenderFailed) as failed:
        render_manifests(
            chart_archives() / f"{spec.chart}-{spec.version}.tgz",
            spec.version,
            None,
            deep_merge(render_placeholders(release.values), values),
            spec.release,
            spec.namespace,
            cache_dir=None,
        )
    return str(failed.value)


REFUSALS = [(spec, refusal) for spec in ADDONS for refusal in spec.refusals]


@pytest.mark.parametrize(
    ("spec", "refusal"), REFUSALS, ids=[f"{s.key}-{'.'.join(r.at)}" for s, r in REFUSALS]
)
def test_what_plan_refuses_in_a_charts_words_the_chart_refuses_in_those_words(
    spec: AddonSpec, refusal: ChartRefusal
) -> None:
    reason = render_refused("arm-workers", spec.key, satisfying(refusal.refused_if))
    assert refusal.message in reason


@pytest.mark.parametrize(
    ("key", "values", "path"),
    [
        ("certManager", {"webhook": {"replicas": 3}}, "webhook.replicas"),
        ("openTelemetryCollector", {"replicaCount": "two"}, "replicaCount"),
    ],
)
def test_what_the_shipped_schema_refuses_helm_refuses_by_the_charts_schema(
    key: str, values: dict, path: str
) -> None:
    from armful.core.errors import StackConfigError

    with pytest.raises(StackConfigError) as refused:
        plan_with("all-arm", overrides(key, values))
    assert [issue.path for issue in refused.value.issues] == [f"armful:addons.{key}.values.{path}"]
    assert "don't meet the specifications of the schema" in render_refused("all-arm", key, values)
