"""OpenTelemetry Collector receiving OTLP traces and exporting them to X-Ray or an OTLP backend.

As a gateway (a Deployment on the system pool, the default) apps send to its Service; as an agent (a
DaemonSet on every node) apps send to their node. The chart's ``mode`` value decides which one runs, and
Armful places whichever it is, the StatefulSet that ``values.mode: statefulset`` asks for included.

The contrib distribution is used because the X-Ray exporter is not in the core one. The chart's schema
rejects unknown keys (``additionalProperties: false``), and ``mode`` and ``image.repository`` are
required, so every key here is one the schema lists.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import model_validator

from armful.addons.context import AddonContext
from armful.addons.namespaces import OPENTELEMETRY
from armful.addons.security_context import restricted_container, restricted_pod
from armful.addons.spec import AddonOptions, AddonSpec, PodIdentity
from armful.placement.workloads import (
    HostAccess,
    Image,
    ImageKeys,
    PlacementKeys,
    Resources,
    Switch,
    Workload,
    WorkloadKind,
    on_both_arches,
)

RELEASE = "opentelemetry-collector"
CHART_VERSION = "0.170.0"
SERVICE_ACCOUNT = "opentelemetry-collector"
XRAY_WRITE_POLICY = "AWSXrayWriteOnlyAccess"

APP_VERSION = "0.158.0"
# The chart writes `[global.imageRegistry/]repository:tag`, or `repository@digest` (no tag) with a digest;
# an empty tag is its appVersion. Its default repository is empty: the values must name one.
_IMAGE_KEYS = ImageKeys(
    repository=("image", "repository"),
    tag=("image", "tag"),
    registries=(("global", "imageRegistry"),),
    digest=("image", "digest"),
    digest_replaces_tag=True,
    empty_tag=APP_VERSION,
    defaults={("image", "repository"): "", ("image", "tag"): ""},
)
# ghcr.io rather than Docker Hub: no anonymous pull rate limit when every node pulls at once.
# The tag is the chart's appVersion, which the chart uses when image.tag is empty.
COLLECTOR_IMAGE = Image(
    "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-contrib",
    APP_VERSION,
    keys=_IMAGE_KEYS,
)
# The user the collector's release images run as.
COLLECTOR_UID = 10001

# Since Collector v0.144 the OTLP/gRPC exporter is `otlp_grpc`; `otlp` is a deprecated alias.
OTLP_EXPORTER = "otlp_grpc"
XRAY_EXPORTER = "awsxray"


class OpenTelemetryCollectorOptions(AddonOptions):
    mode: Literal["gateway", "agent"] = "gateway"
    """gateway: a Deployment apps send to; agent: a DaemonSet on every node."""
    traces_exporter: Literal["xray", "otlp"] = "xray"
    """Where traces go: AWS X-Ray in the stack's region, or an OTLP/gRPC backend (Tempo, Jaeger, ...)."""
    otlp_endpoint: str | None = None
    """The OTLP/gRPC backend, e.g. ``tempo.tracing:4317``; an ``http://`` prefix means no TLS."""

    @model_validator(mode="after")
    def _endpoint_matches_exporter(self) -> OpenTelemetryCollectorOptions:
        if self.traces_exporter == "otlp" and not self.otlp_endpoint:
            raise ValueError(
                "otlpEndpoint is required when tracesExporter is otlp. "
                "Fix: set otlpEndpoint to the backend's OTLP/gRPC address (host:4317), "
                "or set tracesExporter: xray"
            )
        if self.traces_exporter == "xray" and self.otlp_endpoint:
            raise ValueError(
                "otlpEndpoint is set but tracesExporter is xray, so it would be ignored. "
                "Fix: set tracesExporter: otlp, or remove otlpEndpoint"
            )
        return self


CHART_MODES = {"gateway": "deployment", "agent": "daemonset"}
_CONTAINER_LISTS = (("initContainers",), ("extraContainers",))


def _mode(mode: str) -> tuple[Switch]:
    # The chart's default mode is empty, which its schema refuses: Armful always sets one.
    return (Switch(("mode",), mode, default=""),)


# Two replicas behind the Service: apps keep sending while one is rescheduled.
GATEWAY = Workload(
    name="opentelemetry-collector",
    kind=WorkloadKind.DEPLOYMENT,
    images=(COLLECTOR_IMAGE,),
    keys=PlacementKeys(),
    # The memory limit matters: the chart derives GOMEMLIMIT and the memory_limiter from it.
    resources=on_both_arches(Resources(cpu="200m", memory="512Mi", memory_limit="1Gi")),
    replicas=2,
    pod_labels={"app.kubernetes.io/name": "opentelemetry-collector", "app.kubernetes.io/instance": RELEASE},
    extra_values={"podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
    enabled_if=_mode(CHART_MODES["gateway"]),
    templates=("templates/deployment.yaml",),
    extra_containers=_CONTAINER_LISTS,
)

# The chart's third mode, set through values (``mode: statefulset``): the gateway's pods as a
# StatefulSet, from the same keys, placed like it.
STATEFULSET = replace(
    GATEWAY,
    name="opentelemetry-collector-statefulset",
    kind=WorkloadKind.STATEFULSET,
    enabled_if=_mode("statefulset"),
    templates=("templates/statefulset.yaml",),
)

AGENT = Workload(
    name="opentelemetry-collector-agent",
    kind=WorkloadKind.DAEMONSET,
    images=(COLLECTOR_IMAGE,),
    keys=PlacementKeys(replicas=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="100m", memory="256Mi", memory_limit="512Mi")),
    pod_labels={"app.kubernetes.io/name": "opentelemetry-collector", "component": "agent-collector"},
    # It publishes OTLP on host ports, and its log and host-metrics presets mount host paths.
    host_access=(HostAccess.HOST_PATH, HostAccess.HOST_PORTS),
    enabled_if=_mode(CHART_MODES["agent"]),
    templates=("templates/daemonset.yaml",),
    extra_containers=_CONTAINER_LISTS,
)


def _exporter(options: OpenTelemetryCollectorOptions, region: str) -> tuple[str, dict[str, Any]]:
    if options.traces_exporter == "otlp":
        return OTLP_EXPORTER, {"endpoint": options.otlp_endpoint}
    return XRAY_EXPORTER, {"region": region}


def values(context: AddonContext) -> dict[str, Any]:
    options = context.options_as(OpenTelemetryCollectorOptions)
    exporter, exporter_config = _exporter(options, context.region)
    return {
        "mode": CHART_MODES[options.mode],
        "image": {"repository": COLLECTOR_IMAGE.repository, "tag": COLLECTOR_IMAGE.tag},
        # The Pod Identity association names this service account. The collector calls no Kubernetes API
        # (no k8sattributes processor, no preset): no API token in its pods. Pod Identity's credentials come
        # through a projected token of their own, which EKS's webhook adds whatever this says.
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "automountServiceAccountToken": False},
        # Restricted: it keeps its queues in memory and writes no file. Setting securityContext also turns
        # off the chart's root defaults for the log and profiling presets, which Armful does not enable.
        "podSecurityContext": restricted_pod(),
        "securityContext": restricted_container(COLLECTOR_UID),
        # Helm merges these maps into the chart's default config; the traces pipeline's lists replace
        # the defaults, so traces take only OTLP in and only the chosen exporter out.
        "config": {
            "receivers": {
                "otlp": {
                    "protocols": {
                        "grpc": {"endpoint": "${env:MY_POD_IP}:4317"},
                        "http": {"endpoint": "${env:MY_POD_IP}:4318"},
                    }
                }
            },
            "processors": {
                "memory_limiter": {
                    "check_interval": "5s",
                    "limit_percentage": 80,
                    "spike_limit_percentage": 25,
                },
                "batch": {},
            },
            "exporters": {exporter: exporter_config},
            "service": {
                "pipelines": {
                    "traces": {
                        "receivers": ["otlp"],
                        # memory_limiter first, so it refuses data before anything buffers it.
                        "processors": ["memory_limiter", "batch"],
                        "exporters": [exporter],
                    }
                }
            },
        },
        # The Jaeger and Zipkin receivers are in no pipeline: their ports would accept and drop spans.
        "ports": {
            "jaeger-compact": {"enabled": False},
            "jaeger-thrift": {"enabled": False},
            "jaeger-grpc": {"enabled": False},
            "zipkin": {"enabled": False},
        },
    }


SPEC = AddonSpec(
    key="openTelemetryCollector",
    release=RELEASE,
    namespace=OPENTELEMETRY,
    chart="opentelemetry-collector",
    repository="https://open-telemetry.github.io/opentelemetry-helm-charts",
    version=CHART_VERSION,
    summary="traces (OpenTelemetry Collector gateway to AWS X-Ray or an OTLP backend)",
    workloads=(GATEWAY, STATEFULSET, AGENT),
    values=values,
    options=OpenTelemetryCollectorOptions,
    # Only X-Ray is an AWS API: an OTLP backend needs no AWS credentials.
    pod_identity=PodIdentity(
        service_account=SERVICE_ACCOUNT,
        managed_policies=(XRAY_WRITE_POLICY,),
        applies=lambda options: getattr(options, "traces_exporter", "xray") == "xray",
    ),
    free_form_paths=(
        # The Collector's own configuration, passed through as it is.
        "config",
        # minAvailable/maxUnavailable appear in the default values only as comments.
        "podDisruptionBudget",
    ),
    chart_dir=f"opentelemetry-collector-{CHART_VERSION}",
)
