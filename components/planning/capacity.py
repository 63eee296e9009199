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
from armful.core.arch import Arch
from armful.core.config import WorkloadConfig
from armful.core.errors import ConfigIssue, StackConfigError, config_path
from armful.core.findings import Finding, FindingLevel
from armful.core.instance_catalog import CATALOG, InstanceType, family_sizes
from armful.core.node_allocatable import Allocatable, node_room
from armful.core.pools import PoolPlan, PoolRole
from armful.core.quantities import parse_cpu, parse_memory
from armful.core.values_tree import get_path, without_nulls
from armful.placement.app_placement import WorkloadPlacement
from armful.placement.workloads import Workload, key_path
from armful.planning.releases import PlacementEntry

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
    one_per_node: bool = False
    """Required anti-affinity against its own pods over hostnames: no two replicas on one node."""
    max_skew: int | None = None
    """A ``DoNotSchedule`` spread over hostnames selecting its own pods: a node may hold at most this many
    more replicas than the emptiest node it may use."""
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
        """The smallest of the CPU, memory and pod-slot shares left free at the minimum size."""
        allocatable, headroom = self.allocatable, self.headroom
        return min(
            headroom.cpu / allocatable.cpu if allocatable.cpu else 0.0,
            headroom.memory / allocatable.memory if allocatable.memory else 0.0,
            headroom.pods / allocatable.pods if allocatable.pods else 0.0,
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
    """What a container's ``resources`` under a values path ask the scheduler for: each resource's request,
    else its limit (Kubernetes makes a limit the request when none is set), else nothing."""
    stated = {}
    for part in ("requests", "limits"):
        given = get_path(tree, (*path, part)) or {}
        if not isinstance(given, Mapping):
            raise _values_error(where, (*path, part), f"{part} must be a map, not {given!r}")
        stated[part] = given
    try:
        figures = {
            resource: parse(value)
            for resource, parse in (("cpu", parse_cpu), ("memory", parse_memory))
            if (value := stated["requests"].get(resource, stated["limits"].get(resource))) is not None
        }
    except ValueError as error:
        raise _values_error(where, path, str(error)) from None
    return Room(int(figures.get("cpu", 0)), float(figures.get("memory", 0.0)))


def _values_error(where: str, path: tuple[str, ...], problem: str) -> StackConfigError:
    return StackConfigError(
        [
            ConfigIssue(
                config_path("addons", where, "values", ".".join(path)), problem, "give Kubernetes quantities"
            )
        ]
    )


def pod_request(workload: Workload, values: Mapping[str, Any], arch: Arch, where: str) -> Room:
    """One pod's requests: its main container as the values set them (or as the add-on's own
    manifest does, where Armful writes no resources), and each sidecar that runs."""
    seen = without_nulls(values)
    keys = workload.keys
    override = workload.resources_override
    if keys.resources is not None:
        total = _requests_at(seen, key_path(workload.path, keys.resources), where)
    elif override is not None and get_path(seen, override.path):
        others = override.others
        total = _requests_at(seen, override.path, where).times(override.containers) + (
            Room(parse_cpu(others.cpu), parse_memory(others.memory)) if others else Room()
        )
    else:
        declared = workload.resources.get(arch)
        total = Room(parse_cpu(declared.cpu), parse_memory(declared.memory)) if declared else Room()
    for sidecar in workload.sidecars:
        if sidecar.runs(values):
            total += _requests_at(seen, sidecar.resources, where)
    return replace(total, pods=1)


def _selects(selector: Any, labels: Mapping[str, str]) -> bool:
    """A ``labelSelector`` with ``matchLabels`` only, matching these pod labels; expressions are not modelled,
    so such a selector is taken not to match (the pod is then packed without that spread)."""
    if not isinstance(selector, Mapping) or selector.get("matchExpressions"):
        return False
    wanted = selector.get("matchLabels") or {}
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def _node_spreading(workload: Workload, values: Mapping[str, Any]) -> tuple[bool, int | None]:
    """Whether its replicas refuse to share a node, and how unevenly they may, from the values."""
    seen = without_nulls(values)
    keys = workload.keys
    labels = dict(workload.pod_labels)
    affinity = get_path(seen, key_path(workload.path, keys.affinity)) if keys.affinity else None
    terms = (
        ((affinity or {}).get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    ) or []
    one_per_node = any(
        isinstance(t, Mapping)
        and t.get("topologyKey") == HOSTNAME
        and _selects(t.get("labelSelector"), labels)
        for t in terms
    )
    spread = get_path(seen, key_path(workload.path, keys.topology_spread)) if keys.topology_spread else None
    skews = [
        int(s.get("maxSkew", 1))
        for s in spread or ()
        if isinstance(s, Mapping)
        and s.get("topologyKey") == HOSTNAME
        and s.get("whenUnsatisfiable") == "DoNotSchedule"
        and _selects(s.get("labelSelector"), labels)
    ]
    return one_per_node, (min(skews) if skews else None)


def addon_pod_groups(
    addons: Iterable[tuple[AddonSpec | ManagedAddonSpec, Mapping[str, Any]]],
    placement: Sequence[PlacementEntry],
    pools: Sequence[PoolPlan],
) -> list[PodGroup]:
    """Every add-on pod that will run: each placed workload's replicas (as placement counted them), or its
    agent on each node."""
    placed = {(entry.release, entry.workload): entry for entry in placement}
    by_name = {pool.name: pool for pool in pools}
    system_arch = next(pool.arch for pool in pools if pool.role is PoolRole.SYSTEM)
    groups = []
    for spec, values in addons:
        where = spec.key
        for workload in spec.workloads:
            # Placement holds exactly the workloads the values turn on.
            entry = placed.get((spec.release, workload.name))
            if entry is None:
                continue
            targets = entry.pools
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
                    entry.replicas or 0,
                    False,
                    targets,
                    *_node_spreading(workload, values),
                    transient=workload.kind.is_job,
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
        placed_on = dict.fromkeys(candidates, 0)

        def spread_allows(
            spot: tuple[str, int], group: PodGroup = group, placed_on: dict = placed_on
        ) -> bool:
            if group.one_per_node and placed_on[spot]:
                return False
            # Kubernetes' skew: this node's count once placed, less the emptiest eligible node's.
            return group.max_skew is None or placed_on[spot] + 1 - min(placed_on.values()) <= group.max_skew

        for _ in range(group.count):
            spot = next(
                (s for s in candidates if free[s[0]][s[1]].holds(group.request) and spread_allows(s)), None
            )
            if spot is None:
                ask(next(p for p in group.pools if p in free), group, placed=False)
                continue
            pool, index = spot
            free[pool][index] -= group.request
            placed_on[spot] += 1
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
    pools: Sequence[PoolPlan], groups: Sequence[PodGroup], overflow: frozenset[str] = frozenset()
) -> tuple[list[PoolCapacity], list[Finding]]:
    """Each pool's room at its minimum and desired size, and what does not fit.

    ``overflow`` names the pods that a Karpenter NodePool takes when the managed pools have no room:
    they wait for a node Karpenter launches instead of failing the proof."""
    sized = [pool for pool in pools if pool.node is not None]
    at_min = _forgiving(pack(sized, {pool.name: pool.min_size for pool in sized}, groups), overflow)
    at_desired = _forgiving(pack(sized, {pool.name: pool.desired_size for pool in sized}, groups), overflow)
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
        elif not capacity.at_min.nodes:
            findings += _agents_on_a_first_node(pool, groups)
        elif capacity.headroom_share < LOW_HEADROOM:
            findings.append(
                Finding(
                    FindingLevel.WARNING,
                    "low-headroom",
                    f"pool {pool.name} keeps less than {LOW_HEADROOM:.0%} of its allocatable CPU, memory or pod "
                    f"slots free at minSize {pool.min_size}: {capacity.headroom} left of {capacity.allocatable}. "
                    "A rolling update or one more replica may not fit. Fix: raise minSize or use larger "
                    "instance types",
                )
            )
    findings += _single_system_node(sized, groups)
    return capacities, findings


def _forgiving(packings: dict[str, Packing], overflow: frozenset[str]) -> dict[str, Packing]:
    return {
        name: replace(
            packing,
            unplaced={
                subject: count for subject, count in packing.unplaced.items() if subject not in overflow
            },
        )
        for name, packing in packings.items()
    }


def _agents_on_a_first_node(pool: PoolPlan, groups: Sequence[PodGroup]) -> list[Finding]:
    """A pool of minSize 0 proves nothing at its minimum: its node agents must fit on the first node it
    gets, or every node it ever launches starts with a Pending agent."""
    packed = pack([pool], {pool.name: 1}, [g for g in groups if g.node_agent])[pool.name]
    if not packed.unplaced:
        return []
    agents = ", ".join(packed.unplaced)
    return [
        Finding(
            FindingLevel.ERROR,
            "insufficient-capacity",
            f"pool {pool.name} has minSize 0, but one {pool.node_instance_type} node has no room for its node "
            f"agents ({agents}: {packed.requested} against {Room.of_node(pool.node)}), so every node it "  # type: ignore[arg-type]
            f"launches would keep them Pending. Fix: {_fix_agents(pool, groups)}",
        )
    ]


def _fix_agents(pool: PoolPlan, groups: Sequence[PodGroup]) -> str:
    for larger in _larger_types(pool):
        resized = replace(pool, node=node_room(larger), node_instance_type=larger.name)
        if not pack([resized], {pool.name: 1}, [g for g in groups if g.node_agent])[pool.name].unplaced:
            return f"instance types of at least {larger.name}"
    return "use larger instance types"


def _pods(count: int) -> str:
    return f"{count} pod{'' if count == 1 else 's'}"


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
    spread = sorted(
        g.subject
        for g in groups
        if g.subject in packed.unplaced and (g.one_per_node or g.max_skew is not None)
    )
    if shortfall:
        why = f"short of {', '.join(shortfall)}"
    elif spread:
        why = f"the total would fit, but {', '.join(spread)} must spread over more nodes"
    else:
        why = "the total would fit, but no single node has room for what is left"
    nodes = f"{packed.nodes} x {pool.node_instance_type}" if packed.nodes else "no nodes"
    consequence = (
        "the first pulumi up would fail (releases are atomic and no autoscaler adds nodes)"
        if capacity.at_desired.unplaced
        else f"they would stay Pending whenever the pool is at minSize (it starts at desiredSize "
        f"{pool.desired_size}, where they fit), and no autoscaler adds nodes"
    )
    return Finding(
        FindingLevel.ERROR,
        "insufficient-capacity",
        f"pool {pool.name} ({nodes} at minSize {pool.min_size}) has no room for {_pods(missing)}: {pods}. Its "
        f"pods request {capacity.requested} against {capacity.allocatable} allocatable ({why}): {consequence}. "
        f"Fix: {_fix(pool, pools, groups)}",
    )


def _fix(pool: PoolPlan, pools: Sequence[PoolPlan], groups: Sequence[PodGroup]) -> str:
    """Changes that make the pool's pods fit, each proven by packing again."""
    sizes = {other.name: other.min_size for other in pools}
    fixes = []
    agents = {g.subject for g in groups if g.node_agent}
    # More nodes never make room for a node agent: each node gets one of its own.
    if not set(pack(pools, sizes, groups)[pool.name].unplaced) <= agents:
        for count in range(pool.min_size + 1, LARGEST_NODE_COUNT_TRIED + 1):
            if not pack(pools, {**sizes, pool.name: count}, groups)[pool.name].unplaced:
                also = [
                    # A desiredSize left unset follows minSize; one set below the new minimum must rise.
                    f"desiredSize {count}" if pool.min_size < pool.desired_size < count else "",
                    f"maxSize {count}" if count > pool.max_size else "",
                ]
                extra = " and ".join(a for a in also if a)
                fixes.append(f"minSize {count}" + (f" (and {extra})" if extra else ""))
                break
    for larger in _larger_types(pool):
        resized = replace(pool, node=node_room(larger), node_instance_type=larger.name)
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
    return [
        candidate
        for candidate in family_sizes(current.family)
        if not candidate.bare_metal
        and (candidate.vcpus, candidate.memory_mib) > (current.vcpus, current.memory_mib)
    ]


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
            "replicas: on one node they all share its fate, and draining it for an upgrade or a replacement "
            "either waits forever on their PodDisruptionBudgets or takes every replica down at once. "
            "Fix: minSize 2",
        )
    ]
