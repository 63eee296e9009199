"""Each release's chart source on this machine: the charts folder is read here, where it is used.

``armful.planning.chart_sources`` decides between a folder's archive, a mirror and the pinned repository;
this module lists the folder (once) and says plainly when it is not there.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from armful.core.errors import ConfigIssue, StackConfigError
from armful.planning.chart_sources import ChartSource, ChartSourcesConfig
from armful.planning.releases import ReleasePlan

__all__ = ["chart_sources", "folder_archives"]


def folder_archives(directory: str, where: str) -> frozenset[str]:
    """The ``.tgz`` names in the charts folder; StackConfigError naming ``where`` when it is no folder."""
    folder = Path(directory)
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise StackConfigError(
            [
                ConfigIssue(
                    where,
                    f"the charts folder {directory} {problem} (relative paths start at {Path.cwd()})",
                    "give the folder that holds the charts as <chart>-<version>.tgz, or leave it out to pull them",
                )
            ]
        )
    return frozenset(path.name for path in folder.glob("*.tgz"))


def chart_sources(
    releases: Iterable[ReleasePlan],
    sources: ChartSourcesConfig,
    *,
    directory: str | None = None,
    where: str,
) -> dict[str, ChartSource]:
    """Each release's chart source, by release name. ``directory`` replaces the configured folder
    (``plan --render --charts-from``); ``where`` names the setting the folder came from, for its error."""
    folder = directory if directory is not None else sources.directory
    present = folder_archives(folder, where) if folder is not None else frozenset()
    return {
        release.spec.release: sources.source(
            release.spec.chart, release.spec.version, release.spec.repository, folder, present
        )
        for release in releases
    }
