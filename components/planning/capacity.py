"""The second half of the scheduler: does every pod that passes the filters also find room? (design §5)

Every pod that will run, with its requests as the final values give them (overrides included), is
packed onto the nodes each pool has at its minimum size, every node as small as the smallest
instance type the pool may launch: node agents once on every node they reach, then the rest, largest
first, onto the first node with room; a Job's pod must then find room on one node while it runs.
No autoscaler is installed and releases are atomic, so a pod
that does not fit at the minimum is a failed ``pulumi up``, not a pod waiting for a new node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from armful.addons.eks_managed import ManagedAddonSpec
from armful.addons.spec import AddonSpec
from armful.core.config import WorkloadConfig
from armful.core.errors import ConfigIssue, StackConfigError, config_path
from armful.core.findings import Finding, FindingLevel
from armful.core.instance_catalog import CATALOG, InstanceType
from armful.core.node_allocatable import Allocatable, allocatable
from armful.core.pools import PoolPlan, PoolRole
from armful.core.quantities import parse_cpu, parse_memory
from armful.core.values_tree import get_path, without_nulls
from armful.placement.app_placement import WorkloadPlacement
from armful.placement.workloads import Workload, key_path
from armful.planning.releases import PlacementEntry, replicas_of, workload_enabled

HOSTNAME = "kubernetes.io/hostname"
LOW_HEADROOM = 0.10
"""Below this share of a pool's allocatable CPU or memory left free at its minimum size, a warning."""
LARGEST_NODE_COUNT_TRIED = 100


@dataclass(frozen=True)
class Room:
    """CPU in millicores, memory in MiB, pod slots: what a node offers or a pod asks for."""

    cpu: int = 0
    memory: float = 0.0
    pods: int = 0

    @classmethod
    def of_node(cls, node: Allocatable) -> Room:
        return cls(node.cpu_millicores, float(node.memory_mib), node.pods)

    def __add__(self, other: Room) -> Room:
        return Room(self.cpu + other.cpu, self.memory + other.memory, self.pods + other.pods)

    def __sub__(self, other: Room) -> Room:
        return Room(self.cpu - other.cpu, self.memory - other.memory, self.pods - other.pods)

    def times(self, count: int) -> Room:
        return Room(self.cpu * count, self.memory * count, self.pods * count)

    def holds(self, other: Room) -> bool:
        return self.cpu >= other.cpu and self.memory >= other.memory and self.pods >= other.pods

    def to_json(self) -> dict[str, float | int]:
        return {"cpu": round(self.cpu / 1000, 3), "memory_mib": round(self.memory, 1), "pods": self.pods}

    def __str__(self) -> str:
        return f"{self.cpu / 1000:.2f} vCPU, {_gib(self.memory)}, {self.pods} pods"


def _gib(memory_mib: float) -> str:
    return f"{memory_mib / 1024:.2f} GiB"


@dataclass(frozen=True)
class PodGroup:
    """The pods of one workload: the same requests, the pools they may land on."""

    subject: str
    request: Room
    """One pod's requests (its containers together) and its pod slot."""
    count: int
    """Replicas; a node agent runs one pod on every node it reaches."""
    node_agent: bool
    pools: tuple[str, ...]
    distinct_nodes: bool = False
    """Required anti-affinity or a hostname spread that refuses two replicas on one node."""
    transient: bool = False
    """A Job's pod (hooks included): it runs to completion at install, delete or ``helm test`` time, so it
    needs room next to the steady pods while it runs, but keeps none."""


@dataclass(frozen=True)
class Packing:
    """A pool's nodes after every pod was offered a place."""

    nodes: int
    free: tuple[Room, ...]
    requested: Room
    """Every pod's requests on the pool, with room or without."""
    unplaced: Mapping[str, int] = field(default_factory=dict)
    """Pods without room, by subject."""


@dataclass(frozen=True)
class PoolCapacity:
    pool: PoolPlan
    node: Room
    """One node's allocatable, the smallest the pool may launch."""
    per_node: Room
    """What the node agents take on each node: the node-agent tax."""
    at_min: Packing
    at_desired: Packing

    @property
    def allocatable(self) -> Room:
        return self.node.times(self.at_min.nodes)

    @property
    def requested(self) -> Room:
        """Every pod's requests over the pool at its minimum size."""
        return self.at_min.requested

    @property
    def headroom(self) -> Room:
        return self.allocatable - self.requested

    @property
    def headroom_share(self) -> float:
        """The smaller of the CPU and memory shares left free at the minimum size."""
        allocatable, headroom = self.allocatable, self.headroom
        return min(
            headroom.cpu / allocatable.cpu if allocatable.cpu else 0.0,
            headroom.memory / allocatable.memory if allocatable.memory else 0.0,
        )

    @property
    def room_for_apps(self) -> Room:
        return self.node - self.per_node

    def to_json(self) -> dict[str, Any]:
        return {
            "pool": self.pool.name,
            "instance_type": self.pool.node_instance_type,
            "nodes": self.at_min.nodes,
            "allocatable": self.allocatable.to_json(),
            "requested": self.requested.to_json(),
            "per_node": self.per_node.to_json(),
            "headroom": self.headroom.to_json(),
            "room_for_apps_per_node": self.room_for_apps.to_json(),
            "fits_at_min_size": not self.at_min.unplaced,
            "desired_nodes": self.at_desired.nodes,
            "fits_at_desired_size": not self.at_desired.unplaced,
        }


# --------------------------------------------------------------------------------- the pods that run


def _requests_at(tree: Mapping[str, Any], path: tuple[str, ...], where: str) -> Room:
    """The ``requests`` under a values path; a container without requests asks for nothing."""
    requests = get_path(tree, (*path, "requests")) or {}
    if not isinstance(requests, Mapping):
        raise _values_error(where, (*path, "requests"), f"requests must be a map, not {requests!r}")
    try:
        cpu = parse_cpu(requests["cpu"]) if requests.get("cpu") is not None else 0
        memory = parse_memory(requests["memory"]) if requests.get("memory") is not None else 0.0
    except ValueError as error:
        raise _values_error(where, (*path, "requests"), str(error)) from None
    return Room(cpu, memory)


def _values_error(where: str, path: tuple[str, ...], problem: str) -> StackConfigError:
    return StackConfigError(
        [
            ConfigIssue(
                config_path("addons", where, "values", ".".join(path)), problem, "give Kubernetes quantities"
            )
        ]
    )


def pod_request(workload: Workload, values: Mapping[str, Any], arch: Any, where: str) -> Room:
    """One pod's requests: its main container as the values set them (or as the add-on's own
    manifest does, where Armful writes no resources), and each sidecar that runs."""
    seen = without_nulls(values)
    keys = workload.keys
    if keys.resources is not None:
        total = _requests_at(seen, key_path(workload.path, keys.resources), where)
    else:
        declared = workload.resources.get(arch)
        total = Room(parse_cpu(declared.cpu), parse_memory(declared.memory)) if declared else Room()
    for sidecar in workload.sidecars:
        enabled = get_path(seen, sidecar.enabled_by) if sidecar.enabled_by else True
        if enabled if enabled is not None else sidecar.enabled_by_default:
            total += _requests_at(seen, sidecar.resources, where)
    return replace(total, pods=1)


def _refuses_shared_nodes(workload: Workload, values: Mapping[str, Any]) -> bool:
    """Required pod anti-affinity or a DoNotSchedule spread over hostnames, as the values set them."""
    seen = without_nulls(values)
    keys = workload.keys
    affinity = get_path(seen, key_path(workload.path, keys.affinity)) if keys.affinity else None
    terms = (
        ((affinity or {}).get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    ) or []
    spread = get_path(seen, key_path(workload.path, keys.topology_spread)) if keys.topology_spread else None
    return any(isinstance(t, Mapping) and t.get("topologyKey") == HOSTNAME for t in terms) or any(
        isinstance(s, Mapping)
        and s.get("topologyKey") == HOSTNAME
        and s.get("whenUnsatisfiable") == "DoNotSchedule"
        for s in spread or ()
    )


def addon_pod_groups(
    addons: Iterable[tuple[AddonSpec | ManagedAddonSpec, Mapping[str, Any]]],
    placement: Sequence[PlacementEntry],
    pools: Sequence[PoolPlan],
) -> list[PodGroup]:
    """Every add-on pod that will run: each enabled workload's replicas, or its agent on each node."""
    landing = {(entry.release, entry.workload): entry.pools for entry in placement}
    by_name = {pool.name: pool for pool in pools}
    system_arch = next(pool.arch for pool in pools if pool.role is PoolRole.SYSTEM)
    groups = []
    for spec, values in addons:
        where = spec.key or spec.release
        for workload in spec.workloads:
            if not workload_enabled(workload, values) or (spec.release, workload.name) not in landing:
                continue
            targets = landing[(spec.release, workload.name)]
            subject = f"{spec.release}/{workload.name}"
            if workload.kind.is_node_agent:
                # One pod spec on every arch; where Armful writes no resources the manifest's per-arch
                # requests apply, so each pool's agents are counted with its own arch's.
                for pool_name in targets:
                    arch = by_name[pool_name].arch
                    request = pod_request(workload, values, arch, where)
                    groups.append(PodGroup(subject, request, 1, True, (pool_name,)))
                continue
            groups.append(
                PodGroup(
                    subject,
                    pod_request(workload, values, system_arch, where),
                    replicas_of(workload, values, where),
                    False,
                    targets,
                    _refuses_shared_nodes(workload, values),
                    transient=workload.kind.kubernetes_kind == "Job",
                )
            )
    return groups


def user_pod_groups(
    workloads: Sequence[WorkloadConfig], placements: Sequence[WorkloadPlacement]
) -> list[PodGroup]:
    """The user's workloads that state requests, on the pools they land on."""
    groups = []
    for config, placed in zip(workloads, placements, strict=True):
        if config.requests is None or not placed.pools:
            continue
        request = Room(parse_cpu(config.requests.cpu), parse_memory(config.requests.memory), 1)
        groups.append(PodGroup(f"workload {config.name}", request, config.replicas, False, placed.pools))
    return groups


# --------------------------------------------------------------------------------- packing


def pack(
    pools: Sequence[PoolPlan], nodes: Mapping[str, int], groups: Sequence[PodGroup]
) -> dict[str, Packing]:
    """First fit, node agents first (one per node), then the largest pods first."""
    free: dict[str, list[Room]] = {
        pool.name: [Room.of_node(pool.node)] * nodes[pool.name] for pool in pools if pool.node is not None
    }
    requested: dict[str, Room] = {name: Room() for name in free}
    unplaced: dict[str, dict[str, int]] = {name: {} for name in free}

    def ask(pool: str, group: PodGroup, placed: bool) -> None:
        requested[pool] += group.request
        if not placed:
            unplaced[pool][group.subject] = unplaced[pool].get(group.subject, 0) + 1

    for group in (g for g in groups if g.node_agent):
        for pool in (p for p in group.pools if p in free):
            for index, room in enumerate(free[pool]):
                fits = room.holds(group.request)
                if fits:
                    free[pool][index] = room - group.request
                ask(pool, group, fits)
    steady = [g for g in groups if not g.node_agent and not g.transient and any(p in free for p in g.pools)]
    steady.sort(key=lambda g: (g.request.cpu, g.request.memory), reverse=True)
    for group in steady:
        candidates = [
            (pool, index) for pool in group.pools if pool in free for index in range(len(free[pool]))
        ]
        used: set[tuple[str, int]] = set()
        for _ in range(group.count):
            spot = next(
                (
                    (pool, index)
                    for pool, index in candidates
                    if free[pool][index].holds(group.request)
                    and not (group.distinct_nodes and (pool, index) in used)
                ),
                None,
            )
            if spot is None:
                ask(next(p for p in group.pools if p in free), group, placed=False)
                continue
            pool, index = spot
            free[pool][index] -= group.request
            used.add(spot)
            ask(pool, group, placed=True)
    for group in (g for g in groups if g.transient):
        pools_of_group = [p for p in group.pools if p in free]
        if pools_of_group and not any(room.holds(group.request) for p in pools_of_group for room in free[p]):
            pool = pools_of_group[0]
            unplaced[pool][group.subject] = unplaced[pool].get(group.subject, 0) + 1
    return {
        name: Packing(nodes[name], tuple(rooms), requested[name], unplaced[name])
        for name, rooms in free.items()
    }


# --------------------------------------------------------------------------------- the proof


def plan_capacity(
    pools: Sequence[PoolPlan], groups: Sequence[PodGroup]
) -> tuple[list[PoolCapacity], list[Finding]]:
    """Each pool's room at its minimum and desired size, and what does not fit."""
    sized = [pool for pool in pools if pool.node is not None]
    at_min = pack(sized, {pool.name: pool.min_size for pool in sized}, groups)
    at_desired = pack(sized, {pool.name: pool.desired_size for pool in sized}, groups)
    capacities, findings = [], []
    for pool in sized:
        per_node = sum(
            (group.request for group in groups if group.node_agent and pool.name in group.pools), Room()
        )
        capacity = PoolCapacity(
            pool, Room.of_node(pool.node), per_node, at_min[pool.name], at_desired[pool.name]
        )  # type: ignore[arg-type]
        capacities.append(capacity)
        if capacity.at_min.unplaced:
            findings.append(_insufficient(capacity, sized, groups))
        elif capacity.at_min.nodes and _low(capacity):
            findings.append(
                Finding(
                    FindingLevel.WARNING,
                    "low-headroom",
                    f"pool {pool.name} keeps less than {LOW_HEADROOM:.0%} of its allocatable CPU or memory free at "
                    f"minSize {pool.min_size}: {capacity.headroom} left of {capacity.allocatable}. A rolling "
                    "update or one more replica may not fit. Fix: raise minSize or use larger instance types",
                )
            )
    findings += _single_system_node(sized, groups)
    return capacities, findings


def _low(capacity: PoolCapacity) -> bool:
    allocatable, headroom = capacity.allocatable, capacity.headroom
    return (
        headroom.cpu < LOW_HEADROOM * allocatable.cpu or headroom.memory < LOW_HEADROOM * allocatable.memory
    )


def _insufficient(capacity: PoolCapacity, pools: Sequence[PoolPlan], groups: Sequence[PodGroup]) -> Finding:
    pool = capacity.pool
    packed = capacity.at_min
    pods = ", ".join(f"{subject} x{count}" for subject, count in packed.unplaced.items())
    missing = sum(packed.unplaced.values())
    short = capacity.requested - capacity.allocatable
    shortfall = [
        text
        for text, lacking in (
            (f"{short.cpu / 1000:.2f} vCPU", short.cpu > 0),
            (f"{_gib(short.memory)} of memory", short.memory > 0),
            (f"{short.pods} pod slots", short.pods > 0),
        )
        if lacking
    ]
    why = (
        f"short of {', '.join(shortfall)}"
        if shortfall
        else "the total would fit, but no single node has room for what is left"
    )
    nodes = f"{packed.nodes} x {pool.node_instance_type}" if packed.nodes else "no nodes"
    return Finding(
        FindingLevel.ERROR,
        "insufficient-capacity",
        f"pool {pool.name} ({nodes} at minSize {pool.min_size}) has no room for {missing} pods: {pods}. Its pods "
        f"request {capacity.requested} against {capacity.allocatable} allocatable ({why}), and no autoscaler "
        f"adds nodes, so they would stay Pending and the first pulumi up would fail. Fix: "
        f"{_fix(pool, pools, groups)}",
    )


def _fix(pool: PoolPlan, pools: Sequence[PoolPlan], groups: Sequence[PodGroup]) -> str:
    """Changes that make the pool's pods fit, each proven by packing again."""
    sizes = {other.name: other.min_size for other in pools}
    fixes = []
    for count in range(pool.min_size + 1, LARGEST_NODE_COUNT_TRIED + 1):
        if not pack(pools, {**sizes, pool.name: count}, groups)[pool.name].unplaced:
            fixes.append(f"minSize {count}" + (f" (and maxSize {count})" if count > pool.max_size else ""))
            break
    for larger in _larger_types(pool):
        resized = replace(pool, node=allocatable(larger), node_instance_type=larger.name)
        trial = [resized if other.name == pool.name else other for other in pools]
        if not pack(trial, sizes, groups)[pool.name].unplaced:
            fixes.append(f"instance types of at least {larger.name}")
            break
    return ", or ".join(fixes) if fixes else "give the pool more or larger nodes"


def _larger_types(pool: PoolPlan) -> list[InstanceType]:
    """Sizes of the governing type's family with more room, smallest first."""
    current = CATALOG.get(pool.node_instance_type)
    if current is None or pool.node is None:
        return []
    return sorted(
        (
            candidate
            for candidate in CATALOG.values()
            if candidate.family == current.family
            and not candidate.bare_metal
            and (candidate.vcpus, candidate.memory_mib) > (current.vcpus, current.memory_mib)
        ),
        key=lambda candidate: (candidate.vcpus, candidate.memory_mib),
    )


def _single_system_node(pools: Sequence[PoolPlan], groups: Sequence[PodGroup]) -> list[Finding]:
    system = next((pool for pool in pools if pool.role is PoolRole.SYSTEM), None)
    if system is None or system.min_size != 1:
        return []
    replicated = sorted(
        {g.subject for g in groups if not g.node_agent and g.count > 1 and system.name in g.pools}
    )
    if not replicated:
        return []
    return [
        Finding(
            FindingLevel.ERROR,
            "single-node-system-pool",
            f"the system pool {system.name} has minSize 1, but {', '.join(replicated)} run two or more "
            "replicas behind PodDisruptionBudgets: on one node, draining it for an upgrade or a replacement "
            "waits forever for a replica to move. Fix: minSize 2",
        )
    ]
