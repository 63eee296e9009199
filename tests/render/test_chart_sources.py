"""``armful:charts``: mirrors, a folder of archives and digests, from stack config to the archive Helm loads.

The pure half (which mirror covers which chart, every refusal) needs nothing. The pulls go to real
servers on 127.0.0.1 that each test starts and stops: an HTTP chart repository (``http.server`` serving
``index.yaml`` as ``helm repo index`` writes it) and Debian's ``docker-registry`` as an OCI registry, the
charts pushed with Helm's own ``push``. Without the binary those tests skip and say so.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_archives import SDK_REASON, chart_archives
from example_stacks import stack_file_config
from images.images_testkit import INSTALL_HINT, RegistryProcess, find_registry_binary
from render_testkit import CHARTS, chart_repository, sha256

from armful.addons.registry import ADDONS
from armful.core.errors import StackConfigError
from armful.planning.chart_sources import ChartSource, ChartSourcesConfig, chart_location
from armful.planning.stack_config import parse_stack_config

ZERO = "sha256:" + "0" * 64
ADDON_KEYS = sorted(spec.key for spec in ADDONS)


def charts_issues(charts: Any) -> list[tuple[str, str]]:
    """What a stack with this ``armful:charts`` is refused for: (path, message) of each issue."""
    config = {key.removeprefix("armful:"): value for key, value in stack_file_config("all-arm").items()}
    config.pop("aws:region")
    with pytest.raises(StackConfigError) as raised:
        parse_stack_config({**config, "charts": charts})
    return [(issue.path, str(issue)) for issue in raised.value.issues]


# ------------------------------------------------------------------------------ pure: mirrors


def test_each_kind_of_mirror_moves_the_chart_where_helm_will_find_it() -> None:
    sources = ChartSourcesConfig.model_validate(
        {
            # An HTTP repository to another (Artifactory's remote Helm repository), trailing slashes and all.
            "repositories": {
                "https://kyverno.github.io/kyverno": "https://artifactory.example.com/api/helm/kyverno/",
                # An OCI prefix covering cert-manager's reference, into Harbor's proxy project.
                "oci://quay.io/jetstack": "oci://harbor.example.com/quay-proxy/jetstack",
                # An HTTP repository mirrored into an OCI registry.
                "https://prometheus-community.github.io/helm-charts": "oci://harbor.example.com/prometheus",
                # One chart's own location, mapped to an HTTP repository that serves it.
                "https://aws.github.io/eks-charts/aws-load-balancer-controller": "http://charts.internal/eks",
                # The longer key wins over the repository's own.
                "https://aws.github.io/eks-charts": "https://elsewhere.example.com/eks",
            }
        }
    )
    mirror = {spec.chart: sources.mirror_of(spec.chart, spec.repository) for spec in ADDONS}
    assert mirror["kyverno"] == "https://artifactory.example.com/api/helm/kyverno"
    assert mirror["kyverno-policies"] == "https://artifactory.example.com/api/helm/kyverno"
    assert mirror["cert-manager"] == "oci://harbor.example.com/quay-proxy/jetstack/charts/cert-manager"
    assert mirror["kube-prometheus-stack"] == "oci://harbor.example.com/prometheus/kube-prometheus-stack"
    assert mirror["aws-load-balancer-controller"] == "http://charts.internal/eks"
    assert mirror["falco"] is None and mirror["metrics-server"] is None
    # An OCI repository mirrored into an HTTP one is named without the chart, as Helm's index finds it.
    to_http = ChartSourcesConfig.model_validate(
        {"repositories": {"oci://quay.io/jetstack/charts": "https://charts.jetstack.io"}}
    )
    assert to_http.mirror_of("cert-manager", "oci://quay.io/jetstack/charts/cert-manager") == (
        "https://charts.jetstack.io"
    )
    assert chart_location("kyverno", "https://kyverno.github.io/kyverno/") == (
        "https://kyverno.github.io/kyverno/kyverno"
    )


def test_a_folder_holds_the_charts_it_has_and_mirrors_or_nothing_the_rest() -> None:
    sources = ChartSourcesConfig.model_validate(
        {
            "directory": "vendored",
            "repositories": {"https://falcosecurity.github.io/charts": "https://mirror.example.com/falco"},
            "digests": {"falco": ZERO},
        }
    )
    present = {"kyverno-3.9.0.tgz"}
    kyverno = sources.source("kyverno", "3.9.0", "https://kyverno.github.io/kyverno/", present=present)
    falco = sources.source("falco", "9.1.0", "https://falcosecurity.github.io/charts", present=present)
    fluent = sources.source("fluent-bit", "0.58.1", "https://fluent.github.io/helm-charts", present=present)
    assert kyverno == ChartSource("kyverno", "3.9.0", None, "vendored/kyverno-3.9.0.tgz")
    assert falco == ChartSource(
        "falco", "9.1.0", "https://mirror.example.com/falco", None, ZERO, mirrored=True
    )
    # Never the internet once a folder is set: the archive it should have held, which reading names.
    assert fluent == ChartSource("fluent-bit", "0.58.1", None, "vendored/fluent-bit-0.58.1.tgz")
    unset = ChartSourcesConfig().source("fluent-bit", "0.58.1", "https://fluent.github.io/helm-charts")
    assert unset.repository == "https://fluent.github.io/helm-charts" and unset.archive is None


# ------------------------------------------------------------------------------ pure: refusals


def test_a_mirror_no_chart_uses_is_refused_naming_the_repositories_that_are() -> None:
    ((path, message),) = charts_issues({"repositories": {"https://charts.bitnami.com/bitnami": "https://m"}})
    assert path == "armful:charts.repositories"
    assert "no add-on's chart comes from 'https://charts.bitnami.com/bitnami'" in message
    assert (
        "oci://quay.io/jetstack/charts/cert-manager" in message
        and "https://aws.github.io/eks-charts" in message
    )


@pytest.mark.parametrize(
    ("mirror", "problem"),
    [
        ("ftp://mirror.example.com/charts", "not an https://, http:// or oci:// URL"),
        ("https://user:token@mirror.example.com/charts", "carries credentials"),
        ("https://mirror.example.com/charts?x=1", "query or fragment"),
    ],
)
def test_a_mirror_that_is_no_repository_url_is_refused(mirror: str, problem: str) -> None:
    ((path, message),) = charts_issues({"repositories": {"https://fluent.github.io/helm-charts": mirror}})
    assert path == "armful:charts.repositories"
    assert "the mirror of https://fluent.github.io/helm-charts" in message and problem in message


def test_digests_are_in_sha256_form_each_named_by_its_path() -> None:
    issues = dict(charts_issues({"digests": {"kyverno": "sha256:ABC", "falco": ZERO[:-1]}}))
    assert set(issues) == {"armful:charts.digests.kyverno", "armful:charts.digests.falco"}
    assert "'sha256:ABC' is not a chart archive's digest" in issues["armful:charts.digests.kyverno"]
    assert "Fix: write it like sha256:" in issues["armful:charts.digests.falco"]


def test_a_digest_for_a_chart_no_add_on_installs_is_refused_naming_the_charts() -> None:
    ((path, message),) = charts_issues({"digests": {"nginx": ZERO, "kyverno": ZERO}})
    assert path == "armful:charts.digests"
    assert "'nginx' is not a chart any add-on installs, so its digest would never be checked" in message
    assert "kyverno-policies" in message and "cert-manager" in message


def test_an_unknown_key_or_an_empty_folder_is_refused() -> None:
    assert [path for path, _ in charts_issues({"renderAtdeploy": False})] == ["armful:charts.renderAtdeploy"]
    ((path, message),) = charts_issues({"directory": " "})
    assert path == "armful:charts.directory" and "empty text" in message


def test_a_charts_folder_that_is_not_there_stops_plan_render_naming_where_it_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("helm_python", reason=SDK_REASON)
    from armful.cli.main import main

    missing = tmp_path / "no-such-folder"
    assert main(["plan", "--stack", "all-arm", "--render", "--charts-from", str(missing)]) == 2
    error = capsys.readouterr().err
    assert f"--charts-from: the charts folder {missing} does not exist" in error
    assert "Fix: give the folder that holds the charts as <chart>-<version>.tgz" in error


# ------------------------------------------------------------------------------ digests on every read


@pytest.fixture
def helm() -> Any:
    return pytest.importorskip("helm_python", reason=SDK_REASON)


def test_a_digest_is_checked_on_a_local_archive_a_pull_and_a_cache_hit(helm: Any, tmp_path: Path) -> None:
    from armful.render.helm import ChartDigestMismatch, render_chart

    served = tmp_path / "served"
    served.mkdir()
    archive = Path(helm.package(CHARTS / "hooked", destination=served))
    right = sha256(archive)
    assert render_chart(archive, "0.1.0", digest=right)
    with pytest.raises(ChartDigestMismatch) as local:
        render_chart(archive, "0.1.0", digest=ZERO)
    assert (local.value.chart, local.value.expected, local.value.actual) == ("hooked", ZERO, right)

    cache = tmp_path / "cache"
    with chart_repository(served) as url:
        with pytest.raises(ChartDigestMismatch) as pulled:
            render_chart("hooked", "0.1.0", url, cache_dir=cache, digest=ZERO)
        message = str(pulled.value)
        assert message.startswith(f"chart hooked 0.1.0 from {url} has digest {right}, not the {ZERO}")
        assert not list(cache.rglob("*.tgz")), "an archive that fails its digest is never cached"
        assert render_chart("hooked", "0.1.0", url, cache_dir=cache, digest=right)
    (cached,) = cache.rglob("*.tgz")
    # The repository is gone: what renders now is the cache, and it is checked as a pull is.
    assert render_chart("hooked", "0.1.0", url, cache_dir=cache, digest=right)
    cached.write_bytes(cached.read_bytes() + b"\0")
    with pytest.raises(ChartDigestMismatch) as hit:
        render_chart("hooked", "0.1.0", url, cache_dir=cache, digest=right)
    assert f"(cached as {cached})" in str(hit.value) and hit.value.expected == right


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    """Debian's docker-registry on 127.0.0.1 for this test alone."""
    binary = find_registry_binary()
    if binary is None:
        pytest.skip(f"docker-registry binary not found: {INSTALL_HINT}")
    process = RegistryProcess(binary=binary, workdir=tmp_path / "registry")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.registry
def test_an_oci_chart_is_pulled_from_a_loopback_registry_and_checked(
    helm: Any, registry: RegistryProcess, tmp_path: Path
) -> None:
    from armful.render.helm import ChartDigestMismatch, render_manifests

    archive = Path(helm.package(CHARTS / "parent", destination=tmp_path))
    helm.push(archive, f"oci://{registry.host}/charts", plain_http=True)
    repository = f"oci://{registry.host}/charts"
    rendered = render_manifests("parent", "0.1.0", repository, {}, digest=sha256(archive))
    assert any("charts/child/" in manifest.source for manifest in rendered), "the subchart came along"
    with pytest.raises(ChartDigestMismatch) as raised:
        render_manifests("parent", "0.1.0", repository, {}, digest=ZERO)
    assert raised.value.where == repository and raised.value.actual == sha256(archive)


# ------------------------------------------------------------------------------ real charts through mirrors


@dataclass
class Mirrors:
    http: str
    oci: str
    digests: dict[str, str]


@pytest.fixture
def mirrors(helm: Any, registry: RegistryProcess, tmp_path: Path) -> Iterator[Mirrors]:
    """metrics-server in a local HTTP chart repository, cert-manager in the local OCI registry: the real
    pinned archives, as an enterprise's Artifactory and Harbor would hold them."""
    archives = chart_archives()
    served = tmp_path / "http-repository"
    served.mkdir()
    metrics = shutil.copy(archives / "metrics-server-3.13.1.tgz", served)
    cert_manager = archives / "cert-manager-v1.21.1.tgz"
    helm.push(cert_manager, f"oci://{registry.host}/jetstack", plain_http=True)
    digests = {"metrics-server": sha256(Path(metrics)), "cert-manager": sha256(cert_manager)}
    with chart_repository(served) as url:
        yield Mirrors(url, f"oci://{registry.host}/jetstack", digests)


def stack_with_charts(tmp_path: Path, charts: dict[str, Any]) -> Path:
    """all-arm with only the two mirrored add-ons enabled, and ``armful:charts`` as given."""
    config = stack_file_config("all-arm")
    config["armful:addons"] = {
        key: {"enabled": key in ("certManager", "metricsServer")} for key in ADDON_KEYS
    }
    config["armful:charts"] = charts
    path = tmp_path / "Pulumi.mirrored.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


@pytest.mark.registry
def test_plan_render_pulls_through_an_http_and_an_oci_mirror_checking_each_digest(
    mirrors: Mirrors, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's path: stack config names the mirrors and digests, ``armful plan --render`` proves it."""
    from armful.cli.main import main

    monkeypatch.setenv("ARMFUL_CHART_CACHE", str(tmp_path / "cache"))
    repositories = {
        "https://kubernetes-sigs.github.io/metrics-server/": mirrors.http,
        "oci://quay.io/jetstack/charts": mirrors.oci,
    }
    stack = stack_with_charts(tmp_path, {"repositories": repositories, "digests": mirrors.digests})
    assert main(["plan", "--stack-file", str(stack), "--render"]) == 0
    out = capsys.readouterr().out
    assert f"from {mirrors.oci}/cert-manager, digest checked" in out
    assert (
        f"metrics-server (metrics-server 3.13.1): 10 objects, 1 pod templates (0 hooks); from {mirrors.http}, digest checked"
        in out
    )
    assert "could not" not in out and "rendering incomplete" not in out

    # A digest that does not match: an error naming the chart, what was expected and what came.
    wrong = {**mirrors.digests, "cert-manager": ZERO}
    stack = stack_with_charts(tmp_path, {"repositories": repositories, "digests": wrong})
    assert main(["plan", "--stack-file", str(stack), "--render", "--format", "json"]) == 1
    document = yaml.safe_load(capsys.readouterr().out)
    (finding,) = document["render_findings"]
    assert finding["code"] == "chart-digest" and finding["level"] == "error"
    assert finding["message"].startswith(
        f"cert-manager: chart cert-manager v1.21.1 from {mirrors.oci}/cert-manager (cached as "
    )
    assert f"has digest {mirrors.digests['cert-manager']}, not the {ZERO}" in finding["message"]
    assert [entry["release"] for entry in document["rendered"]] == ["metrics-server"]
    assert document["rendered"][0]["source"] == mirrors.http and document["rendered"][0]["mirrored"]
    assert document["verdict"]["ready"] is False
