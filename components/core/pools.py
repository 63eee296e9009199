"""The planned node pools: what EKS will be asked for, and what the scheduler will see on each node."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from armful.core.arch import Arch
from armful.core.node_allocatable import Allocatable
from armful.core.taints import Taint

POOL_LABEL = "node.armful.dev/pool"
ROLE_LABEL = "node.armful.dev/role"
ARCH_LABEL = "kubernetes.io/arch"
OS_LABEL = "kubernetes.io/os"


class PoolRole(StrEnum):
    SYSTEM = "system"
    WORKERS = "workers"


class OsFamily(StrEnum):
    AL2023 = "AL2023"
    BOTTLEROCKET = "Bottlerocket"


class Provisioner(StrEnum):
    """What launches a pool's nodes: an EKS managed node group of a set size, or Karpenter on demand."""

    MANAGED = "managed"
    KARPENTER = "karpenter"


class CapacityType(StrEnum):
    ON_DEMAND = "ON_DEMAND"
    SPOT = "SPOT"


_AMI_TYPES = {
    (OsFamily.AL2023, Arch.AMD64): "AL2023_x86_64_STANDARD",
    (OsFamily.AL2023, Arch.ARM64): "AL2023_ARM_64_STANDARD",
    (OsFamily.BOTTLEROCKET, Arch.AMD64): "BOTTLEROCKET_x86_64",
    (OsFamily.BOTTLEROCKET, Arch.ARM64): "BOTTLEROCKET_ARM_64",
}


def ami_type(os_family: OsFamily, arch: Arch) -> str:
    return _AMI_TYPES[(os_family, arch)]


class NodeAmiRelease(StrEnum):
    """Which AMI release a managed node group runs: the one it was created with, or the newest."""

    PINNED = "pinned"
    LATEST = "latest"


# The public SSM parameters EKS documents for the newest AMI release of each AMI type and Kubernetes
# version: "Retrieve recommended Amazon Linux AMI IDs" (sub-parameter release_version) and "Retrieve
# recommended Bottlerocket AMI IDs" (sub-parameter image_version) in the Amazon EKS User Guide. Their
# values are what a managed node group's releaseVersion takes (AL2023 1.35.0-20260401, Bottlerocket
# 1.55.0-d93bb1b1).
_RELEASE_PARAMETERS = {
    "AL2023_x86_64_STANDARD": (
        "/aws/service/eks/optimized-ami/{version}/amazon-linux-2023/x86_64/standard/recommended/release_version"
    ),
    "AL2023_ARM_64_STANDARD": (
        "/aws/service/eks/optimized-ami/{version}/amazon-linux-2023/arm64/standard/recommended/release_version"
    ),
    "BOTTLEROCKET_x86_64": "/aws/service/bottlerocket/aws-k8s-{version}/x86_64/latest/image_version",
    "BOTTLEROCKET_ARM_64": "/aws/service/bottlerocket/aws-k8s-{version}/arm64/latest/image_version",
}


def release_version_parameter(ami_type_name: str, kubernetes_version: str) -> str:
    """The SSM parameter holding the newest AMI release EKS publishes for an AMI type and Kubernetes version."""
    return _RELEASE_PARAMETERS[ami_type_name].format(version=kubernetes_version)


@dataclass(frozen=True)
class NodeVersions:
    """What every node group of a cluster runs: the cluster's Kubernetes version, and which AMI release."""

    kubernetes_version: str
    ami_release: NodeAmiRelease = NodeAmiRelease.PINNED


@dataclass(frozen=True)
class PoolPlan:
    """One EKS managed node group, fully decided: every field is what the cloud will get."""

    name: str
    role: PoolRole
    arch: Arch
    instance_types: tuple[str, ...]
    os_family: OsFamily
    capacity_type: CapacityType
    min_size: int
    max_size: int
    desired_size: int
    disk_size_gib: int
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    node: Allocatable | None = None
    """What one node leaves for pods, at the smallest of each figure over the instance types the group
    may launch; None for a pool Armful only places add-ons on."""
    node_instance_type: str = ""
    """The listed instance type with the least room, named where capacity is reported."""
    versions: NodeVersions | None = None
    """The Kubernetes version and AMI release the node group runs; None leaves both to EKS at creation
    (and there they stay)."""
    provisioner: Provisioner = Provisioner.MANAGED
    """Karpenter for a NodePool's nodes: placement sees them as a pool, capacity as elastic."""

    @property
    def ami_type(self) -> str:
        return ami_type(self.os_family, self.arch)

    @property
    def release_parameter(self) -> str | None:
        """The SSM parameter of the AMI release published for this pool's AMI type and Kubernetes version."""
        if self.versions is None:
            return None
        return release_version_parameter(self.ami_type, self.versions.kubernetes_version)

    @property
    def block_devices(self) -> tuple[tuple[str, int | None], ...]:
        """(device, size in GiB or None for the AMI's) of each volume the launch template encrypts.

        Bottlerocket boots from a small OS volume (``/dev/xvda``) and keeps images and containers on a
        data volume (``/dev/xvdb``); AL2023 keeps everything on its root volume.
        """
        if self.os_family is OsFamily.BOTTLEROCKET:
            return (("/dev/xvda", None), ("/dev/xvdb", self.disk_size_gib))
        return (("/dev/xvda", self.disk_size_gib),)

    @property
    def max_unavailable(self) -> int:
        """Nodes replaced at once in a rolling update: one for small pools, a quarter of larger ones,
        and never more than the 100 the EKS API accepts."""
        return min(100, max(1, self.max_size // 4))

    @property
    def node_labels(self) -> dict[str, str]:
        """The labels a node of this pool carries, Kubernetes' own ``kubernetes.io/*`` included."""
        return {**self.labels, ARCH_LABEL: self.arch.value, OS_LABEL: "linux"}

    def description(self) -> dict[str, Any]:
        """What the pool's nodes carry: the ``pools`` output, and a ClusterAddons pool description."""
        return {
            "name": self.name,
            "role": self.role.value,
            "arch": self.arch.value,
            "labels": dict(self.labels),
            "taints": [taint.to_kubernetes() for taint in self.taints],
        }

    def to_json(self) -> dict[str, object]:
        """The pool's entry in ``plan --format json`` (design §6)."""
        return {
            "name": self.name,
            "provisioner": self.provisioner.value,
            "role": self.role.value,
            "arch": self.arch.value,
            "instance_types": list(self.instance_types),
            "ami_type": self.ami_type,
            "capacity_type": self.capacity_type.value,
            "min_size": self.min_size,
            "max_size": self.max_size,
            "desired_size": self.desired_size,
            "labels": dict(self.labels),
            "taints": [taint.to_kubernetes() for taint in self.taints],
            **self._versions_json(),
        }

    def _versions_json(self) -> dict[str, object]:
        """The versions the node group runs. The AMI release is read from EKS's SSM parameter at deploy
        time, so the plan names the parameter and when the release changes."""
        versions = self.versions
        if versions is None:
            return {
                "kubernetes_version": None,
                "release_version": "<EKS's choice at creation>",
                "release_parameter": None,
                "ami_release": None,
            }
        return {
            "kubernetes_version": versions.kubernetes_version,
            "release_version": (
                f"<published for {self.ami_type} and Kubernetes {versions.kubernetes_version} at each deploy>"
                if versions.ami_release is NodeAmiRelease.LATEST
                else f"<published for {self.ami_type} and Kubernetes {versions.kubernetes_version} when the "
                "node group is created or its nodes are replaced (Kubernetes version, launch template), "
                "then kept>"
            ),
            "release_parameter": self.release_parameter,
            "ami_release": versions.ami_release.value,
        }


def managed_pools(pools: Sequence[PoolPlan]) -> tuple[PoolPlan, ...]:
    """The pools that are EKS managed node groups, without Karpenter's NodePools."""
    return tuple(pool for pool in pools if pool.provisioner is Provisioner.MANAGED)


def system_pool(pools: Sequence[PoolPlan]) -> PoolPlan:
    """The one pool of role system (validation guarantees exactly one)."""
    return next(pool for pool in pools if pool.role is PoolRole.SYSTEM)


def pool_from_description(
    name: str,
    role: str,
    arch: str,
    labels: dict[str, str] | None = None,
    taints: Iterable[Taint | Mapping[str, str]] = (),
) -> PoolPlan:
    """A pool of a cluster Armful did not create, described by what its nodes carry, for placement only.

    ``taints`` are Taints or in Kubernetes form (``{"key", "value", "effect": "NoSchedule"}``). The fields that do
    not decide where a pod lands (instance types, sizes, OS family, capacity type) are left neutral, so
    such a plan places add-ons on an existing node group and never creates one.
    """
    return PoolPlan(
        name=name,
        role=PoolRole(role),
        arch=Arch(arch),
        instance_types=(),
        os_family=OsFamily.AL2023,
        capacity_type=CapacityType.ON_DEMAND,
        min_size=0,
        max_size=0,
        desired_size=0,
        disk_size_gib=0,
        labels=dict(labels or {}),
        taints=tuple(taint if isinstance(taint, Taint) else Taint.from_kubernetes(taint) for taint in taints),
    )
