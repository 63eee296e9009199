"""The data an add-on module declares: its chart, its workloads and where each one's keys live.

Charts name their keys differently (cert-manager's top-level ``nodeSelector`` is the controller's only;
kyverno replaces ``global.*`` with a component's own value), so every workload names its own keys and
nothing is inferred from a chart's layout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import Field

from armful.core.arch import Arch
from armful.core.config_base import ConfigModel

if TYPE_CHECKING:
    from armful.addons.context import AddonContext

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
    def kubernetes_kind(self) -> str:
        return "Job" if self.is_hook else self.value


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
    """Per-arch requests and limits; a DaemonSet spanning both arches gets the larger of each."""
    replicas: int | None = None
    """HA replicas for a controller; None where the chart runs one by design (a Job, a singleton)."""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels the chart puts on this workload's pods, for zone-spread label selectors."""
    extra_values: Mapping[str, Any] = field(default_factory=dict)
    """Chart-specific values below ``path`` that make the workload production-grade (its PDB keys)."""
    enabled_by: tuple[str, ...] | None = None
    """A values path that turns this workload on or off; None when it always runs."""
    enabled_when: Any = True
    """The value at ``enabled_by`` that runs it: true for a flag, or e.g. ``"daemonset"`` for a mode."""
    enabled_by_default: bool = True
    """Whether the chart runs it when ``enabled_by`` is not set in the values."""


class AddonOptions(ConfigModel):
    """What every add-on takes in stack config: an enable flag and values overrides."""

    enabled: bool = True
    values: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class PodIdentity:
    """AWS access for one service account through EKS Pod Identity."""

    service_account: str
    managed_policies: tuple[str, ...] = ()
    inline_policy: Callable[[str], dict[str, Any]] | None = None
    """Given the AWS partition, the policy document; None when managed policies suffice."""
    applies: Callable[[AddonOptions], bool] | None = None
    """Whether the add-on needs AWS access with these options; None when it always does."""


@dataclass(frozen=True)
class AddonSpec:
    key: str
    """The add-on's key under ``armful:addons`` in stack config (camelCase)."""
    release: str
    namespace: str
    chart: str
    repository: str
    version: str
    workloads: tuple[Workload, ...]
    values: Callable[[AddonContext], dict[str, Any]]
    """The chart-specific values Armful sets, placement excluded."""
    summary: str = ""
    options: type[AddonOptions] = AddonOptions
    enabled_by_default: bool = True
    needs: tuple[str, ...] = ()
    """Releases this one waits for (the CRDs it uses); everything else installs in parallel."""
    pod_identity: PodIdentity | None = None
    free_form_paths: tuple[str, ...] = ()
    """Values paths whose contents are maps the chart does not enumerate (label maps, extra args)."""
    chart_dir: str = ""
    """The folder of this chart version's default values in shared/charts."""
    subcharts: Mapping[str, str] = field(default_factory=dict)
    """Subchart name (its values key in this chart) → the folder of its default values in shared/charts."""
    create_namespace: bool = True
    log_group: Callable[[str, AddonOptions], LogGroup] | None = None
    """A CloudWatch log group Armful creates for the add-on, from the cluster name and options."""
    gates_other_releases: bool = False
    """Its admission webhook sees other releases' objects and fails closed: the others wait for it."""


def chart_reference(chart: str, repository: str | None) -> str:
    """What Helm's pull takes: an OCI repository names the chart itself (``oci://host/path/chart``),
    an HTTP repository is given separately; ``chart`` alone for a local path.
    """
    if repository and repository.startswith("oci://"):
        base = repository.rstrip("/")
        return base if base.rsplit("/", 1)[-1] == chart else f"{base}/{chart}"
    return chart


@dataclass(frozen=True)
class LogGroup:
    name: str
    retention_days: int
