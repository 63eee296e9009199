"""cert-manager: issues and renews TLS certificates (webhooks, ingress) from Issuers and ClusterIssuers.

Chart facts for v1.21.1 that shape this module:
- Top-level ``nodeSelector``/``tolerations``/``affinity`` belong to the controller only; ``webhook.*``,
  ``cainjector.*`` and ``startupapicheck.*`` each carry their own. There is no ``global.tolerations``.
- There is no per-component ``priorityClassName``: only ``global.priorityClassName``, which every pod of
  the chart (hook Job included) reads. It is set in ``values`` and the placement keys say None.
- ``startupapicheck`` has no replicas and no ``topologySpreadConstraints`` key.
- The schema sets ``additionalProperties: false`` everywhere, so an unknown key fails the install.
- ``podDisruptionBudget.minAvailable`` exists only in the schema (commented out in values.yaml); with
  neither it nor ``maxUnavailable`` set, the chart renders ``minAvailable: 1``, so ``enabled`` suffices.
- Images default to ``quay.io/jetstack/<name>:<appVersion>``; the release tool stamps appVersion
  ``v1.21.1`` into the published chart (the source Chart.yaml says v0.0.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from armful.addons import namespaces
from armful.addons.context import AddonContext
from armful.addons.security_context import UNPRIVILEGED_UID
from armful.addons.spec import AddonSpec, ChartRefusal
from armful.placement.workloads import (
    Image,
    PlacementKeys,
    Resources,
    Switch,
    ValuesPath,
    Workload,
    WorkloadKind,
    given,
    on_both_arches,
)

VERSION = "v1.21.1"
RELEASE = "cert-manager"
# The chart's defaults: every image is <imageRegistry>/<imageNamespace>/<its image.name>.
IMAGE_REGISTRY = "quay.io"
IMAGE_NAMESPACE = "jetstack"
REGISTRY = f"{IMAGE_REGISTRY}/{IMAGE_NAMESPACE}"


@dataclass(frozen=True)
class CertManagerImage:
    """The chart's ``cert-manager.image`` helper: ``image.repository`` if set, else
    ``[imageRegistry/][imageNamespace/]image.name``, either one behind ``image.registry`` when that is set;
    then ``:tag@digest``, ``:tag``, ``@digest``, or ``:<appVersion>``."""

    base: ValuesPath
    name: str

    def _read(self, values: Mapping[str, Any], path: ValuesPath, default: str = "") -> str:
        value = given(values, path, default)
        return "" if value is None else str(value)

    def reference(self, values: Mapping[str, Any]) -> str:
        repository = self._read(values, (*self.base, "repository"))
        if not repository:
            parts = (
                self._read(values, ("imageRegistry",), IMAGE_REGISTRY),
                self._read(values, ("imageNamespace",), IMAGE_NAMESPACE),
                self._read(values, (*self.base, "name"), self.name),
            )
            repository = "/".join(part for part in parts if part)
        registry = self._read(values, (*self.base, "registry"))
        if registry:
            repository = f"{registry}/{repository}"
        tag, digest = self._read(values, (*self.base, "tag")), self._read(values, (*self.base, "digest"))
        if tag and digest:
            return f"{repository}:{tag}@{digest}"
        if tag:
            return f"{repository}:{tag}"
        return f"{repository}@{digest}" if digest else f"{repository}:{VERSION}"

    @property
    def paths(self) -> tuple[ValuesPath, ...]:
        return (
            ("imageRegistry",),
            ("imageNamespace",),
            *((*self.base, key) for key in ("registry", "repository", "name", "tag", "digest")),
        )


def _image(base: ValuesPath, name: str) -> Image:
    return Image(f"{REGISTRY}/{name}", VERSION, keys=CertManagerImage(base, name))


def _pod_labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/component": component,
    }


_DEPLOYMENT_KEYS = PlacementKeys(priority_class=None)


def _pdb() -> dict[str, Any]:
    return {"podDisruptionBudget": {"enabled": True}}


CONTROLLER = Workload(
    name="controller",
    kind=WorkloadKind.DEPLOYMENT,
    images=(_image(("image",), "cert-manager-controller"),),
    path=(),
    # The chart's only priority class key is global: every cert-manager pod is a cluster-critical controller.
    keys=PlacementKeys(priority_class=("global", "priorityClassName")),
    # Memory grows with the Certificates and Secrets it caches.
    resources=on_both_arches(Resources(cpu="50m", memory="192Mi", memory_limit="512Mi")),
    replicas=2,
    pod_labels=_pod_labels("cert-manager", "controller"),
    extra_values=_pdb(),
    templates=("templates/deployment.yaml",),
    extra_containers=(("extraContainers",),),
)

WEBHOOK = Workload(
    name="webhook",
    kind=WorkloadKind.DEPLOYMENT,
    images=(_image(("webhook", "image"), "cert-manager-webhook"),),
    path=("webhook",),
    keys=_DEPLOYMENT_KEYS,
    resources=on_both_arches(Resources(cpu="20m", memory="64Mi", memory_limit="192Mi")),
    # On the admission path (failurePolicy Fail) and the CRDs' conversion webhook: with it down, every
    # write to a cert-manager resource fails. Three replicas keep two serving through a node drain.
    replicas=3,
    pod_labels=_pod_labels("webhook", "webhook"),
    extra_values=_pdb(),
    templates=("templates/webhook-deployment.yaml",),
)

CAINJECTOR = Workload(
    name="cainjector",
    kind=WorkloadKind.DEPLOYMENT,
    images=(_image(("cainjector", "image"), "cert-manager-cainjector"),),
    path=("cainjector",),
    keys=_DEPLOYMENT_KEYS,
    # Caches webhook configurations, CRDs, APIServices and their CA Secrets.
    resources=on_both_arches(Resources(cpu="50m", memory="128Mi", memory_limit="512Mi")),
    replicas=2,
    pod_labels=_pod_labels("cainjector", "cainjector"),
    extra_values=_pdb(),
    enabled_if=(Switch(("cainjector", "enabled"), default=True),),
    templates=("templates/cainjector-deployment.yaml",),
)

STARTUP_API_CHECK = Workload(
    name="startupapicheck",
    kind=WorkloadKind.HOOK_JOB,
    images=(_image(("startupapicheck", "image"), "cert-manager-startupapicheck"),),
    path=("startupapicheck",),
    keys=PlacementKeys(replicas=None, priority_class=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="10m", memory="32Mi", memory_limit="64Mi")),
    enabled_if=(Switch(("startupapicheck", "enabled"), default=True),),
    templates=("templates/startupapicheck-job.yaml",),
)

REFUSALS = (
    ChartRefusal(
        (
            Switch(("prometheus", "enabled"), default=True),
            Switch(("prometheus", "podmonitor", "enabled"), default=False),
            Switch(("prometheus", "servicemonitor", "enabled"), default=False),
        ),
        "Either .Values.prometheus.podmonitor.enabled or .Values.prometheus.servicemonitor.enabled can be "
        "enabled at a time, but not both.",
        ("prometheus", "podmonitor", "enabled"),
        "turn on one of prometheus.podmonitor and prometheus.servicemonitor",
        "templates/podmonitor.yaml",
    ),
)


def values(context: AddonContext) -> dict[str, Any]:
    # The chart's pods are restricted already; their images run as 1000 and write nothing (read-only root
    # filesystems, no volumes), so each pod's context only moves them off a UID the node has.
    unprivileged = {"securityContext": {"runAsUser": UNPRIVILEGED_UID, "runAsGroup": UNPRIVILEGED_UID}}
    return {
        **unprivileged,
        "webhook": unprivileged,
        "cainjector": unprivileged,
        "startupapicheck": unprivileged,
        # CRDs ship with the release (so an Issuer can be created right after), and `keep` leaves them
        # behind on uninstall: deleting them would garbage-collect every Certificate and Issuer.
        "crds": {"enabled": True, "keep": True},
    }


SPEC = AddonSpec(
    key="certManager",
    release=RELEASE,
    namespace=namespaces.CERT_MANAGER,
    chart="cert-manager",
    repository="oci://quay.io/jetstack/charts/cert-manager",
    version=VERSION,
    summary="certificates (cert-manager: ACME and private CA issuers, webhook serving certificates)",
    workloads=(CONTROLLER, WEBHOOK, CAINJECTOR, STARTUP_API_CHECK),
    values=values,
    refusals=REFUSALS,
    chart_dir=f"cert-manager-{VERSION}",
)
