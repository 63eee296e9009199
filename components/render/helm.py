"""The one module that touches Helm: pull a pinned chart and render it with Helm's own engine.

Helm comes from ``helm-python-sdk`` (import name ``helm_python``), which embeds Helm v4's Go SDK as a
shared library. It is a runtime dependency (``pulumi preview`` and ``pulumi up`` render every chart before
any release is created), imported only when a render is asked for, so ``armful plan`` without ``--render``
runs where it cannot load.

What the SDK's offline render (``Chart.render``: ``ToRenderValues`` + ``engine.Render``) does and does not:

- Renders every template: hooks included (an install dry run would drop them from its manifest), and
  subcharts under ``charts/``, with dependency ``condition``/``tags`` applied and each subchart's defaults
  coalesced under its key. It validates the values against ``values.schema.json`` (parent and subcharts),
  as ``helm install`` does.
- Uses Helm's default capabilities (Kubernetes v1.36.0, built-in API versions only): a chart's
  ``kubeVersion`` constraint is not checked, ``.Capabilities.APIVersions.Has "<a CRD's group>"`` is false,
  and ``lookup`` returns nothing. None of these changes a pod template's placement fields in the pinned charts.
- Applying dependency conditions removes disabled subcharts from the loaded chart object itself, so a
  loaded chart must not be rendered twice: every render here loads the archive afresh.

The rendered files are split into documents by Helm's own rule (:func:`split_manifests`), not by YAML's:
Helm accepts ``---# comment`` and ``---apiVersion: v1`` glued to the separator, which cert-manager's
rbac.yaml renders and a YAML stream parser rejects.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import yaml

from armful.addons.spec import chart_reference
from armful.images.registry_hosts import is_loopback

__all__ = [
    "MISSING_SDK_MESSAGE",
    "ChartDigestMismatch",
    "ChartUnavailable",
    "HelmSdkMissing",
    "RenderFailed",
    "SourcedManifest",
    "archive_digest",
    "chart_reference",
    "check_archive_digest",
    "crd_documents",
    "helm_sdk",
    "is_crd_document",
    "parse_rendered",
    "render_chart",
    "render_files",
    "render_manifests",
    "split_manifests",
]

MISSING_SDK_MESSAGE = "rendering charts needs helm-python-sdk: pip install -r requirements-pins.txt"
DEFAULT_RELEASE_NAME = "release-name"
DEFAULT_NAMESPACE = "default"

# libyaml's parser where PyYAML was built with it: kyverno renders 3.4 MB of CRDs, which the pure-Python
# parser takes seconds over. Both construct the same plain data (SafeConstructor); every load here uses this.
_YAML_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Helm's document separator, from SplitManifests in helm/helm pkg/release/v1/util/manifest.go:
# regexp.MustCompile("(?:^|\\s*\n)---\\s*"). Go's \s is ASCII whitespace only. It splits at ``---`` right
# after any newline, whatever follows it on the line, and swallows the whitespace on both sides of it.
# split_manifests finds each ``\n---`` with str.find instead of that regex: tried at every offset, its
# leading ``\s*\n`` rescans each run of indentation, which cost 0.4 s over the 5 MB the charts render.
_GO_WHITESPACE = "\t\n\f\r "
_WHITESPACE_RUN = re.compile(r"[\t\n\f\r ]*")
# A top-level ``kind: X`` line (no indentation), its value up to trailing blanks.
_TOP_LEVEL_KIND = re.compile(r"^kind:[ \t]*(\S+)[ \t]*$", re.MULTILINE)


class HelmSdkMissing(RuntimeError):
    """``helm-python-sdk`` is not installed (or its native library cannot load on this machine)."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(MISSING_SDK_MESSAGE + (f" ({detail})" if detail else ""))


class ChartUnavailable(Exception):
    """The pinned chart could not be pulled: nothing about it was rendered or proven."""

    def __init__(self, chart: str, version: str | None, repository: str | None, reason: str) -> None:
        self.chart, self.version, self.repository, self.reason = chart, version, repository, reason
        if repository:
            what = f"pull {chart} {version or '(any version)'} from {repository}"
        else:
            what = f"load {chart}" + (f" {version}" if version else "")
        self.summary = f"could not {what}: {_one_line(reason)}"
        super().__init__(f"{self.summary}; rendering skipped")


class RenderFailed(Exception):
    """The chart was pulled but Helm refused to render it with these values (schema or template error).

    ``helm install`` would fail the same way, so this is a finding about the values, not about the network.
    """

    def __init__(self, chart: str, version: str | None, reason: str) -> None:
        self.chart, self.version, self.reason = chart, version, reason
        named = f"{chart} {version}" if version else chart
        super().__init__(f"{named} does not render with the planned values: {_one_line(reason)}")


class ChartDigestMismatch(Exception):
    """A chart archive is not the one its configured digest names: nothing is rendered or installed from it."""

    def __init__(self, chart: str, version: str | None, where: str, expected: str, actual: str) -> None:
        self.chart, self.version, self.where = chart, version, where
        self.expected, self.actual = expected, actual
        named = f"{chart} {version}" if version else chart
        super().__init__(
            f"chart {named} from {where} has digest {actual}, not the {expected} that charts.digests.{chart} "
            "names: it is not the archive you vetted (a mirror or folder serving other bytes, or a changed "
            "cache), so nothing was rendered or installed from it. Fix: find out why it changed; if the new "
            "archive is the one you mean to install, set its digest"
        )


@dataclass(frozen=True)
class SourcedManifest:
    """One rendered Kubernetes object and the template file it came from (``chart/charts/sub/templates/x.yaml``)."""

    source: str
    body: dict[str, Any]


def helm_sdk() -> ModuleType:
    """The ``helm_python`` module, or HelmSdkMissing with the install command."""
    try:
        import helm_python
    except ImportError as error:
        raise HelmSdkMissing() from error
    except Exception as error:  # the package is there but its native library cannot load (libc, arch)
        raise HelmSdkMissing(_one_line(str(error))) from error
    return helm_python


def render_chart(
    chart: str | os.PathLike[str],
    version: str | None = None,
    repository: str | None = None,
    values: Mapping[str, Any] | None = None,
    release_name: str = DEFAULT_RELEASE_NAME,
    namespace: str = DEFAULT_NAMESPACE,
    *,
    cache_dir: Path | None = None,
    digest: str | None = None,
) -> list[dict[str, Any]]:
    """Every object the chart renders to with these values: hooks and subcharts included, CRDs excluded.

    ``chart`` is a chart name (with an HTTP ``repository``), a name whose ``oci://`` repository holds it,
    or, with no repository, a local chart directory or ``.tgz`` (which must then be of ``version``, when
    one is given). An OCI registry on a loopback host is spoken to over plain HTTP, any other over HTTPS.
    ``digest`` (``sha256:<hex>``) is the digest the archive must have: it is checked after a pull, on a
    cache hit and on a local archive. Raises ChartUnavailable when the chart cannot be fetched,
    ChartDigestMismatch when its archive is not the one named, RenderFailed when Helm rejects the values,
    HelmSdkMissing without the SDK.
    """
    return [
        manifest.body
        for manifest in render_manifests(
            chart, version, repository, values, release_name, namespace, cache_dir=cache_dir, digest=digest
        )
    ]


def render_manifests(
    chart: str | os.PathLike[str],
    version: str | None = None,
    repository: str | None = None,
    values: Mapping[str, Any] | None = None,
    release_name: str = DEFAULT_RELEASE_NAME,
    namespace: str = DEFAULT_NAMESPACE,
    *,
    cache_dir: Path | None = None,
    digest: str | None = None,
) -> list[SourcedManifest]:
    """As :func:`render_chart`, each object with the template it came from (to name its subchart)."""
    return parse_rendered(
        render_files(
            chart, version, repository, values, release_name, namespace, cache_dir=cache_dir, digest=digest
        )
    )


def render_files(
    chart: str | os.PathLike[str],
    version: str | None = None,
    repository: str | None = None,
    values: Mapping[str, Any] | None = None,
    release_name: str = DEFAULT_RELEASE_NAME,
    namespace: str = DEFAULT_NAMESPACE,
    *,
    cache_dir: Path | None = None,
    digest: str | None = None,
) -> dict[str, str]:
    """What Helm renders, by template path, before any of it is parsed (see :func:`render_chart`)."""
    helm = helm_sdk()
    name = os.fspath(chart)
    with _chart_archive(helm, name, version, repository, cache_dir, digest) as path:
        try:
            loaded = helm.Chart.load(path)
        except helm.HelmError as error:
            raise ChartUnavailable(name, version, repository, f"not a chart: {error}") from error
        with loaded:
            if version and not repository and loaded.version != version:
                # A local archive stands in for the pinned chart only if it is that version.
                raise ChartUnavailable(
                    name, version, repository, f"it holds {loaded.name} {loaded.version}, not {version}"
                )
            try:
                return dict(
                    loaded.render(dict(values or {}), name=release_name, namespace=namespace, is_install=True)
                )
            except helm.HelmError as error:
                raise RenderFailed(loaded.name or name, version or loaded.version, str(error)) from error


def parse_rendered(files: Mapping[str, str], *, skip_crds: bool = False) -> list[SourcedManifest]:
    """Helm's rendered files → objects, in Helm's file order (sorted paths); NOTES and partials dropped.

    Each file is split into documents as Helm splits it (:func:`split_manifests`), then each document is
    parsed. Raises RenderFailed for a document that is not YAML, as Helm's own install would.
    ``skip_crds`` leaves out, unparsed, every document :func:`is_crd_document` recognises: for a reader
    of pod templates, which CRDs never hold (count them with :func:`crd_documents`).
    """
    manifests = []
    for source, number, text in _documents(files):
        if skip_crds and is_crd_document(text):
            continue
        try:
            # All of them: should a ``...`` end marker leave two YAML documents in one of Helm's,
            # both are judged rather than one dropped unseen.
            documents = list(yaml.load_all(text, Loader=_YAML_LOADER))
        except yaml.YAMLError as error:
            raise RenderFailed(
                source.split("/", 1)[0],
                None,
                f"YAML parse error on {source} (document {number}): {_one_line(str(error))}",
            ) from error
        for document in documents:
            for body in _flatten(document):
                manifests.append(SourcedManifest(source, body))
    return manifests


def crd_documents(files: Mapping[str, str]) -> int:
    """How many of the rendered documents are CustomResourceDefinitions (as :func:`is_crd_document` says)."""
    return sum(1 for _, _, text in _documents(files) if is_crd_document(text))


def is_crd_document(text: str) -> bool:
    """A document whose one top-level ``kind:`` is CustomResourceDefinition, read without parsing it.

    Most of what the pinned charts render is CRDs (kyverno alone renders 3.4 MB of them): building them
    as objects cost 0.8 s of every ``plan --render`` and of every ``pulumi up``, to judge nothing. A
    document with two top-level ``kind:`` lines, or with the kind written in flow style, is parsed.
    """
    kinds = _TOP_LEVEL_KIND.findall(text)
    return len(kinds) == 1 and kinds[0].strip("'\"") == "CustomResourceDefinition"


def _documents(files: Mapping[str, str]) -> Iterator[tuple[str, int, str]]:
    """(template, number from 1, text) of each document Helm rendered; NOTES and partials left out."""
    for source in sorted(files):
        base = source.rsplit("/", 1)[-1]
        if base == "NOTES.txt" or base.startswith("_") or not files[source].strip():
            continue
        for number, text in enumerate(split_manifests(files[source]), start=1):
            yield source, number, text


def split_manifests(text: str) -> list[str]:
    """One rendered file's documents, split as Helm's ``SplitManifests`` does: at ``---`` after a newline
    (``---# comment`` and ``---apiVersion: v1`` included), empty pieces dropped, leading whitespace trimmed.
    """
    text = text.lstrip()
    pieces = []
    start = _WHITESPACE_RUN.match(text, 3).end() if text.startswith("---") else 0
    while (separator := text.find("\n---", start)) >= 0:
        # The regex's match begins where the whitespace before this newline does, and ends after the
        # whitespace that follows ``---``: a ``---`` that whitespace ends on is no separator of its own.
        pieces.append(text[start:separator].rstrip(_GO_WHITESPACE))
        start = _WHITESPACE_RUN.match(text, separator + 4).end()
    pieces.append(text[start:])
    return [piece.lstrip() for piece in pieces if piece]


def _flatten(document: Any) -> Iterator[dict[str, Any]]:
    """A rendered document as objects: a ``kind: List`` (or ``*List``) yields its items."""
    if not isinstance(document, dict) or not document.get("kind"):
        return
    if str(document["kind"]).endswith("List") and isinstance(document.get("items"), list):
        for item in document["items"]:
            yield from _flatten(item)
    else:
        yield document


# --------------------------------------------------------------------------------------- pulling


@contextmanager
def _chart_archive(
    helm: ModuleType,
    chart: str,
    version: str | None,
    repository: str | None,
    cache_dir: Path | None,
    digest: str | None,
) -> Iterator[Path]:
    """A path Helm can load: the local chart itself, a cached archive, or a freshly pulled one, each
    checked against ``digest`` before Helm sees it."""
    if not repository:
        local = Path(chart)
        if not local.exists():
            raise ChartUnavailable(chart, version, repository, "no such file or directory")
        if digest is not None:
            # Named <chart>-<version>.tgz, as helm pull names it; the chart's name is what digests key.
            named = local.name.removesuffix(".tgz").removesuffix(f"-{version}" if version else "")
            check_archive_digest(local, digest, named, version, str(local))
        yield local
        return
    if not version:
        # A render that proves placement must be of the pinned version, never of whatever is newest.
        raise ChartUnavailable(chart, version, repository, "no version pinned")
    cached = cache_dir / _slug(repository) / f"{chart}-{version}.tgz" if cache_dir else None
    if cached is not None and cached.is_file():
        if digest is not None:
            check_archive_digest(cached, digest, chart, version, f"{repository} (cached as {cached})")
        yield cached
        return
    with tempfile.TemporaryDirectory(prefix="armful-chart-") as temporary:
        pulled = _pull(helm, chart, version, repository, Path(temporary))
        # Checked before it is cached: an archive that fails is never kept.
        if digest is not None:
            check_archive_digest(pulled, digest, chart, version, repository)
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                partial = cached.with_suffix(".partial")
                shutil.copyfile(pulled, partial)
                partial.replace(cached)
            except OSError:
                pass  # a cache that cannot be written only costs a pull next time
        yield pulled


def archive_digest(path: Path) -> str:
    """``sha256:<hex>`` of a chart archive's bytes: what ``sha256sum`` prints and Helm's index records."""
    hasher = hashlib.sha256()
    with path.open("rb") as archive:
        for block in iter(lambda: archive.read(1 << 20), b""):
            hasher.update(block)
    return f"sha256:{hasher.hexdigest()}"


def check_archive_digest(path: Path, expected: str, chart: str, version: str | None, where: str) -> None:
    """Raise ChartDigestMismatch unless the archive at ``path`` has the ``expected`` digest."""
    if path.is_dir():
        raise ChartUnavailable(chart, version, None, f"{path} is a folder, and a digest names an archive")
    actual = archive_digest(path)
    if actual != expected:
        raise ChartDigestMismatch(chart, version, where, expected, actual)


def _pull(helm: ModuleType, chart: str, version: str, repository: str, destination: Path) -> Path:
    oci = repository.startswith("oci://")
    try:
        if oci:
            reference = chart_reference(chart, repository)
            # As for images (armful.images.registry_transport): only a loopback registry is plain HTTP.
            plain_http = is_loopback(urlsplit(reference).netloc)
            helm.pull(reference, version=version, destination=destination, plain_http=plain_http)
        else:
            helm.pull(chart, version=version, repo_url=repository, destination=destination)
    except helm.HelmError as error:
        raise ChartUnavailable(chart, version, repository, str(error)) from error
    archives = sorted(destination.glob("*.tgz"))
    if len(archives) != 1:
        raise ChartUnavailable(chart, version, repository, f"the pull left {len(archives)} archives, not one")
    return archives[0]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def _one_line(text: str) -> str:
    return " ".join(text.split())
