"""metrics-server: the resource metrics API that HPAs and ``kubectl top`` read."""

from __future__ import annotations

from typing import Any

from armful.addons.context import AddonContext
from armful.addons.namespaces import KUBE_SYSTEM
from armful.addons.security_context import UNPRIVILEGED_UID, restricted_pod
from armful.addons.spec import AddonSpec
from armful.placement.workloads import (
    Image,
    ImageKeys,
    PlacementKeys,
    Resources,
    Switch,
    Workload,
    WorkloadKind,
    on_both_arches,
)

APP_VERSION = "0.8.1"

SERVER = Workload(
    name="metrics-server",
    kind=WorkloadKind.DEPLOYMENT,
    images=(
        # `<repository>:<tag>`, an empty tag being "v" + the chart's appVersion.
        Image.from_keys(
            ImageKeys(
                repository=("image", "repository"),
                tag=("image", "tag"),
                empty_tag=f"v{APP_VERSION}",
                defaults={
                    ("image", "repository"): "registry.k8s.io/metrics-server/metrics-server",
                    ("image", "tag"): "",
                },
            )
        ),
        # The addon resizer (nanny) sidecar that scales metrics-server's requests with the cluster, when on.
        Image.from_keys(
            ImageKeys(
                repository=("addonResizer", "image", "repository"),
                tag=("addonResizer", "image", "tag"),
                defaults={
                    ("addonResizer", "image", "repository"): "registry.k8s.io/autoscaling/addon-resizer",
                    ("addonResizer", "image", "tag"): "1.8.23",
                },
            ),
            enabled_if=(Switch(("addonResizer", "enabled"), default=False),),
        ),
    ),
    keys=PlacementKeys(replicas="replicas"),
    resources=on_both_arches(Resources(cpu="100m", memory="200Mi", memory_limit="400Mi")),
    replicas=2,
    pod_labels={"app.kubernetes.io/name": "metrics-server"},
    extra_values={"podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
    templates=("templates/deployment.yaml",),
)


def values(context: AddonContext) -> dict[str, Any]:
    # The chart's container context is restricted already but runs as 1000; metrics-server writes only its
    # serving certificate, into an emptyDir (world-writable), so any UID serves.
    return {"podSecurityContext": restricted_pod(), "securityContext": {"runAsUser": UNPRIVILEGED_UID}}


SPEC = AddonSpec(
    key="metricsServer",
    release="metrics-server",
    namespace=KUBE_SYSTEM,
    chart="metrics-server",
    repository="https://kubernetes-sigs.github.io/metrics-server/",
    version="3.13.1",
    summary="autoscaling metrics (resource metrics API for HPA and kubectl top)",
    workloads=(SERVER,),
    values=values,
    chart_dir="metrics-server-3.13.1",
    create_namespace=False,
)
