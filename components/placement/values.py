"""Placement values for a workload, from the rules of design §3, written into the chart's own keys.

One function decides for every add-on: controllers to the system pool, node agents to every pool, arch
selectors only where an image lacks an arch the cluster has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from armful.core.arch import Arch
from armful.core.pools import ARCH_LABEL, PoolPlan, system_pool
from armful.core.quantities import parse_cpu, parse_memory
from armful.core.values_tree import set_path
from armful.placement.rules import node_agent_tolerations, system_node_selector, system_tolerations
from armful.placement.workloads import Resources, Workload, key_path

SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"
SYSTEM_NODE_CRITICAL = "system-node-critical"
ZONE_LABEL = "topology.kubernetes.io/zone"


ImageArches = Mapping[str, frozenset[Arch] | None]
"""Each image a pod pulls → the arches it has, None where they are not known."""


def declared_arches(workload: Workload) -> dict[str, frozenset[Arch] | None]:
    """The arches declared for the workload's images at the chart's defaults."""
    return {image.ref: image.arches for image in workload.images}


def runnable_arches(images: ImageArches) -> frozenset[Arch]:
    """The arches every image with known arches has: the pod runs only where all of them do."""
    arches = frozenset(Arch)
    for known in images.values():
        if known is not None:
            arches &= known
    return arches


def placement_values(
    workload: Workload, pools: Sequence[PoolPlan], images: ImageArches | None = None
) -> dict[str, Any]:
    """The values Armful sets for one workload, as a tree rooted at the chart's top level.

    ``images`` are the images its pods will pull with their arches (the declared ones by default).
    """
    keys = workload.keys
    runnable = runnable_arches(declared_arches(workload) if images is None else images)
    cluster_arches = {pool.arch for pool in pools}
    entries: dict[str | tuple[str, ...] | None, Any] = {}

    if workload.kind.is_node_agent:
        selector = {}
        if keys.tolerate_all is not None:
            entries[keys.tolerate_all] = True
        else:
            entries[keys.tolerations] = node_agent_tolerations(pools)
        entries[keys.priority_class] = SYSTEM_NODE_CRITICAL
        resources = _largest(
            profile for arch, profile in workload.resources.items() if arch in cluster_arches
        )
    else:
        selector = system_node_selector()
        entries[keys.tolerations] = system_tolerations(pools)
        entries[keys.priority_class] = SYSTEM_CLUSTER_CRITICAL
        resources = workload.resources.get(system_pool(pools).arch)
        if workload.replicas is not None:
            entries[keys.replicas] = workload.replicas
        if workload.pod_labels and (workload.replicas or 0) > 1:
            entries[keys.topology_spread] = [zone_spread(workload.pod_labels)]

    if not cluster_arches <= runnable and len(runnable & cluster_arches) == 1:
        selector = {**selector, ARCH_LABEL: next(iter(runnable & cluster_arches)).value}
    if selector:
        entries[keys.node_selector] = selector
    if resources is not None:
        entries[keys.resources] = resources.to_values()

    tree: dict[str, Any] = {}
    for key, value in entries.items():
        if key is not None:
            set_path(tree, key_path(workload.path, key), value)
    for key, value in workload.extra_values.items():
        set_path(tree, key_path(workload.path, key), value)
    return tree


def zone_spread(pod_labels: dict[str, str] | Any) -> dict[str, Any]:
    """Spread replicas over AZs, but still schedule when an AZ has no room (ScheduleAnyway)."""
    return {
        "maxSkew": 1,
        "topologyKey": ZONE_LABEL,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": dict(pod_labels)},
    }


def _largest(profiles: Iterable[Resources]) -> Resources | None:
    """A DaemonSet has one pod spec for every arch in the cluster: give it what the hungrier one needs."""
    candidates = list(profiles)
    if not candidates:
        return None

    def biggest(values: Iterable[str | None], size: Callable[[str], float]) -> str | None:
        present = [value for value in values if value]
        return max(present, key=size) if present else None

    return Resources(
        cpu=biggest((p.cpu for p in candidates), parse_cpu) or candidates[0].cpu,
        memory=biggest((p.memory for p in candidates), parse_memory) or candidates[0].memory,
        memory_limit=biggest((p.memory_limit for p in candidates), parse_memory),
        cpu_limit=biggest((p.cpu_limit for p in candidates), parse_cpu),
    )
