"""One planned release rendered from its pinned chart archive, and how the plan's view of it (which
workloads exist, the images their pods pull, the pools they land on) differs from what Helm rendered."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from chart_archives import SDK_REASON, chart_archives

from armful.addons.spec import UndeclaredWorkload
from armful.placement.scheduler import pod_images
from armful.planning.plan import Plan
from armful.planning.releases import ReleasePlan, render_placeholders
from armful.render.command import declared_image_arches
from armful.render.findings import TemplatePlacement, judge_pod_template
from armful.render.helm import render_manifests
from armful.render.pod_templates import extract_pod_templates


def release_of(plan: Plan, name: str) -> ReleasePlan:
    return next(release for release in plan.releases if release.spec.release == name)


def render_release(plan: Plan, name: str) -> list[TemplatePlacement]:
    """Every pod template Helm renders for the planned release, judged on the plan's pools.

    Raises RenderFailed with Helm's reason when the chart refuses the values.
    """
    pytest.importorskip("helm_python", reason=SDK_REASON)
    release = release_of(plan, name)
    spec = release.spec
    manifests = render_manifests(
        chart_archives() / f"{spec.chart}-{spec.version}.tgz",
        spec.version,
        None,
        render_placeholders(release.values),
        spec.release,
        spec.namespace,
        cache_dir=None,
    )
    templates = extract_pod_templates([m.body for m in manifests], [m.source for m in manifests])
    arches = declared_image_arches(plan.releases)
    return [
        judge_pod_template(spec.release, t, plan.pools, topology=plan.topology, image_arches=arches)
        for t in templates
    ]


@dataclass(frozen=True)
class Comparison:
    mismatches: list[str]
    """Where the plan's view and the render differ."""
    undeclared: list[tuple[UndeclaredWorkload, TemplatePlacement]]
    """Rendered pod templates that an undeclared workload of the add-on accounts for."""


def template_file(placement: TemplatePlacement) -> str:
    """The template's file from the chart's root (the source names the chart first)."""
    return (placement.template.source or "").split("/", 1)[1]


def compare(plan: Plan, name: str, rendered: list[TemplatePlacement]) -> Comparison:
    release = release_of(plan, name)
    spec, values = release.spec, release.values
    declared = {workload.name: workload for workload in spec.workloads}
    entries = [entry for entry in plan.placement if entry.release == name]
    mismatches: list[str] = []
    undeclared: list[tuple[UndeclaredWorkload, TemplatePlacement]] = []
    matched: set[str] = set()
    for placement in rendered:
        source = template_file(placement)
        owners = [entry for entry in entries if source in declared[entry.workload].templates]
        if not owners:
            if placement.template.is_test_hook:
                continue
            accounted = [
                u
                for u in spec.undeclared
                if source in u.templates and all(c.holds(values) for c in u.enabled_if)
            ]
            if accounted:
                undeclared.append((accounted[0], placement))
            else:
                mismatches.append(f"{placement.template.label} ({source}) is rendered but not planned")
            continue
        if len(owners) > 1:
            mismatches.append(f"{source} is claimed by {[o.workload for o in owners]}")
            continue
        (owner,) = owners
        matched.add(owner.workload)
        images = set(pod_images(placement.template.pod_spec))
        if images != set(owner.images):
            mismatches.append(f"{owner.workload}: plan {sorted(owner.images)}, rendered {sorted(images)}")
        if tuple(placement.pools) != owner.pools:
            mismatches.append(f"{owner.workload}: plan lands on {owner.pools}, rendered on {placement.pools}")
    mismatches += [
        f"{entry.workload} is planned but the chart renders nothing for it"
        for entry in entries
        if entry.workload not in matched
    ]
    return Comparison(mismatches, undeclared)
