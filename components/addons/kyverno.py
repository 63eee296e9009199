"""Kyverno: the policy engine (admission webhooks, background scans, cleanup, policy reports).

Chart facts for 3.9.0 (app v1.19.0) that shape this module:
- A component's own ``nodeSelector``/``tolerations`` *replace* ``global.*`` (``default``, not merge),
  so every component, hook Job and test pod gets its own.
- No ``affinity`` key: ``antiAffinity``/``podAntiAffinity``/``podAffinity``/``nodeAffinity`` are separate
  keys, and ``nodeAffinity`` holds only the node part, so the affinity placement key is None.
- The admission controller's replica key is ``replicas`` (null by default), and its resources sit under
  ``admissionController.container.resources`` (one level deeper than a placement key can name), so they
  are written through ``extra_values``. Hook Jobs and test pods have no ``priorityClassName`` key.
- ``crds.migration.resources`` is the list of CRDs to migrate; the Job's pod resources are
  ``crds.migration.podResources``.
- ``webhooksCleanup`` drives two pre-delete hook Jobs (remove webhooks, scale to zero) from one set of
  keys; ``crds.migration`` is a post-upgrade hook Job. There are no CronJobs in this version.
- Helm test pods (``helm.sh/hook: test``) read ``test.*`` and default to ``readiness-checker:latest``.
- Controller images are ``reg.kyverno.io/kyverno/<name>:<appVersion>``; hook images come from ghcr.io.
"""

from __future__ import annotations

from typing import Any

from armful.addons import namespaces
from armful.addons.context import AddonContext
from armful.addons.security_context import restricted_pod
from armful.addons.spec import AddonSpec
from armful.placement.workloads import Image, PlacementKeys, Resources, Workload, WorkloadKind, on_both_arches

CHART_VERSION = "3.9.0"
APP_VERSION = "v1.19.0"
RELEASE = "kyverno"
REGISTRY = "reg.kyverno.io/kyverno"
READINESS_CHECKER = Image("ghcr.io/kyverno/readiness-checker", APP_VERSION)


def _image(name: str) -> Image:
    return Image(f"{REGISTRY}/{name}", APP_VERSION)


def _pod_labels(component: str) -> dict[str, str]:
    # The chart's own match labels: stable across upgrades, unlike app.kubernetes.io/version.
    return {"app.kubernetes.io/component": component, "app.kubernetes.io/instance": RELEASE}


def _pdb(min_available: int) -> dict[str, Any]:
    return {"enabled": True, "minAvailable": min_available}


# No `affinity` key: each component takes `nodeAffinity` (and pod (anti-)affinity) on its own.
_CONTROLLER_KEYS = PlacementKeys(affinity=None, node_affinity="nodeAffinity", replicas="replicas")
_HOOK_KEYS = PlacementKeys(
    affinity=None, node_affinity="nodeAffinity", replicas=None, priority_class=None, topology_spread=None
)
_HOOK_RESOURCES = on_both_arches(Resources(cpu="10m", memory="64Mi", memory_limit="256Mi"))


ADMISSION_CONTROLLER = Workload(
    name="admission-controller",
    kind=WorkloadKind.DEPLOYMENT,
    images=(_image("kyvernopre"), _image("kyverno")),
    path=("admissionController",),
    keys=PlacementKeys(
        affinity=None, node_affinity="nodeAffinity", replicas="replicas", resources=("container", "resources")
    ),
    resources=on_both_arches(Resources(cpu="100m", memory="256Mi", memory_limit="768Mi")),
    # Every admission request of matched resources goes through it (failurePolicy Fail under Enforce).
    replicas=3,
    pod_labels=_pod_labels("admission-controller"),
    # Two of three keep serving while a node drains.
    extra_values={"podDisruptionBudget": _pdb(2)},
)


def _optional_controller(component: str, values_key: str, resources: Resources) -> Workload:
    """The background, cleanup and reports controllers: laid out alike in the chart, each switchable."""
    return Workload(
        name=component,
        kind=WorkloadKind.DEPLOYMENT,
        images=(_image(component),),
        path=(values_key,),
        keys=_CONTROLLER_KEYS,
        resources=on_both_arches(resources),
        replicas=2,
        pod_labels=_pod_labels(component),
        extra_values={"podDisruptionBudget": _pdb(1)},
        enabled_by=(values_key, "enabled"),
    )


BACKGROUND_CONTROLLER = _optional_controller(
    "background-controller",
    "backgroundController",
    Resources(cpu="100m", memory="128Mi", memory_limit="512Mi"),
)
CLEANUP_CONTROLLER = _optional_controller(
    "cleanup-controller", "cleanupController", Resources(cpu="50m", memory="64Mi", memory_limit="256Mi")
)
# Aggregating ephemeral reports is the memory-hungry part of Kyverno on busy clusters.
REPORTS_CONTROLLER = _optional_controller(
    "reports-controller", "reportsController", Resources(cpu="100m", memory="128Mi", memory_limit="512Mi")
)

CRDS_MIGRATION = Workload(
    name="migrate-resources",
    kind=WorkloadKind.HOOK_JOB,
    images=(_image("kyverno-cli"),),
    path=("crds", "migration"),
    keys=PlacementKeys(
        affinity=None,
        node_affinity="nodeAffinity",
        resources="podResources",
        replicas=None,
        priority_class=None,
        topology_spread=None,
    ),
    resources=_HOOK_RESOURCES,
    enabled_by=("crds", "migration", "enabled"),
)


# Two pre-delete Jobs render from the same ``webhooksCleanup`` keys; each is a pod that must schedule.
def _webhooks_cleanup_job(name: str) -> Workload:
    return Workload(
        name=name,
        kind=WorkloadKind.HOOK_JOB,
        images=(READINESS_CHECKER,),
        path=("webhooksCleanup",),
        keys=_HOOK_KEYS,
        resources=_HOOK_RESOURCES,
        enabled_by=("webhooksCleanup", "enabled"),
    )


WEBHOOKS_CLEANUP = _webhooks_cleanup_job("rm-webhooks")
SCALE_TO_ZERO = _webhooks_cleanup_job("scale-to-zero")

TEST = Workload(
    name="test",
    kind=WorkloadKind.HOOK_JOB,
    images=(READINESS_CHECKER,),
    path=("test",),
    # The test pod takes only a nodeSelector and tolerations.
    keys=PlacementKeys(
        affinity=None, node_affinity=None, replicas=None, priority_class=None, topology_spread=None
    ),
    resources=_HOOK_RESOURCES,
    # The chart's default tag is `latest`: pin it to the release so the image is the one we checked.
    extra_values={"image": {"tag": APP_VERSION}},
)


def values(context: AddonContext) -> dict[str, Any]:
    # Every Kyverno container is restricted already (the chart's securityContext); the pods' own context
    # says runAsNonRoot and RuntimeDefault too, so a container added later inherits them.
    # Their API token: with automounting off, the chart mounts a projected token of its own at the same
    # path, expiring after an hour (projectedServiceAccountToken), where the kubelet's automounted token is
    # one the API server accepts long after its hourly rotation (extended expiration).
    service_account = {"serviceAccount": {"automountServiceAccountToken": False}}
    pod = {"podSecurityContext": restricted_pod()}
    controller = {**pod, "rbac": service_account}
    return {
        # kyverno-policies and its `needs` rely on the CRDs coming with this release, not on a chart default.
        "crds": {"install": True, "migration": {**pod, **service_account}},
        "admissionController": controller,
        "backgroundController": controller,
        "cleanupController": controller,
        "reportsController": controller,
        "webhooksCleanup": {**pod, **service_account},
    }


SPEC = AddonSpec(
    key="kyverno",
    release=RELEASE,
    namespace=namespaces.KYVERNO,
    chart="kyverno",
    repository="https://kyverno.github.io/kyverno/",
    version=CHART_VERSION,
    summary="policy engine (Kyverno admission, background, cleanup and reports controllers)",
    workloads=(
        ADMISSION_CONTROLLER,
        BACKGROUND_CONTROLLER,
        CLEANUP_CONTROLLER,
        REPORTS_CONTROLLER,
        CRDS_MIGRATION,
        WEBHOOKS_CLEANUP,
        SCALE_TO_ZERO,
        TEST,
    ),
    values=values,
    chart_dir=f"kyverno-{CHART_VERSION}",
)
