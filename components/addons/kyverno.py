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
from armful.addons.spec import AddonSpec, ChartRefusal
from armful.placement.workloads import (
    Image,
    ImageKeys,
    Not,
    PlacementKeys,
    Resources,
    Switch,
    ValuesPath,
    Workload,
    WorkloadKind,
    on_both_arches,
)

CHART_VERSION = "3.9.0"
APP_VERSION = "v1.19.0"
RELEASE = "kyverno"
DEFAULT_REGISTRY = "reg.kyverno.io"
GLOBAL_REGISTRY: ValuesPath = ("global", "image", "registry")


def _keys(
    base: ValuesPath,
    repository: str,
    *,
    registry: str | None = None,
    default_registry: str | None = DEFAULT_REGISTRY,
    with_global: bool = True,
    empty_tag: str = APP_VERSION,
) -> ImageKeys:
    """The chart's ``kyverno.image``: the image's own registry, else ``global.image.registry`` (where the
    template passes it), else its ``defaultRegistry``; an empty tag is the template's default tag."""
    registries = ((*base, "registry"),) + ((GLOBAL_REGISTRY,) if with_global else ())
    defaults: dict[ValuesPath, str | None] = {
        (*base, "registry"): registry,
        (*base, "repository"): repository,
    }
    if default_registry is not None:
        registries += ((*base, "defaultRegistry"),)
        defaults[(*base, "defaultRegistry")] = default_registry
    return ImageKeys(
        repository=(*base, "repository"),
        tag=(*base, "tag"),
        registries=registries,
        empty_tag=empty_tag,
        defaults=defaults,
    )


def _image(base: ValuesPath, name: str) -> Image:
    return Image.from_keys(_keys(base, f"kyverno/{name}"))


def _readiness_checker(base: ValuesPath, *, with_global: bool, empty_tag: str) -> Image:
    keys = _keys(
        base,
        "kyverno/readiness-checker",
        registry="ghcr.io",
        default_registry=None,
        with_global=with_global,
        empty_tag=empty_tag,
    )
    return Image("ghcr.io/kyverno/readiness-checker", APP_VERSION, keys=keys)


# The webhook cleanup hooks default to the appVersion; the test pods to `latest`, which Armful pins.
READINESS_CHECKER = _readiness_checker(("webhooksCleanup", "image"), with_global=True, empty_tag=APP_VERSION)
TEST_IMAGE = _readiness_checker(("test", "image"), with_global=False, empty_tag="latest")


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
# Templating mode renders the hooks' ClusterRoles but none of their Jobs.
_TEMPLATING = Switch(("global", "templating", "enabled"), default=False)


ADMISSION_CONTROLLER = Workload(
    name="admission-controller",
    kind=WorkloadKind.DEPLOYMENT,
    images=(
        _image(("admissionController", "initContainer", "image"), "kyvernopre"),
        _image(("admissionController", "container", "image"), "kyverno"),
    ),
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
    templates=("templates/admission-controller/deployment.yaml",),
    extra_containers=(
        ("admissionController", "extraInitContainers"),
        ("admissionController", "extraContainers"),
    ),
)


def _optional_controller(component: str, values_key: str, resources: Resources) -> Workload:
    """The background, cleanup and reports controllers: laid out alike in the chart, each switchable."""
    return Workload(
        name=component,
        kind=WorkloadKind.DEPLOYMENT,
        images=(_image((values_key, "image"), component),),
        path=(values_key,),
        keys=_CONTROLLER_KEYS,
        resources=on_both_arches(resources),
        replicas=2,
        pod_labels=_pod_labels(component),
        extra_values={"podDisruptionBudget": _pdb(1)},
        enabled_if=(Switch((values_key, "enabled"), default=True),),
        templates=(f"templates/{component}/deployment.yaml",),
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
    images=(_image(("crds", "migration", "image"), "kyverno-cli"),),
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
    enabled_if=(Switch(("crds", "migration", "enabled"), default=True), Not(_TEMPLATING)),
    templates=("templates/hooks/post-upgrade-migrate-resources.yaml",),
)


# Two pre-delete Jobs render from the same ``webhooksCleanup`` keys; each is a pod that must schedule.
def _webhooks_cleanup_job(name: str, template: str) -> Workload:
    return Workload(
        name=name,
        kind=WorkloadKind.HOOK_JOB,
        images=(READINESS_CHECKER,),
        path=("webhooksCleanup",),
        keys=_HOOK_KEYS,
        resources=_HOOK_RESOURCES,
        enabled_if=(Switch(("webhooksCleanup", "enabled"), default=True), Not(_TEMPLATING)),
        templates=(f"templates/hooks/{template}",),
    )


WEBHOOKS_CLEANUP = _webhooks_cleanup_job("rm-webhooks", "pre-delete-remove-webhooks.yaml")
SCALE_TO_ZERO = _webhooks_cleanup_job("scale-to-zero", "pre-delete-scale-to-zero.yaml")

TEST = Workload(
    name="test",
    kind=WorkloadKind.HOOK_JOB,
    images=(TEST_IMAGE,),
    path=("test",),
    # The test pod takes only a nodeSelector and tolerations.
    keys=PlacementKeys(
        affinity=None, node_affinity=None, replicas=None, priority_class=None, topology_spread=None
    ),
    resources=_HOOK_RESOURCES,
    # The chart's default tag is `latest`: pin it to the release so the image is the one we checked.
    extra_values={"image": {"tag": APP_VERSION}},
    templates=tuple(
        f"templates/tests/{name}.yaml"
        for name in (
            "admission-controller-liveness",
            "admission-controller-metrics",
            "admission-controller-readiness",
            "cleanup-controller-liveness",
            "cleanup-controller-metrics",
            "cleanup-controller-readiness",
            "reports-controller-metrics",
        )
    ),
)

_CONTROLLERS = ("admissionController", "backgroundController", "cleanupController", "reportsController")


def _runs(component: str) -> tuple[Switch, ...]:
    # The admission controller has no enabled flag that removes its Deployment.
    return () if component == "admissionController" else (Switch((component, "enabled"), default=True),)


REFUSALS = (
    *(
        ChartRefusal(
            (*_runs(component), Switch((component, "replicas"), 0)),
            "Kyverno does not support running with 0 replicas. Please provide a non-zero integer value.",
            (component, "replicas"),
            f"give {component}.replicas at least 1, or leave it out (Armful's value stands)"
            if component == "admissionController"
            else f"give at least 1, or turn the controller off with {component}.enabled: false",
            "templates/_helpers/_deployment.tpl",
        )
        for component in _CONTROLLERS
    ),
    *(
        ChartRefusal(
            (
                *_runs(component),
                Switch((component, "podDisruptionBudget", "enabled"), default=False),
                Switch((component, "podDisruptionBudget", "minAvailable"), default=1),
                Switch((component, "podDisruptionBudget", "maxUnavailable"), default=None),
            ),
            "Cannot set both .minAvailable and .maxUnavailable",
            (component, "podDisruptionBudget", "maxUnavailable"),
            f"set {component}.podDisruptionBudget.minAvailable: null beside maxUnavailable (Armful sets "
            "minAvailable), or leave maxUnavailable out",
            "templates/_helpers/_pdb.tpl",
        )
        for component in _CONTROLLERS
    ),
    *(
        ChartRefusal(
            (
                Switch(("cleanupController", "enabled"), default=True),
                Switch(("crds", "groups", "kyverno", crd), False, default=True),
            ),
            f"CRD {crd} disabled while cleanupController enabled",
            ("crds", "groups", "kyverno", crd),
            f"keep crds.groups.kyverno.{crd} on, or turn the cleanup controller off (cleanupController.enabled: "
            "false)",
            "templates/validate.yaml",
        )
        for crd in ("cleanuppolicies", "clustercleanuppolicies")
    ),
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
    refusals=REFUSALS,
    chart_dir=f"kyverno-{CHART_VERSION}",
)
