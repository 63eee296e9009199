"""What a workload is to placement: its kind, images, per-arch resources and where its keys sit.

Charts name their keys differently (cert-manager's top-level ``nodeSelector`` is the controller's only;
kyverno replaces ``global.*`` with a component's own value), so every workload names its own keys and
nothing is inferred from a chart's layout. Add-on modules declare workloads; placement owns the shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from armful.core.arch import Arch

BOTH_ARCHES: frozenset[Arch] = frozenset(Arch)


class WorkloadKind(StrEnum):
    DEPLOYMENT = "Deployment"
    STATEFULSET = "StatefulSet"
    DAEMONSET = "DaemonSet"
    JOB = "Job"
    HOOK_JOB = "HookJob"

    @property
    def is_node_agent(self) -> bool:
        return self is WorkloadKind.DAEMONSET

    @property
    def is_hook(self) -> bool:
        return self is WorkloadKind.HOOK_JOB

    @property
    def is_job(self) -> bool:
        """Runs to completion (hooks included), keeping no room once done."""
        return self in (WorkloadKind.JOB, WorkloadKind.HOOK_JOB)

    @property
    def kubernetes_kind(self) -> str:
        return "Job" if self.is_hook else self.value


class HostAccess(StrEnum):
    """What a node agent's pods need of the node beyond what Pod Security's baseline allows."""

    CAPABILITIES = "added Linux capabilities"
    HOST_NAMESPACES = "the host's network or PID namespace"
    HOST_PATH = "host paths"
    HOST_PORTS = "host ports"
    PRIVILEGED = "privileged containers"
    APPARMOR_UNCONFINED = "an unconfined AppArmor profile"


class PodSecurityLevel(StrEnum):
    """The Pod Security Standards' profiles, as Pod Security Admission's namespace labels name them."""

    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"


@dataclass(frozen=True)
class Image:
    """An image at the tag the pinned chart uses, and the architectures its publisher builds."""

    repository: str
    tag: str
    arches: frozenset[Arch] = BOTH_ARCHES

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class Resources:
    """Requests and limits for one architecture: Graviton and x86 cores perform differently."""

    cpu: str
    memory: str
    memory_limit: str | None = None
    cpu_limit: str | None = None

    def to_values(self) -> dict[str, dict[str, str]]:
        limits = {"memory": self.memory_limit or self.memory}
        if self.cpu_limit:
            limits["cpu"] = self.cpu_limit
        return {"requests": {"cpu": self.cpu, "memory": self.memory}, "limits": limits}


def on_both_arches(resources: Resources) -> dict[Arch, Resources]:
    """One profile declared for each arch, where nothing shows Graviton and x86 need different ones."""
    return {Arch.AMD64: resources, Arch.ARM64: resources}


KeyPath = str | tuple[str, ...] | None
"""A key below a workload's path: a name, or several levels (``("container", "resources")``)."""


def key_path(base: tuple[str, ...], key: str | tuple[str, ...]) -> tuple[str, ...]:
    return (*base, *((key,) if isinstance(key, str) else key))


@dataclass(frozen=True)
class Sidecar:
    """Another container in the workload's pods whose requests count with the main container's."""

    resources: tuple[str, ...]
    """Its ``resources`` values path, from the chart's top level."""
    enabled_by: tuple[str, ...] | None = None
    """A values path that turns the container on or off; None when it always runs."""
    enabled_by_default: bool = True
    """Whether the chart runs it when ``enabled_by`` is not set in the values."""


@dataclass(frozen=True)
class ResourcesOverride:
    """Where a user may set requests that Armful itself leaves to the add-on's manifest: a values path whose
    ``resources`` the add-on gives to ``containers`` of the pod's containers, the rest requesting ``others``."""

    path: tuple[str, ...]
    containers: int = 1
    others: Resources | None = None


@dataclass(frozen=True)
class PlacementKeys:
    """Where a workload's keys sit below its path; None where the chart has no such key."""

    node_selector: KeyPath = "nodeSelector"
    tolerations: KeyPath = "tolerations"
    affinity: KeyPath = "affinity"
    """A whole pod ``affinity``."""
    node_affinity: KeyPath = None
    """Only the ``nodeAffinity`` part, for charts that take it alone (kyverno)."""
    resources: KeyPath = "resources"
    replicas: KeyPath = "replicaCount"
    priority_class: KeyPath = "priorityClassName"
    topology_spread: KeyPath = "topologySpreadConstraints"
    tolerate_all: KeyPath = None
    """A flag that makes the chart tolerate every taint itself (the EBS CSI node's ``tolerateAllTaints``):
    Armful sets it for a node agent instead of listing tolerations, which are still read."""

    def scheduling(self) -> dict[str, KeyPath]:
        """The pod fields placement reads, by their name in a pod spec, with where this chart keeps each."""
        return {
            "nodeSelector": self.node_selector,
            "tolerations": self.tolerations,
            "affinity": self.affinity,
            "nodeAffinity": self.node_affinity,
        }


@dataclass(frozen=True)
class Workload:
    """One pod template a release creates: a Deployment, StatefulSet, DaemonSet, Job or hook Job."""

    name: str
    kind: WorkloadKind
    images: tuple[Image, ...]
    path: tuple[str, ...] = ()
    """Where this workload's keys sit in the chart's values (``("webhook",)``; ``()`` for top level)."""
    keys: PlacementKeys = field(default_factory=PlacementKeys)
    resources: Mapping[Arch, Resources] = field(default_factory=dict)
    """Per-arch requests and limits; a DaemonSet spanning both arches gets the larger of each. Where
    ``keys.resources`` is None they are what the add-on's own manifest requests, all containers together."""
    replicas: int | None = None
    """HA replicas for a controller; None where the chart runs one by design (a Job, a singleton)."""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels the chart puts on this workload's pods: zone-spread label selectors and policy exclusions
    select its pods by them."""
    extra_values: Mapping[str, Any] = field(default_factory=dict)
    """Chart-specific values below ``path`` that make the workload production-grade (its PDB keys)."""
    resources_override: ResourcesOverride | None = None
    """Where ``keys.resources`` is None: the values key that still changes the pod's requests."""
    sidecars: tuple[Sidecar, ...] = ()
    """Other long-running containers of its pods (init containers run before and add nothing)."""
    host_access: tuple[HostAccess, ...] = ()
    """What its pods need of the node that Pod Security's baseline refuses (node agents only)."""
    manifest_pod: Mapping[str, Any] = field(default_factory=dict)
    """Pod spec fields the add-on's own manifest sets and no values key reaches (EKS's DaemonSets)."""
    enabled_by: tuple[str, ...] | None = None
    """A values path that turns this workload on or off; None when it always runs."""
    enabled_when: Any = True
    """The value at ``enabled_by`` that runs it: true for a flag, or e.g. ``"daemonset"`` for a mode."""
    enabled_by_default: bool = True
    """Whether the chart runs it when ``enabled_by`` is not set in the values."""

    @property
    def pod_security(self) -> PodSecurityLevel:
        """The strictest Pod Security level its pods meet. Host access is what baseline refuses, so a workload
        that declares any needs privileged; every other add-on pod is restricted (tests/security proves
        both on the rendered charts)."""
        return PodSecurityLevel.PRIVILEGED if self.host_access else PodSecurityLevel.RESTRICTED
