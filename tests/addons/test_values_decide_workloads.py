"""What the final values turn on and which images they run, as each add-on declares it, held to the pinned
charts' own files, and what ``plan`` makes of overrides: workloads turned off leave placement and capacity,
undeclared ones are errors naming the key, images are the ones the values name, schemas and the charts'
refusals are config errors in the charts' words.

The charts' defaults come from ``../shared/charts`` (ARMFUL_CHARTS_DIR) and their templates' file names
from ``../shared/chart-archives`` (ARMFUL_CHART_ARCHIVES_DIR); tests that need them skip, naming the folder.
The real renders of these overrides are in tests/render/test_real_overrides.py.
"""

from __future__ import annotations

import os
import tarfile
from functools import cache
from pathlib import Path

import pytest
from chart_values import chart_defaults, charts_dir, has_path
from example_stacks import EXAMPLE_STACKS, ROOT
from override_plans import conditions_of, overrides, plan_with, satisfying

from armful.addons import (
    cert_manager,
    falco,
    kube_prometheus_stack,
    kyverno,
    metrics_server,
    opentelemetry_collector,
)
from armful.addons.cert_manager import CertManagerImage
from armful.addons.registry import ADDONS
from armful.addons.spec import AddonSpec, ChartRefusal, UndeclaredWorkload
from armful.core.arch import Arch
from armful.core.errors import StackConfigError
from armful.core.findings import FindingLevel
from armful.core.values_tree import get_path, leaf_paths
from armful.placement.workloads import ImageKeys
from armful.planning.chart_schemas import defaults_file, has_schema, schema_file
from armful.planning.image_readiness import image_needs
from armful.planning.plan import Plan
from armful.planning.releases import UNDECLARED, PlacementEntry
from armful.planning.stack_plan import plan_stack

SPEC_IDS = [spec.key for spec in ADDONS]
AMD64 = frozenset({Arch.AMD64})


@cache
def example(stack: str) -> Plan:
    return plan_stack(stack=stack)


def archive_members(spec: AddonSpec) -> set[str]:
    folder = Path(os.environ.get("ARMFUL_CHART_ARCHIVES_DIR", ROOT.parent / "shared" / "chart-archives"))
    archive = folder / f"{spec.chart}-{spec.version}.tgz"
    if not archive.is_file():
        pytest.skip(f"pinned chart archive not found: {archive} (set ARMFUL_CHART_ARCHIVES_DIR)")
    with tarfile.open(archive) as tar:
        return {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}


# --- the declarations are the charts' ---------------------------------------------------------------


@pytest.mark.parametrize("spec", ADDONS, ids=SPEC_IDS)
def test_every_condition_reads_a_key_of_the_chart_at_its_default(spec: AddonSpec) -> None:
    """A switch's default is what the template sees when the values leave the key out: the chart's."""
    defaults = chart_defaults(spec)
    for subject, condition in conditions_of(spec):
        for switch in condition.switches():
            if has_path(defaults, switch.path):
                assert get_path(defaults, switch.path) == switch.default, f"{subject}: {switch.path}"
            else:
                # Read only as a comment in values.yaml (or in a subchart not vendored): nil to the template.
                assert not switch.default, f"{subject}: {switch.path} is not in the chart's values"


@pytest.mark.parametrize("spec", ADDONS, ids=SPEC_IDS)
def test_every_image_key_and_its_default_is_the_charts(spec: AddonSpec) -> None:
    defaults = chart_defaults(spec)
    images = [image for workload in spec.workloads for image in workload.images]
    assert all(image.keys is not None for image in images), "every add-on image is set by keys"
    for image in images:
        if isinstance(image.keys, ImageKeys):
            for path, value in image.keys.defaults.items():
                assert get_path(defaults, path) == value, f"{image.ref}: {'.'.join(path)}"
        else:
            assert isinstance(image.keys, CertManagerImage)
            assert get_path(defaults, (*image.keys.base, "name")) == image.keys.name
            assert (defaults["imageRegistry"], defaults["imageNamespace"]) == (
                cert_manager.IMAGE_REGISTRY,
                cert_manager.IMAGE_NAMESPACE,
            )


@pytest.mark.parametrize("spec", ADDONS, ids=SPEC_IDS)
def test_every_template_named_is_in_the_pinned_chart(spec: AddonSpec) -> None:
    members = archive_members(spec)
    named = [t for w in spec.workloads for t in w.templates]
    named += [t for u in spec.undeclared for t in u.templates] + [r.template for r in spec.refusals]
    assert all(template in members for template in named), sorted(set(named) - members)
    assert bool(spec.workloads) == bool([w for w in spec.workloads if w.templates])
    assert all(workload.templates for workload in spec.workloads), "each workload names its templates"


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_declared_images_are_the_ones_the_final_values_run(stack: str) -> None:
    for release in example(stack).releases:
        for workload in release.spec.workloads:
            for image in workload.images:
                if workload.runs(release.values) and image.runs(release.values):
                    assert image.at(release.values) == image.ref, f"{release.spec.release}/{workload.name}"


def test_the_shipped_schemas_and_defaults_are_the_pinned_charts_byte_for_byte() -> None:
    folder = charts_dir()
    if not folder.is_dir():
        pytest.skip(f"pinned chart defaults not found: {folder} (set ARMFUL_CHARTS_DIR)")
    for spec in ADDONS:
        chart = folder / spec.chart_dir
        shipped = schema_file(spec.chart, spec.version)
        assert (chart / "values.schema.json").is_file() == shipped.is_file() == has_schema(spec), spec.chart
        if shipped.is_file():
            assert shipped.read_bytes() == (chart / "values.schema.json").read_bytes()
            assert (
                defaults_file(spec.chart, spec.version).read_bytes() == (chart / "values.yaml").read_bytes()
            )
    assert {spec.chart for spec in ADDONS if has_schema(spec)} == {"cert-manager", "opentelemetry-collector"}


# --- workloads the values turn off --------------------------------------------------------------------


def test_grafana_and_node_exporter_turned_off_are_not_placed_counted_or_read() -> None:
    plan = plan_with(
        "all-arm",
        overrides("kubePrometheusStack", {"grafana": {"enabled": False}, "nodeExporter": {"enabled": False}}),
    )
    baseline = example("all-arm")
    names = {entry.workload for entry in plan.placement if entry.release == kube_prometheus_stack.RELEASE}
    assert {"grafana", "node-exporter"} & names == set()
    assert {"prometheus", "alertmanager", "kube-state-metrics"} <= names
    images = {need.image for need in image_needs(plan)}
    assert "docker.io/grafana/grafana:13.2.0" not in images
    assert not any("node-exporter" in image for image in images)
    # Capacity no longer counts Grafana's pod on the system pool nor an exporter on every node.
    system = next(pool for pool in plan.capacity if pool.pool.name == "system")
    before = next(pool for pool in baseline.capacity if pool.pool.name == "system")
    assert system.requested.pods == before.requested.pods - 1 - before.at_min.nodes
    assert not plan.has_errors


def test_a_disabled_subchart_key_inside_it_is_not_the_switch() -> None:
    """kube-prometheus-stack's condition for node-exporter is nodeExporter.enabled, not the subchart's own key."""
    plan = plan_with(
        "arm-workers", overrides("kubePrometheusStack", {"prometheus-node-exporter": {"enabled": False}})
    )
    assert any(entry.workload == "node-exporter" for entry in plan.placement)


# --- variants the values switch to, declared and placed -------------------------------------------------


@pytest.mark.parametrize(
    ("key", "values", "workload", "kind", "replaced"),
    [
        (
            "openTelemetryCollector",
            {"mode": "statefulset"},
            "opentelemetry-collector-statefulset",
            "StatefulSet",
            "opentelemetry-collector",
        ),
        ("fluentBit", {"kind": "Deployment"}, "fluent-bit-deployment", "Deployment", "fluent-bit"),
        ("falco", {"controller": {"kind": "deployment"}}, "falco-deployment", "Deployment", "falco"),
        (
            "kubePrometheusStack",
            {"kube-state-metrics": {"autosharding": {"enabled": True}}},
            "kube-state-metrics-sharded",
            "StatefulSet",
            "kube-state-metrics",
        ),
        (
            "kubePrometheusStack",
            {"grafana": {"useStatefulSet": True}},
            "grafana-statefulset",
            "StatefulSet",
            "grafana",
        ),
    ],
)
def test_a_variant_the_values_switch_to_is_the_one_placed(
    key: str, values: dict, workload: str, kind: str, replaced: str
) -> None:
    plan = plan_with("mixed", overrides(key, values))
    spec = next(spec for spec in ADDONS if spec.key == key)
    entries = {entry.workload: entry for entry in plan.placement if entry.release == spec.release}
    assert entries[workload].kind == kind
    assert entries[workload].pools == ("system",)
    assert replaced not in entries
    assert not plan.has_errors, [f.message for f in plan.findings]
    # It is placed like the form it replaces: on the system pool, tolerating its taint.
    release = next(r for r in plan.releases if r.spec is spec)
    declared = next(w for w in spec.workloads if w.name == workload)
    selector = get_path(release.values, (*declared.path, declared.keys.node_selector))
    assert selector == {"node.armful.dev/role": "system"}


# --- what Armful does not declare ---------------------------------------------------------------------


UNDECLARED_CASES = [(spec, undeclared) for spec in ADDONS for undeclared in spec.undeclared]


@pytest.mark.parametrize(
    ("spec", "undeclared"), UNDECLARED_CASES, ids=[f"{s.key}-{u.keys}" for s, u in UNDECLARED_CASES]
)
def test_an_override_that_turns_on_an_undeclared_workload_is_an_error_naming_its_key(
    spec: AddonSpec, undeclared: UndeclaredWorkload
) -> None:
    plan = plan_with("arm-workers", overrides(spec.key, satisfying(undeclared.enabled_if), enabled=True))
    errors = [f for f in plan.findings if f.code == UNDECLARED]
    assert len(errors) == 1 and errors[0].level is FindingLevel.ERROR
    set_by_user = list(leaf_paths(satisfying(undeclared.enabled_if)))
    assert any(f"addons.{spec.key}.values.{'.'.join(path)}" in errors[0].message for path in set_by_user)
    assert "Fix:" in errors[0].message and undeclared.keys in errors[0].message
    # Once a render has placed every pod template of the release, it is a warning that still says
    # capacity does not count it.
    proven = plan.proven_by_render({spec.release})
    settled = [f for f in proven.findings if f.code == UNDECLARED]
    assert settled[0].level is FindingLevel.WARNING and "capacity" in settled[0].message
    assert plan.proven_by_render({"another-release"}).findings == plan.findings


def test_the_example_stacks_turn_on_nothing_undeclared() -> None:
    for stack in EXAMPLE_STACKS:
        assert not [f for f in example(stack).findings if f.code == UNDECLARED]


# --- images the values name ---------------------------------------------------------------------------

AMD64_ONLY = {"image": {"repository": "registry.example.com/metrics-server-amd64", "tag": "v0.8.1"}}
AMD64_REF = "registry.example.com/metrics-server-amd64:v0.8.1"


def _metrics_server(plan: Plan) -> PlacementEntry:
    return next(entry for entry in plan.placement if entry.release == "metrics-server")


def test_an_image_override_is_the_image_placement_and_readiness_judge() -> None:
    plan = plan_with("all-arm", overrides("metricsServer", AMD64_ONLY))
    assert _metrics_server(plan).images == (AMD64_REF,)
    assert AMD64_REF in {need.image for need in image_needs(plan)}
    assert metrics_server.SERVER.images[0].ref not in {need.image for need in image_needs(plan)}
    # Unread, it cannot be proven: a warning that names the keys and how to read it.
    (warning,) = [f for f in plan.findings if f.code == "arch-unknown"]
    assert warning.level is FindingLevel.WARNING
    assert (
        "addons.metricsServer.values.image.repository" in warning.message and "readiness" in warning.message
    )


def test_an_unread_image_names_only_the_keys_the_overrides_set() -> None:
    """Armful sets the collector's repository and tag itself; the user's digest is what moved the image."""
    plan = plan_with(
        "all-arm", overrides("openTelemetryCollector", {"image": {"digest": "sha256:" + "c" * 64}})
    )
    (warning,) = [f for f in plan.findings if f.code == "arch-unknown"]
    assert "(set by addons.openTelemetryCollector.values.image.digest)" in warning.message


def test_an_amd64_only_image_override_fails_on_all_arm_once_its_arches_are_known() -> None:
    plan = plan_with("all-arm", overrides("metricsServer", AMD64_ONLY), image_arches={AMD64_REF: AMD64})
    errors = [f for f in plan.findings if f.level is FindingLevel.ERROR]
    # Nothing keeps it off the Graviton system pool, where it would die with an exec format error.
    assert [f.code for f in errors] == ["wrong-arch"]
    assert AMD64_REF in errors[0].message and "metrics-server" in errors[0].message


def test_an_amd64_only_image_override_is_kept_to_the_x86_system_pool_of_arm_workers() -> None:
    plan = plan_with("arm-workers", overrides("metricsServer", AMD64_ONLY), image_arches={AMD64_REF: AMD64})
    release = next(r for r in plan.releases if r.spec.release == "metrics-server")
    assert release.values["nodeSelector"]["kubernetes.io/arch"] == "amd64"
    assert _metrics_server(plan).pools == ("system",)
    assert not plan.has_errors


@pytest.mark.parametrize(
    ("key", "values", "workload", "image"),
    [
        (
            "kubePrometheusStack",
            {"global": {"imageRegistry": "mirror.example.com"}},
            "grafana",
            "mirror.example.com/grafana/grafana:13.2.0",
        ),
        (
            "kubePrometheusStack",
            {"prometheus-node-exporter": {"image": {"digest": "sha256:" + "a" * 64}}},
            "node-exporter",
            f"quay.io/prometheus/node-exporter:v1.12.1-distroless@sha256:{'a' * 64}",
        ),
        (
            "openTelemetryCollector",
            {"image": {"digest": "sha256:" + "b" * 64}},
            "opentelemetry-collector",
            f"{opentelemetry_collector.COLLECTOR_IMAGE.repository}@sha256:{'b' * 64}",
        ),
        (
            "certManager",
            {"webhook": {"image": {"repository": "mirror.example.com/webhook", "tag": "v9"}}},
            "webhook",
            "mirror.example.com/webhook:v9",
        ),
        (
            "kyverno",
            {"global": {"image": {"registry": "mirror.example.com"}}},
            "admission-controller",
            "mirror.example.com/kyverno/kyverno:v1.19.0",
        ),
        (
            "falco",
            {"driver": {"kind": "kmod"}},
            "falco",
            "docker.io/falcosecurity/falco-driver-loader:0.44.1",
        ),
        (
            "metricsServer",
            {"addonResizer": {"enabled": True}},
            "metrics-server",
            "registry.k8s.io/autoscaling/addon-resizer:1.8.23",
        ),
        (
            "fluentBit",
            {"initContainers": [{"name": "wait", "image": "busybox:1.37"}]},
            "fluent-bit",
            "busybox:1.37",
        ),
    ],
)
def test_the_images_a_workload_runs_follow_its_values(
    key: str, values: dict, workload: str, image: str
) -> None:
    plan = plan_with("arm-workers", overrides(key, values))
    spec = next(spec for spec in ADDONS if spec.key == key)
    entry = next(e for e in plan.placement if e.release == spec.release and e.workload == workload)
    assert image in entry.images


# --- values the charts refuse -----------------------------------------------------------------------------


def test_a_key_the_chart_schema_does_not_have_is_refused_naming_the_key_and_the_right_one() -> None:
    with pytest.raises(StackConfigError) as refused:
        plan_with("all-arm", overrides("certManager", {"webhook": {"replicas": 3}}))
    (issue,) = refused.value.issues
    assert issue.path == "armful:addons.certManager.values.webhook.replicas"
    assert "values schema of cert-manager v1.21.1" in issue.problem and "replicaCount" in issue.fix


def test_a_value_of_the_wrong_kind_is_refused_with_the_schemas_reason() -> None:
    with pytest.raises(StackConfigError) as refused:
        plan_with("all-arm", overrides("openTelemetryCollector", {"replicaCount": "two"}))
    (issue,) = refused.value.issues
    assert issue.path == "armful:addons.openTelemetryCollector.values.replicaCount"
    assert "'two' is not of type 'integer'" in issue.problem


def test_a_null_removes_a_chart_default_before_the_schema_sees_it() -> None:
    """Helm deletes a key given as null; the collector's schema requires `mode`, which Armful sets."""
    with pytest.raises(StackConfigError) as refused:
        plan_with("all-arm", overrides("openTelemetryCollector", {"mode": None}))
    assert any("'mode' is a required property" in issue.problem for issue in refused.value.issues)


REFUSALS = [(spec, refusal) for spec in ADDONS for refusal in spec.refusals]


@pytest.mark.parametrize(
    ("spec", "refusal"), REFUSALS, ids=[f"{s.key}-{'.'.join(r.at)}" for s, r in REFUSALS]
)
def test_values_a_chart_template_refuses_are_refused_in_the_charts_words(
    spec: AddonSpec, refusal: ChartRefusal
) -> None:
    with pytest.raises(StackConfigError) as refused:
        plan_with("arm-workers", overrides(spec.key, satisfying(refusal.refused_if)))
    paths = {issue.path: issue for issue in refused.value.issues}
    issue = paths[f"armful:addons.{spec.key}.values.{'.'.join(refusal.at)}"]
    assert repr(refusal.message) in issue.problem and issue.fix == refusal.fix


def test_kyvernos_admission_controller_at_zero_replicas_is_refused() -> None:
    with pytest.raises(StackConfigError) as refused:
        plan_with("mixed", overrides("kyverno", {"admissionController": {"replicas": 0}}))
    assert [issue.path for issue in refused.value.issues] == [
        "armful:addons.kyverno.values.admissionController.replicas"
    ]
    assert "Kyverno does not support running with 0 replicas" in refused.value.issues[0].problem


def test_a_refusal_armful_prevents_with_a_null_is_not_refused() -> None:
    """Kyverno's PDB takes one of minAvailable and maxUnavailable; nulling Armful's minAvailable is the fix."""
    pdb = {"podDisruptionBudget": {"minAvailable": None, "maxUnavailable": 1}}
    plan = plan_with("mixed", overrides("kyverno", {"admissionController": pdb}))
    assert not plan.has_errors
    assert kyverno.ADMISSION_CONTROLLER.name in {e.workload for e in plan.placement}


def test_falco_driver_kinds_and_cert_manager_crds_stay_as_armful_sets_them() -> None:
    for stack in EXAMPLE_STACKS:
        falco_values = next(r for r in example(stack).releases if r.spec is falco.SPEC).values
        assert not falco.DRIVER_LOADER.runs(falco_values)
        cert = next(r for r in example(stack).releases if r.spec is cert_manager.SPEC).values
        assert cert["crds"]["enabled"] is True
