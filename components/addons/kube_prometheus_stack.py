"""kube-prometheus-stack: Prometheus, Alertmanager, Grafana, kube-state-metrics and node-exporter.

Prometheus and Alertmanager are StatefulSets that the operator creates from custom resources, so their
keys live under ``prometheus.prometheusSpec`` and ``alertmanager.alertmanagerSpec`` while their PDBs
live one level up (``prometheus.podDisruptionBudget``): those go in the chart-wide values here.
Their volumes are EBS gp3 through the StorageClass named by ``storageClass``, which Armful creates.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated, Any

from pydantic import Field

from armful.addons.context import AddonContext, DeployTime
from armful.addons.namespaces import MONITORING
from armful.addons.security_context import UNPRIVILEGED_UID, no_privileges, runtime_default_seccomp
from armful.addons.spec import AddonOptions, AddonSpec, ChartRefusal, UndeclaredWorkload
from armful.placement.workloads import (
    AllOf,
    AnyOf,
    Condition,
    HostAccess,
    Image,
    ImageKeys,
    Not,
    PlacementKeys,
    Resources,
    Sidecar,
    Switch,
    ValuesPath,
    Workload,
    WorkloadKind,
    on_both_arches,
)

RELEASE = "kube-prometheus-stack"
CHART_VERSION = "88.5.3"

# The chart names its objects "<release>" when the release name contains the chart name; the operator
# labels the pods of a Prometheus or Alertmanager resource with that resource's name.
PROMETHEUS_CR_NAME = f"{RELEASE}-prometheus"
ALERTMANAGER_CR_NAME = f"{RELEASE}-alertmanager"

# Tags the pinned chart renders by default: the operator and its config reloader default to the
# chart's appVersion, kube-state-metrics and node-exporter to "v" + their subchart's appVersion
# (node-exporter with the "-distroless" suffix kube-prometheus-stack turns on), Grafana to its
# subchart's appVersion.
OPERATOR_VERSION = "v0.93.1"
KUBE_STATE_METRICS_APP_VERSION = "2.20.0"
NODE_EXPORTER_APP_VERSION = "1.12.1"
GRAFANA_APP_VERSION = "13.2.0"

# Every image key of this chart and its subcharts gives way to global.imageRegistry when it is set.
GLOBAL_REGISTRY: ValuesPath = ("global", "imageRegistry")


def _image(
    base: ValuesPath,
    registry: str,
    repository: str,
    tag: str,
    *,
    empty_tag: str = "",
    digest: str = "sha",
    digest_prefix: str = "@sha256:",
    tag_suffix: tuple[Switch, str] | None = None,
    enabled_if: tuple[Condition, ...] = (),
) -> Image:
    """An image the chart builds as ``<global.imageRegistry or registry>/<repository>:<tag>[@sha256:<sha>]``
    from the keys under ``base``, which default to ``registry``, ``repository`` and ``tag``."""
    keys = ImageKeys(
        repository=(*base, "repository"),
        tag=(*base, "tag"),
        registries=(GLOBAL_REGISTRY, (*base, "registry")),
        digest=(*base, digest),
        digest_prefix=digest_prefix,
        empty_tag=empty_tag,
        tag_suffix=tag_suffix,
        defaults={(*base, "registry"): registry, (*base, "repository"): repository, (*base, "tag"): tag},
    )
    return Image.from_keys(keys, enabled_if=enabled_if)


OPERATOR_ENABLED = Switch(("prometheusOperator", "enabled"), default=True)
GRAFANA_ENABLED = Switch(("grafana", "enabled"), default=True)

CONFIG_RELOADER = _image(
    ("prometheusOperator", "prometheusConfigReloader", "image"),
    "quay.io",
    "prometheus-operator/prometheus-config-reloader",
    "",
    empty_tag=OPERATOR_VERSION,
)
# The operator adds the reloader to every Prometheus and Alertmanager pod with these requests.
CONFIG_RELOADER_SIDECAR = Sidecar(("prometheusOperator", "prometheusConfigReloader", "resources"))

# Prometheus accepts a duration as a sequence of <n><unit>, largest unit first.
PROMETHEUS_DURATION = r"^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"

# retentionSize counts blocks, WAL and head chunks; compaction briefly needs room beyond it, so
# Prometheus is told to stop well short of a full volume (a full volume crash-loops Prometheus).
RETENTION_SIZE_FRACTION = 0.85

GRAFANA_ADMIN_PASSWORD = DeployTime("grafana_admin_password", secret_config_key="grafanaAdminPassword")


class KubePrometheusStackOptions(AddonOptions):
    retention: Annotated[str, Field(pattern=PROMETHEUS_DURATION, min_length=2)] = "15d"
    """How long Prometheus keeps samples (Prometheus duration: 15d, 12h, 2w)."""
    prometheus_storage_gib: Annotated[int, Field(ge=10, le=16384)] = 50
    alertmanager_storage_gib: Annotated[int, Field(ge=1, le=1024)] = 10
    storage_class: Annotated[str, Field(pattern=DNS_SUBDOMAIN)] = "gp3"
    """The StorageClass of the Prometheus and Alertmanager volumes; Armful creates ``gp3``."""


# The operator's Deployment has `replicas: 1` hard-coded and no topologySpreadConstraints key: it is a
# singleton by design (no leader election), so no PDB either (minAvailable 1 of 1 blocks node drains).
OPERATOR = Workload(
    name="prometheus-operator",
    kind=WorkloadKind.DEPLOYMENT,
    images=(
        _image(
            ("prometheusOperator", "image"),
            "quay.io",
            "prometheus-operator/prometheus-operator",
            "",
            empty_tag=OPERATOR_VERSION,
        ),
    ),
    path=("prometheusOperator",),
    keys=PlacementKeys(replicas=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="100m", memory="128Mi", memory_limit="256Mi")),
    # The chart names the operator's pods after the release (its Service selects them by these).
    pod_labels={"app": f"{RELEASE}-operator", "release": RELEASE},
    enabled_if=(OPERATOR_ENABLED,),
    templates=("templates/prometheus-operator/deployment.yaml",),
)

# Two hook Jobs (admission-create pre-install, admission-patch post-install) share these keys; an
# unschedulable pre-install hook hangs the whole install, so they get placement like everything else.
ADMISSION_WEBHOOK_PATCH = Workload(
    name="admission-webhook-patch",
    kind=WorkloadKind.HOOK_JOB,
    images=(
        _image(
            ("prometheusOperator", "admissionWebhooks", "patch", "image"),
            "ghcr.io",
            "jkroepke/kube-webhook-certgen",
            "1.8.7",
        ),
    ),
    path=("prometheusOperator", "admissionWebhooks", "patch"),
    keys=PlacementKeys(replicas=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="10m", memory="32Mi", memory_limit="64Mi")),
    # With cert-manager issuing the webhook certificate, the Jobs that make and patch one are not rendered.
    enabled_if=(
        OPERATOR_ENABLED,
        Switch(("prometheusOperator", "admissionWebhooks", "enabled"), default=True),
        Switch(("prometheusOperator", "admissionWebhooks", "patch", "enabled"), default=True),
        Not(Switch(("prometheusOperator", "admissionWebhooks", "certManager", "enabled"), default=False)),
    ),
    templates=(
        "templates/prometheus-operator/admission-webhooks/job-patch/job-createSecret.yaml",
        "templates/prometheus-operator/admission-webhooks/job-patch/job-patchWebhook.yaml",
    ),
)

# One replica: every kube-state-metrics replica exports the full object state, and the ServiceMonitor
# scrapes every endpoint, so a second replica doubles every kube_* series (and every sum() over them).
# Scaling out is the chart's autosharding (a StatefulSet that splits objects), not HA.
_KUBE_STATE_METRICS_ENABLED = Switch(("kubeStateMetrics", "enabled"), default=True)
_AUTOSHARDING = Switch(("kube-state-metrics", "autosharding", "enabled"), default=False)
_KUBE_STATE_METRICS_IMAGES = (
    _image(
        ("kube-state-metrics", "image"),
        "registry.k8s.io",
        "kube-state-metrics/kube-state-metrics",
        "",
        empty_tag=f"v{KUBE_STATE_METRICS_APP_VERSION}",
        digest_prefix="@",
    ),
    # kube-rbac-proxy in front of the metrics ports, when turned on.
    _image(
        ("kube-state-metrics", "kubeRBACProxy", "image"),
        "quay.io",
        "brancz/kube-rbac-proxy",
        "v0.22.1",
        empty_tag=f"v{KUBE_STATE_METRICS_APP_VERSION}",
        digest_prefix="@",
        enabled_if=(Switch(("kube-state-metrics", "kubeRBACProxy", "enabled"), default=False),),
    ),
)
KUBE_STATE_METRICS = Workload(
    name="kube-state-metrics",
    kind=WorkloadKind.DEPLOYMENT,
    images=_KUBE_STATE_METRICS_IMAGES,
    path=("kube-state-metrics",),
    keys=PlacementKeys(replicas="replicas"),
    resources=on_both_arches(Resources(cpu="50m", memory="128Mi", memory_limit="256Mi")),
    pod_labels={"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": RELEASE},
    enabled_if=(_KUBE_STATE_METRICS_ENABLED, Not(_AUTOSHARDING)),
    templates=("charts/kube-state-metrics/templates/deployment.yaml",),
    extra_containers=(("kube-state-metrics", "containers"), ("kube-state-metrics", "initContainers")),
)
# Autosharding: the same pods as a StatefulSet, each replica exporting its share of the objects.
KUBE_STATE_METRICS_SHARDED = replace(
    KUBE_STATE_METRICS,
    name="kube-state-metrics-sharded",
    kind=WorkloadKind.STATEFULSET,
    enabled_if=(_KUBE_STATE_METRICS_ENABLED, _AUTOSHARDING),
)

# One replica: without an external database each Grafana pod has its own SQLite, so logins and UI edits
# would differ per pod behind the Service. Dashboards and datasources come from ConfigMaps through the
# sidecar, so a rescheduled pod comes back complete. The sidecar runs in the same pod.
# kube-prometheus-stack turns on the dashboards and datasources sidecars; the others stay as Grafana's
# chart has them (off).
_GRAFANA_SIDECARS = {
    "alerts": False,
    "dashboards": True,
    "datasources": True,
    "notifiers": False,
    "plugins": False,
}
_GRAFANA_PERSISTENCE = Switch(("grafana", "persistence", "enabled"), default=False)
_GRAFANA_STATEFULSET = Switch(("grafana", "useStatefulSet"), default=False)
_GRAFANA_IMAGES = (
    _image(("grafana", "image"), "docker.io", "grafana/grafana", "", empty_tag=GRAFANA_APP_VERSION),
    _image(
        ("grafana", "sidecar", "image"),
        "quay.io",
        "kiwigrid/k8s-sidecar",
        "2.10.1",
        enabled_if=(
            AnyOf(
                tuple(
                    Switch(("grafana", "sidecar", kind, "enabled"), default=on)
                    for kind, on in _GRAFANA_SIDECARS.items()
                )
            ),
        ),
    ),
    # Init containers: one chowns a persistent volume, one downloads dashboards listed in the values.
    _image(
        ("grafana", "initChownData", "image"),
        "docker.io",
        "library/busybox",
        "1.38.0",
        enabled_if=(_GRAFANA_PERSISTENCE, Switch(("grafana", "initChownData", "enabled"), default=True)),
    ),
    _image(
        ("grafana", "downloadDashboardsImage"),
        "docker.io",
        "curlimages/curl",
        "8.21.0",
        enabled_if=(Switch(("grafana", "dashboards"), default={}),),
    ),
)
GRAFANA = Workload(
    name="grafana",
    kind=WorkloadKind.DEPLOYMENT,
    images=_GRAFANA_IMAGES,
    path=("grafana",),
    keys=PlacementKeys(replicas="replicas"),
    resources=on_both_arches(Resources(cpu="100m", memory="256Mi", memory_limit="512Mi")),
    pod_labels={"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": RELEASE},
    # One k8s-sidecar container each for dashboards and datasources, which this chart turns on.
    sidecars=tuple(
        Sidecar(
            ("grafana", "sidecar", "resources"),
            (Switch(("grafana", "sidecar", kind, "enabled"), default=True),),
        )
        for kind in ("dashboards", "datasources")
    ),
    # A Deployment unless the values ask for a StatefulSet, or for a volume of a kind only one can claim.
    enabled_if=(
        GRAFANA_ENABLED,
        Not(_GRAFANA_STATEFULSET),
        AnyOf((Not(_GRAFANA_PERSISTENCE), Switch(("grafana", "persistence", "type"), "pvc", default="pvc"))),
    ),
    templates=("charts/grafana/templates/deployment.yaml",),
    extra_containers=(("grafana", "extraInitContainers"),),
)
GRAFANA_STATEFULSET = replace(
    GRAFANA,
    name="grafana-statefulset",
    kind=WorkloadKind.STATEFULSET,
    enabled_if=(
        GRAFANA_ENABLED,
        AnyOf(
            (
                _GRAFANA_STATEFULSET,
                AllOf(
                    (
                        _GRAFANA_PERSISTENCE,
                        Not(Switch(("grafana", "persistence", "existingClaim"), default=None)),
                        Switch(
                            ("grafana", "persistence", "type"),
                            frozenset({"sts", "StatefulSet", "statefulset"}),
                            default="pvc",
                        ),
                    )
                ),
            )
        ),
    ),
    templates=("charts/grafana/templates/statefulset.yaml",),
)

# Two replicas scrape the same targets; Alertmanager deduplicates their alerts.
PROMETHEUS = Workload(
    name="prometheus",
    kind=WorkloadKind.STATEFULSET,
    images=(
        _image(
            ("prometheus", "prometheusSpec", "image"),
            "quay.io",
            "prometheus/prometheus",
            "v3.14.0-distroless",
        ),
        CONFIG_RELOADER,
    ),
    path=("prometheus", "prometheusSpec"),
    keys=PlacementKeys(replicas="replicas"),
    resources=on_both_arches(Resources(cpu="500m", memory="2Gi", memory_limit="4Gi")),
    replicas=2,
    pod_labels={"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": PROMETHEUS_CR_NAME},
    sidecars=(CONFIG_RELOADER_SIDECAR,),
    # agentMode renders a PrometheusAgent from the same keys instead: the same StatefulSet to place.
    enabled_if=(Switch(("prometheus", "enabled"), default=True),),
    templates=("templates/prometheus/prometheus.yaml",),
    extra_containers=(("prometheus", "prometheusSpec", "initContainers"),),
)

# Two replicas gossip notification state, so a notification goes out once while either survives.
ALERTMANAGER = Workload(
    name="alertmanager",
    kind=WorkloadKind.STATEFULSET,
    images=(
        _image(
            ("alertmanager", "alertmanagerSpec", "image"), "quay.io", "prometheus/alertmanager", "v0.34.0"
        ),
        CONFIG_RELOADER,
    ),
    path=("alertmanager", "alertmanagerSpec"),
    keys=PlacementKeys(replicas="replicas"),
    resources=on_both_arches(Resources(cpu="50m", memory="128Mi", memory_limit="256Mi")),
    replicas=2,
    pod_labels={"app.kubernetes.io/name": "alertmanager", "alertmanager": ALERTMANAGER_CR_NAME},
    sidecars=(CONFIG_RELOADER_SIDECAR,),
    enabled_if=(Switch(("alertmanager", "enabled"), default=True),),
    templates=("templates/alertmanager/alertmanager.yaml",),
    extra_containers=(("alertmanager", "alertmanagerSpec", "initContainers"),),
)

# The chart's default toleration (every NoSchedule taint) is replaced by the engine's list of every
# pool taint: it also covers NoExecute pool taints and is what the placement model proves.
_NODE_EXPORTER_ENABLED = Switch(("nodeExporter", "enabled"), default=True)
_PERMISSION_FIXES = ("prometheus-node-exporter", "permissionInitContainer")
NODE_EXPORTER = Workload(
    name="node-exporter",
    kind=WorkloadKind.DAEMONSET,
    images=(
        _image(
            ("prometheus-node-exporter", "image"),
            "quay.io",
            "prometheus/node-exporter",
            "",
            empty_tag=f"v{NODE_EXPORTER_APP_VERSION}",
            digest="digest",
            digest_prefix="@",
            tag_suffix=(
                Switch(("prometheus-node-exporter", "image", "distroless"), default=True),
                "-distroless",
            ),
        ),
        _image(
            ("prometheus-node-exporter", "kubeRBACProxy", "image"),
            "quay.io",
            "brancz/kube-rbac-proxy",
            "v0.22.1",
            enabled_if=(Switch(("prometheus-node-exporter", "kubeRBACProxy", "enabled"), default=False),),
        ),
        # An init container that opens RAPL or slabinfo files to the exporter, when asked.
        _image(
            (*_PERMISSION_FIXES, "image"),
            "quay.io",
            "prometheus/busybox",
            "latest",
            enabled_if=(
                AnyOf(
                    (
                        Switch((*_PERMISSION_FIXES, "fixes", "rapl"), default=False),
                        Switch((*_PERMISSION_FIXES, "fixes", "slabinfo"), default=False),
                        Switch((*_PERMISSION_FIXES, "extraCommands"), default=[]),
                    )
                ),
            ),
        ),
    ),
    path=("prometheus-node-exporter",),
    keys=PlacementKeys(replicas=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="50m", memory="48Mi", memory_limit="128Mi")),
    pod_labels={"app.kubernetes.io/name": "prometheus-node-exporter"},
    # hostNetwork and hostPID by default; with hostNetwork the API server sets hostPort on its port.
    host_access=(HostAccess.HOST_NAMESPACES, HostAccess.HOST_PATH, HostAccess.HOST_PORTS),
    enabled_if=(_NODE_EXPORTER_ENABLED,),
    templates=("charts/prometheus-node-exporter/templates/daemonset.yaml",),
    extra_containers=(
        ("prometheus-node-exporter", "extraInitContainers"),
        ("prometheus-node-exporter", "sidecars"),
    ),
)

# What the chart's options render beyond those: none is placed by Armful's values.
UNDECLARED = (
    UndeclaredWorkload(
        "the Thanos Ruler StatefulSet (a ThanosRuler resource the operator runs)",
        (Switch(("thanosRuler", "enabled"), default=False),),
        "thanosRuler.thanosRulerSpec",
        ("templates/thanos-ruler/ruler.yaml",),
    ),
    UndeclaredWorkload(
        "the operator's admission webhook Deployment",
        (
            OPERATOR_ENABLED,
            Switch(("prometheusOperator", "admissionWebhooks", "deployment", "enabled"), default=False),
        ),
        "prometheusOperator.admissionWebhooks.deployment",
        ("templates/prometheus-operator/admission-webhooks/deployment/deployment.yaml",),
    ),
    UndeclaredWorkload(
        "Grafana's image renderer Deployment",
        (GRAFANA_ENABLED, Switch(("grafana", "imageRenderer", "enabled"), default=False)),
        "grafana.imageRenderer",
        ("charts/grafana/templates/image-renderer-deployment.yaml",),
    ),
    UndeclaredWorkload(
        "the CRD upgrade Job",
        (Switch(("crds", "enabled"), default=True), Switch(("crds", "upgradeJob", "enabled"), default=False)),
        "crds.upgradeJob",
        ("charts/crds/templates/upgrade/job.yaml",),
    ),
    # Its subchart is not even vendored in the pinned archive (Helm refuses a missing dependency).
    UndeclaredWorkload(
        "the Windows exporter DaemonSet (subchart prometheus-windows-exporter)",
        (Switch(("windowsMonitoring", "enabled"), default=False),),
        "prometheus-windows-exporter",
    ),
)

REFUSALS = (
    ChartRefusal(
        (_NODE_EXPORTER_ENABLED, Switch(("prometheus-node-exporter", "image", "sha"), default=None)),
        "image.sha forbidden. Use image.digest instead",
        ("prometheus-node-exporter", "image", "sha"),
        "give the digest as prometheus-node-exporter.image.digest (sha256:<hex>)",
        "charts/prometheus-node-exporter/templates/_helpers.tpl",
    ),
)


def _volume_claim(storage_class: str, size_gib: int) -> dict[str, Any]:
    return {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": storage_class,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{size_gib}Gi"}},
            }
        }
    }


def retention_size(storage_gib: int) -> str:
    """The TSDB size cap for a volume of ``storage_gib``: Prometheus deletes old blocks before it fills."""
    return f"{max(1, math.floor(storage_gib * RETENTION_SIZE_FRACTION))}GiB"


def values(context: AddonContext) -> dict[str, Any]:
    options = context.options_as(KubePrometheusStackOptions)
    reloader = Resources(cpu="10m", memory="32Mi", memory_limit="64Mi").to_values()
    # Both PDBs allow one voluntary eviction at a time out of two replicas.
    pdb = {"enabled": True, "minAvailable": 1}
    # Selecting every ServiceMonitor, PodMonitor, rule and probe (not only those labelled with this
    # release) lets the other add-ons' monitors be scraped without a release label.
    select_all = {
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "probeSelectorNilUsesHelmValues": False,
        "scrapeConfigSelectorNilUsesHelmValues": False,
    }
    return {
        "prometheus": {
            "podDisruptionBudget": pdb,
            "prometheusSpec": {
                "retention": options.retention,
                "retentionSize": retention_size(options.prometheus_storage_gib),
                "storageSpec": _volume_claim(options.storage_class, options.prometheus_storage_gib),
                "externalLabels": {"cluster": context.cluster_name},
                **select_all,
            },
        },
        "alertmanager": {
            "podDisruptionBudget": pdb,
            # Alertmanager's volume key is `storage`, not Prometheus' `storageSpec`.
            "alertmanagerSpec": {
                "storage": _volume_claim(options.storage_class, options.alertmanager_storage_gib)
            },
        },
        "prometheusOperator": {
            "prometheusConfigReloader": {"resources": reloader},
            # The certificate hook Jobs run as 2000 by default and write nothing but Secrets via the API.
            "admissionWebhooks": {
                "patch": {"securityContext": {"runAsUser": UNPRIVILEGED_UID, "runAsGroup": UNPRIVILEGED_UID}}
            },
        },
        # node-exporter keeps the host's network and PID namespaces and its host paths (read-only), as a
        # non-root user that needs no capability; its collectors make no syscall the runtime's filter refuses.
        "prometheus-node-exporter": {
            "securityContext": runtime_default_seccomp(),
            "containerSecurityContext": no_privileges(),
        },
        "grafana": {
            # An explicit password from a Pulumi secret: the chart's fallback is a random one that
            # nobody knows and that `plan --render` (no cluster to `lookup`) would show differently.
            "adminPassword": GRAFANA_ADMIN_PASSWORD,
            # Grafana's service account reads no Secret outside its own namespace. The chart's defaults
            # (rbac.namespaced false, sidecars on configmaps *and* secrets, dashboards searched in ALL
            # namespaces) give it a ClusterRole to get/watch/list every Secret in the cluster.
            # namespaced swaps the ClusterRole and its binding for a Role and RoleBinding in the release
            # namespace; `resource: configmap` makes the sidecars watch ConfigMaps only; searchNamespace
            # keeps the dashboards sidecar to the release namespace (a Role cannot list elsewhere anyway).
            # What stays: the chart's Role hard-codes `resources: ["configmaps", "secrets"]`
            # (templates/role.yaml), so Grafana can still read the Secrets of its own namespace.
            "rbac": {"namespaced": True},
            "sidecar": {
                "resources": Resources(cpu="20m", memory="96Mi", memory_limit="192Mi").to_values(),
                "dashboards": {"resource": "configmap", "searchNamespace": MONITORING},
                "datasources": {"resource": "configmap"},
            },
            # The test pod runs only under `helm test` and would carry no placement.
            "testFramework": {"enabled": False},
        },
        "nodeExporter": {"enabled": True},
        # EKS runs etcd, the scheduler and the controller manager out of reach: their scrape targets
        # never exist, and their alerts (KubeSchedulerDown, ...) would fire forever. Disabling them
        # also drops their rules and dashboards.
        "kubeEtcd": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeControllerManager": {"enabled": False},
    }


SPEC = AddonSpec(
    key="kubePrometheusStack",
    release=RELEASE,
    namespace=MONITORING,
    chart="kube-prometheus-stack",
    repository="https://prometheus-community.github.io/helm-charts",
    version=CHART_VERSION,
    summary="metrics (Prometheus, Alertmanager, Grafana, kube-state-metrics, node-exporter)",
    workloads=(
        OPERATOR,
        ADMISSION_WEBHOOK_PATCH,
        KUBE_STATE_METRICS,
        KUBE_STATE_METRICS_SHARDED,
        GRAFANA,
        GRAFANA_STATEFULSET,
        PROMETHEUS,
        ALERTMANAGER,
        NODE_EXPORTER,
    ),
    undeclared=UNDECLARED,
    refusals=REFUSALS,
    values=values,
    options=KubePrometheusStackOptions,
    secrets=(GRAFANA_ADMIN_PASSWORD,),
    # Prometheus and Alertmanager keep their data on EBS volumes.
    claims_volumes=True,
    free_form_paths=(
        # Read by the templates but only present as comments in the default values.
        "prometheusOperator.priorityClassName",
        "kube-state-metrics.priorityClassName",
        "prometheus-node-exporter.priorityClassName",
        "grafana.priorityClassName",
        "grafana.adminPassword",
        # Kubernetes objects and label maps passed through as they are.
        "prometheusOperator.prometheusConfigReloader.resources",
        "grafana.sidecar.resources",
        "prometheus.prometheusSpec.storageSpec",
        "prometheus.prometheusSpec.externalLabels",
        "alertmanager.alertmanagerSpec.storage",
    ),
    chart_dir=f"kube-prometheus-stack-{CHART_VERSION}",
    subcharts={
        "grafana": "grafana-12.11.1",
        "kube-state-metrics": "kube-state-metrics-8.4.0",
        "prometheus-node-exporter": "prometheus-node-exporter-4.56.1",
    },
)
