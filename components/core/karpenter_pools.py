"""Karpenter NodePools planned against the topology and the instance catalog (design §9).

A NodePool is a pool to placement: one arch, the labels and taints its nodes will carry, Armful's arch
taint in ``mixed`` for the non-preferred arch, exactly as a managed worker pool. To capacity it is
elastic: Karpenter launches the cheapest allowed instance that fits the pending pods, up to its limits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from armful.core.arch import Arch, arch_of_instance_type
from armful.core.errors import ConfigIssue, config_path
from armful.core.instance_catalog import CATALOG, InstanceType
from armful.core.karpenter_config import KarpenterCapacityType, NodePoolConfig
from armful.core.node_allocatable import Allocatable, node_room
from armful.core.pools import (
    ARCH_LABEL,
    OS_LABEL,
    POOL_LABEL,
    ROLE_LABEL,
    CapacityType,
    NodeAmiRelease,
    NodeVersions,
    OsFamily,
    PoolPlan,
    PoolRole,
    Provisioner,
    ami_type,
    release_version_parameter,
)
from armful.core.quantities import parse_cpu, parse_memory
from armful.core.taints import Taint, TaintEffect
from armful.core.topology import Topology

NODEPOOL_LABEL = "karpenter.sh/nodepool"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
CATEGORY_LABEL = "karpenter.k8s.aws/instance-category"
FAMILY_LABEL = "karpenter.k8s.aws/instance-family"
SIZE_LABEL = "karpenter.k8s.aws/instance-size"
HYPERVISOR_LABEL = "karpenter.k8s.aws/instance-hypervisor"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
DEFAULT_CATEGORIES = ("c", "m", "r")
"""Compute, general purpose and memory optimised: what Karpenter's own examples start from."""
PREFERRED_WEIGHT, OTHER_WEIGHT = 50, 10
ALIAS_FAMILIES = {OsFamily.AL2023: "al2023", OsFamily.BOTTLEROCKET: "bottlerocket"}
"""Each OS family's name in an EC2NodeClass AMI alias (``al2023@v20260401``). There is one EC2NodeClass per
OS family in use, named so too."""

_CATEGORY = re.compile(r"^[a-z]+")


def instance_category(instance: InstanceType) -> str:
    """Karpenter's category: the family's leading letters (``m7g`` → ``m``, ``inf2`` → ``inf``)."""
    match = _CATEGORY.match(instance.family)
    return match.group(0) if match else ""


def instance_size(instance: InstanceType) -> str:
    return instance.name.split(".", 1)[1]


@dataclass(frozen=True)
class NodePoolPlan:
    """One Karpenter NodePool, fully decided: the object Armful applies and what its nodes carry."""

    name: str
    arch: Arch
    os_family: OsFamily
    capacity_types: tuple[KarpenterCapacityType, ...]
    instance_types: tuple[InstanceType, ...]
    """Every catalog type the requirements allow, smallest first."""
    requirements: tuple[dict[str, Any], ...]
    labels: dict[str, str]
    """The labels Armful and the user set in the NodePool's template."""
    taints: tuple[Taint, ...]
    limit_cpu_millicores: int
    limit_memory_mib: float
    config: NodePoolConfig
    versions: NodeVersions | None = None
    """The cluster's Kubernetes version and AMI release rule, which its EC2NodeClass follows."""

    @property
    def node_class(self) -> str:
        return ALIAS_FAMILIES[self.os_family]

    @property
    def smallest(self) -> InstanceType:
        return self.instance_types[0]

    @property
    def launchable(self) -> tuple[InstanceType, ...]:
        """The allowed types one node of which stays within the limits (Karpenter launches no other)."""
        return tuple(
            known
            for known in self.instance_types
            if known.vcpus * 1000 <= self.limit_cpu_millicores and known.memory_mib <= self.limit_memory_mib
        )

    @property
    def largest_room(self) -> tuple[str, Allocatable]:
        """The launchable type that leaves the most room for pods, and that room."""
        best = max(
            self.launchable,
            key=lambda known: (node_room(known).cpu_millicores, node_room(known).memory_mib),
        )
        return best.name, node_room(best)

    @property
    def node_labels(self) -> dict[str, str]:
        """What every node of the NodePool carries: its template's labels and Karpenter's own."""
        labels = {**self.labels, NODEPOOL_LABEL: self.name}
        if len(self.capacity_types) == 1:
            labels[CAPACITY_TYPE_LABEL] = self.capacity_types[0].value
        return labels

    def selection(self) -> str:
        """The instance types it may launch, in a few words: what it asks for and what that allows."""
        config = self.config
        if config.instance_types is not None:
            asked = ", ".join(config.instance_types)
        else:
            parts = [
                f"{label} {', '.join(values)}"
                for label, values in (
                    (
                        "categories",
                        config.instance_categories
                        or (None if config.instance_families else DEFAULT_CATEGORIES),
                    ),
                    ("families", config.instance_families),
                    ("sizes", config.instance_sizes),
                )
                if values
            ]
            asked = "; ".join(parts)
        launchable = self.launchable
        return (
            f"{asked} ({len(launchable)} types within limits, {launchable[0].name} to {self.largest_room[0]})"
        )

    def as_pool(self) -> PoolPlan:
        """The NodePool as placement sees it: a worker pool of one arch, with no fixed nodes."""
        return PoolPlan(
            name=self.name,
            role=PoolRole.WORKERS,
            arch=self.arch,
            instance_types=tuple(known.name for known in self.instance_types),
            os_family=self.os_family,
            capacity_type=(
                CapacityType.ON_DEMAND
                if KarpenterCapacityType.ON_DEMAND in self.capacity_types
                else CapacityType.SPOT
            ),
            min_size=0,
            max_size=0,
            desired_size=0,
            disk_size_gib=self.config.disk_size_gib,
            labels=self.node_labels,
            taints=self.taints,
            provisioner=Provisioner.KARPENTER,
        )

    def to_json(self) -> dict[str, Any]:
        """The NodePool's entry in the plan's ``pools`` (design §6): every field a managed pool has (no fixed
        sizes: 0; the instance types it may launch; its on-demand or spot capacity), and Karpenter's own."""
        largest, _ = self.largest_room
        versions = self._versions_json()
        return {
            **self.as_pool().to_json(),
            "release_version": versions["ami_alias"],
            "provisioner": Provisioner.KARPENTER.value,
            "role": PoolRole.WORKERS.value,
            "arch": self.arch.value,
            "arches": [self.arch.value],
            "os_family": self.os_family.value,
            "node_class": self.node_class,
            "capacity_types": [capacity.value for capacity in self.capacity_types],
            "requirements": [dict(requirement) for requirement in self.requirements],
            "instance_types_allowed": len(self.instance_types),
            "smallest_instance_type": self.smallest.name,
            "largest_instance_type": largest,
            "limits": {"cpu": self.config.limits.cpu, "memory": self.config.limits.memory},
            "labels": self.node_labels,
            "taints": [taint.to_kubernetes() for taint in self.taints],
            "weight": self.config.weight,
            **versions,
        }

    @property
    def release_parameter(self) -> str | None:
        """The SSM parameter whose AMI release the EC2NodeClass's alias is dated from (Graviton's and x86's
        releases share their date)."""
        if self.versions is None:
            return None
        return release_version_parameter(
            ami_type(self.os_family, Arch.ARM64), self.versions.kubernetes_version
        )

    def _versions_json(self) -> dict[str, Any]:
        versions = self.versions
        if versions is None:
            return {
                "kubernetes_version": None,
                "ami_release": None,
                "release_parameter": None,
                "ami_alias": None,
            }
        family = ALIAS_FAMILIES[self.os_family]
        return {
            "kubernetes_version": versions.kubernetes_version,
            "ami_release": versions.ami_release.value,
            "release_parameter": self.release_parameter,
            "ami_alias": (
                f"<{family}@v... published for Kubernetes {versions.kubernetes_version} at each deploy>"
                if versions.ami_release is NodeAmiRelease.LATEST
                else f"<{family}@v... published for Kubernetes {versions.kubernetes_version} when the "
                "EC2NodeClass is created, then kept>"
            ),
        }


def default_node_pools(topology: Topology, preferred_arch: Arch | None) -> list[NodePoolConfig]:
    """One NodePool per worker arch of the topology; in ``mixed`` the preferred arch weighs more."""
    preferred = topology.app_arch(preferred_arch)
    return [
        NodePoolConfig(
            name=f"{arch.value}-elastic",
            arches=[arch],
            weight=(PREFERRED_WEIGHT if arch is preferred else OTHER_WEIGHT)
            if topology.has_preferred_arch
            else None,
        )
        for arch in sorted(topology.traits.worker_arches, key=lambda arch: arch is not preferred)
    ]


def plan_node_pools(
    configs: Sequence[NodePoolConfig],
    topology: Topology,
    preferred_arch: Arch | None,
    managed_names: Sequence[str],
    path: tuple[str | int, ...],
    versions: NodeVersions | None = None,
) -> tuple[list[NodePoolPlan], list[ConfigIssue]]:
    """Each NodePool checked against the topology, the catalog and its own limits; issues name their path."""
    plans: list[NodePoolPlan] = []
    issues: list[ConfigIssue] = []
    seen = set(managed_names)
    for index, config in enumerate(configs):
        at = (*path, index)
        if config.name in seen:
            issues.append(
                ConfigIssue(
                    config_path(*at, "name"),
                    f"{config.name!r} is already the name of a pool or NodePool; nodes carry it as {POOL_LABEL}",
                    "give every pool and NodePool its own name",
                )
            )
            continue
        seen.add(config.name)
        plan, plan_issues = _plan_node_pool(config, topology, preferred_arch, at)
        issues += plan_issues
        if plan is not None:
            plans.append(replace(plan, versions=versions))
    return plans, issues


def _plan_node_pool(
    config: NodePoolConfig, topology: Topology, preferred_arch: Arch | None, at: tuple[str | int, ...]
) -> tuple[NodePoolPlan | None, list[ConfigIssue]]:
    arch, issues = _arch(config, topology, at)
    if arch is None:
        return None, issues
    allowed, type_issues = _allowed_types(config, arch, at)
    issues += type_issues
    if issues:
        return None, issues
    if not allowed:
        return None, [
            ConfigIssue(
                config_path(*at),
                f"no {arch.value} instance type in Armful's catalog matches this NodePool's categories, "
                "families and sizes, so Karpenter could launch nothing",
                "widen instanceCategories, instanceFamilies or instanceSizes",
            )
        ]
    cpu, memory = parse_cpu(config.limits.cpu), parse_memory(config.limits.memory)
    smallest = allowed[0]
    if cpu < smallest.vcpus * 1000 or memory < smallest.memory_mib:
        return None, [
            ConfigIssue(
                config_path(*at, "limits"),
                f"limits of {config.limits.cpu} vCPU and {config.limits.memory} are below one node of its "
                f"smallest allowed type, {smallest.name} ({smallest.vcpus} vCPU, {smallest.memory_mib} MiB), "
                "so Karpenter could never launch a node",
                f"raise limits to at least cpu {smallest.vcpus} and memory {smallest.memory_mib}Mi",
            )
        ]
    taints = []
    if topology.tainted_arch(arch, preferred_arch):
        taints.append(Taint(ARCH_LABEL, arch.value, TaintEffect.NO_SCHEDULE))
    taints += [taint.to_taint() for taint in config.taints]
    plan = NodePoolPlan(
        name=config.name,
        arch=arch,
        os_family=config.os_family,
        capacity_types=tuple(config.capacity_types),
        instance_types=tuple(allowed),
        requirements=tuple(_requirements(config, arch)),
        labels={POOL_LABEL: config.name, ROLE_LABEL: PoolRole.WORKERS.value, **config.labels},
        taints=tuple(taints),
        limit_cpu_millicores=cpu,
        limit_memory_mib=memory,
        config=config,
    )
    return plan, []


def _arch(
    config: NodePoolConfig, topology: Topology, at: tuple[str | int, ...]
) -> tuple[Arch | None, list[ConfigIssue]]:
    allowed = topology.allowed_arches(PoolRole.WORKERS)
    named = [*(config.instance_families or ()), *(config.instance_types or ())]
    implied = {arch for name in named if (arch := arch_of_instance_type(name)) is not None}
    if config.arches:
        arch = config.arches[0]
    elif len(allowed) == 1:
        arch = next(iter(allowed))
    elif len(implied) == 1:
        arch = next(iter(implied))
    else:
        return None, [
            ConfigIssue(
                config_path(*at, "arches"),
                f"topology {topology.value} has workers of both arches, and this NodePool names none",
                "set arches: [arm64] or [amd64], one NodePool per arch",
            )
        ]
    if arch not in allowed:
        wanted = " or ".join(sorted(a.value for a in allowed))
        return None, [
            ConfigIssue(
                config_path(*at, "arches"),
                f"NodePool {config.name!r} is {arch.value}, but topology {topology.value} ({topology.summary}) "
                f"needs {wanted} workers",
                f"use arches: [{wanted}], or choose another topology",
            )
        ]
    return arch, []


def _allowed_types(
    config: NodePoolConfig, arch: Arch, at: tuple[str | int, ...]
) -> tuple[list[InstanceType], list[ConfigIssue]]:
    issues: list[ConfigIssue] = []
    if config.instance_types is not None:
        chosen = []
        for index, name in enumerate(config.instance_types):
            known = CATALOG.get(name)
            issue = _named_issue(name, known.arch if known else arch_of_instance_type(name), arch, known)
            if issue:
                issues.append(ConfigIssue(config_path(*at, "instanceTypes", index), *issue))
            elif known is not None:
                chosen.append(known)
        return _by_size(chosen), issues
    families = config.instance_families
    for index, family in enumerate(families or ()):
        members = [known for known in CATALOG.values() if known.family == family]
        issue = _named_issue(
            family, arch_of_instance_type(f"{family}.x"), arch, members[0] if members else None
        )
        if issue:
            issues.append(ConfigIssue(config_path(*at, "instanceFamilies", index), *issue))
    categories = config.instance_categories or (None if families else DEFAULT_CATEGORIES)
    sizes = config.instance_sizes
    chosen = [
        known
        for known in CATALOG.values()
        if known.arch is arch
        and known.nitro
        and not known.bare_metal
        and (categories is None or instance_category(known) in categories)
        and (families is None or known.family in families)
        and (sizes is None or instance_size(known) in sizes)
    ]
    return _by_size(chosen), issues


def _named_issue(
    name: str, named_arch: Arch | None, arch: Arch, known: InstanceType | None
) -> tuple[str, str] | None:
    if named_arch is None or known is None:
        return (
            f"Armful's instance catalog has no {name!r}, so it cannot prove what the NodePool's nodes hold",
            "check the spelling (families like m8g, types like m8g.xlarge)",
        )
    if named_arch is not arch:
        return (
            f"{name} is {named_arch.value}, but this NodePool is {arch.value}",
            f"name {arch.value} instance families or types here, or another NodePool for {named_arch.value}",
        )
    return None


def _by_size(types: list[InstanceType]) -> list[InstanceType]:
    return sorted(types, key=lambda known: (known.vcpus, known.memory_mib, known.name))


def _requirements(config: NodePoolConfig, arch: Arch) -> list[dict[str, Any]]:
    """The NodePool's requirements, in the order Karpenter's examples write them."""
    requirements: list[dict[str, Any]] = [
        {"key": ARCH_LABEL, "operator": "In", "values": [arch.value]},
        {"key": OS_LABEL, "operator": "In", "values": ["linux"]},
        {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": [c.value for c in config.capacity_types]},
    ]
    if config.instance_types is not None:
        requirements.append(
            {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": list(config.instance_types)}
        )
        return requirements
    categories = config.instance_categories or (
        None if config.instance_families else list(DEFAULT_CATEGORIES)
    )
    if categories:
        requirements.append({"key": CATEGORY_LABEL, "operator": "In", "values": list(categories)})
    if config.instance_families:
        requirements.append({"key": FAMILY_LABEL, "operator": "In", "values": list(config.instance_families)})
    if config.instance_sizes:
        requirements.append({"key": SIZE_LABEL, "operator": "In", "values": list(config.instance_sizes)})
    # Nitro only: no bare metal (minutes to boot, a whole host per node) and no Xen generation.
    requirements.append({"key": HYPERVISOR_LABEL, "operator": "In", "values": ["nitro"]})
    return requirements
