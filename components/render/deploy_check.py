"""What ``pulumi preview`` and ``pulumi up`` check before any Helm release is registered.

Each chart is taken from the source its release will use (the folder's archive, the mirror), checked
against its digest, rendered with the release's final values and judged like ``plan --render`` judges it.
Values only ``pulumi up`` knows, secrets among them, are rendered as their placeholders: a secret never
reaches this check. The machine that runs ``pulumi up`` must reach the charts anyway (Helm pulls them
there), so a chart that cannot be had is an error too, with the switch that turns the check off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from armful.core.errors import ConfigIssue, StackConfigError
from armful.core.findings import Finding, FindingLevel
from armful.core.pools import PoolPlan
from armful.core.topology import Topology
from armful.images.registry_hosts import is_loopback
from armful.planning.chart_sources import ChartSource
from armful.planning.plan import PlanError
from armful.planning.releases import ReleasePlan
from armful.render.command import declared_image_arches, default_chart_cache, render_release
from armful.render.helm import (
    ChartDigestMismatch,
    ChartUnavailable,
    HelmSdkMissing,
    RenderFailed,
    check_archive_digest,
    helm_sdk,
)

__all__ = ["RenderedChartsError", "check_chart_files", "check_charts_before_deploy"]


class RenderedChartsError(PlanError):
    """The charts, rendered with the final values, fail the judgement (or cannot be had): no release is created."""

    def __init__(self, findings: Iterable[Finding], subject: str = "the Helm releases") -> None:
        super().__init__(findings, subject)
        errors = "\n".join(f"  - [{finding.code}] {finding.message}" for finding in self.findings)
        self.args = (
            f"Armful will not create {subject}: their charts, rendered with the final values before "
            f"anything is created, have errors:\n{errors}",
        )


def check_charts_before_deploy(
    releases: Sequence[ReleasePlan],
    sources: Mapping[str, ChartSource],
    pools: Sequence[PoolPlan],
    topology: Topology | None,
    *,
    switch: str,
    cache_dir: Path | None = None,
) -> list[Finding]:
    """Render and judge every release's chart from its source; return the warnings.

    ``switch`` names the setting that turns this off (``armful:charts.renderAtDeploy``), for the messages.
    Raises RenderedChartsError with every error found (all charts are tried), and StackConfigError
    naming ``switch`` when helm-python-sdk cannot load.
    """
    try:
        helm_sdk()
    except HelmSdkMissing as error:
        raise StackConfigError(
            [
                ConfigIssue(
                    switch,
                    f"the charts are rendered and judged before any release is created, and {error}",
                    f"install Armful's runtime dependencies (pip install -r requirements-pins.txt), or set "
                    f"{switch}: false to create the releases without this proof",
                )
            ]
        ) from None
    cache = cache_dir or default_chart_cache()
    arches = declared_image_arches(releases)
    findings: list[Finding] = []
    for release in releases:
        name = release.spec.release
        try:
            rendered = render_release(release, sources[name], pools, topology, arches, cache_dir=cache)
        except ChartUnavailable as error:
            findings.append(
                Finding(
                    FindingLevel.ERROR,
                    "chart-unavailable",
                    f"{name}: {error.summary}. Helm pulls the chart on this machine too: mirror its "
                    "repository in charts.repositories or put its archive in charts.directory, or set "
                    f"{switch}: false to create the releases without this proof",
                )
            )
            continue
        except (RenderFailed, ChartDigestMismatch) as error:
            code = "render-failed" if isinstance(error, RenderFailed) else "chart-digest"
            findings.append(Finding(FindingLevel.ERROR, code, f"{name}: {error}"))
            continue
        findings += [finding for placement in rendered.placements for finding in placement.findings]
    if any(finding.level is FindingLevel.ERROR for finding in findings):
        raise RenderedChartsError(findings)
    return findings


def check_chart_files(sources: Mapping[str, ChartSource], *, directory: str, repositories: str) -> None:
    """What holds whether or not the charts are rendered: each archive the releases will read exists
    and has its digest, and no release would pull OCI over plain HTTP, which pulumi-kubernetes' Helm
    release cannot (it speaks HTTPS to every OCI registry). ``directory`` and ``repositories`` name those
    settings. Raises StackConfigError, or RenderedChartsError for a digest that does not match."""
    issues: list[ConfigIssue] = []
    findings: list[Finding] = []
    for release, source in sources.items():
        if source.archive is not None:
            archive = Path(source.archive)
            if not archive.is_file():
                issues.append(
                    ConfigIssue(
                        directory,
                        f"{release} installs {source.chart} {source.version}, and the charts folder has no "
                        f"{archive.name} (looked for {archive}), nor does a mirror in {repositories} cover "
                        "its repository",
                        f"put the archive there (helm pull {source.chart} --version {source.version}), or "
                        "mirror its repository",
                    )
                )
            elif source.digest is not None:
                try:
                    check_archive_digest(archive, source.digest, source.chart, source.version, str(archive))
                except ChartDigestMismatch as error:
                    findings.append(Finding(FindingLevel.ERROR, "chart-digest", f"{release}: {error}"))
        elif source.oci and source.repository and is_loopback(urlsplit(source.repository).netloc):
            issues.append(
                ConfigIssue(
                    repositories,
                    f"{release}'s chart would come from {source.repository}, a loopback registry Armful "
                    "speaks to over plain HTTP, and the Helm release pulumi up creates pulls OCI charts "
                    "over HTTPS only",
                    "serve the mirror over HTTPS, or put the archive in the charts folder",
                )
            )
    if issues:
        raise StackConfigError(issues)
    if findings:
        raise RenderedChartsError(findings)
