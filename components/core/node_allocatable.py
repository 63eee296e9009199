"""What the kubelet leaves for pods on one node, as EKS's AL2023 AMI (nodeadm) configures it (design §5).

Each figure follows awslabs/amazon-eks-ami, whose code decides it on the node:

- Max pods: the VPC CNI gives each pod a secondary IPv4 address of an ENI on the default network
  card, so ``ENIs x (IPv4 per ENI - 1) + 2`` (host-network pods need none: the ``+ 2``). That is
  nodeadm's ``calculateStandardMaxPods`` (nodeadm/internal/kubelet/eni_max_pods.go) and the
  published eni-max-pods.txt. With prefix delegation each secondary slot holds a /28 (16
  addresses), on Nitro and bare-metal instances only (the VPC CNI's IsPrefixDelegationSupported).
  EKS caps either figure at 110, or 250 above 30 vCPUs (templates/al2/runtime/max-pods-calculator.sh,
  which managed node groups apply).
- kube-reserved CPU (nodeadm/internal/kubelet/config.go, getCPUMillicoresToReserve): 6% of the
  first core, 1% of the second, 0.5% of the third and fourth, 0.25% of each one above, counted in
  whole millicores with each band rounded down on its own (Go integer division of
  ``millicores x basis points / 10000``), then added up.
- kube-reserved memory (getMemoryMebibytesToReserve): ``11 MiB x maxPods + 255 MiB``, where maxPods
  is nodeadm's own ENI figure, uncapped and without prefix delegation, even when the node's actual
  max pods is capped or raised by prefix delegation (amazon-eks-ami issues #1698 and #2580).
- Eviction: ``evictionHard: memory.available: 100Mi`` (defaultKubeletSubConfig).

Capacity is EC2's nominal memory. A node's kubelet reports the kernel's MemTotal, which is a few
percent lower, so the memory figure here is an upper bound of what the node will show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from armful.core.instance_catalog import InstanceType

ADDRESSES_PER_PREFIX = 16
POD_CEILING = 110
POD_CEILING_ABOVE_30_VCPUS = 250
EVICTION_MEMORY_MIB = 100

# (first millicore of the band, last millicore or None for no end, basis points reserved)
_CPU_RESERVE_BANDS: tuple[tuple[int, int | None, int], ...] = (
    (0, 1000, 600),
    (1000, 2000, 100),
    (2000, 4000, 50),
    (4000, None, 25),
)


@dataclass(frozen=True)
class Allocatable:
    """A node's room for pods: what the scheduler compares the sum of pod requests against."""

    cpu_millicores: int
    memory_mib: int
    pods: int


def eni_max_pods(instance: InstanceType) -> int:
    """Max pods by addresses alone: eni-max-pods.txt's figure, and the one nodeadm reserves memory for."""
    return instance.default_card_max_enis * (instance.ipv4_per_eni - 1) + 2


def max_pods(instance: InstanceType, prefix_delegation: bool = False) -> int:
    """The kubelet's maxPods on a managed node group's node, with EKS's ceiling applied."""
    if prefix_delegation and instance.supports_prefix_delegation:
        by_addresses = instance.default_card_max_enis * (instance.ipv4_per_eni - 1) * ADDRESSES_PER_PREFIX + 2
    else:
        by_addresses = eni_max_pods(instance)
    ceiling = POD_CEILING_ABOVE_30_VCPUS if instance.vcpus > 30 else POD_CEILING
    return min(by_addresses, ceiling)


def kube_reserved_cpu_millicores(vcpus: int) -> int:
    total = vcpus * 1000
    reserved = 0
    for start, end, basis_points in _CPU_RESERVE_BANDS:
        if total > start:
            band_top = total if end is None else min(total, end)
            reserved += (band_top - start) * basis_points // 10000
    return reserved


def kube_reserved_memory_mib(max_pods: int) -> int:
    return 11 * max_pods + 255


def allocatable(instance: InstanceType, prefix_delegation: bool = False) -> Allocatable:
    """Capacity - kube-reserved - eviction threshold; the kubelet shows a negative remainder as zero."""
    memory = instance.memory_mib - kube_reserved_memory_mib(eni_max_pods(instance)) - EVICTION_MEMORY_MIB
    return Allocatable(
        cpu_millicores=instance.vcpus * 1000 - kube_reserved_cpu_millicores(instance.vcpus),
        memory_mib=max(memory, 0),
        pods=max_pods(instance, prefix_delegation),
    )


# The kubelet's memory capacity is the kernel's MemTotal, short of EC2's figure by what firmware and the
# kernel keep; Karpenter, which must predict it before a node exists, takes 7.5% (its
# vmMemoryOverheadPercent default). The capacity proof uses the same margin, so that "fits" holds on a
# real node rather than on EC2's nominal memory.
VM_MEMORY_OVERHEAD = 0.075


def without_vm_overhead(node: Allocatable, memory_mib: int) -> Allocatable:
    """``node``'s allocatable with ``memory_mib`` of capacity reported as a kubelet would."""
    return Allocatable(
        node.cpu_millicores, max(node.memory_mib - math.ceil(memory_mib * VM_MEMORY_OVERHEAD), 0), node.pods
    )


def allocatable_of_figures(vcpus: int, memory_mib: int, max_pods: int) -> Allocatable:
    """The same for a node described by its figures (a type the catalog does not know)."""
    memory = memory_mib - kube_reserved_memory_mib(max_pods) - EVICTION_MEMORY_MIB
    return Allocatable(vcpus * 1000 - kube_reserved_cpu_millicores(vcpus), max(memory, 0), max_pods)


def smallest(nodes: Iterable[tuple[str, Allocatable]]) -> tuple[str, Allocatable]:
    """A managed node group may launch any of its types: what fits must fit on the smallest of each
    figure. Named after the type with the least CPU, then memory."""
    listed = list(nodes)
    name, _ = min(listed, key=lambda item: (item[1].cpu_millicores, item[1].memory_mib, item[1].pods))
    return name, Allocatable(
        min(node.cpu_millicores for _, node in listed),
        min(node.memory_mib for _, node in listed),
        min(node.pods for _, node in listed),
    )


def node_room(instance: InstanceType) -> Allocatable:
    """What a node of this type leaves for pods, as its kubelet will report it."""
    return without_vm_overhead(allocatable(instance), instance.memory_mib)
