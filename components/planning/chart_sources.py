"""``armful:charts``: where the add-ons' pinned Helm charts come from, and the digest each must have.

Pure: which mirror or archive a chart is taken from is decided here; reading the archive (and whether
the folder exists) is the render layer's, where it is used (``armful.render.sources``).

A mirror rewrites a chart's location, the repository Armful pins it in followed by the chart's own name
(``https://aws.github.io/eks-charts/aws-load-balancer-controller``,
``oci://quay.io/jetstack/charts/cert-manager``): the longest key that is that location, or a prefix of it
ending at a ``/``, is replaced by its mirror. So ``oci://quay.io/jetstack/charts`` →
``oci://harbor.example.com/jetstack`` serves cert-manager from
``oci://harbor.example.com/jetstack/cert-manager``, and an HTTP repository may be mirrored into an OCI
registry (Harbor, Artifactory and ECR hold both kinds) or the other way round.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import PurePath
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from armful.addons.registry import ADDONS
from armful.core.config_base import ConfigModel
from armful.core.errors import describe_pattern

__all__ = [
    "CHART_DIGEST",
    "ChartSource",
    "ChartSourcesConfig",
    "chart_location",
]

CHART_DIGEST = describe_pattern(
    r"^sha256:[0-9a-f]{64}$",
    "a chart archive's digest: sha256: and 64 lowercase hex digits (sha256sum <chart>-<version>.tgz)",
    "sha256:4f2c1e0b9d8a7f6e5d4c3b2a190817263544536271809a0b1c2d3e4f5a6b7c8d",
)
_SCHEMES = ("https", "http", "oci")


def chart_location(chart: str, repository: str) -> str:
    """Where a chart lives: its repository with the chart's name after it (an OCI repository that
    already ends in the chart's name is the location itself). What a mirror key is matched against."""
    base = repository.rstrip("/")
    if repository.startswith("oci://") and base.rsplit("/", 1)[-1] == chart:
        return base
    return f"{base}/{chart}"


def _covers(key: str, location: str) -> bool:
    return location == key or location.startswith(key + "/")


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES or not parts.netloc:
        return "it is not an https://, http:// or oci:// URL"
    if parts.query or parts.fragment:
        return "it has a query or fragment, which a chart repository URL never carries"
    if parts.username or parts.password:
        return "it carries credentials, which would be written to the stack's state in plain text"
    return None


def _known_locations() -> set[str]:
    """Every location an add-on's chart is pinned at."""
    return {chart_location(spec.chart, spec.repository) for spec in ADDONS}


@dataclass(frozen=True)
class ChartSource:
    """Where one pinned chart is taken from, for ``plan --render``, the deploy-time render and the release."""

    chart: str
    version: str
    repository: str | None
    """The repository to pull from (the mirror's when one covers it); None when an archive is read."""
    archive: str | None = None
    """The ``<chart>-<version>.tgz`` file in the charts folder; None when pulled."""
    digest: str | None = None
    """The ``sha256:<hex>`` its archive must have, when one is given."""
    mirrored: bool = False
    """The repository is a mirror's, not the one Armful pins."""

    @property
    def oci(self) -> bool:
        return self.repository is not None and self.repository.startswith("oci://")

    @property
    def where(self) -> str:
        """The archive's path or the repository, as messages name it."""
        return self.archive or self.repository or ""


class ChartSourcesConfig(ConfigModel):
    """Where the add-ons' Helm charts come from: mirrors of their repositories and a folder of archives, the digest each archive must have, and whether the charts are rendered and judged before any release is created."""

    repositories: dict[str, str] = Field(default_factory=dict)
    """Mirrors: a repository Armful pins charts in (an https:// URL, or an oci:// prefix, as plan --format json lists them) to the https://, http:// or oci:// URL that serves the same charts. The longest key that covers a chart wins."""
    directory: str | None = None
    """A folder of chart archives named <chart>-<version>.tgz, as helm pull names them (relative to the folder pulumi or armful runs in). A chart found there is read from it; one that is not is pulled only from a mirror in repositories, never from the internet."""
    digests: dict[str, Annotated[str, Field(pattern=CHART_DIGEST)]] = Field(default_factory=dict)
    """The sha256:<hex> digest of each chart's archive, by chart name (e.g. kyverno): checked after every pull, on every cache hit and on every read from the folder; a mismatch stops plan --render and pulumi up."""
    render_at_deploy: bool = True
    """pulumi preview and pulumi up render every chart with its final values and refuse to create any release whose pods the judgement fails (the default). false skips that, for a machine that cannot reach the charts; the releases are then not proven on Helm's output."""

    @field_validator("repositories")
    @classmethod
    def _mirrors_of_known_repositories(cls, repositories: dict[str, str]) -> dict[str, str]:
        locations = _known_locations()
        pinned = sorted({spec.repository.rstrip("/") for spec in ADDONS})
        for key, mirror in repositories.items():
            problem = _url_problem(key)
            if problem is not None:
                raise ValueError(
                    f"the key {key!r} is not a repository: {problem}. Fix: key each mirror by a repository "
                    f"Armful pins charts in ({', '.join(pinned)})"
                )
            if not any(_covers(key.rstrip("/"), location) for location in locations):
                raise ValueError(
                    f"no add-on's chart comes from {key!r}, so this mirror would never be used and those "
                    f"charts would still be pulled from their own repositories. Fix: key it by one of "
                    f"{', '.join(pinned)} (or an oci:// prefix of one)"
                )
            problem = _url_problem(mirror)
            if problem is not None:
                raise ValueError(
                    f"the mirror of {key} is {mirror!r}: {problem}. Fix: give the https://, http:// or "
                    "oci:// URL of the repository that serves the same charts"
                )
        return repositories

    @field_validator("digests")
    @classmethod
    def _digests_of_known_charts(cls, digests: dict[str, str]) -> dict[str, str]:
        charts = sorted({spec.chart for spec in ADDONS})
        for chart in digests:
            if chart not in charts:
                raise ValueError(
                    f"{chart!r} is not a chart any add-on installs, so its digest would never be checked. "
                    f"Fix: key digests by chart name, one of {', '.join(charts)}"
                )
        return digests

    @field_validator("directory")
    @classmethod
    def _a_directory(cls, directory: str | None) -> str | None:
        if directory is not None and not directory.strip():
            raise ValueError("the charts folder is empty text. Fix: give the folder's path, or leave it out")
        return directory

    def mirror_of(self, chart: str, repository: str) -> str | None:
        """The mirror's repository for a chart pinned in ``repository``, or None when none covers it."""
        location = chart_location(chart, repository)
        keys = [key.rstrip("/") for key in self.repositories if _covers(key.rstrip("/"), location)]
        if not keys:
            return None
        key = max(keys, key=len)
        mirror = next(value for given, value in self.repositories.items() if given.rstrip("/") == key)
        rest = location[len(key) :]
        moved = mirror.rstrip("/") + rest
        if moved.startswith("oci://"):
            return moved  # an OCI reference names the chart itself
        # An HTTP repository is named without the chart, which Helm finds through its index.
        return re.sub(f"/{re.escape(chart)}$", "", moved) if rest else moved

    def source(
        self,
        chart: str,
        version: str,
        repository: str,
        directory: str | None = None,
        present: Collection[str] = (),
    ) -> ChartSource:
        """Where the chart is taken from, given the charts folder (``directory`` by default) and the
        archive names it holds (``present``): its archive there wins; else a mirror's repository; else,
        with a folder, the archive it should have held (reading it says it is missing); else the
        repository Armful pins."""
        folder = directory if directory is not None else self.directory
        digest = self.digests.get(chart)
        name = f"{chart}-{version}.tgz"
        if folder is not None and name in present:
            return ChartSource(chart, version, None, str(PurePath(folder, name)), digest)
        mirror = self.mirror_of(chart, repository)
        if mirror is not None:
            return ChartSource(chart, version, mirror, None, digest, mirrored=True)
        if folder is not None:
            return ChartSource(chart, version, None, str(PurePath(folder, name)), digest)
        return ChartSource(chart, version, repository, None, digest)
