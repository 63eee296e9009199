"""Capacity on Karpenter's NodePools: elastic, up to their limits (design §9).

A NodePool has no nodes until pods wait for them; Karpenter then launches the cheapest allowed instance
on which the pending pods and the node agents that reach the NodePool fit. So a pod fits a NodePool when
it fits, with those agents, on the largest instance the NodePool allows; the NodePool's pods fit together
when their requests, with one set of agents per node they need, stay within its limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from armful.core.findings import Finding, FindingLevel
from armful.core.karpenter_pools import NodePoolPlan
from armful.core.node_allocatable import Allocatable
from armful.planning.capacity import LOW_HEADROOM, PodGroup, Room, pack

MOST_NODES_ESTIMATED = 1000


@dataclass(frozen=True)
class ElasticCapacity:
    node_pool: NodePoolPlan
    largest_instance_type: str
    largest_node: Room
    per_node: Room
    """What the node agents that reach the NodePool take on each of its nodes."""
    nodes: int
    """Nodes of the largest allowed type that hold the pods that can only land here, agents included."""
    requested: Room
    """Those pods' requests, with the agents on each of those nodes."""

    @property
    def limits(self) -> Room:
        return Room(self.node_pool.limit_cpu_millicores, self.node_pool.limit_memory_mib, 0)

    @property
    def headroom_share(self) -> float:
        limits = self.limits
        return min(1 - self.requested.cpu / limits.cpu, 1 - self.requested.memory / limits.memory)

    def to_json(self) -> dict[str, Any]:
        return {
            "pool": self.node_pool.name,
            "provisioner": "karpenter",
            "largest_instance_type": self.largest_instance_type,
            "largest_node": self.largest_node.to_json(),
            "per_node": self.per_node.to_json(),
            "nodes_at_largest": self.nodes,
            "requested": self.requested.to_json(),
            "limits": {
                "cpu": round(self.limits.cpu / 1000, 3),
                "memory_mib": round(self.limits.memory, 1),
            },
        }


def elastic_pool_names(node_pools: Sequence[NodePoolPlan]) -> frozenset[str]:
    return frozenset(pool.name for pool in node_pools)


def fits_elastically(group: PodGroup, node_pools: Sequence[NodePoolPlan], groups: Sequence[PodGroup]) -> bool:
    """Whether a pod the managed pools have no room for gets a node from one of its NodePools."""
    return any(
        _largest(pool)[1].holds(_agents(pool, groups) + group.request)
        for pool in node_pools
        if pool.name in group.pools
    )


def plan_elastic_capacity(
    node_pools: Sequence[NodePoolPlan], groups: Sequence[PodGroup]
) -> tuple[list[ElasticCapacity], list[Finding]]:
    capacities: list[ElasticCapacity] = []
    findings: list[Finding] = []
    elastic = elastic_pool_names(node_pools)
    for pool in node_pools:
        largest_type, largest = _largest(pool)
        agents = _agents(pool, groups)
        if not largest.holds(agents):
            findings.append(
                Finding(
                    FindingLevel.ERROR,
                    "insufficient-capacity",
                    f"NodePool {pool.name}: its node agents request {agents}, more than its largest allowed "
                    f"instance type {largest_type} holds ({largest}), so no node it launches could run them. "
                    "Fix: allow larger instance types, or lower the agents' requests",
                )
            )
            continue
        mine = [g for g in groups if not g.node_agent and pool.name in g.pools]
        for group in mine:
            if not largest.holds(agents + group.request) and not _fits_elsewhere(
                group, pool, node_pools, groups
            ):
                findings.append(
                    Finding(
                        FindingLevel.ERROR,
                        "insufficient-capacity",
                        f"{group.subject} requests {group.request} per pod; with the node agents ({agents}) "
                        f"that is more than the largest instance type NodePool {pool.name} allows, "
                        f"{largest_type} ({largest}), and no other pool takes it: its pods would stay "
                        "Pending. Fix: allow larger instance types in the NodePool, or lower its requests",
                    )
                )
        # Pods that have no other pool are this NodePool's alone; the limits must hold them.
        only_here = [
            replace(g, pools=(pool.name,))
            for g in mine
            if not g.transient and set(g.pools) <= elastic and g.pools[0] == pool.name
        ]
        nodes, requested = _nodes_needed(pool, largest, agents, only_here, groups)
        capacity = ElasticCapacity(pool, largest_type, largest, agents, nodes, requested)
        capacities.append(capacity)
        limits = capacity.limits
        if requested.cpu > limits.cpu or requested.memory > limits.memory:
            findings.append(
                Finding(
                    FindingLevel.ERROR,
                    "insufficient-capacity",
                    f"NodePool {pool.name}'s pods and node agents request {requested} on {nodes} node(s) of "
                    f"{largest_type} at the least, beyond its limits of {pool.config.limits.cpu} vCPU and "
                    f"{pool.config.limits.memory}: Karpenter stops launching at the limits and the rest stay "
                    "Pending. Fix: raise the NodePool's limits",
                )
            )
        elif requested.cpu and capacity.headroom_share < LOW_HEADROOM:
            findings.append(
                Finding(
                    FindingLevel.WARNING,
                    "low-headroom",
                    f"NodePool {pool.name} keeps less than {LOW_HEADROOM:.0%} of its limits free for the pods "
                    f"that can only land there ({requested} of {pool.config.limits.cpu} vCPU, "
                    f"{pool.config.limits.memory}). Fix: raise its limits",
                )
            )
    return capacities, findings


def _largest(pool: NodePoolPlan) -> tuple[str, Room]:
    name, room = pool.largest_room
    return name, Room.of_node(room)


def _agents(pool: NodePoolPlan, groups: Sequence[PodGroup]) -> Room:
    return sum((g.request for g in groups if g.node_agent and pool.name in g.pools), Room())


def _fits_elsewhere(
    group: PodGroup, pool: NodePoolPlan, node_pools: Sequence[NodePoolPlan], groups: Sequence[PodGroup]
) -> bool:
    elastic = elastic_pool_names(node_pools)
    others = [other for other in node_pools if other.name != pool.name]
    return any(name not in elastic for name in group.pools) or fits_elastically(group, others, groups)


def _nodes_needed(
    pool: NodePoolPlan, largest: Room, agents: Room, pods: Sequence[PodGroup], groups: Sequence[PodGroup]
) -> tuple[int, Room]:
    """First fit onto nodes of the largest allowed type, adding nodes until every pod has room."""
    if not pods:
        return 0, Room()
    sized = replace(pool.as_pool(), node=_as_allocatable(largest))
    agent_groups = [replace(g, pools=(pool.name,)) for g in groups if g.node_agent and pool.name in g.pools]
    fitting = [g for g in pods if largest.holds(agents + g.request)]
    room = largest - agents
    total = sum((g.request.times(g.count) for g in fitting), Room())
    # No fewer nodes than the requests need, each node less its agents.
    least = max(
        1,
        -(-total.cpu // room.cpu) if room.cpu > 0 else 1,
        int(-(-total.memory // room.memory)) if room.memory > 0 else 1,
        -(-total.pods // room.pods) if room.pods > 0 else 1,
    )
    for count in range(least, MOST_NODES_ESTIMATED + 1):
        packed = pack([sized], {pool.name: count}, [*agent_groups, *fitting])[pool.name]
        if not packed.unplaced:
            return count, packed.requested
    return MOST_NODES_ESTIMATED, packed.requested


def _as_allocatable(room: Room) -> Allocatable:
    return Allocatable(room.cpu, int(room.memory), room.pods)
