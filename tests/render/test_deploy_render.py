"""``pulumi preview`` / ``pulumi up`` render every chart before any release exists, under Pulumi mocks.

The stack program runs as ``pulumi up`` runs it, with ``armful:charts`` pointing at the real pinned
archives (``../shared/chart-archives``; these tests skip without them). A refusal must come before the
first registration, and a secret must never reach the render: it is rendered as its placeholder.
"""

from __future__ import annotations

import asyncio
import runpy
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chart_archives import SDK_REASON, chart_archives
from example_stacks import GRAFANA_PASSWORD, ROOT, SECRET_KEYS, stack_file_config
from pulumi_harness import RecordingMocks, reveal, run_program
from render_testkit import sha256

from armful.addons.registry import ADDONS
from armful.cluster_addons import ClusterAddons
from armful.core.errors import StackConfigError
from armful.planning.plan import PlanError
from armful.render import command
from armful.run_errors import ArmfulRunError

RELEASE = "kubernetes:helm.sh/v3:Release"
ZERO = "sha256:" + "0" * 64


@pytest.fixture(autouse=True)
def _chart_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARMFUL_CHART_CACHE", str(tmp_path / "chart-cache"))


@pytest.fixture
def archives() -> Path:
    pytest.importorskip("helm_python", reason=SDK_REASON)
    return chart_archives()


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """Every chart the program renders and the values it renders it with, the real render still done."""
    seen: list[tuple[str, Any]] = []
    real = command.render_files

    def recording(chart: Any, version: Any, repository: Any, values: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((str(chart), values))
        return real(chart, version, repository, values, *args, **kwargs)

    monkeypatch.setattr(command, "render_files", recording)
    yield seen


def only(*keys: str, **values: Any) -> dict[str, Any]:
    """``armful:addons`` with just these add-ons enabled (values overrides by key): a quicker render."""
    return {
        spec.key: {
            "enabled": spec.key in keys,
            **({"values": values[spec.key]} if spec.key in values else {}),
        }
        for spec in ADDONS
    }


def up(
    stack: str,
    charts: dict[str, Any],
    addons: dict[str, Any] | None = None,
    mocks: RecordingMocks | None = None,
) -> RecordingMocks:
    """The stack program as ``pulumi up`` runs it, with ``armful:charts`` (and ``armful:addons``) set."""
    config = {
        **stack_file_config(stack),
        "armful:grafanaAdminPassword": GRAFANA_PASSWORD,
        "armful:charts": charts,
    }
    if addons is not None:
        config["armful:addons"] = addons
    mocks = mocks or RecordingMocks()

    def program() -> None:
        # A refused run leaves outputs holding the error; asyncio would log each when it is freed.
        asyncio.get_event_loop().set_exception_handler(lambda loop, context: None)
        runpy.run_path(str(ROOT / "__main__.py"))

    run_program(program, config, mocks, stack=stack, secret_keys=SECRET_KEYS)
    return mocks


def recorded_digests(archives: Path) -> dict[str, str]:
    """SHA256SUMS of the archives, by chart name: what a user vets and writes into armful:charts.digests."""
    names = {f"{spec.chart}-{spec.version}.tgz": spec.chart for spec in ADDONS}
    lines = (archives / "SHA256SUMS").read_text().splitlines()
    pairs = (line.split() for line in lines if line.strip())
    return {names[name]: f"sha256:{digest}" for digest, name in pairs if name in names}


def chart_of(release: str) -> str:
    return next(spec.chart for spec in ADDONS if spec.release == release)


def test_pulumi_up_renders_each_chart_from_the_folder_first_and_installs_that_archive(
    archives: Path, renders: list[tuple[str, Any]]
) -> None:
    mocks = up("all-arm", {"directory": str(archives), "digests": recorded_digests(archives)})

    releases = mocks.of_type(RELEASE)
    assert len(releases) == len(ADDONS)
    for release in releases:
        inputs = release.inputs
        assert inputs["chart"] == str(archives / f"{chart_of(inputs['name'])}-{inputs['version']}.tgz")
        assert "repositoryOpts" not in inputs or not inputs["repositoryOpts"]
    # Rendered once each (ArmCluster does it; ClusterAddons is told), every archive its release installs.
    assert sorted(chart for chart, _ in renders) == sorted(r.inputs["chart"] for r in releases)
    grafana = next(values for chart, values in renders if "kube-prometheus-stack" in chart)["grafana"]
    assert grafana["adminPassword"] == "<deploy-time: grafana_admin_password>"
    assert GRAFANA_PASSWORD not in repr(renders), "a secret never reaches the render"
    installed = next(r for r in releases if r.inputs["name"] == "kube-prometheus-stack").inputs["values"]
    assert reveal(installed)["grafana"]["adminPassword"] == GRAFANA_PASSWORD, "Helm gets the real one"


THANOS = {"kubePrometheusStack": {"thanosRuler": {"enabled": True}}}


def test_a_pod_only_helms_output_shows_stops_pulumi_up_before_anything_is_created(archives: Path) -> None:
    """The declared model knows no ThanosRuler; the chart renders one, unplaced: refused on Helm's output."""
    addons = only("kubePrometheusStack", **THANOS)
    refused = RecordingMocks()
    with pytest.raises(PlanError) as raised:
        up("all-arm", {"directory": str(archives)}, addons, refused)
    assert refused.registrations == [], "nothing at all is created: not the KMS key, not the VPC"
    assert isinstance(raised.value, ArmfulRunError), "pulumi prints it alone, without a stack trace"
    message = str(raised.value)
    assert message.startswith(
        "Armful will not create the Helm releases: their charts, rendered with the final"
    )
    assert (
        "[off-system] kube-prometheus-stack rendered ThanosRuler/kube-prometheus-stack-thanos-ruler"
        in message
    )
    # Without the render nothing proves the undeclared workload placed: the declared model refuses it.
    with pytest.raises(PlanError) as unproven:
        up("all-arm", {"directory": str(archives), "renderAtDeploy": False}, addons, RecordingMocks())
    assert "[undeclared-workload]" in str(unproven.value)
    assert "thanosRuler.enabled" in str(unproven.value)


def test_an_undeclared_workload_the_render_proves_placed_deploys(archives: Path) -> None:
    """Given the system pool's selector and toleration, the ThanosRuler the chart renders is placed: the
    deploy-time render proves it, and the releases are created."""
    placed = {
        "enabled": True,
        "thanosRulerSpec": {
            "nodeSelector": {"node.armful.dev/role": "system"},
            "tolerations": [
                {"key": "CriticalAddonsOnly", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
            ],
        },
    }
    mocks = up(
        "all-arm",
        {"directory": str(archives)},
        only("kubePrometheusStack", kubePrometheusStack={"thanosRuler": placed}),
    )
    assert [r.inputs["name"] for r in mocks.of_type(RELEASE)] == ["kube-prometheus-stack"]
    # The render-off switch still deploys a stack whose declared model holds.
    plain = up("all-arm", {"directory": str(archives), "renderAtDeploy": False}, only("metricsServer"))
    assert [r.inputs["name"] for r in plain.of_type(RELEASE)] == ["metrics-server"]


@pytest.mark.parametrize("render", [True, False], ids=["rendered", "render-off"])
def test_an_archive_that_is_not_the_vetted_one_stops_pulumi_up_naming_the_chart(
    archives: Path, render: bool
) -> None:
    actual = sha256(archives / "metrics-server-3.13.1.tgz")
    charts = {"directory": str(archives), "digests": {"metrics-server": ZERO}, "renderAtDeploy": render}
    refused = RecordingMocks()
    with pytest.raises(PlanError) as raised:
        up("all-arm", charts, only("metricsServer"), refused)
    assert refused.registrations == []
    message = str(raised.value)
    assert "[chart-digest] metrics-server: chart metrics-server 3.13.1 from " in message
    assert f"has digest {actual}, not the {ZERO} that charts.digests.metrics-server names" in message


def test_an_archive_missing_from_the_folder_is_a_config_error_before_anything(tmp_path: Path) -> None:
    empty = tmp_path / "charts"
    empty.mkdir()
    with pytest.raises(StackConfigError) as raised:
        up("all-arm", {"directory": str(empty), "renderAtDeploy": False}, only("metricsServer"))
    (issue,) = raised.value.issues
    assert issue.path == "armful:charts.directory"
    assert (
        f"has no metrics-server-3.13.1.tgz (looked for {empty / 'metrics-server-3.13.1.tgz'})"
        in issue.problem
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_chart_this_machine_cannot_reach_stops_pulumi_up_and_names_the_switch() -> None:
    pytest.importorskip("helm_python", reason=SDK_REASON)
    mirror = f"http://127.0.0.1:{closed_port()}/metrics-server"
    charts = {"repositories": {"https://kubernetes-sigs.github.io/metrics-server/": mirror}}
    with pytest.raises(PlanError) as raised:
        up("all-arm", charts, only("metricsServer"))
    message = str(raised.value)
    assert (
        f"[chart-unavailable] metrics-server: could not pull metrics-server 3.13.1 from {mirror}" in message
    )
    assert "or set armful:charts.renderAtDeploy: false to create the releases without this proof" in message


def test_with_the_render_off_each_release_pulls_from_its_mirror() -> None:
    charts = {
        "repositories": {
            "https://kubernetes-sigs.github.io/metrics-server/": "https://artifactory.example.com/helm/k8s",
            "oci://quay.io/jetstack/charts": "oci://harbor.example.com/jetstack",
        },
        "renderAtDeploy": False,
    }
    mocks = up("all-arm", charts, only("metricsServer", "certManager"))
    inputs = {r.inputs["name"]: r.inputs for r in mocks.of_type(RELEASE)}
    assert inputs["metrics-server"]["chart"] == "metrics-server"
    assert inputs["metrics-server"]["repositoryOpts"] == {"repo": "https://artifactory.example.com/helm/k8s"}
    assert inputs["cert-manager"]["chart"] == "oci://harbor.example.com/jetstack/cert-manager"
    assert not inputs["cert-manager"].get("repositoryOpts")


def test_a_plain_http_oci_mirror_is_refused_for_the_releases_pulumi_up_creates() -> None:
    charts = {"repositories": {"oci://quay.io/jetstack/charts": "oci://127.0.0.1:5000/jetstack"}}
    with pytest.raises(StackConfigError) as raised:
        up("all-arm", {**charts, "renderAtDeploy": False}, only("certManager"))
    (issue,) = raised.value.issues
    assert issue.path == "armful:charts.repositories"
    assert "pulls OCI charts over HTTPS only" in issue.problem


def test_without_helm_python_sdk_pulumi_up_says_how_to_install_it_or_turn_the_render_off(
    archives: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "helm_python", None)  # what an absent package looks like to import
    with pytest.raises(StackConfigError) as raised:
        up("all-arm", {"directory": str(archives)}, only("metricsServer"))
    (issue,) = raised.value.issues
    assert issue.path == "armful:charts.renderAtDeploy"
    assert "pip install -r requirements-pins.txt" in issue.fix and "renderAtDeploy: false" in issue.fix


# ------------------------------------------------------------------------------ ClusterAddons on its own

POOLS = [
    {"name": "core", "role": "system", "arch": "arm64", "labels": {"node.armful.dev/role": "system"}},
    {"name": "apps", "role": "workers", "arch": "arm64"},
]


def cluster_addons(charts: Any, addons: dict[str, Any]) -> RecordingMocks:
    args = {
        "cluster_name": "theirs",
        "region": "us-east-2",
        "vpc_id": "vpc-theirs",
        "topology": "all-arm",
        "pools": POOLS,
        "kubeconfig": "{}",
        "grafana_admin_password": "their-grafana-password",
        "addons": addons,
        "charts": charts,
    }
    return run_program(lambda: ClusterAddons("addons", args))


def test_cluster_addons_renders_with_its_own_charts_arg(
    archives: Path, renders: list[tuple[str, Any]]
) -> None:
    mocks = cluster_addons({"directory": str(archives)}, only("metricsServer"))
    (release,) = mocks.of_type(RELEASE)
    assert release.inputs["chart"] == str(archives / "metrics-server-3.13.1.tgz")
    assert [chart for chart, _ in renders] == [release.inputs["chart"]]

    with pytest.raises(PlanError) as raised:
        cluster_addons({"directory": str(archives)}, only("kubePrometheusStack", **THANOS))
    assert "ThanosRuler/kube-prometheus-stack-thanos-ruler" in str(raised.value)


def test_cluster_addons_names_a_wrong_charts_arg_by_its_path() -> None:
    with pytest.raises(StackConfigError) as raised:
        cluster_addons({"render": False}, only("metricsServer"))
    assert [issue.path for issue in raised.value.issues] == ["charts.render"]
