"""What users of the metrics, logs, traces and runtime-security add-ons rely on.

Chart-shaped facts (key paths, schema, pinned tags) are checked against the pinned charts' default
values in ARMFUL_CHARTS_DIR (default ``../shared/charts`` beside the repository), subcharts under their
own folder; those tests skip, naming the missing folder, where the charts are absent.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

import pytest
from chart_values import (
    app_version,
    chart_defaults,
    context_for,
    schema_errors,
)
from pydantic import ValidationError

from armful.addons import falco, fluent_bit, kube_prometheus_stack, opentelemetry_collector
from armful.addons.context import DeployTime
from armful.addons.kube_prometheus_stack import GRAFANA_ADMIN_PASSWORD
from armful.addons.spec import AddonOptions, AddonSpec, PolicyScope
from armful.core.values_tree import get_path
from armful.placement.workloads import WorkloadKind
from armful.planning.releases import release_values, render_placeholders
from armful.planning.stack_plan import plan_stack

KPS = kube_prometheus_stack.SPEC
FALCO = falco.SPEC
FLUENT_BIT = fluent_bit.SPEC
OTEL = opentelemetry_collector.SPEC
SPECS: tuple[AddonSpec, ...] = (KPS, FALCO, FLUENT_BIT, OTEL)


# --- chart key paths and schema -------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        None,
        opentelemetry_collector.OpenTelemetryCollectorOptions(
            traces_exporter="otlp", otlp_endpoint="http://tempo.tracing:4317"
        ),
    ],
    ids=["xray", "otlp"],
)
def test_collector_release_values_pass_the_chart_schema(options: AddonOptions | None) -> None:
    rendered = render_placeholders(release_values(OTEL, context_for(OTEL, options)))
    assert not schema_errors(OTEL, rendered)


# --- images ---------------------------------------------------------------------------------------


def _image_ref(node: Mapping[str, Any], default_tag: str, suffix: str = "") -> str:
    """An image as the chart renders it from an image block: registry/repository:tag."""
    registry = node.get("registry")
    repository = f"{registry}/{node['repository']}" if registry else node["repository"]
    return f"{repository}:{(node.get('tag') or default_tag)}{suffix}"


def chart_default_images(spec: AddonSpec) -> set[str]:
    """Every image the pinned chart runs with the values Armful sets, read from the charts' own files."""
    defaults = chart_defaults(spec)
    if spec is KPS:
        kps_app = app_version(spec.chart_dir)
        operator = defaults["prometheusOperator"]
        grafana = defaults["grafana"]
        return {
            _image_ref(operator["image"], kps_app),
            _image_ref(operator["prometheusConfigReloader"]["image"], kps_app),
            _image_ref(operator["admissionWebhooks"]["patch"]["image"], ""),
            _image_ref(defaults["prometheus"]["prometheusSpec"]["image"], ""),
            _image_ref(defaults["alertmanager"]["alertmanagerSpec"]["image"], ""),
            _image_ref(
                defaults["kube-state-metrics"]["image"], "v" + app_version("kube-state-metrics-8.4.0")
            ),
            _image_ref(
                defaults["prometheus-node-exporter"]["image"],
                "v" + app_version("prometheus-node-exporter-4.56.1"),
                "-distroless" if defaults["prometheus-node-exporter"]["image"]["distroless"] else "",
            ),
            _image_ref(grafana["image"], app_version("grafana-12.11.1")),
            _image_ref(grafana["sidecar"]["image"], ""),
        }
    if spec is FALCO:
        return {
            _image_ref(defaults["image"], app_version(spec.chart_dir)),
            _image_ref(defaults["falcoctl"]["image"], ""),
            _image_ref(defaults["falcosidekick"]["image"], ""),
        }
    if spec is FLUENT_BIT:
        return {_image_ref(defaults["image"], app_version(spec.chart_dir))}
    values = spec.values(context_for(spec))
    return {_image_ref(values["image"], app_version(spec.chart_dir))}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_workloads_name_the_images_the_pinned_chart_runs(spec: AddonSpec) -> None:
    values = release_values(spec, context_for(spec))
    declared = {
        image.ref
        for workload in spec.workloads
        for image in workload.images
        if image.runs(values) and (workload.runs(values) or workload is falco.SIDEKICK)
    }
    assert declared == chart_default_images(spec)


def test_node_agents_are_daemonsets_with_their_charts_priority_key() -> None:
    agents = {
        (spec.key, workload.name): workload
        for spec in SPECS
        for workload in spec.workloads
        if workload.kind is WorkloadKind.DAEMONSET
    }
    assert set(agents) == {
        ("kubePrometheusStack", "node-exporter"),
        ("falco", "falco"),
        ("fluentBit", "fluent-bit"),
        ("openTelemetryCollector", "opentelemetry-collector-agent"),
    }
    assert agents[("falco", "falco")].keys.priority_class == "podPriorityClassName"


def test_the_falco_agent_and_its_init_and_sidecar_share_falcoctl() -> None:
    refs = [image.ref for image in falco.FALCO_AGENT.images]
    assert any(ref.startswith("docker.io/falcosecurity/falco:") for ref in refs)
    assert any(ref.startswith("docker.io/falcosecurity/falcoctl:") for ref in refs)


# --- falco ----------------------------------------------------------------------------------------


def test_falco_uses_the_modern_ebpf_driver() -> None:
    values = FALCO.values(context_for(FALCO))
    assert values["driver"]["kind"] == "modern_ebpf"
    assert values["driver"]["enabled"] is True


def test_falcosidekick_is_off_by_default() -> None:
    values = FALCO.values(context_for(FALCO))
    assert get_path(values, ("falcosidekick", "enabled")) is False
    assert not falco.SIDEKICK.runs(values)
    assert falco.FalcoOptions().sidekick is False


def test_falcosidekick_runs_when_the_option_is_on() -> None:
    options = falco.FalcoOptions.model_validate({"sidekick": True})
    values = FALCO.values(context_for(FALCO, options))
    assert get_path(values, ("falcosidekick", "enabled")) is True
    assert falco.SIDEKICK.runs(values)
    assert values["falcosidekick"]["webui"]["enabled"] is False
    assert falco.SIDEKICK.kind is WorkloadKind.DEPLOYMENT
    assert falco.SIDEKICK.path == ("falcosidekick",)
    assert falco.SIDEKICK.replicas == 2


# --- fluent-bit -----------------------------------------------------------------------------------


def _output_sections(text: str) -> list[dict[str, str]]:
    sections: list[dict[str, str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "[OUTPUT]":
            sections.append({})
        elif stripped and sections:
            key, _, value = stripped.partition(" ")
            sections[-1][key.lower()] = value.strip()
    return sections


def test_fluent_bit_ships_to_the_clusters_log_group_in_the_stacks_region(example_stack: str) -> None:
    plan = plan_stack(stack=example_stack)
    values = FLUENT_BIT.values(context_for(FLUENT_BIT, stack=example_stack))
    outputs = _output_sections(values["config"]["outputs"])
    assert outputs, "no [OUTPUT] section"
    group = fluent_bit.log_group_name(plan.config.cluster.name)
    assert group == f"/aws/eks/{plan.config.cluster.name}/containers"
    for output in outputs:
        assert output["name"] == "cloudwatch_logs"
        assert output["region"] == plan.region
        assert output["log_group_name"] == group
        assert output["auto_create_group"] == "false"
    assert any(output["match"] == "kube.*" for output in outputs)


def test_fluent_bit_adds_kubernetes_metadata_to_container_logs() -> None:
    filters = FLUENT_BIT.values(context_for(FLUENT_BIT))["config"]["filters"]
    assert "Name kubernetes" in filters and "Match kube.*" in filters


def test_fluent_bit_runs_as_the_pod_identity_service_account() -> None:
    values = FLUENT_BIT.values(context_for(FLUENT_BIT))
    assert FLUENT_BIT.pod_identity is not None
    assert FLUENT_BIT.pod_identity.service_account == "fluent-bit"
    assert values["serviceAccount"] == {"create": True, "name": "fluent-bit"}


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov", "aws-cn"])
def test_fluent_bit_policy_covers_the_log_group_and_only_log_writes(partition: str) -> None:
    plan = plan_stack(stack="arm-workers")
    identity = FLUENT_BIT.pod_identity
    assert identity is not None and identity.scoped_inline_policy is not None
    assert identity.inline_policy is None
    scope = PolicyScope(partition, plan.region, "123456789012", plan.config.cluster.name)
    policy = identity.scoped_inline_policy(scope)
    (statement,) = policy["Statement"]
    assert set(statement["Action"]) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogStreams",
    }
    group = fluent_bit.log_group_name(plan.config.cluster.name)
    group_arn = f"arn:{partition}:logs:{plan.region}:123456789012:log-group:{group}"
    stream_arn = f"{group_arn}:log-stream:kube.default.web.app"
    for arn in (group_arn, f"{group_arn}:*", stream_arn):
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in statement["Resource"]), arn
    control_plane = f"arn:{partition}:logs:{plan.region}:123456789012:log-group:/aws/eks/x/cluster:*"
    assert not any(fnmatch.fnmatchcase(control_plane, pattern) for pattern in statement["Resource"])


def test_fluent_bit_retention_must_be_one_cloudwatch_accepts() -> None:
    assert fluent_bit.FluentBitOptions().log_retention_days == 30
    assert fluent_bit.FluentBitOptions.model_validate({"logRetentionDays": 90}).log_retention_days == 90
    with pytest.raises(ValidationError) as error:
        fluent_bit.FluentBitOptions.model_validate({"logRetentionDays": 31})
    assert "Fix:" in str(error.value) and "30" in str(error.value)


# --- opentelemetry-collector ----------------------------------------------------------------------


def test_collector_is_a_contrib_gateway() -> None:
    values = OTEL.values(context_for(OTEL))
    assert values["mode"] == "deployment"
    assert values["image"]["repository"].endswith("opentelemetry-collector-contrib")
    assert opentelemetry_collector.GATEWAY.replicas == 2
    assert opentelemetry_collector.GATEWAY.extra_values["podDisruptionBudget"]["enabled"] is True


def test_collector_exports_traces_to_xray_in_the_stacks_region_by_default() -> None:
    context = context_for(OTEL)
    config = OTEL.values(context)["config"]
    assert config["exporters"] == {"awsxray": {"region": context.region}}
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert traces["processors"] == ["memory_limiter", "batch"]
    assert traces["exporters"] == ["awsxray"]
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    assert OTEL.pod_identity is not None
    assert OTEL.pod_identity.managed_policies == ("AWSXrayWriteOnlyAccess",)


def test_collector_exports_traces_over_otlp_to_the_configured_endpoint() -> None:
    options = opentelemetry_collector.OpenTelemetryCollectorOptions.model_validate(
        {"tracesExporter": "otlp", "otlpEndpoint": "tempo.tracing:4317"}
    )
    config = OTEL.values(context_for(OTEL, options))["config"]
    assert config["exporters"] == {"otlp_grpc": {"endpoint": "tempo.tracing:4317"}}
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["otlp_grpc"]


def test_collector_otlp_without_an_endpoint_names_the_missing_field() -> None:
    with pytest.raises(ValidationError) as error:
        opentelemetry_collector.OpenTelemetryCollectorOptions.model_validate({"tracesExporter": "otlp"})
    message = str(error.value)
    assert "otlpEndpoint" in message and "Fix:" in message


def test_collector_rejects_an_endpoint_it_would_ignore() -> None:
    with pytest.raises(ValidationError, match="otlpEndpoint"):
        opentelemetry_collector.OpenTelemetryCollectorOptions.model_validate({"otlpEndpoint": "tempo:4317"})


# --- kube-prometheus-stack ------------------------------------------------------------------------


def _claim(spec_values: Mapping[str, Any]) -> dict[str, Any]:
    return spec_values["volumeClaimTemplate"]["spec"]


def test_prometheus_and_alertmanager_store_on_gp3_with_the_default_sizes() -> None:
    values = KPS.values(context_for(KPS))
    prometheus = values["prometheus"]["prometheusSpec"]
    alertmanager = values["alertmanager"]["alertmanagerSpec"]
    assert _claim(prometheus["storageSpec"])["storageClassName"] == "gp3"
    assert _claim(prometheus["storageSpec"])["resources"]["requests"]["storage"] == "50Gi"
    assert _claim(alertmanager["storage"])["storageClassName"] == "gp3"
    assert _claim(alertmanager["storage"])["resources"]["requests"]["storage"] == "10Gi"
    assert prometheus["retention"] == "15d"
    assert prometheus["retentionSize"] == "42GiB"


def test_prometheus_storage_and_retention_follow_the_options() -> None:
    options = kube_prometheus_stack.KubePrometheusStackOptions.model_validate(
        {
            "retention": "30d",
            "prometheusStorageGib": 200,
            "alertmanagerStorageGib": 5,
            "storageClass": "gp3-encrypted",
        }
    )
    values = KPS.values(context_for(KPS, options))
    prometheus = values["prometheus"]["prometheusSpec"]
    assert prometheus["retention"] == "30d"
    assert _claim(prometheus["storageSpec"]) == {
        "storageClassName": "gp3-encrypted",
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "200Gi"}},
    }
    assert prometheus["retentionSize"] == "170GiB"
    alertmanager_claim = _claim(values["alertmanager"]["alertmanagerSpec"]["storage"])
    assert alertmanager_claim["resources"]["requests"]["storage"] == "5Gi"
    assert alertmanager_claim["storageClassName"] == "gp3-encrypted"


@pytest.mark.parametrize("retention", ["15 days", "d15", "", "15"])
def test_prometheus_retention_must_be_a_prometheus_duration(retention: str) -> None:
    with pytest.raises(ValidationError):
        kube_prometheus_stack.KubePrometheusStackOptions.model_validate({"retention": retention})


def test_prometheus_and_alertmanager_are_highly_available_with_pdbs() -> None:
    values = KPS.values(context_for(KPS))
    assert kube_prometheus_stack.PROMETHEUS.replicas == 2
    assert kube_prometheus_stack.ALERTMANAGER.replicas == 2
    for component in ("prometheus", "alertmanager"):
        assert values[component]["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}


def test_grafana_admin_password_is_the_deploy_time_secret_not_a_literal() -> None:
    password = KPS.values(context_for(KPS))["grafana"]["adminPassword"]
    assert isinstance(password, DeployTime)
    assert password is GRAFANA_ADMIN_PASSWORD and password.secret


def test_node_exporter_is_on_and_eks_managed_control_plane_targets_are_off() -> None:
    values = KPS.values(context_for(KPS))
    assert values["nodeExporter"]["enabled"] is True
    for component in ("kubeEtcd", "kubeScheduler", "kubeControllerManager"):
        assert values[component]["enabled"] is False
