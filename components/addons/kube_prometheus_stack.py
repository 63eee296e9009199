"""kube-prometheus-stack: Prometheus, Alertmanager, Grafana, kube-state-metrics and node-exporter.

Prometheus and Alertmanager are StatefulSets that the operator creates from custom resources, so their
keys live under ``prometheus.prometheusSpec`` and ``alertmanager.alertmanagerSpec`` while their PDBs
live one level up (``prometheus.podDisruptionBudget``): those go in the chart-wide values here.
Their volumes are EBS gp3 through the StorageClass named by ``storageClass``, which Armful creates.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import Field

from armful.addons.context import AddonContext, DeployTime
from armful.addons.namespaces import MONITORING
from armful.addons.security_context import UNPRIVILEGED_UID, no_privileges, runtime_default_seccomp
from armful.addons.spec import AddonOptions, AddonSpec
from armful.placement.workloads import (
    HostAccess,
    Image,
    PlacementKeys,
    Resources,
    Sidecar,
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
CONFIG_RELOADER = Image("quay.io/prometheus-operator/prometheus-config-reloader", OPERATOR_VERSION)
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
    images=(Image("quay.io/prometheus-operator/prometheus-operator", OPERATOR_VERSION),),
    path=("prometheusOperator",),
    keys=PlacementKeys(replicas=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="100m", memory="128Mi", memory_limit="256Mi")),
    # The chart names the operator's pods after the release (its Service selects them by these).
    pod_labels={"app": f"{RELEASE}-operator", "release": RELEASE},
)

# Two hook Jobs (admission-create pre-install, admission-patch post-install) share these keys; an
# unschedulable pre-install hook hangs the whole install, so they get placement like everything else.
ADMISSION_WEBHOOK_PATCH = Workload(
    name="admission-webhook-patch",
    kind=WorkloadKind.HOOK_JOB,
    images=(Image("ghcr.io/jkroepke/kube-webhook-certgen", "1.8.7"),),
    path=("prometheusOperator", "admissionWebhooks", "patch"),
    keys=PlacementKeys(replicas=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="10m", memory="32Mi", memory_limit="64Mi")),
)

# One replica: every kube-state-metrics replica exports the full object state, and the ServiceMonitor
# scrapes every endpoint, so a second replica doubles every kube_* series (and every sum() over them).
# Scaling out is the chart's autosharding (a StatefulSet that splits objects), not HA.
KUBE_STATE_METRICS = Workload(
    name="kube-state-metrics",
    kind=WorkloadKind.DEPLOYMENT,
    images=(Image("registry.k8s.io/kube-state-metrics/kube-state-metrics", "v2.20.0"),),
    path=("kube-state-metrics",),
    keys=PlacementKeys(replicas="replicas"),
    resources=on_both_arches(Resources(cpu="50m", memory="128Mi", memory_limit="256Mi")),
    pod_labels={"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": RELEASE},
)

# One replica: without an external database each Grafana pod has its own SQLite, so logins and UI edits
# would differ per pod behind the Service. Dashboards and datasources come from ConfigMaps through the
# sidecar, so a rescheduled pod comes back complete. The sidecar runs in the same pod.
GRAFANA = Workload(
    name="grafana",
    kind=WorkloadKind.DEPLOYMENT,
    images=(
        Image("docker.io/grafana/grafana", "13.2.0"),
        Image("quay.io/kiwigrid/k8s-sidecar", "2.10.1"),
    ),
    path=("grafana",),
    keys=PlacementKeys(replicas="replicas"),
    resources=on_both_arches(Resources(cpu="100m", memory="256Mi", memory_limit="512Mi")),
    pod_labels={"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": RELEASE},
    # One k8s-sidecar container each for dashboards and datasources, which this chart turns on.
    sidecars=tuple(
        Sidecar(("grafana", "sidecar", "resources"), ("grafana", "sidecar", kind, "enabled"))
        for kind in ("dashboards", "datasources")
    ),
)

# Two replicas scrape the same targets; Alertmanager deduplicates their alerts.
PROMETHEUS = Workload(
    name="prometheus",
    kind=WorkloadKind.STATEFULSET,
    images=(Image("quay.io/prometheus/prometheus", "v3.14.0-distroless"), CONFIG_RELOADER),
    path=("prometheus", "prometheusSpec"),
    keys=PlacementKeys(replicas="replicas"),
    resources=on_both_arches(Resources(cpu="500m", memory="2Gi", memory_limit="4Gi")),
    replicas=2,
    pod_labels={"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": PROMETHEUS_CR_NAME},
    sidecars=(CONFIG_RELOADER_SIDECAR,),
)

# Two replicas gossip notification state, so a notification goes out once while either survives.
ALERTMANAGER = Workload(
    name="alertmanager",
    kind=WorkloadKind.STATEFULSET,
    images=(Image("quay.io/prometheus/alertmanager", "v0.34.0"), CONFIG_RELOADER),
    path=("alertmanager", "alertmanagerSpec"),
    keys=PlacementKeys(replicas="replicas"),
    resources=on_both_arches(Resources(cpu="50m", memory="128Mi", memory_limit="256Mi")),
    replicas=2,
    pod_labels={"app.kubernetes.io/name": "alertmanager", "alertmanager": ALERTMANAGER_CR_NAME},
    sidecars=(CONFIG_RELOADER_SIDECAR,),
)

# The chart's default toleration (every NoSchedule taint) is replaced by the engine's list of every
# pool taint: it also covers NoExecute pool taints and is what the placement model proves.
NODE_EXPORTER = Workload(
    name="node-exporter",
    kind=WorkloadKind.DAEMONSET,
    images=(Image("quay.io/prometheus/node-exporter", "v1.12.1-distroless"),),
    path=("prometheus-node-exporter",),
    keys=PlacementKeys(replicas=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="50m", memory="48Mi", memory_limit="128Mi")),
    pod_labels={"app.kubernetes.io/name": "prometheus-node-exporter"},
    # hostNetwork and hostPID by default; with hostNetwork the API server sets hostPort on its port.
    host_access=(HostAccess.HOST_NAMESPACES, HostAccess.HOST_PATH, HostAccess.HOST_PORTS),
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
        GRAFANA,
        PROMETHEUS,
        ALERTMANAGER,
        NODE_EXPORTER,
    ),
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
