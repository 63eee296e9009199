"""What a workload is to placement: its kind, images, per-arch resources and where its keys sit.

Charts name their keys differently (cert-manager's top-level ``nodeSelector`` is the controller's only;
kyverno replaces ``global.*`` with a component's own value), so every workload names its own keys and
nothing is inferred from a chart's layout. Add-on modules declare workloads; placement owns the shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

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


ValuesPath = tuple[str, ...]
"""A key in a chart's values, from its top level."""


def given(values: Mapping[str, Any], path: ValuesPath, default: Any = None) -> Any:
    """A key as the chart's templates see it once Helm has merged the values over its defaults: the
    value given, else the chart's ``default``; a null given (here or above) removes the default, so it
    reads as nil."""
    node: Any = values
    for part in path:
        if node is None:
            return None
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


@dataclass(frozen=True)
class Switch:
    """One values key a chart's template tests to decide whether something renders."""

    path: ValuesPath
    when: Any = True
    """True: on when the value is truthy; a frozenset: on when it is one of them; else on when equal."""
    default: Any = None
    """The chart's own default at ``path`` (its values.yaml), which holds when the values leave it out."""

    def holds(self, values: Mapping[str, Any]) -> bool:
        value = given(values, self.path, self.default)
        if self.when is True:
            # Go templates' truth (``if``, ``and``, ``default``) is Python's: false, 0, nil and empty fail.
            return bool(value)
        if isinstance(self.when, frozenset):
            return value in self.when
        return bool(value == self.when)

    def switches(self) -> tuple[Switch, ...]:
        return (self,)


@dataclass(frozen=True)
class Not:
    """The template's ``not``: on when the condition is off (``not .Values.useStatefulSet``)."""

    condition: Condition

    def holds(self, values: Mapping[str, Any]) -> bool:
        return not self.condition.holds(values)

    def switches(self) -> tuple[Switch, ...]:
        return self.condition.switches()


@dataclass(frozen=True)
class AllOf:
    """The template's ``and``."""

    conditions: tuple[Condition, ...]

    def holds(self, values: Mapping[str, Any]) -> bool:
        return all_hold(self.conditions, values)

    def switches(self) -> tuple[Switch, ...]:
        return tuple(switch for condition in self.conditions for switch in condition.switches())


@dataclass(frozen=True)
class AnyOf:
    """The template's ``or``."""

    conditions: tuple[Condition, ...]

    def holds(self, values: Mapping[str, Any]) -> bool:
        return any(condition.holds(values) for condition in self.conditions)

    def switches(self) -> tuple[Switch, ...]:
        return tuple(switch for condition in self.conditions for switch in condition.switches())


Condition = Switch | Not | AllOf | AnyOf
"""What a chart's ``if`` around a template (or a subchart's ``condition:``) tests, as data."""


def all_hold(conditions: Iterable[Condition], values: Mapping[str, Any]) -> bool:
    return all(condition.holds(values) for condition in conditions)


class ImageSource(Protocol):
    """How a chart's template builds one container's image reference from its values."""

    def reference(self, values: Mapping[str, Any]) -> str: ...

    @property
    def paths(self) -> tuple[ValuesPath, ...]:
        """Every values key the reference is built from."""
        ...


@dataclass(frozen=True)
class ImageKeys:
    """The common way: a registry, a repository, a tag and perhaps a digest, each under its own key.

    ``reference`` is ``[registry/]repository[:tag][<digest_prefix>digest]``, the registry being the first
    of ``registries`` that is set, and an empty tag ``empty_tag`` (the chart's appVersion default) or
    left out. ``defaults`` are the chart's own values for these keys.
    """

    repository: ValuesPath
    tag: ValuesPath | None = None
    registries: tuple[ValuesPath, ...] = ()
    digest: ValuesPath | None = None
    digest_prefix: str = "@"
    """``@sha256:`` where the chart's key holds the bare hex; ``@`` where it holds ``sha256:<hex>``."""
    digest_replaces_tag: bool = False
    """The chart writes ``repository@digest`` with no tag when a digest is set."""
    empty_tag: str = ""
    """What the template uses when the tag is empty (``.Chart.AppVersion``); "" leaves the tag out."""
    tag_suffix: tuple[Condition, str] | None = None
    """Text the template appends to the tag when a condition holds (node-exporter's ``-distroless``)."""
    defaults: Mapping[ValuesPath, Any] = field(default_factory=dict, hash=False)

    def _read(self, values: Mapping[str, Any], path: ValuesPath | None) -> str:
        if path is None:
            return ""
        value = given(values, path, self.defaults.get(path))
        return "" if value is None else str(value)

    def reference(self, values: Mapping[str, Any]) -> str:
        registry = next((r for r in (self._read(values, path) for path in self.registries) if r), "")
        repository = self._read(values, self.repository)
        tag = self._read(values, self.tag) or self.empty_tag
        if tag and self.tag_suffix is not None and self.tag_suffix[0].holds(values):
            tag += self.tag_suffix[1]
        digest = self._read(values, self.digest)
        text = f"{registry}/{repository}" if registry else repository
        if tag and not (digest and self.digest_replaces_tag):
            text += f":{tag}"
        return text + (f"{self.digest_prefix}{digest}" if digest else "")

    @property
    def paths(self) -> tuple[ValuesPath, ...]:
        return tuple(p for p in (*self.registries, self.repository, self.tag, self.digest) if p is not None)


@dataclass(frozen=True)
class Image:
    """An image at the tag the pinned chart uses, the architectures its publisher builds, and where the
    chart's values name it, so the image the final values run is the one judged."""

    repository: str
    tag: str
    arches: frozenset[Arch] = BOTH_ARCHES
    keys: ImageSource | None = None
    """Where the chart's values set this image; None where no key does (an EKS add-on's)."""
    enabled_if: tuple[Condition, ...] = ()
    """What must hold for a container running this image to be in the pod (a sidecar's flag)."""

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"

    def at(self, values: Mapping[str, Any]) -> str:
        """The reference the chart renders for these values (overrides included)."""
        return self.keys.reference(values) if self.keys is not None else self.ref

    def runs(self, values: Mapping[str, Any]) -> bool:
        return all_hold(self.enabled_if, values)

    @classmethod
    def from_keys(
        cls,
        keys: ImageKeys,
        arches: frozenset[Arch] = BOTH_ARCHES,
        enabled_if: tuple[Condition, ...] = (),
    ) -> Image:
        """The image the chart's own defaults name (``keys.defaults``), with the keys that change it."""
        repository, _, tag = keys.reference({}).rpartition(":")
        return cls(repository, tag, arches, keys, enabled_if)


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
    enabled_if: tuple[Condition, ...] = ()
    """What must hold for the chart to run the container; () when it always runs."""

    def runs(self, values: Mapping[str, Any]) -> bool:
        return all_hold(self.enabled_if, values)


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
    enabled_if: tuple[Condition, ...] = ()
    """What the chart's template tests before rendering it (subchart conditions included); () when it
    always renders."""
    templates: tuple[str, ...] = ()
    """The chart's template files that render its pod templates, from the chart's root
    (``charts/grafana/templates/deployment.yaml``)."""
    extra_containers: tuple[ValuesPath, ...] = ()
    """Values keys holding lists of containers the chart adds to its pods as given (``initContainers``):
    their images run too."""

    def runs(self, values: Mapping[str, Any]) -> bool:
        """Whether the chart renders it with these final values."""
        return all_hold(self.enabled_if, values)

    def images_at(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """Every image its pods pull with these values: each declared container that runs, at the
        reference the values give it, and any container the values add; each once."""
        refs = [image.at(values) for image in self.images if image.runs(values)]
        for path in self.extra_containers:
            containers = given(values, path)
            if isinstance(containers, list):
                refs += [
                    c["image"]
                    for c in containers
                    if isinstance(c, Mapping) and isinstance(c.get("image"), str)
                ]
        return tuple(dict.fromkeys(refs))

    def declared_image(self, ref: str) -> Image | None:
        """The declared image whose reference at Armful's values is ``ref`` (an override's is none)."""
        return next((image for image in self.images if image.ref == ref), None)

    @property
    def pod_security(self) -> PodSecurityLevel:
        """The strictest Pod Security level its pods meet. Host access is what baseline refuses, so a workload
        that declares any needs privileged; every other add-on pod is restricted (tests/security proves
        both on the rendered charts)."""
        return PodSecurityLevel.PRIVILEGED if self.host_access else PodSecurityLevel.RESTRICTED
