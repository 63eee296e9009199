"""What every add-on module declares is real: each key it names, or sets, is one its chart reads."""

from __future__ import annotations

from typing import Any

import pytest
from chart_values import (
    chart_defaults,
    context_for,
    has_path,
    is_free_form,
    placement_key_paths,
    unknown_paths,
)

from armful.addons import falco, kube_prometheus_stack, kyverno_policies, opentelemetry_collector
from armful.addons.registry import ADDONS
from armful.addons.spec import AddonOptions, AddonSpec
from armful.core.arch import Arch
from armful.planning.releases import release_values

SPEC_IDS = [spec.key for spec in ADDONS]

OPTION_VARIANTS: list[tuple[AddonSpec, AddonOptions | None]] = [
    *((spec, None) for spec in ADDONS),
    (kyverno_policies.SPEC, kyverno_policies.KyvernoPoliciesOptions(validation_failure_action="Enforce")),
    (
        kube_prometheus_stack.SPEC,
        kube_prometheus_stack.KubePrometheusStackOptions(retention="30d", prometheus_storage_gib=200),
    ),
    (falco.SPEC, falco.FalcoOptions(sidekick=True)),
    (
        opentelemetry_collector.SPEC,
        opentelemetry_collector.OpenTelemetryCollectorOptions(
            traces_exporter="otlp", otlp_endpoint="tempo:4317"
        ),
    ),
]
VARIANT_IDS = [
    *SPEC_IDS,
    "kyvernoPolicies-Enforce",
    "kubePrometheusStack-custom",
    "falco-sidekick",
    "openTelemetryCollector-otlp",
]


def rooted(path: tuple[str, ...], tree: dict[str, Any]) -> dict[str, Any]:
    for part in reversed(path):
        tree = {part: tree}
    return tree


@pytest.mark.parametrize("spec", ADDONS, ids=SPEC_IDS)
def test_every_placement_key_exists_in_the_chart(spec: AddonSpec) -> None:
    """A key the chart only mentions in a comment must be listed in free_form_paths, on purpose."""
    defaults = chart_defaults(spec)
    missing = [
        f"{name}: {'.'.join(path)}"
        for name, path in placement_key_paths(spec)
        if not has_path(defaults, path) and not is_free_form(spec, path)
    ]
    assert not missing, f"{spec.chart_dir} has no such keys: {missing}"


@pytest.mark.parametrize("spec", ADDONS, ids=SPEC_IDS)
def test_extra_values_are_keys_the_chart_reads(spec: AddonSpec) -> None:
    defaults = chart_defaults(spec)
    missing = [
        f"{workload.name}: {path}"
        for workload in spec.workloads
        for path in unknown_paths(spec, defaults, rooted(workload.path, dict(workload.extra_values)))
    ]
    assert not missing, f"{spec.chart_dir} has no such keys: {missing}"


@pytest.mark.parametrize(("spec", "options"), OPTION_VARIANTS, ids=VARIANT_IDS)
def test_chart_values_are_keys_the_chart_reads(spec: AddonSpec, options: AddonOptions | None) -> None:
    defaults = chart_defaults(spec)
    missing = unknown_paths(spec, defaults, spec.values(context_for(spec, options)))
    assert not missing, f"{spec.chart_dir} has no such keys: {missing}"


@pytest.mark.parametrize("spec", ADDONS, ids=SPEC_IDS)
def test_free_form_paths_hang_off_keys_the_chart_has(spec: AddonSpec) -> None:
    """A free-form entry may add a key, but its parent must be real (catches a misspelt component)."""
    defaults = chart_defaults(spec)
    orphans = [free for free in spec.free_form_paths if not has_path(defaults, tuple(free.split("."))[:-1])]
    assert not orphans, orphans


def test_add_on_keys_are_camel_case_and_unique() -> None:
    from pydantic.alias_generators import to_camel, to_snake

    assert all(to_camel(to_snake(spec.key)) == spec.key for spec in ADDONS)
    assert len({spec.key for spec in ADDONS}) == len({spec.release for spec in ADDONS}) == len(ADDONS)


@pytest.mark.parametrize("spec", ADDONS, ids=SPEC_IDS)
def test_every_workload_names_pinned_multi_arch_images_and_sizes_both_arches(spec: AddonSpec) -> None:
    """Design §4: every pinned default image publishes amd64 and arm64; `readiness --addons-declared`
    checks that against the registries when a chart is bumped."""
    values = release_values(spec, context_for(spec))
    for workload in spec.workloads:
        assert workload.images, f"{workload.name} lists no image"
        assert set(workload.resources) == set(Arch), f"{workload.name} must size both arches"
        # A container Armful's values leave off (node-exporter's permission fixer, at the chart's
        # `latest`) is not pinned by Armful; the ones that run are.
        for image in (image for image in workload.images if image.runs(values)):
            repository, _, tag = image.ref.rpartition(":")
            assert repository and "/" in repository and tag and tag != "latest", image.ref
            assert image.arches == frozenset(Arch), f"{image.ref}: multi-arch per design §4"
