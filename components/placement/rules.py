"""Where Armful puts things, decided once for every add-on (design §3).

- A controller (Deployment, StatefulSet, Job, hook Job) goes to the system pool: a nodeSelector on the
  role label and a toleration of ``CriticalAddonsOnly``.
- A node agent (DaemonSet) must reach every node: it tolerates every taint Armful puts on any pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from armful.core.pools import ROLE_LABEL, PoolPlan, PoolRole
from armful.core.taints import Taint


def system_node_selector() -> dict[str, str]:
    return {ROLE_LABEL: PoolRole.SYSTEM.value}


def system_tolerations(pools: Sequence[PoolPlan]) -> list[dict[str, str]]:
    """Tolerations for every taint on the system pool, so a controller can land there."""
    system = [pool for pool in pools if pool.role is PoolRole.SYSTEM]
    return tolerations_for(taint for pool in system for taint in pool.taints)


def node_agent_tolerations(pools: Sequence[PoolPlan]) -> list[dict[str, str]]:
    """Tolerations for every taint on every pool: a DaemonSet that misses one silently skips a pool."""
    return tolerations_for(taint for pool in pools for taint in pool.taints)


def tolerations_for(taints: Iterable[Taint]) -> list[dict[str, str]]:
    unique = sorted(set(taints))
    return [taint.toleration() for taint in unique]
