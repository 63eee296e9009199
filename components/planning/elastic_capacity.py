"""Capacity on Karpenter's NodePools: elastic, up to their limits (design §9).

A NodePool has no nodes until pods wait for them; Karpenter then launches an allowed instance type on
which the pending pods and the node agents that reach the NodePool fit, and stops where one more node's
*capacity* (its vCPUs and memory, not what pods request) would pass the NodePool's limits. So:

- a pod fits a NodePool when some type it may launch, within its limits, holds the pod with those agents;
- the pods a NodePool must take (those that can land on no managed pool, and those the managed pools
  have no room for at their minimum size) are packed onto nodes of each type it may launch, and the
  cheapest packing in capacity must stay within its limits. Each such pod is charged to the NodePool of
  the highest weight that can hold it, as Karpenter tries NodePools by weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from armful.core.findings import Finding, FindingLevel
from armful.core.instance_catalog import InstanceType
from armful.core.karpenter_pools import NodePoolPlan
from armful.core.node_allocatable import Allocatable, node_room
from armful.core.pools import PoolPlan
from armful.planning.capacity import LOW_HEADROOM, PodGroup, Room, pack

MOST_NODES_ESTIMATED = 1000
NODES_TRIED_PAST_THE_BOUND = 50
"""First fit beyond the nodes the totals need: a shape that needs more is left out as too wasteful."""


@dataclass(frozen=True)
class Packed:
    """The pods a NodePool must take, packed onto nodes of one instance type."""

    instance_type: str
    nodes: int
    capacity: Room
    """What Karpenter counts against the limits: each node's vCPUs (as millicores) and memory."""
    requested: Room
    """The pods' requests, with the node agents on each of those nodes."""


@dataclass(frozen=True)
class ElasticCapacity:
    node_pool: NodePoolPlan
    largest_instance_type: str
    largest_node: Room
    per_node: Room
    """What the node agents that reach the NodePool take on each of its nodes."""
    packed: Packed | None
    """The cheapest packing of the pods it must take; None when it must take none."""

    @property
    def limits(self) -> Room:
        return Room(self.node_pool.limit_cpu_millicores, self.node_pool.limit_memory_mib, 0)

    def to_json(self) -> dict[str, Any]:
        packed = self.packed
        return {
            "pool": self.node_pool.name,
            "provisioner": "karpenter",
            "largest_instance_type": self.largest_instance_type,
            "largest_node": self.largest_node.to_json(),
            "per_node": self.per_node.to_json(),
            "nodes": packed.nodes if packed else 0,
            "instance_type": packed.instance_type if packed else None,
            "requested": (packed.requested if packed else Room()).to_json(),
            "capacity": _cores_and_mib(packed.capacity if packed else Room()),
            "limits": _cores_and_mib(self.limits),
        }


def _cores_and_mib(room: Room) -> dict[str, float]:
    return {"cpu": round(room.cpu / 1000, 3), "memory_mib": round(room.memory, 1)}


def _capacity_of(instance: InstanceType) -> Room:
    return Room(instance.vcpus * 1000, float(instance.memory_mib), 0)


def _agents(pool: NodePoolPlan, groups: Sequence[PodGroup]) -> Room:
    return sum((g.request for g in groups if g.node_agent and pool.name in g.pools), Room())


def _holds(pool: NodePoolPlan, request: Room, groups: Sequence[PodGroup]) -> bool:
    """Whether some type the NodePool may launch holds ``request`` beside the node agents."""
    agents = _agents(pool, groups)
    return any(Room.of_node(node_room(known)).holds(agents + request) for known in pool.launchable)


def _by_weight(node_pools: Sequence[NodePoolPlan]) -> list[NodePoolPlan]:
    return sorted(node_pools, key=lambda pool: -(pool.config.weight or 0))


def taker(
    group: PodGroup, node_pools: Sequence[NodePoolPlan], groups: Sequence[PodGroup]
) -> NodePoolPlan | None:
    """The NodePool Karpenter launches a node from for a pending pod of ``group``: of those the pod may
    use and that can hold it, the one of the highest weight; None when no NodePool can."""
    return next(
        (
            pool
            for pool in _by_weight(node_pools)
            if pool.name in group.pools and _holds(pool, group.request, groups)
        ),
        None,
    )


def overflow(node_pools: Sequence[NodePoolPlan], groups: Sequence[PodGroup]) -> frozenset[str]:
    """The pods a NodePool takes when the managed pools have no room for them; never a node agent, whose
    pod is bound to its node."""
    return frozenset(
        group.subject
        for group in groups
        if not group.node_agent and taker(group, node_pools, groups) is not None
    )


def spilled(
    managed: Sequence[PoolPlan], groups: Sequence[PodGroup], may_spill: frozenset[str]
) -> dict[str, int]:
    """Pods of ``may_spill`` that the managed pools have no room for at their minimum size, by subject."""
    sized = [pool for pool in managed if pool.node is not None]
    counts: dict[str, int] = {}
    for packing in pack(sized, {pool.name: pool.min_size for pool in sized}, groups).values():
        for subject, count in packing.unplaced.items():
            if subject in may_spill:
                counts[subject] = counts.get(subject, 0) + count
    return counts


def plan_elastic_capacity(
    node_pools: Sequence[NodePoolPlan], groups: Sequence[PodGroup], spill: Mapping[str, int] | None = None
) -> tuple[list[ElasticCapacity], list[Finding]]:
    """Each NodePool's room up to its limits, and what cannot fit. ``spill`` is what the managed pools have
    no room for (``spilled``)."""
    capacities: list[ElasticCapacity] = []
    findings: list[Finding] = []
    names = frozenset(pool.name for pool in node_pools)
    demand: dict[str, list[PodGroup]] = {pool.name: [] for pool in node_pools}
    for group in groups:
        if group.node_agent or group.transient or not names & set(group.pools):
            continue
        only_elastic = set(group.pools) <= names
        count = group.count if only_elastic else (spill or {}).get(group.subject, 0)
        if not count:
            continue
        chosen = taker(group, node_pools, groups)
        if chosen is None:
            if only_elastic:
                findings.append(
                    _too_large(group, [pool for pool in node_pools if pool.name in group.pools], groups)
                )
            continue
        demand[chosen.name].append(replace(group, count=count, pools=(chosen.name,)))
    for pool in node_pools:
        largest_type, largest = pool.largest_room
        agents = _agents(pool, groups)
        if not Room.of_node(largest).holds(agents):
            findings.append(
                Finding(
                    FindingLevel.ERROR,
                    "insufficient-capacity",
                    f"NodePool {pool.name}: its node agents request {agents}, more than its largest allowed "
                    f"instance type {largest_type} holds ({Room.of_node(largest)}), so no node it launches "
                    "could run them. Fix: allow larger instance types, or lower the agents' requests",
                )
            )
            continue
        packed = _cheapest_packing(pool, demand[pool.name], groups) if demand[pool.name] else None
        capacity = ElasticCapacity(pool, largest_type, Room.of_node(largest), agents, packed)
        capacities.append(capacity)
        findings += _limit_findings(capacity, demand[pool.name])
    return capacities, findings


def _too_large(group: PodGroup, candidates: Sequence[NodePoolPlan], groups: Sequence[PodGroup]) -> Finding:
    where = "; ".join(
        f"NodePool {pool.name} at most {pool.largest_room[0]} ({Room.of_node(pool.largest_room[1])}, node agents "
        f"{_agents(pool, groups)})"
        for pool in candidates
    )
    return Finding(
        FindingLevel.ERROR,
        "insufficient-capacity",
        f"{group.subject} requests {group.request} per pod, and no instance type its NodePools may launch "
        f"within their limits holds it beside their node agents ({where}), and no other pool takes it: its "
        "pods would stay Pending. Fix: allow larger instance types or raise the limits, or lower its requests",
    )


def _limit_findings(capacity: ElasticCapacity, demand: Sequence[PodGroup]) -> list[Finding]:
    pool, packed, limits = capacity.node_pool, capacity.packed, capacity.limits
    if packed is None:
        return []
    pods = sum(group.count for group in demand)
    if not limits.holds(replace(packed.capacity, pods=0)):
        return [
            Finding(
                FindingLevel.ERROR,
                "insufficient-capacity",
                f"NodePool {pool.name} must take {pods} pods ({', '.join(g.subject for g in demand)}), which "
                f"need {packed.nodes} x {packed.instance_type} at the least: {_cores(packed.capacity)} of node "
                f"capacity, beyond its limits of {pool.config.limits.cpu} vCPU and {pool.config.limits.memory}. "
                "Karpenter stops launching at the limits and the rest stay Pending. Fix: raise the NodePool's "
                "limits",
            )
        ]
    share = min(1 - packed.capacity.cpu / limits.cpu, 1 - packed.capacity.memory / limits.memory)
    if share < LOW_HEADROOM:
        return [
            Finding(
                FindingLevel.WARNING,
                "low-headroom",
                f"NodePool {pool.name} keeps less than {LOW_HEADROOM:.0%} of its limits free once it holds the "
                f"pods it must take ({_cores(packed.capacity)} of {pool.config.limits.cpu} vCPU, "
                f"{pool.config.limits.memory}). Fix: raise its limits",
            )
        ]
    return []


def _cores(room: Room) -> str:
    return f"{room.cpu / 1000:.0f} vCPU and {room.memory / 1024:.1f} GiB"


def _cheapest_packing(pool: NodePoolPlan, demand: Sequence[PodGroup], groups: Sequence[PodGroup]) -> Packed:
    """Of the packings onto nodes of each launchable shape that holds every pod, the one whose capacity
    takes the least share of the limits."""
    agent_groups = [replace(g, pools=(pool.name,)) for g in groups if g.node_agent and pool.name in g.pools]
    agents = _agents(pool, groups)
    shapes: dict[tuple[int, int], InstanceType] = {}
    for known in pool.launchable:
        shapes.setdefault((known.vcpus, known.memory_mib), known)
    limits = Room(pool.limit_cpu_millicores, pool.limit_memory_mib, 0)
    best: Packed | None = None
    for known in shapes.values():
        room = Room.of_node(node_room(known))
        if not all(room.holds(agents + group.request) for group in demand):
            continue
        packed = _pack_onto(pool, known, room, agents, agent_groups, demand)
        if packed is not None and (best is None or _share(packed, limits) < _share(best, limits)):
            best = packed
    assert best is not None, "taker() chose this NodePool because some type holds each pod"
    return best


def _share(packed: Packed, limits: Room) -> float:
    return max(packed.capacity.cpu / limits.cpu, packed.capacity.memory / limits.memory)


def _pack_onto(
    pool: NodePoolPlan,
    known: InstanceType,
    room: Room,
    agents: Room,
    agent_groups: Sequence[PodGroup],
    demand: Sequence[PodGroup],
) -> Packed | None:
    free = room - agents
    total = sum((g.request.times(g.count) for g in demand), Room())
    least = max(
        1,
        -(-total.cpu // free.cpu) if free.cpu > 0 else 1,
        int(-(-total.memory // free.memory)) if free.memory > 0 else 1,
        -(-total.pods // free.pods) if free.pods > 0 else 1,
    )
    node = Allocatable(room.cpu, int(room.memory), room.pods)
    sized = replace(pool.as_pool(), node=node)
    for count in range(least, min(least + NODES_TRIED_PAST_THE_BOUND, MOST_NODES_ESTIMATED) + 1):
        packing = pack([sized], {pool.name: count}, [*agent_groups, *demand])[pool.name]
        if not packing.unplaced:
            return Packed(known.name, count, _capacity_of(known).times(count), packing.requested)
    return None
