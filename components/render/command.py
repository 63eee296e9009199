"""``plan --render``: render every planned release with Helm and prove placement on what it produced.

The CLI calls :func:`render_plan` and prints :func:`render_report` (or puts :func:`render_json` beside the
plan's JSON). A chart that cannot be pulled is reported as such, once, and counts as not proven: nothing
here ever passes off the declared model as a rendered result. Each chart comes from where the stack's
``armful:charts`` says (a mirror, a folder of archives), is checked against its digest when one is given,
and is judged by :func:`render_release`, which the deploy-time check (``armful.render.deploy_check``) shares.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from armful.core.arch import Arch
from armful.core.findings import Finding, FindingLevel
from armful.core.pools import PoolPlan
from armful.core.topology import Topology
from armful.core.user_cache import armful_cache_dir
from armful.planning.chart_sources import ChartSource
from armful.planning.plan import Plan
from armful.planning.releases import ReleasePlan, placeholders, render_placeholders
from armful.render.findings import TemplatePlacement, judge_pod_template
from armful.render.helm import (
    ChartDigestMismatch,
    ChartUnavailable,
    RenderFailed,
    crd_documents,
    helm_sdk,
    parse_rendered,
    render_files,
)
from armful.render.pod_templates import extract_pod_templates
from armful.render.sources import chart_sources

__all__ = [
    "RenderedRelease",
    "declared_image_arches",
    "default_chart_cache",
    "render_json",
    "render_plan",
    "render_release",
    "render_report",
]


@dataclass(frozen=True)
class RenderedRelease:
    """One release Helm rendered with the planned values, and where each of its pod templates can run."""

    release: ReleasePlan
    objects: int
    """How many Kubernetes objects the chart rendered (hooks and subcharts included)."""
    placements: tuple[TemplatePlacement, ...]
    source: ChartSource
    """Where its chart was taken from: the pinned repository, a mirror's, or an archive in the charts folder."""

    @property
    def name(self) -> str:
        return self.release.spec.release

    @property
    def hooks(self) -> int:
        return sum(1 for placement in self.placements if placement.template.is_hook)

    @property
    def test_hooks(self) -> int:
        """Hooks that run only under ``helm test`` (counted among :attr:`hooks`)."""
        return sum(1 for placement in self.placements if placement.template.is_test_hook)

    def to_json(self) -> dict[str, Any]:
        spec = self.release.spec
        return {
            "release": spec.release,
            "chart": spec.chart,
            "version": spec.version,
            "objects": self.objects,
            "source": self.source.where,
            "mirrored": self.source.mirrored,
            "digest_checked": self.source.digest is not None,
            "pod_templates": [
                {
                    "kind": placement.template.kind,
                    "name": placement.template.name,
                    "hook": placement.template.hook,
                    "test_hook": placement.template.is_test_hook,
                    "subchart": ".".join(placement.template.subchart) or None,
                    "role": placement.template.role,
                    "pools": list(placement.pools),
                }
                for placement in self.placements
            ],
        }


def default_chart_cache() -> Path:
    """Where pulled chart archives are kept: ``$ARMFUL_CHART_CACHE``, else ``$XDG_CACHE_HOME/armful/charts``,
    else ``~/.cache/armful/charts``. A pinned version never changes, so a cached archive never goes stale.
    """
    explicit = os.environ.get("ARMFUL_CHART_CACHE")
    return Path(explicit) if explicit else armful_cache_dir("charts")


def declared_image_arches(releases: Iterable[ReleasePlan]) -> dict[str, frozenset[Arch]]:
    """The arches each add-on declares for its images (``AddonSpec.workloads[].images``)."""
    arches: dict[str, frozenset[Arch]] = {}
    for release in releases:
        for workload in release.spec.workloads:
            for image in workload.images:
                arches[image.ref] = image.arches
    return arches


def render_plan(
    plan: Plan,
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    charts_from: Path | None = None,
    image_arches: Mapping[str, Iterable[Arch | str]] | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> tuple[list[RenderedRelease], list[Finding], list[str]]:
    """Pull and render each planned release; judge every pod template it renders on the planned pools.

    Returns the releases rendered, the findings about them (codes ``stranded``, ``wrong-arch``,
    ``coverage-gap``, ``off-system`` as in the plan, plus ``render-failed`` when Helm rejects the planned
    values and ``chart-digest`` when an archive is not the one its digest names), and notes to print: one
    per chart that could not be pulled, and what rendering could not show.
    ``image_arches`` adds to (and overrides) the arches the add-ons declare for their images.
    Each chart comes from the stack's ``armful:charts``: its archive in the charts folder, else a mirror
    of its repository, else (without a folder) the repository the add-on pins. ``charts_from`` replaces
    the folder: a directory of archives named as ``helm pull`` names them, ``<chart>-<version>.tgz``.
    An archive that is missing, or is not of the pinned version, is a note like a failed pull.
    ``on_progress(done, total, chart)`` is called before each chart is pulled and rendered, and at the end.

    Raises HelmSdkMissing (its message is the install command) before doing anything when
    ``helm-python-sdk`` is absent, and StackConfigError when the charts folder is not there.
    """
    helm_sdk()
    cache = (cache_dir or default_chart_cache()) if use_cache else None
    arches: dict[str, Any] = {**declared_image_arches(plan.releases), **(image_arches or {})}
    sources = chart_sources(
        plan.releases,
        plan.config.charts,
        directory=None if charts_from is None else str(charts_from),
        where="--charts-from" if charts_from is not None else "armful:charts.directory",
    )
    rendered: list[RenderedRelease] = []
    findings: list[Finding] = []
    notes: list[str] = []
    total = len(plan.releases)
    for done, release in enumerate(plan.releases):
        spec = release.spec
        if on_progress:
            on_progress(done, total, f"{spec.chart} {spec.version}")
        try:
            result = render_release(
                release, sources[spec.release], plan.pools, plan.topology, arches, cache_dir=cache
            )
        except ChartUnavailable as error:
            notes.append(f"{spec.release}: {error}")
            continue
        except RenderFailed as error:
            findings.append(Finding(FindingLevel.ERROR, "render-failed", f"{spec.release}: {error}"))
            continue
        except ChartDigestMismatch as error:
            findings.append(Finding(FindingLevel.ERROR, "chart-digest", f"{spec.release}: {error}"))
            continue
        rendered.append(result)
        findings += [finding for placement in result.placements for finding in placement.findings]
    if on_progress:
        on_progress(total, total, "")
    failed = sum(1 for f in findings if f.code in ("render-failed", "chart-digest"))
    skipped = len(plan.releases) - len(rendered) - failed
    if skipped:
        notes.append(
            f"rendering incomplete: {skipped} of {len(plan.releases)} charts were not rendered; "
            "their placement is proven only by the declared model, not by Helm's output"
        )
    deploy_time = sorted({str(value) for release in plan.releases for value in placeholders(release.values)})
    if deploy_time and rendered:
        notes.append(
            f"values known only at deploy time were rendered as placeholders: {', '.join(deploy_time)}"
        )
    return rendered, findings, notes


def render_release(
    release: ReleasePlan,
    source: ChartSource,
    pools: Sequence[PoolPlan],
    topology: Topology | None,
    image_arches: Mapping[str, Iterable[Arch | str]],
    *,
    cache_dir: Path | None,
) -> RenderedRelease:
    """Render one release's chart from ``source`` with its planned values, deploy-time values (secrets
    included) as their placeholders, and judge every pod template on ``pools``.

    Raises ChartUnavailable, ChartDigestMismatch or RenderFailed (see :func:`armful.render.helm.render_chart`).
    """
    spec = release.spec
    chart: str | Path = Path(source.archive) if source.archive else spec.chart
    files = render_files(
        chart,
        spec.version,
        None if source.archive else source.repository,
        render_placeholders(release.values),
        spec.release,
        spec.namespace,
        cache_dir=cache_dir,
        digest=source.digest,
    )
    # CRDs hold no pod template: counted among the objects, never built (most of the bytes rendered).
    manifests = parse_rendered(files, skip_crds=True)
    templates = extract_pod_templates(
        [manifest.body for manifest in manifests], [manifest.source for manifest in manifests]
    )
    placements = tuple(
        judge_pod_template(spec.release, template, pools, topology=topology, image_arches=image_arches)
        for template in templates
    )
    return RenderedRelease(release, len(manifests) + crd_documents(files), placements, source)


def render_report(
    rendered: Sequence[RenderedRelease], findings: Sequence[Finding], notes: Sequence[str]
) -> str:
    """The text ``plan --render`` prints after the plan table."""
    lines = ["", "Rendered with Helm"]
    if not rendered:
        lines.append("  nothing was rendered")
    for release in rendered:
        spec = release.release.spec
        tests = f", {release.test_hooks} of them helm test only" if release.test_hooks else ""
        source = release.source
        taken = f"; from {source.where}" if source.mirrored or source.archive else ""
        checked = ", digest checked" if source.digest else ""
        lines.append(
            f"  {spec.release} ({spec.chart} {spec.version}): {release.objects} objects, "
            f"{len(release.placements)} pod templates ({release.hooks} hooks{tests}){taken}{checked}"
        )
        for placement in release.placements:
            pools = ", ".join(placement.pools) or "NONE"
            role = placement.template.role + (", helm test only" if placement.template.is_test_hook else "")
            lines.append(f"    {placement.template.label} [{role}] -> {pools}")
    if findings:
        lines += ["", "Render findings"]
        lines += [f"  {finding.level.value}: [{finding.code}] {finding.message}" for finding in findings]
    if notes:
        lines += ["", "Render notes"]
        lines += [f"  {note}" for note in notes]
    return "\n".join(lines) + "\n"


def render_json(
    rendered: Sequence[RenderedRelease], findings: Sequence[Finding], notes: Sequence[str]
) -> dict[str, Any]:
    """What ``plan --render --format json`` can add beside the stable keys of design §6."""
    return {
        "rendered": [release.to_json() for release in rendered],
        "render_findings": [finding.to_json() for finding in findings],
        "render_notes": list(notes),
    }
